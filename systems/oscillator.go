package systems

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"

	"hnnsolve"
)

// NonlinearOscillator is the one-dimensional anharmonic oscillator of Eq. 23
// with unit mass and natural frequency, z = (x, p):
//
//	H = p²/2 + x²/2 + Λ x⁴/4,    ẋ = p,  ṗ = −(x + Λ x³).
//
// The paper uses Λ = 1 (NewNonlinearOscillator); the zero value, Λ = 0, is
// the harmonic oscillator with ω = 1.
type NonlinearOscillator struct {
	Lambda float64
}

// NewNonlinearOscillator returns the oscillator of Eq. 23 (Λ = 1).
func NewNonlinearOscillator() NonlinearOscillator { return NonlinearOscillator{Lambda: 1} }

// Name returns "oscillator".
func (NonlinearOscillator) Name() string { return "oscillator" }

// Dim returns 2.
func (NonlinearOscillator) Dim() int { return 2 }

// Validate reports a non-finite Λ.
func (o NonlinearOscillator) Validate() error {
	if math.IsNaN(o.Lambda) || math.IsInf(o.Lambda, 0) {
		return fmt.Errorf("systems: oscillator: Lambda = %v is not finite", o.Lambda)
	}
	return nil
}

// Hamiltonian returns H = p²/2 + x²/2 + Λ x⁴/4 per point (x⁴ as (x²)²; the
// quartic term is left out when Λ = 0).
func (o NonlinearOscillator) Hamiltonian() hnnsolve.Hamiltonian {
	return func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
		if err := checkArgs(o.Name(), 1, q, p); err != nil {
			return nil, err
		}
		if err := o.Validate(); err != nil {
			return nil, err
		}
		var e expr
		x2 := e.sq(q[0])
		h := e.scale(0.5, e.add(e.sq(p[0]), x2))
		if o.Lambda != 0 {
			h = e.add(h, e.scale(o.Lambda/4, e.sq(x2)))
		}
		return e.result(h)
	}
}

// Energy returns H(x, p) = p²/2 + x²/2 + Λ x⁴/4.
func (o NonlinearOscillator) Energy(z []float64) float64 {
	x, p := z[0], z[1]
	x2 := x * x
	return 0.5*(p*p+x2) + o.Lambda/4*x2*x2
}

// Gradient stores ∇H = (x + Λ x³, p).
func (o NonlinearOscillator) Gradient(dst, z []float64) {
	o.DV(dst[:1], z[:1])
	dst[1] = z[1]
}

// Hessian stores D²H = [[1 + 3Λ x², 0], [0, 1]].
func (o NonlinearOscillator) Hessian(dst []float64, z []float64) {
	x := z[0]
	dst[0], dst[1] = 1+3*o.Lambda*x*x, 0
	dst[2], dst[3] = 0, 1
}

// DT stores dT/dp = p.
func (NonlinearOscillator) DT(dst, p []float64) { dst[0] = p[0] }

// DV stores dV/dx = x + Λ x³.
func (o NonlinearOscillator) DV(dst, q []float64) {
	x := q[0]
	dst[0] = x + o.Lambda*x*x*x
}

// Invariants returns nil: H is the only invariant.
func (NonlinearOscillator) Invariants([]float64) []float64 { return nil }

// InvariantNames returns nil.
func (NonlinearOscillator) InvariantNames() []string { return nil }

// PaperZ0 returns the paper's initial state (x0, p0) = (1.3, 1.0); with
// Λ = 1 its energy is E0 ≈ 2.06.
func (NonlinearOscillator) PaperZ0() []float64 { return []float64{1.3, 1.0} }

// PaperInterval returns the paper's training interval [0, 4π].
func (NonlinearOscillator) PaperInterval() (t0, t1 float64) { return 0, 4 * math.Pi }

// PaperPoints returns the paper's K = 200 training points.
func (NonlinearOscillator) PaperPoints() int { return 200 }

