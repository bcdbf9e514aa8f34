package integrate

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Method is a fixed-step integration method for Hamilton's equations
// ż = f(z) = J ∇H(z), J = [[0, I], [-I, 0]], with step h.
type Method int

const (
	// SymplecticEuler is the semi-implicit Euler method of Eq. (4), (5) of
	// the paper, for H = T(p) + V(q):
	//  q_{n+1} = q_n + h ∂T/∂p(p_n),
	//  p_{n+1} = p_n - h ∂V/∂q(q_{n+1}).
	// It is symplectic and of order 1. It needs a Separable system.
	SymplecticEuler Method = iota

	// StormerVerlet is the Störmer–Verlet (leapfrog) method in
	// kick-drift-kick form, for H = T(p) + V(q):
	//  p_{n+1/2} = p_n - h/2 ∂V/∂q(q_n),
	//  q_{n+1}   = q_n + h ∂T/∂p(p_{n+1/2}),
	//  p_{n+1}   = p_{n+1/2} - h/2 ∂V/∂q(q_{n+1}).
	// It is symplectic, symmetric and of order 2. It needs a Separable
	// system.
	StormerVerlet

	// Yoshida4 is Yoshida's symmetric triple-jump composition of
	// StormerVerlet steps of sizes w₁h, w₀h, w₁h with
	// w₁ = 1/(2 - 2^{1/3}), w₀ = 1 - 2w₁. It is symplectic and of order 4.
	// It needs a Separable system.
	Yoshida4

	// RK4 is the classical explicit fourth-order Runge–Kutta method applied
	// to ż = J ∇H(z). It is not symplectic: the energy error drifts. It
	// works with any System.
	RK4

	// ImplicitMidpoint is the implicit midpoint rule
	//  z_{n+1} = z_n + h J ∇H((z_n + z_{n+1})/2),
	// the one-stage Gauss–Legendre method. It is symplectic, symmetric and
	// of order 2, and works with any System (non-separable H included).
	// The stage equation is solved by Newton's method when the System
	// implements Hessian and by fixed-point iteration otherwise, in both
	// cases to round-off; ErrNoConvergence is returned when that fails.
	ImplicitMidpoint

	// GaussLegendre4 is the two-stage Gauss–Legendre collocation method,
	// c = 1/2 ∓ √3/6. It is symplectic, symmetric and of order 4, and works
	// with any System. The stage equations are solved as for
	// ImplicitMidpoint.
	GaussLegendre4
)

