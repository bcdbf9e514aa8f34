package systems

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"

	"hnnsolve"
)

// Pendulum is the plane pendulum with unit mass, length L and gravitational
// acceleration G, z = (θ, p) with θ the angle from the downward vertical and
// p = L² θ̇ the angular momentum:
//
//	H = p²/(2L²) + G L (1 − cos θ) = p²/(2L²) + 2 G L sin²(θ/2),
//	θ̇ = p/L²,  ṗ = −G L sin θ   (θ̈ = −(G/L) sin θ).
//
// H is 0 at the stable rest state. L must be positive: the zero value is not
// usable; Lookup uses G = L = 1.
type Pendulum struct {
	G, L float64
}

// Name returns "pendulum".
func (Pendulum) Name() string { return "pendulum" }

// Dim returns 2.
func (Pendulum) Dim() int { return 2 }

// Validate reports L ≤ 0 and non-finite parameters.
func (pd Pendulum) Validate() error {
	if !(pd.L > 0) || math.IsInf(pd.L, 0) || math.IsNaN(pd.G) || math.IsInf(pd.G, 0) {
		return fmt.Errorf("systems: pendulum needs finite G and L > 0, got G = %v, L = %v", pd.G, pd.L)
	}
	return nil
}

// Hamiltonian returns H = p²/(2L²) + 2 G L sin²(θ/2) per point.
func (pd Pendulum) Hamiltonian() hnnsolve.Hamiltonian {
	return func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
		if err := checkArgs(pd.Name(), 1, q, p); err != nil {
			return nil, err
		}
		if err := pd.Validate(); err != nil {
			return nil, err
		}
		var e expr
		kin := e.scale(0.5/(pd.L*pd.L), e.sq(p[0]))
		pot := e.scale(2*pd.G*pd.L, e.sq(e.sin(e.scale(0.5, q[0]))))
		return e.result(e.add(kin, pot))
	}
}

// Energy returns H = p²/(2L²) + 2 G L sin²(θ/2).
func (pd Pendulum) Energy(z []float64) float64 {
	s := math.Sin(0.5 * z[0])
	return 0.5*z[1]*z[1]/(pd.L*pd.L) + 2*pd.G*pd.L*s*s
}

// Gradient stores ∇H = (G L sin θ, p/L²).
func (pd Pendulum) Gradient(dst, z []float64) {
	pd.DV(dst[:1], z[:1])
	pd.DT(dst[1:2], z[1:2])
}

// Hessian stores D²H = diag(G L cos θ, 1/L²).
func (pd Pendulum) Hessian(dst []float64, z []float64) {
	dst[0], dst[1] = pd.G*pd.L*math.Cos(z[0]), 0
	dst[2], dst[3] = 0, 1/(pd.L*pd.L)
}

// DT stores dT/dp = p/L².
func (pd Pendulum) DT(dst, p []float64) { dst[0] = p[0] / (pd.L * pd.L) }

// DV stores dV/dθ = G L sin θ.
func (pd Pendulum) DV(dst, q []float64) { dst[0] = pd.G * pd.L * math.Sin(q[0]) }

// Invariants returns nil: H is the only invariant.
func (Pendulum) Invariants([]float64) []float64 { return nil }

// InvariantNames returns nil.
func (Pendulum) InvariantNames() []string { return nil }

// Z0 returns (θ, p) = (2, 0), a large-amplitude libration.
func (Pendulum) Z0() []float64 { return []float64{2, 0} }

// Interval returns [0, 4π].
func (Pendulum) Interval() (t0, t1 float64) { return 0, 4 * math.Pi }

// DoublePendulum is the planar double pendulum with unit masses and unit
// lengths under gravity G, z = (θ1, θ2, p1, p2), angles from the downward
// vertical and p1, p2 their canonical momenta. With Δ = θ1 − θ2:
//
//	H = (p1² + 2 p2² − 2 p1 p2 cos Δ) / (2 (1 + sin² Δ))
//	    + 2G (1 − cos θ1) + G (1 − cos θ2),
//
// the potential written as 4G sin²(θ1/2) + 2G sin²(θ2/2), so H = 0 at rest.
// H is not separable. The zero value (G = 0) has no gravity; Lookup uses
// G = 1.
type DoublePendulum struct {
	G float64
}

// Name returns "double-pendulum".
func (DoublePendulum) Name() string { return "double-pendulum" }

// Dim returns 4.
func (DoublePendulum) Dim() int { return 4 }

// Validate reports a non-finite G.
func (dp DoublePendulum) Validate() error {
	if math.IsNaN(dp.G) || math.IsInf(dp.G, 0) {
		return fmt.Errorf("systems: double-pendulum: G = %v is not finite", dp.G)
	}
	return nil
}

// Hamiltonian returns H per point, the denominator written as
// 2(1 + sin²Δ) = 2(cos²Δ + 2 sin²Δ).
func (dp DoublePendulum) Hamiltonian() hnnsolve.Hamiltonian {
	return func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
		if err := checkArgs(dp.Name(), 2, q, p); err != nil {
			return nil, err
		}
		if err := dp.Validate(); err != nil {
			return nil, err
		}
		var e expr
		delta := e.sub(q[0], q[1])
		c := e.cos(delta)
		s := e.sin(delta)
		num := e.sum(e.sq(p[0]), e.scale(2, e.sq(p[1])), e.scale(-2, e.mul(e.mul(p[0], p[1]), c)))
		den := e.scale(2, e.add(e.sq(c), e.scale(2, e.sq(s))))
		h := e.div(num, den)
		if dp.G != 0 {
			pot := e.add(
				e.scale(4*dp.G, e.sq(e.sin(e.scale(0.5, q[0])))),
				e.scale(2*dp.G, e.sq(e.sin(e.scale(0.5, q[1])))))
			h = e.add(h, pot)
		}
		return e.result(h)
	}
}

