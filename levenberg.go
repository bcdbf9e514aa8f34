package hnnsolve

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// Levenberg-Marquardt refinement. The loss of Eq. 7-8 at fixed times is a
// sum of squares, L = |r(θ)|², with one residual per time and component,
//
//	r_{n,i} = ℓ_i(t_n)/√K,  ℓ = dẑ/dt - J∇H(ẑ)      (Eq. 14)
//	r_{n,D} = √(λ/K) (H(ẑ(t_n)) - E0)              (Eq. 15, when λ > 0)
//
// so Gauss-Newton applies: its Jacobian needs, per time, the derivatives
// of the network's outputs and the Hessian D²H at ẑ:
//
//	∂r_{n,i}/∂θ = [f' ∂N_i + f ∂Ṅ_i - f Σ_j (J D²H)_ij ∂N_j] / √K,
//
// one reverse pass through the network per residual with that cotangent
// on (N, Ṅ). Each step solves (JᵀJ + μ diag(JᵀJ)) δ = -Jᵀr and adapts μ.
// Where Adam and L-BFGS creep (the problem is badly conditioned), it
// converges in tens to hundreds of steps to the loss floor set by the
// network's size and float64.
type lmProblem struct {
	net    *network
	ev     *hamiltonianEvaluator // with the Hessian
	ts     []float64
	z0     []float64
	t0     float64
	param  Param
	lambda float64
	e0     float64

	dim, rows, nPar int
	offsets         []int // of each parameter array in the flat vector
	// A bundle's points (bundleloss.go) each have their own start state,
	// energy and parameters θ: z0s[n] and e0s[n] replace z0 and e0, and the
	// rows of zs carry θ after z; nil for a Problem.
	z0s [][]float64
	e0s []float64
	// per-time network caches
	pts               []lmPoint
	zs                [][]float64
	energy, grad, hes []float64
}

type lmPoint struct {
	h, dh, d1, da [][]float64 // per hidden layer: σ(a), ḣ, σ'(a), ȧ
	n, dn         []float64
	u             []float64 // a bundle's further inputs after τ (nil: none)
}

func newLMProblem(net *network, ev *hamiltonianEvaluator, ts, z0 []float64, t0 float64, param Param, lambda, e0 float64) *lmProblem {
	dim := len(z0)
	perTime := dim
	if lambda > 0 {
		perTime++
	}
	lp := &lmProblem{net: net, ev: ev, ts: ts, z0: z0, t0: t0, param: param, lambda: lambda, e0: e0,
		dim: dim, rows: perTime * len(ts), nPar: net.numParams()}
	off := 0
	for _, p := range net.params {
		lp.offsets = append(lp.offsets, off)
		off += len(p)
	}
	for range ts {
		var pt lmPoint
		for _, w := range net.widths[1 : len(net.widths)-1] {
			pt.h = append(pt.h, make([]float64, w))
			pt.dh = append(pt.dh, make([]float64, w))
			pt.d1 = append(pt.d1, make([]float64, w))
			pt.da = append(pt.da, make([]float64, w))
		}
		pt.n, pt.dn = make([]float64, dim), make([]float64, dim)
		lp.pts = append(lp.pts, pt)
		lp.zs = append(lp.zs, make([]float64, dim))
	}
	k := len(ts)
	lp.energy, lp.grad, lp.hes = make([]float64, k), make([]float64, k*dim), make([]float64, k*dim*dim)
	return lp
}

var _ lmModel = (*lmProblem)(nil)

func (lp *lmProblem) network() *network        { return lp.net }
func (lp *lmProblem) size() (rows, params int) { return lp.rows, lp.nPar }

// input returns unit i of layer l's input and its time derivative: the
// network's input time τ = t - t0 (derivative 1) for the first layer.
func (pt *lmPoint) input(tau float64, l, i int) (h, dh float64) {
	if l == 0 {
		if i > 0 {
			return pt.u[i-1], 0
		}
		return tau, 1
	}
	return pt.h[l-1][i], pt.dh[l-1][i]
}

