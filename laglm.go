package hnnsolve

import "math"

// Levenberg-Marquardt for the Lagrangian losses (Eq. 12, 8, and the
// Euler-Lagrange residual of a general L) at fixed times: one residual per
// time and coordinate, and one for the energy when λ > 0,
//
//	r_{n,i} = R_i(q, q̇, q̈)/√K,  r_{n,d} = √(λ/K) (E(q, q̇) - E0),
//
// with R = q̈ + ∇V and E = H = |p|²/2 + V for L = |q̇|²/2 - V. With
// ∂q = f2 ∂N, ∂q̇ = f2' ∂N + f2 ∂Ṅ and ∂q̈ = f2" ∂N + 2 f2' ∂Ṅ + f2 ∂N̈, the
// Jacobian rows are reverse passes through the second-order network with
// the cotangents
//
//	residual i: c_N = [f2 ∂R_i/∂q + f2' ∂R_i/∂q̇ + f2" ∂R_i/∂q̈]/√K,
//	            c_Ṅ = [f2 ∂R_i/∂q̇ + 2 f2' ∂R_i/∂q̈]/√K,  c_N̈ = f2 ∂R_i/∂q̈/√K
//	energy:     c_N = √(λ/K) (f2 ∂E/∂q + f2' ∂E/∂q̇),  c_Ṅ = √(λ/K) f2 ∂E/∂q̇
//
// where the point model (secondOrderModel) gives R, E and their
// derivatives from the expression: for q̈ + ∇V, ∂R_i/∂q = D²V_i, ∂R/∂q̇ = 0,
// ∂R/∂q̈ = I. refineLM (levenberg.go) takes the steps.
type lagrangianLM struct {
	net    *network
	model  secondOrderModel
	ts     []float64 // input times τ
	z0     []float64 // (q0, v0)
	param  Param
	lambda float64
	e0     float64

	d, rows, nPar int
	offsets       []int
	pts           []lagPoint
	zs            [][]float64  // (q, q̇, q̈) per time
	res, jres     []float64    // R (K×d), ∂R_i/∂(q, q̇, q̈) (K×d×3d)
	energy, jen   []float64    // E (K), ∂E/∂(q, q̇) (K×2d)
	work          [6][]float64 // reverse-pass work space
	cot           [3][]float64 // c_N, c_Ṅ, c_N̈
}

// secondOrderModel evaluates the residuals R of second-order equations of
// motion and the energy E at points (q, q̇, q̈) with their derivatives.
type secondOrderModel interface {
	// eval fills, for the rows pts[n] = (q, q̇, q̈) (len 3d): res[n*d+i] =
	// R_i, jres[(n*d+i)*3d+j] = ∂R_i/∂(q, q̇, q̈)_j, energy[n] = E and
	// jen[n*2d+j] = ∂E/∂(q, q̇)_j.
	eval(pts [][]float64, res, jres, energy, jen []float64) error
}

// potentialModel is the point model of L = |q̇|²/2 - V: R = q̈ + ∇V and
// E = H = |p|²/2 + V, from the Hamiltonian's evaluator (with its Hessian).
type potentialModel struct {
	ev        *hamiltonianEvaluator
	d         int
	zs        [][]float64 // (q, q̇) views of the points
	grad, hes []float64
}

func newPotentialModel(ev *hamiltonianEvaluator, d int) *potentialModel {
	return &potentialModel{ev: ev, d: d}
}

func (pm *potentialModel) eval(pts [][]float64, res, jres, energy, jen []float64) error {
	d, D := pm.d, 2*pm.d
	if len(pm.zs) != len(pts) {
		pm.zs = make([][]float64, len(pts))
		pm.grad, pm.hes = make([]float64, len(pts)*D), make([]float64, len(pts)*D*D)
	}
	for n, p := range pts {
		pm.zs[n] = p[:D]
	}
	if err := pm.ev.eval(pm.zs, energy, pm.grad, pm.hes); err != nil {
		return err
	}
	for n, p := range pts {
		g, h := pm.grad[n*D:(n+1)*D], pm.hes[n*D*D:(n+1)*D*D]
		copy(jen[n*D:(n+1)*D], g)
		for i := range d {
			res[n*d+i] = p[D+i] + g[i]
			row := jres[(n*d+i)*3*d : (n*d+i+1)*3*d]
			copy(row[:D], h[i*D:(i+1)*D]) // ∂²H/∂q_i∂(q, p)
			clear(row[D:])
			row[D+i] = 1
		}
	}
	return nil
}

// lagPoint is the forward cache of one time: per hidden layer σ(a), ḣ, ḧ,
// σ'(a), ȧ, ä, and the outputs.
type lagPoint struct {
	h, dh, ddh, d1, da, dda [][]float64
	n, dn, ddn              []float64
}

