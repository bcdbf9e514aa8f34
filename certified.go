package hnnsolve

// The certified error bound: the linearised error of Eq. 18 plus a rigorous
// bound on the nonlinear remainder that Eq. 18 drops, closed by a bootstrap
// on the radius of a tube around the network's solution.
//
// With δz = z - ẑ, ℓ the residual (Eq. 14) and A(t) = J D²H(ẑ(t)),
//
//	dδz/dt = A δz - ℓ + R,   R = J (∇H(ẑ+δz) - ∇H(ẑ) - D²H(ẑ) δz),   δz(T0) = 0
//
// exactly (Eq. 18 with its remainder kept), so by variation of constants
//
//	δz(t) = δz_lin(t) + ∫_T0^t Φ(t)Φ(s)⁻¹ R(s) ds,
//
// δz_lin the solution of Eq. 18 without R (Report.EstimateEq18) and Φ its
// fundamental matrix. Taylor's theorem with integral remainder gives
// R = J ∫_0^1 (1-u) D³H(ẑ+uδz)[δz, δz] du, so |R| <= M3/2 |δz|² wherever
// the segment from ẑ to z lies in a set on which ‖D³H[v, v]‖ <= M3 |v|²
// (J is orthogonal). Take the tube U_ρ = {ẑ(t) + w : t ∈ [T0, T], |w| <= ρ}
// and M3(ρ) >= sup over U_ρ of the Frobenius norm of D³H, which is at least
// that operator norm. While z stays in U_ρ, u = |δz| satisfies
//
//	u(t) <= a(t) + c ∫_T0^t G(t, s) u(s)² ds,   a = |δz_lin|, c = M3(ρ)/2, G(t, s) = ‖Φ(t)Φ(s)⁻¹‖,
//
// and the solution B of the same relation with equality (remainderSweep)
// is a comparison function: G >= 0 and u² increasing in u, so at the first
// time u reached B it would be below it. If moreover sup B < ρ, z never
// leaves the tube (at the first time u reached ρ it would be at most
// B < ρ), so the premise holds on the whole interval (the bootstrap), and
//
//	|δz(t)| <= B(t)   (Report.BoundCertifiedCurve).
//
// The bootstrap starts with a tube just wider than the Eq. 18 estimate and
// widens it to what the sweep reaches, so B exceeds the Eq. 18 estimate by
// a second-order term only, weighted by where the error is large: the bound
// is as tight as Eq. 18 is accurate, which is where the error is small.
//
// How M3(ρ) is obtained decides whether the result is certified:
//   - H a polynomial of degree p <= 4 in z, read off its expression graph
//     (+, -, ×, ÷ by a constant, squares, cubes, non-negative integer
//     powers, sums): D³H is 0 (p <= 2), constant (p = 3) or affine (p = 4),
//     so M3(ρ) = max_k ‖D³H(ẑ(t_k))‖ + (ρ + Δ) ‖D⁴H‖ exactly over balls of
//     radius ρ + Δ around the grid points, Δ = h max_k |dẑ/dt(t_k)| covering
//     the curve between grid points (h the largest grid spacing; twice the
//     first-order distance h/2 |dẑ/dt|). D³H and D⁴H come from central
//     differences of the exact D²H with unit step, which are exact for
//     these degrees; a relative margin covers rounding. Report.Certified.
//   - any other H: M3 is the largest ‖D³H‖ sampled at the grid points and
//     at ±(ρ+Δ) along each axis from them (differences with a small step),
//     times a safety factor of 2. That is an estimate of the tube maximum,
//     not a bound: the figure is Report.BoundSampled, never certified.
//
// The other assumptions, stated in Report.CertifiedAssumptions: ẑ, ℓ and
// D²H are evaluated exactly (float64); the integration of the linear
// Eq. 18 and of Φ (DOP853, analysisRTol) is accurate to its tolerance, for
// which a margin of certifiedIntMargin relative to the scale ℓ_max (T-T0)
// of the error and to E is added; the integral of ‖Φ(t)Φ(s)⁻¹‖ is the
// trapezoidal rule over the grid (in the sweep), raised by
// certifiedQuadMargin; sup_t
// |δz_lin(t)| between grid points is taken as the grid maximum plus
// h max_k |dδz_lin/dt(t_k)|; the bound holds at the grid times.