// forwardPoint runs the network at input time τ = t - t0 keeping what the reverse pass needs.
func (lp *lmProblem) forwardPoint(tau float64, pt *lmPoint) {
	net := lp.net
	L := len(pt.h)
	for l := 0; l <= L; l++ {
		in, out := net.widths[l], net.widths[l+1]
		W, b := net.params[2*l], net.params[2*l+1]
		var a, da []float64
		if l == L {
			a, da = pt.n, pt.dn
		} else {
			a, da = pt.h[l], pt.da[l] // a is overwritten by σ(a) below
		}
		copy(a, b)
		clear(da)
		for i := range in {
			hi, dhi := pt.input(tau, l, i)
			row := W[i*out : (i+1)*out]
			for j, w := range row {
				a[j] += hi * w
				da[j] += dhi * w
			}
		}
		if l < L {
			for j := range out {
				y, dy := net.act.eval(a[j])
				pt.h[l][j], pt.d1[l][j], pt.dh[l][j] = y, dy, dy*da[j]
			}
		}
	}
}

// residuals evaluates the network, H, ∇H and D²H at every time and fills r
// (len rows). It returns L = |r|².
func (lp *lmProblem) residuals(r []float64) (float64, error) {
	d := lp.dim / 2
	for n, t := range lp.ts {
		pt := &lp.pts[n]
		lp.forwardPoint(t-lp.t0, pt)
		f, _ := lp.param.eval(t, lp.t0)
		z0 := lp.z0
		if lp.z0s != nil {
			z0 = lp.z0s[n]
		}
		for i := range lp.dim {
			lp.zs[n][i] = z0[i] + f*pt.n[i]
		}
	}
	if err := lp.ev.eval(lp.zs, lp.energy, lp.grad, lp.hes); err != nil {
		return 0, err
	}
	sk := 1 / math.Sqrt(float64(len(lp.ts)))
	se := math.Sqrt(lp.lambda) * sk
	row, loss := 0, 0.0
	for n, t := range lp.ts {
		pt := &lp.pts[n]
		f, df := lp.param.eval(t, lp.t0)
		g := lp.grad[n*lp.dim : (n+1)*lp.dim]
		for i := range lp.dim {
			var jg float64 // (J∇H)_i: ∂H/∂p_i for q rows, -∂H/∂q_i for p rows
			if i < d {
				jg = g[d+i]
			} else {
				jg = -g[i-d]
			}
			r[row] = (df*pt.n[i] + f*pt.dn[i] - jg) * sk
			loss += r[row] * r[row]
			row++
		}
		if lp.lambda > 0 {
			e0 := lp.e0
			if lp.e0s != nil {
				e0 = lp.e0s[n]
			}
			r[row] = se * (lp.energy[n] - e0)
			loss += r[row] * r[row]
			row++
		}
	}
	return loss, nil
}

// jacobian fills jac (rows × nPar, row-major) for the state of the latest
// residuals call.
func (lp *lmProblem) jacobian(jac []float64) {
	d, D := lp.dim/2, lp.dim
	sk := 1 / math.Sqrt(float64(len(lp.ts)))
	se := math.Sqrt(lp.lambda) * sk
	cN, cdN := make([]float64, D), make([]float64, D)
	w := lp.net.maxWidth()
	gh, gdh, ga, gda := make([]float64, w), make([]float64, w), make([]float64, w), make([]float64, w)
	row := 0
	for n, t := range lp.ts {
		pt := &lp.pts[n]
		f, df := lp.param.eval(t, lp.t0)
		hes := lp.hes[n*D*D : (n+1)*D*D]
		for i := range D {
			// cotangent: c_N = f' e_i - f (J D²H)_{i,:}, c_Ṅ = f e_i
			for j := range D {
				var jh float64 // (J D²H)_{ij}
				if i < d {
					jh = hes[(d+i)*D+j]
				} else {
					jh = -hes[(i-d)*D+j]
				}
				cN[j], cdN[j] = -f*jh*sk, 0
			}
			cN[i] += df * sk
			cdN[i] = f * sk
			lp.vjp(t-lp.t0, pt, cN, cdN, jac[row*lp.nPar:(row+1)*lp.nPar], gh, gdh, ga, gda)
			row++
		}
		if lp.lambda > 0 {
			g := lp.grad[n*D : (n+1)*D]
			for j := range D {
				cN[j], cdN[j] = se*f*g[j], 0
			}
			lp.vjp(t-lp.t0, pt, cN, cdN, jac[row*lp.nPar:(row+1)*lp.nPar], gh, gdh, ga, gda)
			row++
		}
	}
}