var _ lmModel = (*lagrangianLM)(nil)

func newLagrangianLM(net *network, model secondOrderModel, ts, z0 []float64, param Param, lambda, e0 float64) *lagrangianLM {
	d := len(z0) / 2
	perTime := d
	if lambda > 0 {
		perTime++
	}
	lp := &lagrangianLM{net: net, model: model, ts: ts, z0: z0, param: param, lambda: lambda, e0: e0,
		d: d, rows: perTime * len(ts), nPar: net.numParams()}
	off := 0
	for _, p := range net.params {
		lp.offsets = append(lp.offsets, off)
		off += len(p)
	}
	for range ts {
		var pt lagPoint
		for _, w := range net.widths[1 : len(net.widths)-1] {
			for _, s := range []*[][]float64{&pt.h, &pt.dh, &pt.ddh, &pt.d1, &pt.da, &pt.dda} {
				*s = append(*s, make([]float64, w))
			}
		}
		pt.n, pt.dn, pt.ddn = make([]float64, d), make([]float64, d), make([]float64, d)
		lp.pts = append(lp.pts, pt)
		lp.zs = append(lp.zs, make([]float64, 3*d))
	}
	k := len(ts)
	lp.res, lp.jres = make([]float64, k*d), make([]float64, k*d*3*d)
	lp.energy, lp.jen = make([]float64, k), make([]float64, k*2*d)
	w := net.maxWidth()
	for i := range lp.work {
		lp.work[i] = make([]float64, w)
	}
	for i := range lp.cot {
		lp.cot[i] = make([]float64, d)
	}
	return lp
}

func (lp *lagrangianLM) network() *network        { return lp.net }
func (lp *lagrangianLM) size() (rows, params int) { return lp.rows, lp.nPar }

// input returns unit i of layer l's input and its two time derivatives.
func (pt *lagPoint) input(tau float64, l, i int) (h, dh, ddh float64) {
	if l == 0 {
		return tau, 1, 0
	}
	return pt.h[l-1][i], pt.dh[l-1][i], pt.ddh[l-1][i]
}

// forwardPoint runs the network at input time τ keeping what the reverse
// pass needs.
func (lp *lagrangianLM) forwardPoint(tau float64, pt *lagPoint) {
	net := lp.net
	L := len(pt.h)
	for l := 0; l <= L; l++ {
		in, out := net.widths[l], net.widths[l+1]
		W, b := net.params[2*l], net.params[2*l+1]
		var a, da, dda []float64
		if l == L {
			a, da, dda = pt.n, pt.dn, pt.ddn
		} else {
			a, da, dda = pt.h[l], pt.da[l], pt.dda[l] // a is overwritten by σ(a) below
		}
		copy(a, b)
		clear(da)
		clear(dda)
		for i := range in {
			hi, dhi, ddhi := pt.input(tau, l, i)
			row := W[i*out : (i+1)*out]
			for j, w := range row {
				a[j] += hi * w
				da[j] += dhi * w
				dda[j] += ddhi * w
			}
		}
		if l < L {
			for j := range out {
				y, d1 := net.act.eval(a[j])
				d2, _ := net.act.derivs(y, d1)
				pt.h[l][j], pt.d1[l][j] = y, d1
				pt.dh[l][j], pt.ddh[l][j] = d1*da[j], d2*da[j]*da[j]+d1*dda[j]
			}
		}
	}
}

// residuals evaluates the network, H, ∇H and D²H at every time and fills r
// (len rows). It returns |r|².
func (lp *lagrangianLM) residuals(r []float64) (float64, error) {
	d := lp.d
	for n, tau := range lp.ts {
		pt := &lp.pts[n]
		lp.forwardPoint(tau, pt)
		pf := lp.param.eval2(tau, 0)
		for i := range d {
			q0, v0 := lp.z0[i], lp.z0[d+i]
			lp.zs[n][i] = q0 + pf[0]*v0 + pf[3]*pt.n[i]
			lp.zs[n][d+i] = pf[1]*v0 + pf[4]*pt.n[i] + pf[3]*pt.dn[i]
			lp.zs[n][2*d+i] = pf[2]*v0 + pf[5]*pt.n[i] + 2*pf[4]*pt.dn[i] + pf[3]*pt.ddn[i]
		}
	}
	if err := lp.model.eval(lp.zs, lp.res, lp.jres, lp.energy, lp.jen); err != nil {
		return 0, err
	}
	sk := 1 / math.Sqrt(float64(len(lp.ts)))
	se := math.Sqrt(lp.lambda) * sk
	row, loss := 0, 0.0
	for n := range lp.ts {
		for i := range d {
			r[row] = lp.res[n*d+i] * sk
			loss += r[row] * r[row]
			row++
		}
		if lp.lambda > 0 {
			r[row] = se * (lp.energy[n] - lp.e0)
			loss += r[row] * r[row]
			row++
		}
	}
	return loss, nil
}

