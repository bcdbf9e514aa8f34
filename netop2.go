package hnnsolve

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/floats"
)

// fusedNet2 is the fused network Op of netop.go to second order in time,
// for the Lagrangian formulation: one gorgonia Op for N, Ṅ and N̈ with a
// hand-written backward pass. Values and both tangents are stacked,
// [h; ḣ; ḧ] (3K rows), so one matrix product per layer serves all three.
//
// Forward, per hidden layer, from h_0 = τ, ḣ_0 = 1, ḧ_0 = 0 (K×1):
//
//	[a; ȧ; ä] = [h; ḣ; ḧ] W + [b; 0; 0]
//	h' = σ(a),  ḣ' = σ'(a) ȧ,  ḧ' = σ''(a) ȧ² + σ'(a) ä
//	[N; Ṅ; N̈] = [h; ḣ; ḧ]_L W_o + [b_o; 0; 0]
//
// Backward, from the cotangents G_h', G_ḣ', G_ḧ' of a layer's outputs:
//
//	G_a = G_h' σ' + G_ḣ' σ'' ȧ + G_ḧ' (σ''' ȧ² + σ'' ä)
//	G_ȧ = G_ḣ' σ' + 2 G_ḧ' σ'' ȧ,  G_ä = G_ḧ' σ'
//	∂L/∂W = [h; ḣ; ḧ]ᵀ [G_a; G_ȧ; G_ä],  ∂L/∂b = Σ_rows G_a
//	[G_h; G_ḣ; G_ḧ] = [G_a; G_ȧ; G_ä] Wᵀ
//
// The first layer's ȧ is W_1 in every row and its ä is 0: neither is stored.
type fusedNet2 struct {
	fusedBase // out is K×3D: [N | Ṅ | N̈]; dim is d
	// Per hidden layer: a holds [σ'(a); ȧ; ä] (3K×w; the first layer K×w,
	// σ'(a) only), h holds [h; ḣ; ḧ] (3K×w).
	a, h [][]float64
	// backward work space
	ga, gh   []float64 // 3K×maxWidth
	wt       []float64 // a weight matrix, transposed
	outS, gS []float64 // 3K×D: [N; Ṅ; N̈] before the bias, and its cotangent
}

func newFusedNet2(net *network, k int) *fusedNet2 {
	f := &fusedNet2{fusedBase: newFusedBase(net, k, 3)}
	hidden := net.widths[1 : len(net.widths)-1]
	for l, w := range hidden {
		rows := 3 * k
		if l == 0 {
			rows = k
		}
		f.a = append(f.a, make([]float64, rows*w))
		f.h = append(f.h, make([]float64, 3*k*w))
	}
	mw := net.maxWidth()
	f.ga, f.gh = make([]float64, 3*k*mw), make([]float64, 3*k*mw)
	f.wt = make([]float64, mw*max(mw, f.dim))
	f.outS, f.gS = make([]float64, 3*k*f.dim), make([]float64, 3*k*f.dim)
	return f
}

// forward runs the network on the input times ts (len K) into f.out and
// the cache.
func (f *fusedNet2) forward(ts []float64) {
	net, k := f.net, f.k
	act := net.act
	L := len(f.a)
	for l := range L {
		w := net.widths[l+1]
		W, b := f.params[2*l], f.params[2*l+1]
		a, h := f.a[l], f.h[l]
		kw := k * w
		if l == 0 {
			// a = τ W_1 + b_1, ȧ = W_1, ä = 0.
			for i, t := range ts {
				row := a[i*w : (i+1)*w]
				for j := range w {
					row[j] = t*W[j] + b[j]
				}
				r := i * w
				f.activate(row, W, h[r:r+w], h[kw+r:kw+r+w])
				hv, d1, ddh := h[r:r+w], row, h[2*kw+r:2*kw+r+w]
				for j := range w {
					d2, _ := act.derivs(hv[j], d1[j])
					ddh[j] = d2 * W[j] * W[j]
				}
			}
			continue
		}
		in := net.widths[l]
		gemm(blas.NoTrans, 3*k, w, in, f.h[l-1], in, W, w, 0, a, w)
		for i := range k {
			floats.Add(a[i*w:(i+1)*w], b)
		}
		f.activate(a[:kw], a[kw:2*kw], h[:kw], h[kw:2*kw])
		d1, da, dda, hv, ddh := a[:kw], a[kw:2*kw], a[2*kw:], h[:kw], h[2*kw:]
		for j := range kw {
			d2, _ := act.derivs(hv[j], d1[j])
			ddh[j] = d2*da[j]*da[j] + d1[j]*dda[j]
		}
	}
	D, w := f.dim, net.widths[L]
	Wo, bo := f.params[2*L], f.params[2*L+1]
	gemm(blas.NoTrans, 3*k, D, w, f.h[L-1], w, Wo, D, 0, f.outS, D)
	for i := range k {
		row := f.out[i*3*D : (i+1)*3*D]
		for j := range D {
			row[j] = f.outS[i*D+j] + bo[j]
			row[D+j] = f.outS[(k+i)*D+j]
			row[2*D+j] = f.outS[(2*k+i)*D+j]
		}
	}
}

