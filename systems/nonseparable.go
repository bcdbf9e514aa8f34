package systems

import (
	"math"

	"gorgonia.org/gorgonia"

	"hnnsolve"
)

// NonSeparable is a one-degree-of-freedom Hamiltonian that is not of the
// form T(p) + V(q), z = (q, p):
//
//	H = p² (1 + q²)/2,    q̇ = p (1 + q²),  ṗ = −p² q.
//
// It has the closed-form solution of Exact. Explicit symplectic methods for
// separable H do not apply to it.
type NonSeparable struct{}

// Name returns "nonseparable".
func (NonSeparable) Name() string { return "nonseparable" }

// Dim returns 2.
func (NonSeparable) Dim() int { return 2 }

// Validate returns nil.
func (NonSeparable) Validate() error { return nil }

// Hamiltonian returns H = (p² + p² q²)/2 per point.
func (ns NonSeparable) Hamiltonian() hnnsolve.Hamiltonian {
	return func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
		if err := checkArgs(ns.Name(), 1, q, p); err != nil {
			return nil, err
		}
		var e expr
		p2 := e.sq(p[0])
		return e.result(e.scale(0.5, e.add(p2, e.mul(p2, e.sq(q[0])))))
	}
}

// Energy returns H = p² (1 + q²)/2.
func (NonSeparable) Energy(z []float64) float64 {
	q, p := z[0], z[1]
	return 0.5 * p * p * (1 + q*q)
}

// Gradient stores ∇H = (p² q, p (1 + q²)).
func (NonSeparable) Gradient(dst, z []float64) {
	q, p := z[0], z[1]
	dst[0] = p * p * q
	dst[1] = p * (1 + q*q)
}

// Hessian stores D²H = [[p², 2pq], [2pq, 1 + q²]].
func (NonSeparable) Hessian(dst []float64, z []float64) {
	q, p := z[0], z[1]
	dst[0], dst[1] = p*p, 2*p*q
	dst[2], dst[3] = 2*p*q, 1+q*q
}

// Exact returns the solution at time t from z0 = (q0, p0) at time 0. The
// quantity c = p sqrt(1 + q²) = ±sqrt(2H) is constant, so q̇ = c sqrt(1 + q²)
// and
//
//	q(t) = sinh(c t + asinh q0),  p(t) = c / cosh(c t + asinh q0).
func (NonSeparable) Exact(t float64, z0 []float64) []float64 {
	q0, p0 := z0[0], z0[1]
	c := p0 * math.Sqrt(1+q0*q0)
	u := c*t + math.Asinh(q0)
	return []float64{math.Sinh(u), c / math.Cosh(u)}
}

// Invariants returns nil: H is the only invariant.
func (NonSeparable) Invariants([]float64) []float64 { return nil }

// InvariantNames returns nil.
func (NonSeparable) InvariantNames() []string { return nil }

// Z0 returns (q, p) = (0, 1); the solution is q = sinh t, p = 1/cosh t.
func (NonSeparable) Z0() []float64 { return []float64{0, 1} }

// Interval returns [0, 3].
func (NonSeparable) Interval() (t0, t1 float64) { return 0, 3 }