import (
	"fmt"
	"math"
	"strings"

	"gorgonia.org/gorgonia"
)

// Margins of the certified bound (see above).
const (
	certifiedIntMargin  = 1e-6 // relative to E and ℓ_max (T-T0): the integration of Eq. 18
	certifiedQuadMargin = 0.1  // relative: the trapezoidal ∫‖Φ(t)Φ(s)⁻¹‖ ds
	certifiedRounding   = 1e-9 // relative: rounding in the differences of D²H
	sampledSafety       = 2    // factor on the sampled tube maximum of ‖D³H‖
)

// The bootstrap starts from a tube just wider than the Eq. 18 estimate and
// widens it to the bound it found, at most certifiedTries times.
const (
	certifiedRadiusStep = 0.05
	certifiedTries      = 8
)

// remainderSweep solves, on the times ts, the discrete Volterra equation
//
//	B(t_k) = a(t_k) + c ∫_T0^t_k ‖Φ(t_k)Φ(s)⁻¹‖ B(s)² ds      (trapezoidal rule)
//
// forward in k (the term at s = t_k, where the kernel is ‖I‖, makes each
// step a quadratic, whose smaller root is taken). B is the comparison
// function of the bootstrap: |δz| <= B as long as |δz| stays in the tube,
// and ok reports that B stays below limit, which keeps it there. When not
// ok, the last element of the result is the largest B reached before the
// sweep stopped (+Inf if the quadratic had no root).
func remainderSweep(ts []float64, phis [][]float64, lin []float64, c, limit float64, dim int) ([]float64, bool, error) {
	n := len(ts)
	b := make([]float64, n)
	ok, peak := true, 0.0
	err := kernelRows(ts, phis, dim, func(k int, g []float64) bool {
		if k == 0 {
			b[0] = lin[0]
		} else {
			// Known part: the trapezoids up to t_k without its own end.
			s := 0.0
			for j := 0; j < k; j++ {
				w := (ts[j+1] - ts[j]) / 2
				s += w * g[j] * b[j] * b[j]
				if j+1 < k {
					s += w * g[j+1] * b[j+1] * b[j+1]
				}
			}
			alpha := c * (ts[k] - ts[k-1]) / 2 * g[k]
			beta := lin[k] + c*s
			disc := 1 - 4*alpha*beta
			if !(disc >= 0) {
				ok, peak = false, math.Inf(1)
				return false
			}
			b[k] = 2 * beta / (1 + math.Sqrt(disc))
		}
		peak = max(peak, b[k])
		if !(b[k] < limit) {
			ok = false
			return false
		}
		return true
	})
	if err != nil {
		return nil, false, err
	}
	if !ok {
		b[n-1] = peak
	}
	return b, ok, nil
}

// maxPolyDegree is the largest polynomial degree of H for which the tube
// maximum of ‖D³H‖ is exact (D⁴H constant).
const maxPolyDegree = 4