// vjp writes ∂(c_N·N + c_Ṅ·Ṅ)/∂θ at input time τ = t - t0 into out (parameter order),
// the single-time form of the fused network's backward pass.
func (lp *lmProblem) vjp(tau float64, pt *lmPoint, cN, cdN, out, gh, gdh, ga, gda []float64) {
	net := lp.net
	L := len(pt.h)
	offs := lp.offsets
	// Output layer: N = h W_o + b_o, Ṅ = ḣ W_o.
	D, wL := lp.dim, net.widths[L]
	gW, gb, Wo := out[offs[2*L]:offs[2*L]+wL*D], out[offs[2*L+1]:offs[2*L+1]+D], net.params[2*L]
	for i := range wL {
		h, dh := pt.h[L-1][i], pt.dh[L-1][i]
		for j := range D {
			gW[i*D+j] = h*cN[j] + dh*cdN[j]
		}
		sh, sdh := 0.0, 0.0
		for j := range D {
			sh += Wo[i*D+j] * cN[j]
			sdh += Wo[i*D+j] * cdN[j]
		}
		gh[i], gdh[i] = sh, sdh
	}
	copy(gb, cN)
	for l := L - 1; l >= 0; l-- {
		in, w := net.widths[l], net.widths[l+1]
		h, d1, da := pt.h[l], pt.d1[l], pt.da[l]
		for j := range w {
			var d2 float64 // σ''(a) from σ(a) and σ'(a)
			switch net.act {
			case Sin:
				d2 = -h[j]
			case Tanh:
				d2 = -2 * h[j] * d1[j]
			case Sigmoid:
				d2 = d1[j] * (1 - 2*h[j])
			}
			ga[j] = gh[j]*d1[j] + gdh[j]*d2*da[j]
			gda[j] = gdh[j] * d1[j]
		}
		gW, gb, W := out[offs[2*l]:offs[2*l]+in*w], out[offs[2*l+1]:offs[2*l+1]+w], net.params[2*l]
		copy(gb, ga[:w])
		for i := range in {
			hi, dhi := pt.input(tau, l, i)
			row := gW[i*w : (i+1)*w]
			for j := range w {
				row[j] = hi*ga[j] + dhi*gda[j]
			}
		}
		if l == 0 {
			break
		}
		for i := range in {
			sh, sdh := 0.0, 0.0
			row := W[i*w : (i+1)*w]
			for j, wij := range row {
				sh += wij * ga[j]
				sdh += wij * gda[j]
			}
			gh[i], gdh[i] = sh, sdh
		}
	}
}

// lmStop stops Levenberg-Marquardt by progress (the TargetError recipe):
// as soon as the loss is below Floor, or when Window > 0 steps lowered it
// by less than a factor Gain. The zero value runs every step.
type lmStop struct {
	Floor  float64
	Window int
	Gain   float64
}

