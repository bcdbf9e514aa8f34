package main

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"hnnsolve"
	"hnnsolve/integrate"
)

// parsedLSystem is a general Lagrangian L(q, q̇) parsed from text (solve
// -L), as a systems.System of the state z = (q, q̇): Energy is the energy
// function E = q̇·∂L/∂q̇ - L, and the reference solution integrates the
// Euler-Lagrange equations q̈ = M⁻¹ (∂L/∂q - C q̇), M = ∂²L/∂q̇∂q̇,
// C = ∂²L/∂q̇∂q, by DOP853, with the derivatives of the compiled expression
// (the same symbolic ones as the training's). There is no Hamiltonian in
// canonical coordinates: Hessian is NaN (the error analysis is not
// available for a general Lagrangian) and symplectic Euler does not run.
type parsedLSystem struct {
	expr *hnnsolve.Expression
	dim  int
	z0   []float64
}

func (s *parsedLSystem) Name() string { return "custom" }
func (s *parsedLSystem) Dim() int     { return s.dim }

// Lagrangian returns L; the parsed expression's momenta are the velocities.
func (s *parsedLSystem) Lagrangian() hnnsolve.Lagrangian {
	return hnnsolve.Lagrangian(s.expr.Hamiltonian())
}

// Hamiltonian returns the energy function as the library builds it.
func (s *parsedLSystem) Hamiltonian() hnnsolve.Hamiltonian {
	d := s.dim / 2
	return hnnsolve.LagrangianProblem{L: s.Lagrangian(), Q0: s.z0[:d], V0: s.z0[d:], T: 1}.Problem().H
}

func (s *parsedLSystem) Z0() []float64                      { return slices.Clone(s.z0) }
func (s *parsedLSystem) Interval() (t0, t1 float64)         { return 0, 4 * math.Pi }
func (s *parsedLSystem) Invariants(z []float64) []float64   { return nil }
func (s *parsedLSystem) InvariantNames() []string           { return nil }
func (s *parsedLSystem) Hessian(dst []float64, _ []float64) { fillNaN(dst) }

// Validate reports an L that is not finite at the initial state.
func (s *parsedLSystem) Validate() error {
	l, err := s.expr.Eval(s.z0, nil, nil)
	if err != nil {
		return err
	}
	if math.IsNaN(l) || math.IsInf(l, 0) {
		return fmt.Errorf("the Lagrangian %s is %v at the initial state %v", s.expr, l, s.z0)
	}
	return nil
}

// derivs returns L, ∇L and D²L at z (NaN on failure).
func (s *parsedLSystem) derivs(z []float64) (l float64, g, h []float64) {
	g, h = make([]float64, s.dim), make([]float64, s.dim*s.dim)
	l, err := s.expr.Eval(z, g, h)
	if err != nil {
		fillNaN(g)
		fillNaN(h)
		return math.NaN(), g, h
	}
	return l, g, h
}

// Energy returns E = q̇·∂L/∂q̇ - L.
func (s *parsedLSystem) Energy(z []float64) float64 {
	d := s.dim / 2
	l, g, _ := s.derivs(z)
	e := -l
	for i := range d {
		e += z[d+i] * g[d+i]
	}
	return e
}

// Gradient stores ∇E = (Σ_j q̇_j ∂²L/∂q̇_j∂q - ∂L/∂q, Σ_j q̇_j ∂²L/∂q̇_j∂q̇).
func (s *parsedLSystem) Gradient(dst, z []float64) {
	d, D := s.dim/2, s.dim
	_, g, h := s.derivs(z)
	for i := range D {
		v := 0.0
		for j := range d {
			v += z[d+j] * h[(d+j)*D+i]
		}
		if i < d {
			v -= g[i]
		}
		dst[i] = v
	}
}

// reference integrates the Euler-Lagrange equations from z0 by DOP853 and
// returns the states at ts.
func (s *parsedLSystem) reference(z0, ts []float64) (*mat.Dense, error) {
	d, D := s.dim/2, s.dim
	m, rhs := mat.NewDense(d, d, nil), mat.NewVecDense(d, nil)
	acc := mat.NewVecDense(d, nil)
	var failed error
	f := func(dst []float64, _ float64, z []float64) {
		_, g, h := s.derivs(z)
		for i := range d {
			r := g[i]
			for j := range d {
				m.Set(i, j, h[(d+i)*D+d+j])
				r -= h[(d+i)*D+j] * z[d+j]
			}
			rhs.SetVec(i, r)
		}
		copy(dst[:d], z[d:])
		if err := acc.SolveVec(m, rhs); err != nil {
			if failed == nil {
				failed = fmt.Errorf("∂²L/∂q̇∂q̇ is singular at z = %v: %w", z, err)
			}
			fillNaN(dst[d:])
			return
		}
		for i := range d {
			dst[d+i] = acc.AtVec(i)
		}
	}
	tr, err := integrate.SolveODE(f, z0, ts, nil)
	if failed != nil {
		return nil, failed
	}
	if err != nil {
		return nil, err
	}
	return tr.Z, nil
}

// parsedLagrangian is the system of solve -L: the Lagrangian parsed from
// text with the names of -coords (coordinates, then velocities) or the
// default ones (q1..qd then p1..pd standing for the velocities; q, p for
// d = 1), in the dimension of -coords or else of -z0.
func parsedLagrangian(o *options) (*parsedLSystem, error) {
	e, z0, dim, err := parseSystemText(o, o.lExpr, "v1..vd")
	if err != nil {
		return nil, err
	}
	return &parsedLSystem{expr: e, dim: dim, z0: z0}, nil
}