// String returns the name of the method.
func (m Method) String() string {
	switch m {
	case SymplecticEuler:
		return "SymplecticEuler"
	case StormerVerlet:
		return "StormerVerlet"
	case Yoshida4:
		return "Yoshida4"
	case RK4:
		return "RK4"
	case ImplicitMidpoint:
		return "ImplicitMidpoint"
	case GaussLegendre4:
		return "GaussLegendre4"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// Order returns the order of accuracy p of the method (global error O(h^p)),
// or 0 for an unknown method.
func (m Method) Order() int {
	switch m {
	case SymplecticEuler:
		return 1
	case StormerVerlet, ImplicitMidpoint:
		return 2
	case Yoshida4, RK4, GaussLegendre4:
		return 4
	}
	return 0
}

// NeedsSeparable reports whether the method works only for separable
// Hamiltonians H = T(p) + V(q), that is with a Separable system.
func (m Method) NeedsSeparable() bool {
	return m == SymplecticEuler || m == StormerVerlet || m == Yoshida4
}

// Stats counts the work done by an integration.
type Stats struct {
	// Steps is the number of accepted steps.
	Steps int
	// Rejected is the number of steps rejected by the error control of
	// the adaptive integrator (always 0 for fixed-step methods).
	Rejected int
	// Evaluations is the number of calls of the right-hand side: the
	// System's Gradient, DT, DV and Hessian methods, or the ODE function.
	Evaluations int
}

// Trajectory is a solution sampled at times T: row i of Z (len(T) × D) is
// the state at T[i].
type Trajectory struct {
	T     []float64
	Z     *mat.Dense
	Stats Stats
}

// Stepper takes single steps of a fixed-step Method. It holds the work
// space of the method, so Step does not allocate. A Stepper must not be used
// by several goroutines at once. Make one with NewStepper: the zero value
// has no system, and its Step returns an error.
type Stepper struct {
	sys System
	sep Separable // non-nil when the system is separable
	hes Hessian   // non-nil when the system provides the Hessian
	m   Method
	dim int // D
	d   int // D/2

	evals int

	dt, dv []float64 // len d: ∂T/∂p, ∂V/∂q
	g      []float64 // len D: ∇H
	k      [4][]float64
	tmp    []float64

	gauss *gaussSolver
}

// NewStepper returns a Stepper of method m for sys. It returns an error
// wrapping ErrBadInput if m is unknown or the dimension of sys is not even
// and positive, and ErrNotSeparable if m needs a Separable system and sys is
// not one.
func NewStepper(sys System, m Method) (*Stepper, error) {
	if sys == nil {
		return nil, fmt.Errorf("integrate: nil System: %w", ErrBadInput)
	}
	dim := sys.Dim()
	if dim <= 0 || dim%2 != 0 {
		return nil, fmt.Errorf("integrate: system dimension %d, want even and positive: %w", dim, ErrBadInput)
	}
	if m.Order() == 0 {
		return nil, fmt.Errorf("integrate: unknown method %v: %w", m, ErrBadInput)
	}
	s := &Stepper{sys: sys, m: m, dim: dim, d: dim / 2}
	s.sep, _ = sys.(Separable)
	s.hes, _ = sys.(Hessian)
	if m.NeedsSeparable() && s.sep == nil {
		return nil, fmt.Errorf("integrate: %v for a %T: %w", m, sys, ErrNotSeparable)
	}
	switch m {
	case SymplecticEuler, StormerVerlet, Yoshida4:
		s.dt = make([]float64, s.d)
		s.dv = make([]float64, s.d)
	case RK4:
		s.g = make([]float64, dim)
		for i := range s.k {
			s.k[i] = make([]float64, dim)
		}
		s.tmp = make([]float64, dim)
	case ImplicitMidpoint:
		s.gauss = newGaussSolver(s, &midpointTableau)
	case GaussLegendre4:
		s.gauss = newGaussSolver(s, &gl4Tableau)
	}
	return s, nil
}

// Method returns the method of the stepper.
func (s *Stepper) Method() Method { return s.m }

// Evaluations returns the number of calls of the System's derivative methods
// (Gradient, DT, DV, Hessian) made by the stepper so far.
func (s *Stepper) Evaluations() int { return s.evals }

// Step advances the state z by one step of size h and stores the result in
// dst. dst and z must have length D and must either be the same slice (an
// in-place step) or not overlap. Any finite h is allowed, negative h
// integrating backwards in time. Step does not allocate.
//
// Step returns an error wrapping ErrBadInput for a zero Stepper, bad
// lengths or a non-finite h, and ErrNoConvergence when the stage equations of an implicit
// method cannot be solved; dst is then unspecified.
func (s *Stepper) Step(dst, z []float64, h float64) error {
	if s.sys == nil {
		return fmt.Errorf("integrate: Step on a Stepper not made by NewStepper: %w", ErrBadInput)
	}
	if len(z) != s.dim || len(dst) != s.dim {
		return fmt.Errorf("integrate: Step: len(dst) = %d, len(z) = %d, want %d: %w", len(dst), len(z), s.dim, ErrBadInput)
	}
	if math.IsNaN(h) || math.IsInf(h, 0) {
		return fmt.Errorf("integrate: Step: step size %v: %w", h, ErrBadInput)
	}
	return s.step(dst, z, h)
}

// step is Step without the argument checks.
func (s *Stepper) step(dst, z []float64, h float64) error {
	switch s.m {
	case SymplecticEuler:
		copy(dst, z)
		s.drift(dst, h)
		s.kick(dst, h)
	case StormerVerlet:
		copy(dst, z)
		s.kick(dst, h/2)
		s.drift(dst, h)
		s.kick(dst, h/2)
	case Yoshida4:
		// Triple jump with the half kicks of adjacent Verlet steps merged.
		copy(dst, z)
		s.kick(dst, yoshidaW1*h/2)
		s.drift(dst, yoshidaW1*h)
		s.kick(dst, (yoshidaW1+yoshidaW0)*h/2)
		s.drift(dst, yoshidaW0*h)
		s.kick(dst, (yoshidaW0+yoshidaW1)*h/2)
		s.drift(dst, yoshidaW1*h)
		s.kick(dst, yoshidaW1*h/2)
	case RK4:
		s.rk4(dst, z, h)
	case ImplicitMidpoint, GaussLegendre4:
		return s.gauss.step(dst, z, h)
	}
	return nil
}

// Yoshida's triple-jump weights: w1 = 1/(2 - 2^{1/3}), w0 = 1 - 2 w1.
var (
	yoshidaW1 = 1 / (2 - math.Cbrt(2))
	yoshidaW0 = 1 - 2*yoshidaW1
)

// drift does q += h ∂T/∂p(p) in place on z = (q, p).
func (s *Stepper) drift(z []float64, h float64) {
	q, p := z[:s.d], z[s.d:]
	s.sep.DT(s.dt, p)
	s.evals++
	for i, v := range s.dt {
		q[i] += h * v
	}
}

// kick does p -= h ∂V/∂q(q) in place on z = (q, p).
func (s *Stepper) kick(z []float64, h float64) {
	q, p := z[:s.d], z[s.d:]
	s.sep.DV(s.dv, q)
	s.evals++
	for i, v := range s.dv {
		p[i] -= h * v
	}
}

// field stores f(z) = J ∇H(z) in dst, using s.g as work space:
// dst_q = ∂H/∂p, dst_p = -∂H/∂q.
func (s *Stepper) field(dst, z []float64) {
	s.sys.Gradient(s.g, z)
	s.evals++
	d := s.d
	for i := 0; i < d; i++ {
		dst[i] = s.g[d+i]
		dst[d+i] = -s.g[i]
	}
}

// rk4 takes a classical Runge–Kutta step. Every update of dst is
// element-wise, so dst may be z.
func (s *Stepper) rk4(dst, z []float64, h float64) {
	k1, k2, k3, k4, y := s.k[0], s.k[1], s.k[2], s.k[3], s.tmp
	s.field(k1, z)
	for i := range y {
		y[i] = z[i] + h/2*k1[i]
	}
	s.field(k2, y)
	for i := range y {
		y[i] = z[i] + h/2*k2[i]
	}
	s.field(k3, y)
	for i := range y {
		y[i] = z[i] + h*k3[i]
	}
	s.field(k4, y)
	for i := range dst {
		dst[i] = z[i] + h/6*(k1[i]+2*(k2[i]+k3[i])+k4[i])
	}
}

// Fixed integrates Hamilton's equations ż = J ∇H(z) from z(t0) = z0 over
// [t0, t1] with n steps of the fixed size h = (t1 - t0)/n of method m. It
// returns the n+1 states at the times T[i] = t0 + i h (T[n] = t1 exactly),
// Z being (n+1) × D with Z row 0 equal to z0.
//
// Fixed returns an error wrapping ErrBadInput when n < 1, t0 or t1 is not
// finite, t1 <= t0, len(z0) differs from the dimension of sys, z0 is not
// finite or the method is unknown; ErrNotSeparable when m needs a Separable
// system; ErrNoConvergence when an implicit step fails; and ErrNonFinite
// when the solution overflows.
func Fixed(sys System, m Method, z0 []float64, t0, t1 float64, n int) (*Trajectory, error) {
	s, err := NewStepper(sys, m)
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("integrate: Fixed: n = %d steps, want n >= 1: %w", n, ErrBadInput)
	}
	if !finite(t0) || !finite(t1) || t1 <= t0 {
		return nil, fmt.Errorf("integrate: Fixed: interval [%v, %v], want finite t0 < t1: %w", t0, t1, ErrBadInput)
	}
	if err := checkState(z0, s.dim); err != nil {
		return nil, fmt.Errorf("integrate: Fixed: %w", err)
	}
	h := (t1 - t0) / float64(n)
	dim := s.dim
	ts := make([]float64, n+1)
	data := make([]float64, (n+1)*dim)
	copy(data, z0)
	ts[0] = t0
	for i := 1; i <= n; i++ {
		ts[i] = t0 + float64(i)*h
		z, dst := data[(i-1)*dim:i*dim], data[i*dim:(i+1)*dim]
		if err := s.step(dst, z, h); err != nil {
			return nil, fmt.Errorf("integrate: Fixed: %v step %d at t = %v: %w", m, i, ts[i-1], err)
		}
		for _, v := range dst {
			if !finite(v) {
				return nil, fmt.Errorf("integrate: Fixed: %v step %d at t = %v: %w", m, i, ts[i-1], ErrNonFinite)
			}
		}
	}
	ts[n] = t1
	return &Trajectory{
		T:     ts,
		Z:     mat.NewDense(n+1, dim, data),
		Stats: Stats{Steps: n, Evaluations: s.evals},
	}, nil
}

// checkState checks that z has length dim and finite entries. The error
// wraps ErrBadInput.
func checkState(z []float64, dim int) error {
	if len(z) != dim {
		return fmt.Errorf("initial state of length %d, want %d: %w", len(z), dim, ErrBadInput)
	}
	for i, v := range z {
		if !finite(v) {
			return fmt.Errorf("initial state element %d is %v: %w", i, v, ErrBadInput)
		}
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