// jacobian fills jac (rows × nPar, row-major) for the state of the latest
// residuals call.
func (lp *lagrangianLM) jacobian(jac []float64) {
	d := lp.d
	sk := 1 / math.Sqrt(float64(len(lp.ts)))
	se := math.Sqrt(lp.lambda) * sk
	cN, cdN, cddN := lp.cot[0], lp.cot[1], lp.cot[2]
	row := 0
	for n, tau := range lp.ts {
		pt := &lp.pts[n]
		pf := lp.param.eval2(tau, 0)
		f2, df2, ddf2 := pf[3], pf[4], pf[5]
		for i := range d {
			jr := lp.jres[(n*d+i)*3*d : (n*d+i+1)*3*d]
			jq, jv, ja := jr[:d], jr[d:2*d], jr[2*d:]
			for j := range d {
				cN[j] = (f2*jq[j] + df2*jv[j] + ddf2*ja[j]) * sk
				cdN[j] = (f2*jv[j] + 2*df2*ja[j]) * sk
				cddN[j] = f2 * ja[j] * sk
			}
			lp.vjp(tau, pt, jac[row*lp.nPar:(row+1)*lp.nPar])
			row++
		}
		if lp.lambda > 0 {
			g := lp.jen[n*2*d : (n+1)*2*d]
			for j := range d {
				cN[j], cdN[j], cddN[j] = se*(f2*g[j]+df2*g[d+j]), se*f2*g[d+j], 0
			}
			lp.vjp(tau, pt, jac[row*lp.nPar:(row+1)*lp.nPar])
			row++
		}
	}
}

// vjp writes ∂(c_N·N + c_Ṅ·Ṅ + c_N̈·N̈)/∂θ at input time τ into out
// (parameter order), with the cotangents of lp.cot: the single-time form
// of the fused second-order network's backward pass (netop2.go).
func (lp *lagrangianLM) vjp(tau float64, pt *lagPoint, out []float64) {
	net := lp.net
	act := net.act
	L := len(pt.h)
	offs := lp.offsets
	cN, cdN, cddN := lp.cot[0], lp.cot[1], lp.cot[2]
	gh, gdh, gddh, ga, gda, gdda := lp.work[0], lp.work[1], lp.work[2], lp.work[3], lp.work[4], lp.work[5]
	// Output layer: N = h W_o + b_o, Ṅ = ḣ W_o, N̈ = ḧ W_o.
	d, wL := lp.d, net.widths[L]
	gW, gb, Wo := out[offs[2*L]:offs[2*L]+wL*d], out[offs[2*L+1]:offs[2*L+1]+d], net.params[2*L]
	for i := range wL {
		h, dh, ddh := pt.h[L-1][i], pt.dh[L-1][i], pt.ddh[L-1][i]
		sh, sdh, sddh := 0.0, 0.0, 0.0
		for j := range d {
			gW[i*d+j] = h*cN[j] + dh*cdN[j] + ddh*cddN[j]
			w := Wo[i*d+j]
			sh += w * cN[j]
			sdh += w * cdN[j]
			sddh += w * cddN[j]
		}
		gh[i], gdh[i], gddh[i] = sh, sdh, sddh
	}
	copy(gb, cN)
	for l := L - 1; l >= 0; l-- {
		in, w := net.widths[l], net.widths[l+1]
		h, d1, da, dda := pt.h[l], pt.d1[l], pt.da[l], pt.dda[l]
		for j := range w {
			d2, d3 := act.derivs(h[j], d1[j])
			ga[j] = gh[j]*d1[j] + gdh[j]*d2*da[j] + gddh[j]*(d3*da[j]*da[j]+d2*dda[j])
			gda[j] = gdh[j]*d1[j] + 2*gddh[j]*d2*da[j]
			gdda[j] = gddh[j] * d1[j]
		}
		gW, gb, W := out[offs[2*l]:offs[2*l]+in*w], out[offs[2*l+1]:offs[2*l+1]+w], net.params[2*l]
		copy(gb, ga[:w])
		for i := range in {
			hi, dhi, ddhi := pt.input(tau, l, i)
			row := gW[i*w : (i+1)*w]
			for j := range w {
				row[j] = hi*ga[j] + dhi*gda[j] + ddhi*gdda[j]
			}
		}
		if l == 0 {
			break
		}
		for i := range in {
			sh, sdh, sddh := 0.0, 0.0, 0.0
			row := W[i*w : (i+1)*w]
			for j, wij := range row {
				sh += wij * ga[j]
				sdh += wij * gda[j]
				sddh += wij * gdda[j]
			}
			gh[i], gdh[i], gddh[i] = sh, sdh, sddh
		}
	}
}
