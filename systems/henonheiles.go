package systems

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"

	"hnnsolve"
)

// HenonHeiles is the Hénon-Heiles system of Eq. 26, z = (x, y, px, py):
//
//	H = (px² + py²)/2 + (x² + y²)/2 + x² y − y³/3,
//	ẋ = px, ẏ = py, ṗx = −(x + 2xy), ṗy = −(y + x² − y²)   (Eq. 27, 28).
type HenonHeiles struct{}

// Name returns "henon-heiles".
func (HenonHeiles) Name() string { return "henon-heiles" }

// Dim returns 4.
func (HenonHeiles) Dim() int { return 4 }

// Validate returns nil.
func (HenonHeiles) Validate() error { return nil }

// Hamiltonian returns H of Eq. 26 per point.
func (hh HenonHeiles) Hamiltonian() hnnsolve.Hamiltonian {
	return func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
		if err := checkArgs(hh.Name(), 2, q, p); err != nil {
			return nil, err
		}
		var e expr
		x, y := q[0], q[1]
		x2 := e.sq(x)
		quad := e.scale(0.5, e.sum(e.sq(p[0]), e.sq(p[1]), x2, e.sq(y)))
		cubic := e.sub(e.mul(x2, y), e.scale(1.0/3, e.cube(y)))
		return e.result(e.add(quad, cubic))
	}
}

// Energy returns H of Eq. 26.
func (HenonHeiles) Energy(z []float64) float64 {
	x, y, px, py := z[0], z[1], z[2], z[3]
	return 0.5*(px*px+py*py) + 0.5*(x*x+y*y) + x*x*y - y*y*y/3
}

// Gradient stores ∇H = (x + 2xy, y + x² − y², px, py).
func (hh HenonHeiles) Gradient(dst, z []float64) {
	hh.DV(dst[:2], z[:2])
	hh.DT(dst[2:4], z[2:4])
}

// Hessian stores D²H: the q block [[1 + 2y, 2x], [2x, 1 − 2y]], the p block
// the identity.
func (HenonHeiles) Hessian(dst []float64, z []float64) {
	x, y := z[0], z[1]
	clear(dst[:16])
	dst[0], dst[1] = 1+2*y, 2*x
	dst[4], dst[5] = 2*x, 1-2*y
	dst[10], dst[15] = 1, 1
}

// DT stores dT/dp = (px, py).
func (HenonHeiles) DT(dst, p []float64) { dst[0], dst[1] = p[0], p[1] }

// DV stores dV/dq = (x + 2xy, y + x² − y²).
func (HenonHeiles) DV(dst, q []float64) {
	x, y := q[0], q[1]
	dst[0] = x + 2*x*y
	dst[1] = y + x*x - y*y
}

// Invariants returns nil: the system is chaotic, H is its only invariant.
func (HenonHeiles) Invariants([]float64) []float64 { return nil }

// InvariantNames returns nil.
func (HenonHeiles) InvariantNames() []string { return nil }

// PaperZ0 returns the paper's initial state (x0, y0, px0, py0) =
// (0.3, −0.3, 0.3, 0.15), energy E0 ≈ 0.13 (chaotic, maximal Lyapunov
// exponent 0.069).
func (HenonHeiles) PaperZ0() []float64 { return []float64{0.3, -0.3, 0.3, 0.15} }

// PaperInterval returns the paper's training interval [0, 6π].
func (HenonHeiles) PaperInterval() (t0, t1 float64) { return 0, 6 * math.Pi }

// PaperPoints returns the paper's K = 100 training points.
func (HenonHeiles) PaperPoints() int { return 100 }

// Z0 returns PaperZ0.
func (hh HenonHeiles) Z0() []float64 { return hh.PaperZ0() }

// Interval returns PaperInterval.
func (hh HenonHeiles) Interval() (t0, t1 float64) { return hh.PaperInterval() }

// HenonHeilesCoupling is Hénon-Heiles with its cubic coupling as a
// parameter θ, for solution bundles (hnnsolve.SolveBundle):
//
//	H(z; θ) = (px² + py²)/2 + (x² + y²)/2 + θ (x² y − y³/3),
//
// θ = 1 being Eq. 26.
type HenonHeilesCoupling struct{}

// ParamHamiltonian returns H(z; θ) per point, θ = theta[0].
func (HenonHeilesCoupling) ParamHamiltonian() hnnsolve.ParamHamiltonian {
	return func(q, p, theta []*gorgonia.Node) (*gorgonia.Node, error) {
		if err := checkArgs("henon-heiles-coupling", 2, q, p); err != nil {
			return nil, err
		}
		if len(theta) != 1 {
			return nil, fmt.Errorf("systems: henon-heiles-coupling: %d parameters, want 1 (the coupling θ)", len(theta))
		}
		var e expr
		x, y := q[0], q[1]
		x2 := e.sq(x)
		quad := e.scale(0.5, e.sum(e.sq(p[0]), e.sq(p[1]), x2, e.sq(y)))
		cubic := e.sub(e.mul(x2, y), e.scale(1.0/3, e.cube(y)))
		return e.result(e.add(quad, e.mul(theta[0], cubic)))
	}
}

// Energy returns H(z; θ).
func (HenonHeilesCoupling) Energy(z []float64, theta float64) float64 {
	x, y, px, py := z[0], z[1], z[2], z[3]
	return 0.5*(px*px+py*py) + 0.5*(x*x+y*y) + theta*(x*x*y-y*y*y/3)
}

// Gradient stores ∇H(z; θ) = (x + 2θxy, y + θ(x² − y²), px, py).
func (HenonHeilesCoupling) Gradient(dst, z []float64, theta float64) {
	x, y := z[0], z[1]
	dst[0], dst[1] = x+2*theta*x*y, y+theta*(x*x-y*y)
	dst[2], dst[3] = z[2], z[3]
}

// Hessian stores D²H(z; θ): the q block [[1 + 2θy, 2θx], [2θx, 1 − 2θy]],
// the p block the identity.
func (HenonHeilesCoupling) Hessian(dst, z []float64, theta float64) {
	x, y := z[0], z[1]
	clear(dst[:16])
	dst[0], dst[1] = 1+2*theta*y, 2*theta*x
	dst[4], dst[5] = 2*theta*x, 1-2*theta*y
	dst[10], dst[15] = 1, 1
}