// Z0 returns PaperZ0.
func (o NonlinearOscillator) Z0() []float64 { return o.PaperZ0() }

// Interval returns PaperInterval.
func (o NonlinearOscillator) Interval() (t0, t1 float64) { return o.PaperInterval() }

// HarmonicOscillator is the harmonic oscillator with unit mass and angular
// frequency ω, z = (q, p):
//
//	H = p²/2 + ω² q²/2,    q̇ = p,  ṗ = −ω² q.
//
// The zero value (ω = 0) is a free particle; Lookup uses ω = 1.
type HarmonicOscillator struct {
	Omega float64
}

// Name returns "harmonic".
func (HarmonicOscillator) Name() string { return "harmonic" }

// Dim returns 2.
func (HarmonicOscillator) Dim() int { return 2 }

// Validate reports a non-finite ω.
func (h HarmonicOscillator) Validate() error {
	if math.IsNaN(h.Omega) || math.IsInf(h.Omega, 0) {
		return fmt.Errorf("systems: harmonic: Omega = %v is not finite", h.Omega)
	}
	return nil
}

// Hamiltonian returns H = p²/2 + ω² q²/2 per point.
func (h HarmonicOscillator) Hamiltonian() hnnsolve.Hamiltonian {
	return func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
		if err := checkArgs(h.Name(), 1, q, p); err != nil {
			return nil, err
		}
		if err := h.Validate(); err != nil {
			return nil, err
		}
		var e expr
		w2 := h.Omega * h.Omega
		return e.result(e.add(e.scale(0.5, e.sq(p[0])), e.scale(w2/2, e.sq(q[0]))))
	}
}

// Energy returns H(q, p) = p²/2 + ω² q²/2.
func (h HarmonicOscillator) Energy(z []float64) float64 {
	q, p := z[0], z[1]
	return 0.5*p*p + 0.5*h.Omega*h.Omega*q*q
}

// Gradient stores ∇H = (ω² q, p).
func (h HarmonicOscillator) Gradient(dst, z []float64) {
	dst[0] = h.Omega * h.Omega * z[0]
	dst[1] = z[1]
}

// Hessian stores D²H = diag(ω², 1).
func (h HarmonicOscillator) Hessian(dst []float64, _ []float64) {
	dst[0], dst[1] = h.Omega*h.Omega, 0
	dst[2], dst[3] = 0, 1
}

// DT stores dT/dp = p.
func (HarmonicOscillator) DT(dst, p []float64) { dst[0] = p[0] }

// DV stores dV/dq = ω² q.
func (h HarmonicOscillator) DV(dst, q []float64) { dst[0] = h.Omega * h.Omega * q[0] }

// Exact returns the solution at time t from z0 = (q0, p0) at time 0:
//
//	q(t) = q0 cos ωt + (p0/ω) sin ωt,  p(t) = −ω q0 sin ωt + p0 cos ωt
//
// (q(t) = q0 + p0 t, p(t) = p0 for ω = 0).
func (h HarmonicOscillator) Exact(t float64, z0 []float64) []float64 {
	q0, p0 := z0[0], z0[1]
	w := h.Omega
	if w == 0 {
		return []float64{q0 + p0*t, p0}
	}
	s, c := math.Sincos(w * t)
	return []float64{q0*c + p0/w*s, -w*q0*s + p0*c}
}

// Invariants returns nil: H is the only invariant.
func (HarmonicOscillator) Invariants([]float64) []float64 { return nil }

// InvariantNames returns nil.
func (HarmonicOscillator) InvariantNames() []string { return nil }

// Z0 returns (1.3, 1.0), the initial state of the paper's nonlinear
// oscillator.
func (HarmonicOscillator) Z0() []float64 { return []float64{1.3, 1.0} }

// Interval returns [0, 4π].
func (HarmonicOscillator) Interval() (t0, t1 float64) { return 0, 4 * math.Pi }
