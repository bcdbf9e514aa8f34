package systems

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"

	"hnnsolve"
)

// Kepler is the planar Kepler problem (reduced two-body problem, μ = 1),
// z = (x, y, px, py), r = |q|:
//
//	H = (px² + py²)/2 − 1/r,    q̇ = p,  ṗ = −q/r³.
//
// Besides H it conserves the angular momentum L = x py − y px and the
// Laplace-Runge-Lenz vector A = (py L − x/r, −px L − y/r), |A| = e
// (Invariants).
//
// Ecc and A only select the orbit that Z0 and Exact describe (they do not
// enter H): eccentricity e = Ecc ∈ [0, 1) and semi-major axis a = A (A = 0
// means a = 1), starting at pericentre on the positive x axis and moving
// counter-clockwise. The zero value is the circular orbit of radius 1;
// Lookup uses Ecc = 0.5, A = 1.
type Kepler struct {
	Ecc, A float64
}

// Name returns "kepler".
func (Kepler) Name() string { return "kepler" }

// Dim returns 4.
func (Kepler) Dim() int { return 4 }

// Validate reports an eccentricity outside [0, 1) or a negative or
// non-finite semi-major axis.
func (k Kepler) Validate() error {
	if !(k.Ecc >= 0 && k.Ecc < 1) || !(k.A >= 0) || math.IsInf(k.A, 0) {
		return fmt.Errorf("systems: kepler needs 0 ≤ Ecc < 1 and finite A ≥ 0, got Ecc = %v, A = %v", k.Ecc, k.A)
	}
	return nil
}

// Hamiltonian returns H = (px² + py²)/2 − 1/r per point, with 1/r written
// as sqrt(r²)/r² (element-wise ops on vectors only).
func (k Kepler) Hamiltonian() hnnsolve.Hamiltonian {
	return func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
		if err := checkArgs(k.Name(), 2, q, p); err != nil {
			return nil, err
		}
		var e expr
		r2 := e.add(e.sq(q[0]), e.sq(q[1]))
		return e.result(e.sub(e.kinetic(p), e.div(e.sqrt(r2), r2)))
	}
}

// Energy returns H = |p|²/2 − 1/|q|.
func (Kepler) Energy(z []float64) float64 {
	x, y, px, py := z[0], z[1], z[2], z[3]
	return 0.5*(px*px+py*py) - 1/math.Sqrt(x*x+y*y)
}

// Gradient stores ∇H = (x/r³, y/r³, px, py).
func (k Kepler) Gradient(dst, z []float64) {
	k.DV(dst[:2], z[:2])
	k.DT(dst[2:4], z[2:4])
}

// Hessian stores D²H: the q block δij/r³ − 3 qi qj/r⁵, the p block the
// identity.
func (Kepler) Hessian(dst []float64, z []float64) {
	x, y := z[0], z[1]
	r2 := x*x + y*y
	r := math.Sqrt(r2)
	ir3 := 1 / (r2 * r)
	ir5 := ir3 / r2
	clear(dst[:16])
	dst[0] = ir3 - 3*x*x*ir5
	dst[1] = -3 * x * y * ir5
	dst[4] = dst[1]
	dst[5] = ir3 - 3*y*y*ir5
	dst[10], dst[15] = 1, 1
}

// DT stores dT/dp = (px, py).
func (Kepler) DT(dst, p []float64) { dst[0], dst[1] = p[0], p[1] }

// DV stores dV/dq = q/r³.
func (Kepler) DV(dst, q []float64) {
	x, y := q[0], q[1]
	r2 := x*x + y*y
	ir3 := 1 / (r2 * math.Sqrt(r2))
	dst[0], dst[1] = x*ir3, y*ir3
}

// Invariants returns (L, Ax, Ay): the angular momentum L = x py − y px and
// the Laplace-Runge-Lenz vector A = (py L − x/r, −px L − y/r).
func (Kepler) Invariants(z []float64) []float64 {
	x, y, px, py := z[0], z[1], z[2], z[3]
	r := math.Sqrt(x*x + y*y)
	l := x*py - y*px
	return []float64{l, py*l - x/r, -px*l - y/r}
}

// InvariantNames returns the names of the Invariants.
func (Kepler) InvariantNames() []string {
	return []string{"angular momentum", "Runge-Lenz x", "Runge-Lenz y"}
}

func (k Kepler) semiMajor() float64 {
	if k.A == 0 {
		return 1
	}
	return k.A
}

// Period returns the orbital period 2π a^{3/2}.
func (k Kepler) Period() float64 {
	a := k.semiMajor()
	return 2 * math.Pi * a * math.Sqrt(a)
}

// Z0 returns the pericentre state (a(1 − e), 0, 0, sqrt((1 + e)/(a(1 − e)))),
// energy −1/(2a), angular momentum sqrt(a(1 − e²)). It returns NaNs if the
// parameters are invalid (see Validate).
func (k Kepler) Z0() []float64 { return k.Exact(0) }

// Interval returns [0, 2T], two orbital periods.
func (k Kepler) Interval() (t0, t1 float64) { return 0, 2 * k.Period() }

// Exact returns the state at time t on the orbit of Z0 (pericentre at t = 0).
// It solves Kepler's equation E − e sin E = n t, n = a^{−3/2}, by Newton's
// method and returns
//
//	x = a (cos E − e),  y = b sin E,  px = −a n sin E/(1 − e cos E),
//	py = b n cos E/(1 − e cos E),  b = a sqrt(1 − e²).
//
// It returns NaNs if the parameters are invalid (see Validate).
func (k Kepler) Exact(t float64) []float64 {
	if k.Validate() != nil {
		nan := math.NaN()
		return []float64{nan, nan, nan, nan}
	}
	e, a := k.Ecc, k.semiMajor()
	n := 1 / (a * math.Sqrt(a))
	ea := solveKepler(n*t, e)
	s, c := math.Sincos(ea)
	b := a * math.Sqrt(1-e*e)
	edot := n / (1 - e*c)
	return []float64{a * (c - e), b * s, -a * s * edot, b * c * edot}
}

// solveKepler returns E with E − e sin E = M (mod 2π), 0 ≤ e < 1.
func solveKepler(m, e float64) float64 {
	m = math.Mod(m, 2*math.Pi)
	if m < 0 {
		m += 2 * math.Pi
	}
	ea := m
	if e > 0.8 {
		ea = math.Pi
	}
	for i := 0; i < 100; i++ {
		s, c := math.Sincos(ea)
		step := (ea - e*s - m) / (1 - e*c)
		ea -= step
		if math.Abs(step) <= 1e-16*math.Max(1, math.Abs(ea)) {
			break
		}
	}
	return ea
}