// activate sets h = σ(a), ḣ = σ'(a) ȧ (dh) and overwrites a with σ'(a).
func (f *fusedNet2) activate(a, da, h, dh []float64) {
	switch f.net.act {
	case Sin:
		sinActivation(a, da[:len(a)], h, a, dh)
	default:
		for i, x := range a {
			y, dy := f.net.act.eval(x)
			h[i], a[i], dh[i] = y, dy, dy*da[i]
		}
	}
}

// backward computes ∂L/∂θ into f.gradPacked from g = ∂L/∂[N | Ṅ | N̈]
// (K×3D), using the cache of the latest forward pass.
func (f *fusedNet2) backward(ts, g []float64) {
	net, k, D := f.net, f.k, f.dim
	act := net.act
	L := len(f.a)
	gp := f.gradPacked
	w := net.widths[L]
	gbo := gp[f.offsets[2*L+1] : f.offsets[2*L+1]+D]
	clear(gbo)
	for i := range k {
		row := g[i*3*D : (i+1)*3*D]
		for j := range D {
			f.gS[i*D+j] = row[j]
			f.gS[(k+i)*D+j] = row[D+j]
			f.gS[(2*k+i)*D+j] = row[2*D+j]
			gbo[j] += row[j]
		}
	}
	// ∂L/∂W_o = [h; ḣ; ḧ]ᵀ [G_N; G_Ṅ; G_N̈]
	gWo := gp[f.offsets[2*L] : f.offsets[2*L]+w*D]
	gemm(blas.Trans, w, D, 3*k, f.h[L-1], w, f.gS, D, 0, gWo, D)
	// [G_h; G_ḣ; G_ḧ] = [G_N; G_Ṅ; G_N̈] W_oᵀ
	wt := transpose(f.wt, f.params[2*L], w, D)
	gh := f.gh[:3*k*w]
	gemm(blas.NoTrans, 3*k, w, D, f.gS, D, wt, w, 0, gh, w)
	for l := L - 1; l >= 0; l-- {
		w, in := net.widths[l+1], net.widths[l]
		kw := k * w
		h, a := f.h[l], f.a[l]
		gW := gp[f.offsets[2*l] : f.offsets[2*l]+in*w]
		gb := gp[f.offsets[2*l+1] : f.offsets[2*l+1]+w]
		clear(gb)
		ga := f.ga[:3*kw]
		W1 := f.params[0]
		for r := 0; r < kw; r++ {
			var da, dda float64
			if l == 0 {
				da = W1[r%w]
			} else {
				da, dda = a[kw+r], a[2*kw+r]
			}
			d1 := a[r]
			d2, d3 := act.derivs(h[r], d1)
			g0, g1, g2 := gh[r], gh[kw+r], gh[2*kw+r]
			gav := g0*d1 + g1*d2*da + g2*(d3*da*da+d2*dda)
			ga[r], ga[kw+r], ga[2*kw+r] = gav, g1*d1+2*g2*d2*da, g2*d1
			gb[r%w] += gav
		}
		if l == 0 {
			// Input [τ; 1; 0]: ∂L/∂W_1 = Σ_rows τ G_a + G_ȧ.
			clear(gW)
			for i, t := range ts {
				r := i * w
				for j := range w {
					gW[j] += t*ga[r+j] + ga[kw+r+j]
				}
			}
			break
		}
		gemm(blas.Trans, in, w, 3*k, f.h[l-1], in, ga, w, 0, gW, w)
		wt := transpose(f.wt, f.params[2*l], in, w)
		gh = f.gh[:3*k*in]
		gemm(blas.NoTrans, 3*k, in, w, ga, w, wt, in, 0, gh, in)
	}
}
