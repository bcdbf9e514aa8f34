// Package integrate provides classical integrators for Hamilton's equations
// ż = J ∇H(z) (Eq. 3 of Mattheakis et al.), z = (q, p) ∈ R^2d: the symplectic
// Euler baseline of the paper (Eq. 4, 5), higher-order symplectic methods,
// RK4, and an adaptive high-order reference integrator.
//
// Fixed takes n steps of a fixed-step Method (SymplecticEuler, StormerVerlet,
// Yoshida4, RK4, ImplicitMidpoint, GaussLegendre4) and returns the n+1
// states; Stepper takes single, allocation-free steps. Adaptive integrates
// a System, and SolveODE any y' = f(t, y), with the error-controlled
// Dormand–Prince 8(5,3) method DOP853 and its dense output, returning the
// solution at requested times. Bad arguments give errors wrapping
// ErrBadInput; the integrators do not panic on them.
package integrate

// System is a Hamiltonian vector field on R^D, D = 2d, with z = (q_1..q_d, p_1..p_d).
type System interface {
	// Dim returns D = 2d, the phase-space dimension.
	Dim() int
	// Energy returns H(z).
	Energy(z []float64) float64
	// Gradient stores ∇H(z) in dst (len D).
	Gradient(dst, z []float64)
}

// Separable is a System with H(q, p) = T(p) + V(q), as needed by the explicit
// symplectic methods (Eq. 4, 5).
type Separable interface {
	System
	// DT stores dT/dp in dst (len d).
	DT(dst, p []float64)
	// DV stores dV/dq in dst (len d).
	DV(dst, q []float64)
}

// Hessian is a System that also gives the Hessian D²H(z), stored row-major
// in dst (len D*D).
type Hessian interface {
	System
	Hessian(dst []float64, z []float64)
}
