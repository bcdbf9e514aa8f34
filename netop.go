package hnnsolve

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/floats"
)

// The fused network is one gorgonia Op for the whole of N(t) and its time
// tangent dN/dt, with a hand-written backward pass, instead of the few dozen
// small nodes of netGraph. It keeps what the backward pass needs in buffers
// allocated once, and multiplies with gemm (gemm.go: an AVX2/FMA kernel
// where the CPU has one, gonum's loops elsewhere, OpenBLAS with
// -tags openblas). Values and tangents are stacked, [h; ḣ], so that one
// product serves both.
//
// Forward, per hidden layer l = 1..L, from h_0 = t, ḣ_0 = 1 (K×1):
//
//	a_l = h_{l-1} W_l + b_l,  ȧ_l = ḣ_{l-1} W_l,  h_l = σ(a_l),  ḣ_l = σ'(a_l) ⊙ ȧ_l
//	N = h_L W_o + b_o,  dN/dt = ḣ_L W_o
//
// Backward, from G_N = ∂L/∂N and G_Ṅ = ∂L/∂(dN/dt):
//
//	∂L/∂W_o = h_Lᵀ G_N + ḣ_Lᵀ G_Ṅ,  ∂L/∂b_o = Σ_rows G_N
//	G_h = G_N W_oᵀ,  G_ḣ = G_Ṅ W_oᵀ, and for l = L..1:
//	G_a = G_h ⊙ σ'(a) + G_ḣ ⊙ σ''(a) ⊙ ȧ,  G_ȧ = G_ḣ ⊙ σ'(a)
//	∂L/∂W_l = h_{l-1}ᵀ G_a + ḣ_{l-1}ᵀ G_ȧ,  ∂L/∂b_l = Σ_rows G_a
//	G_h ← G_a W_lᵀ,  G_ḣ ← G_ȧ W_lᵀ
type fusedNet struct {
	fusedBase // out is K×2D: [N | dN/dt]
	// Forward cache per hidden layer, row-major 2K×width: rows 0..K-1 hold
	// the values (a, h), rows K..2K-1 their time tangents (ȧ, ḣ), so that
	// one matrix product serves both. The activation overwrites a with
	// σ'(a), which is all the backward pass needs of it. The first layer's
	// a is K×width: its ȧ is W_1 in every row.
	a, h [][]float64
	// backward work space
	ga, gh []float64 // 2K×maxWidth: [G_a; G_ȧ], [G_h; G_ḣ]
	wt     []float64 // a weight matrix, transposed
	w1Rows []float64 // W_1 in each of a block of rows: the first layer's ȧ
	// The output layer's products have D columns or rows, too few for the
	// 4×8 blocks of the matrix kernel: they run on copies padded with zeros
	// to dp = 8⌈D/8⌉ columns and dq = 4⌈D/4⌉ rows.
	dp, dq  int
	woPad   []float64 // w×dp: W_o
	outPad  []float64 // 2K×dp: [h; ḣ] W_o
	gPad    []float64 // 2K×dq: [G_N; G_Ṅ]
	woTPad  []float64 // dq×w: W_oᵀ
	gWoTPad []float64 // dq×w: ∂L/∂W_oᵀ
}

func newFusedNet(net *network, k int) *fusedNet {
	f := &fusedNet{fusedBase: newFusedBase(net, k, 2)}
	hidden := net.widths[1 : len(net.widths)-1]
	for l, w := range hidden {
		rows := 2 * k
		if l == 0 {
			rows = k // ȧ_1 = W_1 in every row: not stored
		}
		f.a = append(f.a, make([]float64, rows*w))
		f.h = append(f.h, make([]float64, 2*k*w))
	}
	mw := net.maxWidth()
	f.ga, f.gh = make([]float64, 2*k*mw), make([]float64, 2*k*mw)
	f.wt = make([]float64, mw*max(mw, f.dim))
	f.w1Rows = make([]float64, min(k, 32)*net.widths[1])
	w := net.widths[len(net.widths)-2]
	f.dp, f.dq = 8*((f.dim+7)/8), 4*((f.dim+3)/4)
	f.woPad, f.outPad = make([]float64, w*f.dp), make([]float64, 2*k*f.dp)
	f.gPad, f.woTPad, f.gWoTPad = make([]float64, 2*k*f.dq), make([]float64, f.dq*w), make([]float64, f.dq*w)
	return f
}