// polynomialDegree returns the degree of H as a polynomial in z, read off
// the expression graph of the evaluator, and false when H is not (or not
// recognisably) a polynomial.
func polynomialDegree(ev *hamiltonianEvaluator) (int, bool) {
	g := ev.g
	inputs := map[*gorgonia.Node]bool{}
	for _, z := range ev.z {
		inputs[z] = true
	}
	const notPoly = -1
	memo := map[*gorgonia.Node]int{}
	var deg func(n *gorgonia.Node) int
	deg = func(n *gorgonia.Node) int {
		if d, ok := memo[n]; ok {
			return d
		}
		d := notPoly
		defer func() { memo[n] = d }()
		if inputs[n] {
			d = 1
			return d
		}
		op := n.Op()
		if op == nil {
			return d // an input other than z
		}
		if _, ok := op.(constantValue); ok {
			d = 0
			return d
		}
		cs := children(g, n)
		ds := make([]int, len(cs))
		for i, c := range cs {
			if ds[i] = deg(c); ds[i] == notPoly {
				return d
			}
		}
		allConst := true
		for _, x := range ds {
			allConst = allConst && x == 0
		}
		if allConst {
			d = 0
			return d
		}
		name := op.String()
		switch fmt.Sprintf("%T", op) {
		case "gorgonia.elemBinOp":
			if len(ds) != 2 {
				return d
			}
			switch strings.Fields(name)[0] {
			case "+", "-":
				d = max(ds[0], ds[1])
			case "⊙":
				d = ds[0] + ds[1]
			case "÷":
				if ds[1] == 0 {
					d = ds[0]
				}
			case "^":
				if e, ok := constantScalar(cs[1]); ok && ds[1] == 0 && e >= 0 && e == math.Trunc(e) && e <= 64 {
					d = ds[0] * int(e)
				}
			}
		case "gorgonia.elemUnaryOp":
			switch name {
			case "neg":
				d = ds[0]
			case "square":
				d = 2 * ds[0]
			case "cube":
				d = 3 * ds[0]
			}
		case "gorgonia.sumOp", "*gorgonia.repeatOp", "gorgonia.reshapeOp", "*gorgonia.sliceOp":
			d = ds[0] // point by point, or the sum over the points
		}
		return d
	}
	d := deg(ev.hg.h)
	return d, d != notPoly
}

// constantScalar returns the value of a scalar constant node.
func constantScalar(n *gorgonia.Node) (float64, bool) {
	c, ok := n.Op().(constantValue)
	if !ok {
		return 0, false
	}
	d, err := valueSlice(c.Value())
	if err != nil || len(d) == 0 {
		return 0, false
	}
	for _, v := range d[1:] {
		if v != d[0] {
			return 0, false
		}
	}
	return d[0], true
}

// thirdDerivNorms returns ‖D³H(z_k)‖_F for the rows zs, by central
// differences of the exact D²H with step eps(z) along each axis.
func (a *analyzer) thirdDerivNorms(zs [][]float64, eps func(z []float64) float64) ([]float64, error) {
	dim := a.dim
	pts := make([][]float64, 0, 2*dim*len(zs))
	steps := make([]float64, len(zs))
	for k, z := range zs {
		steps[k] = eps(z)
		for m := range dim {
			for _, sgn := range []float64{1, -1} {
				p := append([]float64(nil), z...)
				p[m] += sgn * steps[k]
				pts = append(pts, p)
			}
		}
	}
	hess := make([]float64, len(pts)*dim*dim)
	if err := a.batch.eval(pts, nil, nil, hess); err != nil {
		return nil, err
	}
	out := make([]float64, len(zs))
	for k := range zs {
		s, scale := 0.0, 0.0
		for m := range dim {
			hp := hess[(2*(k*dim+m))*dim*dim : (2*(k*dim+m)+1)*dim*dim]
			hm := hess[(2*(k*dim+m)+1)*dim*dim : (2*(k*dim+m)+2)*dim*dim]
			for i := range hp {
				v := (hp[i] - hm[i]) / (2 * steps[k])
				s += v * v
				scale = max(scale, math.Abs(hp[i]), math.Abs(hm[i]))
			}
		}
		// Rounding in the differences: a few ulps of the entries, over the step.
		out[k] = math.Sqrt(s)*(1+certifiedRounding) + certifiedRounding*scale/steps[k]
		if !isFinite(out[k]) {
			return nil, fmt.Errorf("%w: D³H is not finite near z = %v", ErrAnalysis, zs[k])
		}
	}
	return out, nil
}