// refineLM runs at most iters Levenberg-Marquardt steps on the loss at the
// fixed times ts and leaves the weights in the network, stopping earlier as
// stop says. When ctx is done it stops before the next step, keeping the
// best weights (every accepted step lowers the loss), and returns the stage
// with ctx's error.
func refineLM(ctx context.Context, lp lmModel, iters int, stop lmStop) (Stage, error) {
	net := lp.network()
	R, P := lp.size()
	r, rTry := make([]float64, R), make([]float64, R)
	jac := make([]float64, R*P)
	theta, trial := make([]float64, P), make([]float64, P)
	flatten(theta, net.params)
	loss, err := lp.residuals(r)
	if err != nil {
		return Stage{}, err
	}
	if !isFinite(loss) {
		return Stage{}, fmt.Errorf("%w: non-finite loss before Levenberg-Marquardt", ErrDiverged)
	}
	st := Stage{Name: "lm", LossBefore: loss, Evals: 1, Status: "iterations done"}
	jtj := mat.NewSymDense(P, nil)
	var syrk syrkScratch
	sys := mat.NewSymDense(P, nil)
	jtr, delta := make([]float64, P), make([]float64, P)
	mu := 1e-3
	var stopped error
	var history []float64
	if stop.Window > 0 {
		history = make([]float64, 0, iters+1)
	}
	for it := 0; it < iters; it++ {
		if stopped = ctx.Err(); stopped != nil {
			st.Status = "stopped: " + stopped.Error()
			break
		}
		if stop.Floor > 0 && loss < stop.Floor {
			st.Status = fmt.Sprintf("loss below the floor %.3g", stop.Floor)
			break
		}
		if stop.Window > 0 {
			history = append(history, loss)
			if n := len(history); n > stop.Window && loss > history[n-1-stop.Window]/stop.Gain {
				st.Status = fmt.Sprintf("stalled: less than %gx in %d steps", stop.Gain, stop.Window)
				break
			}
		}
		lp.jacobian(jac)
		// JᵀJ and Jᵀr
		syrkUpper(P, R, jac, jtj.RawSymmetric().Data, &syrk)
		blas64.Implementation().Dgemv(blas.Trans, R, P, 1, jac, P, r, 1, 0, jtr, 1)
		improved := false
		for try := 0; try < 30; try++ {
			// Cholesky of JᵀJ + μ diag(JᵀJ) directly (mat.Cholesky also
			// estimates the condition number, which costs more here).
			sd := sys.RawSymmetric()
			copy(sd.Data, jtj.RawSymmetric().Data)
			for i := range P {
				dii := sd.Data[i*P+i]
				sd.Data[i*P+i] = dii + mu*math.Max(dii, 1e-12)
			}
			if !potrfUpper(P, sd.Data, &syrk) {
				mu *= 10
				continue
			}
			copy(delta, jtr)
			tri := blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: P, Stride: P, Data: sd.Data}
			lapack64.Potrs(tri, blas64.General{Rows: P, Cols: 1, Stride: 1, Data: delta})
			for i := range theta {
				trial[i] = theta[i] - delta[i]
			}
			unflatten(net.params, trial)
			newLoss, err := lp.residuals(rTry)
			st.Evals++
			if err == nil && isFinite(newLoss) && newLoss < loss {
				copy(theta, trial)
				copy(r, rTry)
				rel := (loss - newLoss) / loss
				loss = newLoss
				mu = math.Max(mu/3, 1e-15)
				improved = true
				if rel < 1e-12 {
					it = iters
				}
				break
			}
			mu *= 2
		}
		st.Iterations++
		if !improved {
			st.Status = "no further decrease"
			break
		}
	}
	unflatten(net.params, theta)
	// Leave the caches at the kept weights.
	if loss, err = lp.residuals(r); err != nil {
		return Stage{}, err
	}
	st.LossAfter = loss
	return st, stopped
}

func flatten(dst []float64, params [][]float64) {
	off := 0
	for _, p := range params {
		copy(dst[off:], p)
		off += len(p)
	}
}

func unflatten(params [][]float64, src []float64) {
	off := 0
	for _, p := range params {
		copy(p, src[off:off+len(p)])
		off += len(p)
	}
}