// forward runs the network on the times ts (len K) into f.out and the cache.
// A bundle's network takes, in place of the times, the rows x = (τ, u) of
// the K×widths[0] matrix ts: then a_1 = x W_1 + b_1 and ȧ_1 is W_1's first
// row, the τ row.
func (f *fusedNet) forward(ts []float64) {
	net, k := f.net, f.k
	in0 := net.widths[0]
	L := len(f.a)
	for l := range L {
		w := net.widths[l+1]
		W, b := f.params[2*l], f.params[2*l+1]
		a := f.a[l]
		h := f.h[l]
		if l == 0 {
			// h_0 = t, ḣ_0 = 1: a = t W_1 + b_1 and ȧ = W_1, activated a
			// block of rows at a time, while in cache, against W_1 repeated.
			rows := len(f.w1Rows) / w
			for i := range rows {
				copy(f.w1Rows[i*w:(i+1)*w], W)
			}
			for i0 := 0; i0 < k; i0 += rows {
				i1 := min(i0+rows, k)
				for i := i0; i < i1; i++ {
					x, row := ts[i*in0:(i+1)*in0], a[i*w:(i+1)*w]
					for j := range w {
						row[j] = x[0]*W[j] + b[j]
					}
					// A bundle's further inputs u (constant in time).
					for c, u := range x[1:] {
						floats.AddScaled(row, u, W[(c+1)*w:(c+2)*w])
					}
				}
				f.activate(a[i0*w:i1*w], f.w1Rows[:(i1-i0)*w], h[i0*w:i1*w], h[(k+i0)*w:(k+i1)*w])
			}
			continue
		}
		// [a; ȧ] = [h; ḣ] W + [b; 0]
		in := net.widths[l]
		gemm(blas.NoTrans, 2*k, w, in, f.h[l-1], in, W, w, 0, a, w)
		for i := range k {
			floats.Add(a[i*w:(i+1)*w], b)
		}
		f.activate(a[:k*w], a[k*w:], h[:k*w], h[k*w:])
	}
	// Output layer: [N; dN/dt] = [h; ḣ] W_o + [b_o; 0], into [N | dN/dt]
	// (K×2D).
	D, dp, w := f.dim, f.dp, net.widths[L]
	Wo, bo := f.params[2*L], f.params[2*L+1]
	for j := range w {
		copy(f.woPad[j*dp:j*dp+D], Wo[j*D:(j+1)*D])
	}
	gemm(blas.NoTrans, 2*k, dp, w, f.h[L-1], w, f.woPad, dp, 0, f.outPad, dp)
	for i := range k {
		n, dn := f.out[i*2*D:i*2*D+D], f.out[i*2*D+D:(i+1)*2*D]
		for j, v := range f.outPad[i*dp : i*dp+D] {
			n[j] = v + bo[j]
		}
		copy(dn, f.outPad[(k+i)*dp:(k+i)*dp+D])
	}
}

// activate sets h = σ(a), ḣ = σ'(a) ȧ (dh) and overwrites a with σ'(a).
func (f *fusedNet) activate(a, da, h, dh []float64) {
	d1 := a // each element is read before it is written
	switch f.net.act {
	case Sin:
		sinActivation(a, da, h, d1, dh)
	default:
		for i, x := range a {
			y, dy := f.net.act.eval(x)
			h[i], d1[i], dh[i] = y, dy, dy*da[i]
		}
	}
}