// Energy returns H.
func (dp DoublePendulum) Energy(z []float64) float64 {
	t1, t2, p1, p2 := z[0], z[1], z[2], z[3]
	s, c := math.Sincos(t1 - t2)
	s1, s2 := math.Sin(0.5*t1), math.Sin(0.5*t2)
	return (p1*p1+2*p2*p2-2*p1*p2*c)/(2*(1+s*s)) + 4*dp.G*s1*s1 + 2*dp.G*s2*s2
}

// dpParts holds the kinetic part T = N/(2D) of the double pendulum and its
// derivatives, N = p1² + 2p2² − 2 p1 p2 cos Δ, D = 1 + sin² Δ.
type dpParts struct {
	c, d       float64 // cos Δ, D
	tD, tDD    float64 // ∂T/∂Δ, ∂²T/∂Δ²
	tP1, tP2   float64 // ∂T/∂p1, ∂T/∂p2
	tDP1, tDP2 float64 // ∂²T/∂Δ∂p1, ∂²T/∂Δ∂p2
}

func (DoublePendulum) parts(z []float64) dpParts {
	t1, t2, p1, p2 := z[0], z[1], z[2], z[3]
	s, c := math.Sincos(t1 - t2)
	n := p1*p1 + 2*p2*p2 - 2*p1*p2*c
	d := 1 + s*s
	nD, nDD := 2*p1*p2*s, 2*p1*p2*c // ∂N/∂Δ, ∂²N/∂Δ²
	dD, dDD := 2*s*c, 2*(c*c-s*s)   // ∂D/∂Δ, ∂²D/∂Δ²
	nP1, nP2 := 2*p1-2*p2*c, 4*p2-2*p1*c
	// ∂²N/∂Δ∂p1 = 2 p2 s, ∂²N/∂Δ∂p2 = 2 p1 s.
	var r dpParts
	r.c, r.d = c, d
	r.tD = (nD*d - n*dD) / (2 * d * d)
	r.tDD = 0.5 * (nDD/d - 2*nD*dD/(d*d) - n*dDD/(d*d) + 2*n*dD*dD/(d*d*d))
	r.tP1, r.tP2 = nP1/(2*d), nP2/(2*d)
	r.tDP1 = (2*p2*s*d - nP1*dD) / (2 * d * d)
	r.tDP2 = (2*p1*s*d - nP2*dD) / (2 * d * d)
	return r
}

// Gradient stores ∇H = (∂T/∂Δ + 2G sin θ1, −∂T/∂Δ + G sin θ2, ∂T/∂p1,
// ∂T/∂p2), T = N/(2D) the kinetic part.
func (dp DoublePendulum) Gradient(dst, z []float64) {
	r := dp.parts(z)
	dst[0] = r.tD + 2*dp.G*math.Sin(z[0])
	dst[1] = -r.tD + dp.G*math.Sin(z[1])
	dst[2] = r.tP1
	dst[3] = r.tP2
}

// Hessian stores D²H. With T_ΔΔ, T_Δpi the derivatives of the kinetic part
// in Δ = θ1 − θ2: H_θ1θ1 = T_ΔΔ + 2G cos θ1, H_θ2θ2 = T_ΔΔ + G cos θ2,
// H_θ1θ2 = −T_ΔΔ, H_θ1pi = T_Δpi = −H_θ2pi, H_p1p1 = 1/D, H_p2p2 = 2/D,
// H_p1p2 = −cos Δ / D.
func (dp DoublePendulum) Hessian(dst []float64, z []float64) {
	r := dp.parts(z)
	h := dst[:16]
	h[0*4+0] = r.tDD + 2*dp.G*math.Cos(z[0])
	h[1*4+1] = r.tDD + dp.G*math.Cos(z[1])
	h[0*4+1] = -r.tDD
	h[0*4+2] = r.tDP1
	h[0*4+3] = r.tDP2
	h[1*4+2] = -r.tDP1
	h[1*4+3] = -r.tDP2
	h[2*4+2] = 1 / r.d
	h[3*4+3] = 2 / r.d
	h[2*4+3] = -r.c / r.d
	for i := 0; i < 4; i++ {
		for j := 0; j < i; j++ {
			h[i*4+j] = h[j*4+i]
		}
	}
}

// Invariants returns nil: for G ≠ 0 the motion is in general chaotic and H
// is the only invariant.
func (DoublePendulum) Invariants([]float64) []float64 { return nil }

// InvariantNames returns nil.
func (DoublePendulum) InvariantNames() []string { return nil }

// Z0 returns (θ1, θ2, p1, p2) = (π/2, π/2, 0, 0): both arms horizontal at
// rest, a chaotic trajectory for G = 1.
func (DoublePendulum) Z0() []float64 { return []float64{math.Pi / 2, math.Pi / 2, 0, 0} }

// Interval returns [0, 10].
func (DoublePendulum) Interval() (t0, t1 float64) { return 0, 10 }