// fourthDerivNorm returns ‖D⁴H(z)‖_F by second differences of D²H with
// unit step, exact for H of degree <= 4 (D²H quadratic).
func (a *analyzer) fourthDerivNorm(z []float64) (float64, error) {
	dim := a.dim
	var pts [][]float64
	for m := range dim {
		for n := range dim {
			for _, s := range [][2]float64{{1, 1}, {1, -1}, {-1, 1}, {-1, -1}} {
				p := append([]float64(nil), z...)
				p[m] += s[0]
				p[n] += s[1]
				pts = append(pts, p)
			}
		}
	}
	hess := make([]float64, len(pts)*dim*dim)
	if err := a.batch.eval(pts, nil, nil, hess); err != nil {
		return 0, err
	}
	dd := dim * dim
	sum, scale := 0.0, 0.0
	for c := range dim * dim {
		h := func(s int) []float64 { return hess[(4*c+s)*dd : (4*c+s+1)*dd] }
		pp, pm, mp, mm := h(0), h(1), h(2), h(3)
		for i := range pp {
			v := (pp[i] - pm[i] - mp[i] + mm[i]) / 4
			sum += v * v
			scale = max(scale, math.Abs(pp[i]), math.Abs(pm[i]), math.Abs(mp[i]), math.Abs(mm[i]))
		}
	}
	out := math.Sqrt(sum)*(1+certifiedRounding) + certifiedRounding*scale
	if !isFinite(out) {
		return 0, fmt.Errorf("%w: D⁴H is not finite near z = %v", ErrAnalysis, z)
	}
	return out, nil
}

// tubeBound gives M3(ρ) >= the tube maximum of ‖D³H‖ (see the top of this
// file), and whether it is a bound (polynomial H of degree <= 4) or an
// estimate from samples.
type tubeBound struct {
	a        *analyzer
	zs       [][]float64 // ẑ at the grid times
	delta    float64     // Δ: the curve lies within Δ of the grid points
	poly     bool
	degree   int
	d3       []float64 // ‖D³H(ẑ_k)‖, polynomial H
	d3max    float64
	d4       float64 // ‖D⁴H‖, degree 4
	describe string
}

func (a *analyzer) newTubeBound(zs [][]float64, delta float64) (*tubeBound, error) {
	tb := &tubeBound{a: a, zs: zs, delta: delta}
	tb.degree, tb.poly = polynomialDegree(a.batch)
	if tb.poly && tb.degree > maxPolyDegree {
		tb.poly = false
	}
	if !tb.poly {
		tb.describe = fmt.Sprintf("H is not a polynomial of degree <= %d: the tube maximum of ‖D³H‖ is sampled (grid points and ±(ρ+Δ) along each axis, ×%d), an estimate", maxPolyDegree, sampledSafety)
		return tb, nil
	}
	switch {
	case tb.degree <= 2:
		tb.describe = fmt.Sprintf("H is a polynomial of degree %d: D³H = 0, no remainder", tb.degree)
		return tb, nil
	case tb.degree == 3:
		tb.describe = "H is a polynomial of degree 3: D³H is constant, its norm exact"
		zs = zs[:1]
	default:
		tb.describe = "H is a polynomial of degree 4: D³H is affine, bounded exactly over the tube by ‖D³H(ẑ_k)‖ + (ρ+Δ)‖D⁴H‖"
	}
	var err error
	if tb.d3, err = a.thirdDerivNorms(zs, func([]float64) float64 { return 1 }); err != nil {
		return nil, err
	}
	for _, v := range tb.d3 {
		tb.d3max = max(tb.d3max, v)
	}
	if tb.degree == 4 {
		if tb.d4, err = a.fourthDerivNorm(zs[0]); err != nil {
			return nil, err
		}
	}
	return tb, nil
}

// m3 returns M3(ρ).
func (tb *tubeBound) m3(rho float64) (float64, error) {
	if tb.poly {
		switch {
		case tb.degree <= 2:
			return 0, nil
		case tb.degree == 3:
			return tb.d3max, nil
		}
		return tb.d3max + (rho+tb.delta)*tb.d4, nil
	}
	// Samples at the grid points (at most 400 of them) and ±r along each axis.
	r := rho + tb.delta
	stride := max(1, len(tb.zs)/400)
	var pts [][]float64
	for k := 0; k < len(tb.zs); k += stride {
		z := tb.zs[k]
		pts = append(pts, z)
		for m := range z {
			for _, s := range []float64{r, -r} {
				p := append([]float64(nil), z...)
				p[m] += s
				pts = append(pts, p)
			}
		}
	}
	ns, err := tb.a.thirdDerivNorms(pts, func(z []float64) float64 { return 1e-4 * max(1, norm2(z)) })
	if err != nil {
		return 0, err
	}
	m := 0.0
	for _, v := range ns {
		m = max(m, v)
	}
	return sampledSafety * m, nil
}