// backward computes ∂L/∂θ into f.gradPacked from g = ∂L/∂[N | dN/dt] (K×2D),
// using the cache of the latest forward pass.
func (f *fusedNet) backward(ts, g []float64) {
	net, k, D := f.net, f.k, f.dim
	L := len(f.a)
	gp := f.gradPacked
	// Output layer, with G_N, G_Ṅ stacked and padded into gPad.
	w, dq := net.widths[L], f.dq
	gbo := gp[f.offsets[2*L+1] : f.offsets[2*L+1]+D]
	clear(gbo)
	for i := range k {
		gn, gdn := g[i*2*D:i*2*D+D], g[i*2*D+D:(i+1)*2*D]
		copy(f.gPad[i*dq:i*dq+D], gn)
		copy(f.gPad[(k+i)*dq:(k+i)*dq+D], gdn)
		for j, v := range gn {
			gbo[j] += v
		}
	}
	// ∂L/∂W_oᵀ = [G_N; G_Ṅ]ᵀ [h; ḣ]
	gemm(blas.Trans, dq, w, 2*k, f.gPad, dq, f.h[L-1], w, 0, f.gWoTPad, w)
	gWo := gp[f.offsets[2*L] : f.offsets[2*L]+w*D]
	for j := range D {
		for i, v := range f.gWoTPad[j*w : (j+1)*w] {
			gWo[i*D+j] = v
		}
	}
	// [G_h; G_ḣ] = [G_N; G_Ṅ] W_oᵀ
	copy(f.woTPad, transpose(f.wt, f.params[2*L], w, D))
	gh := f.gh[:2*k*w]
	gemm(blas.NoTrans, 2*k, w, dq, f.gPad, dq, f.woTPad, w, 0, gh, w)
	for l := L - 1; l >= 0; l-- {
		w, in := net.widths[l+1], net.widths[l]
		kw := k * w
		h, d1 := f.h[l], f.a[l][:kw]
		gW := gp[f.offsets[2*l] : f.offsets[2*l]+in*w]
		gb := gp[f.offsets[2*l+1] : f.offsets[2*l+1]+w]
		clear(gb)
		if l == 0 {
			// h_0 = t, ḣ_0 = 1, ȧ = W_1: ∂L/∂W_1 = Σ_rows t G_a + G_ȧ
			// (for a bundle, row c > 0 of ∂L/∂W_1 is Σ_rows u_c G_a),
			// row by row, without storing G_a and G_ȧ.
			W := f.params[0]
			ga, gda := f.ga[:w], f.ga[w:2*w]
			clear(gW)
			for i := range k {
				x := ts[i*in : (i+1)*in]
				r, dr := i*w, (k+i)*w
				f.activationBackward(h[r:r+w], d1[r:r+w], W, gh[r:r+w], gh[dr:dr+w], ga, gda, gb)
				for j := range w {
					gW[j] += x[0]*ga[j] + gda[j]
				}
				// A bundle's further inputs u: ∂L/∂W_1[c] += u_c G_a.
				for c, u := range x[1:] {
					floats.AddScaled(gW[(c+1)*w:(c+2)*w], u, ga)
				}
			}
			break
		}
		ga := f.ga[:2*kw]
		for r := 0; r < kw; r += w {
			f.activationBackward(h[r:r+w], d1[r:r+w], f.a[l][kw+r:kw+r+w], gh[r:r+w], gh[kw+r:kw+r+w], ga[r:r+w], ga[kw+r:kw+r+w], gb)
		}
		// ∂L/∂W_l = [h; ḣ]ᵀ [G_a; G_ȧ], one product over 2K rows.
		gemm(blas.Trans, in, w, 2*k, f.h[l-1], in, ga, w, 0, gW, w)
		// [G_h; G_ḣ] ← [G_a; G_ȧ] W_lᵀ
		wt := transpose(f.wt, f.params[2*l], in, w)
		gh = f.gh[:2*k*in]
		gemm(blas.NoTrans, 2*k, in, w, ga, w, wt, in, 0, gh, in)
	}
}

// transpose writes the r×c matrix m transposed into dst and returns it.
func transpose(dst, m []float64, r, c int) []float64 {
	dst = dst[:r*c]
	for i := range r {
		for j, v := range m[i*c : (i+1)*c] {
			dst[j*r+i] = v
		}
	}
	return dst
}

// activationBackward computes, for one row of w = len(gb) units,
// G_a = G_h σ'(a) + G_ḣ σ”(a) ȧ and G_ȧ = G_ḣ σ'(a), and adds G_a to the
// bias gradient gb. σ”(a) is written in terms of the cached h = σ(a) and
// d1 = σ'(a), so no transcendental function is evaluated twice.
func (f *fusedNet) activationBackward(h, d1, da, gh, gdh, ga, gda, gb []float64) {
	w := len(gb)
	h, d1, da, gh, gdh, ga, gda = h[:w], d1[:w], da[:w], gh[:w], gdh[:w], ga[:w], gda[:w]
	switch f.net.act {
	case Sin: // σ'' = -sin
		for j := range gb {
			g := gh[j]*d1[j] - gdh[j]*h[j]*da[j]
			ga[j], gda[j] = g, gdh[j]*d1[j]
			gb[j] += g
		}
	case Tanh: // σ'' = -2 tanh σ'
		for j := range gb {
			g := gh[j]*d1[j] - 2*gdh[j]*h[j]*d1[j]*da[j]
			ga[j], gda[j] = g, gdh[j]*d1[j]
			gb[j] += g
		}
	case Sigmoid: // σ'' = σ'(1 - 2σ)
		for j := range gb {
			g := gh[j]*d1[j] + gdh[j]*d1[j]*(1-2*h[j])*da[j]
			ga[j], gda[j] = g, gdh[j]*d1[j]
			gb[j] += g
		}
	}
}