// certify fills the certified (or sampled) bound of r from the Eq. 18
// estimate, the fundamental matrices a.phis at the integration times (the
// grid, with T0 first when off == 1) and the grid values.
func (a *analyzer) certify(r *Report, ts []float64, off int, scale float64) error {
	r.BoundCertified, r.BoundSampled = math.NaN(), math.NaN()
	n, dim := len(r.Grid), a.dim
	zflat, dz := make([]float64, n*dim), make([]float64, n*dim)
	a.sol.states(r.Grid, zflat, dz)
	zs := make([][]float64, n)
	h, vmax, dlin := 0.0, 0.0, 0.0
	for k := range n {
		zs[k] = zflat[k*dim : (k+1)*dim]
		vmax = max(vmax, norm2(dz[k*dim:(k+1)*dim]))
		// |dδz_lin/dt| = |A δz_lin - ℓ| at the grid point.
		am, ell, e := a.gridA[k*dim*dim:(k+1)*dim*dim], a.gridEll[k*dim:(k+1)*dim], r.EstimateEq18.RawRowView(k)
		s := 0.0
		for i := range dim {
			v := -ell[i]
			for j := range dim {
				v += am[i*dim+j] * e[j]
			}
			s += v * v
		}
		dlin = max(dlin, math.Sqrt(s))
	}
	for k := 1; k < len(ts); k++ {
		h = max(h, ts[k]-ts[k-1])
	}
	margin := certifiedIntMargin * (r.EstimateEq18Max + scale)
	gap := h * dlin // sup |δz_lin| between grid points, beyond the grid maximum
	tb, err := a.newTubeBound(zs, h*vmax)
	if err != nil {
		return err
	}
	r.CertifiedAssumptions = certifiedAssumptions(tb.describe)
	r.TubeRadius, r.RemainderM3 = math.NaN(), math.NaN()
	// a(t) = |δz_lin(t)| + margin at the integration times (0 at T0).
	lin := make([]float64, len(ts))
	for k := range n {
		lin[k+off] = r.EstimateEq18Norm[k] + margin
	}
	var curve []float64
	rho := (r.EstimateEq18Max + margin + gap) * (1 + certifiedRadiusStep)
	for range certifiedTries {
		m3, err := tb.m3(rho)
		if err != nil {
			return err
		}
		b, ok, err := remainderSweep(ts, a.phis, lin, m3/2*(1+certifiedQuadMargin), rho-gap, a.dim)
		if err != nil {
			return err
		}
		if ok {
			curve = b[off:]
			r.TubeRadius, r.RemainderM3 = rho, m3
			break
		}
		if !isFinite(b[len(b)-1]) {
			break // the sweep blew up: a larger tube will not help
		}
		rho = max((b[len(b)-1]+gap)*(1+certifiedRadiusStep), 1.5*rho)
	}
	value := math.Inf(1)
	if curve != nil {
		value = 0
		for _, v := range curve {
			value = max(value, v)
		}
	} else {
		// A bound of +Inf: true, and says nothing.
		r.CertifiedAssumptions += "; the bootstrap did not close (the error is too large for the remainder bound): the bound is +Inf"
		curve = make([]float64, n)
		for k := range curve {
			curve[k] = math.Inf(1)
		}
	}
	if tb.poly {
		r.Certified = true
		r.BoundCertified, r.BoundCertifiedCurve = value, curve
	} else {
		r.BoundSampled, r.BoundSampledCurve = value, curve
	}
	return nil
}

func certifiedAssumptions(tube string) string {
	return tube + "; ẑ, ℓ and D²H exact in float64; the Eq. 18 integration (DOP853) accurate to its tolerance, " +
		fmt.Sprintf("with a margin of %g of E and of ℓ_max (T-T0); ∫‖Φ(t)Φ(s)⁻¹‖ds by the trapezoidal rule +%g%%; ", certifiedIntMargin, 100*certifiedQuadMargin) +
		"sup|δz_lin| between grid points within h·max|dδz_lin/dt| of the grid maximum; holds at the grid times"
}
