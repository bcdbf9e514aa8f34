package hnnsolve

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/floats"
)

// bundleEvaluator evaluates a bundle's chain of networks for many rows
// (t_i, z0_i, θ_i) at once, a chunk of rows at a time: per segment one
// forward pass of values alone, one matrix product per layer for all the
// rows of the chunk. Everything inside is feature-major, one row of all the
// chunk's members per coordinate or unit, so that the products, the sine
// and the chain's updates run along the members, however thin the layer
// (the output layer has 2d units); the bias is one more term of each
// product, a row of ones under the layer's inputs. The chain's state S_j
// lives in the rows of the first layer's inputs, updated in place, and
// each segment's input map u = (v - mid) scale is folded into its first
// layer's weights, so that nothing is copied between segments. Its buffers
// are allocated once; it is not safe for concurrent use.
type bundleEvaluator struct {
	b      *Bundle
	segs   []bundleSegment // the segments evaluated (a prefix of the chain while it trains)
	layers [][]evalLayer   // per segment, its layers' weights
	rows   int             // the chunk size
	// (1 + n + 1) × rows: the rows' τ, their start states S_j (2d rows)
	// and parameters θ (m rows), and a row of ones
	in  []float64
	seg []int     // per row: the segment that covers t
	fs  []float64 // per row: f(τ) in the row's own segment
	// a layer's units, widest × rows; the hidden layers' values and a row
	// of ones, two buffers of (widest+1) × rows
	a, h, h2 []float64
}

// evalLayer is one layer's weights for the products of bundleEvaluator:
// wb, (in+1) × ld, holds W (in × w) with the bias b as one more row, the
// units padded with zeros to ld = max(w, 4) columns so that a layer
// thinner than the 4-row blocks of the product (the output layer, 2d = 2
// units) is done by a block in one sweep along the members.
type evalLayer struct {
	in, w, ld int
	wb        []float64
}

// newBundleEvaluator returns an evaluator of the segments segs of b on
// chunks of rows rows. It reads the networks' weights once: a segment must
// not be trained further while the evaluator is in use.
func newBundleEvaluator(b *Bundle, segs []bundleSegment, rows int) *bundleEvaluator {
	n := len(b.mid)
	e := &bundleEvaluator{b: b, segs: segs, rows: rows, in: make([]float64, (n+2)*rows),
		seg: make([]int, rows), fs: make([]float64, rows)}
	w := 4
	for _, sg := range segs {
		w = max(w, sg.net.maxWidth())
		e.layers = append(e.layers, sg.evalLayers())
	}
	e.a = make([]float64, w*rows)
	e.h, e.h2 = make([]float64, (w+1)*rows), make([]float64, (w+1)*rows)
	return e
}

// evalLayers returns the layers of sg's network as evalLayers, the input
// map folded into the first: with u_c = (v_c - mid_c) scale_c, the first
// layer's Σ_c W_c u_c + b is Σ_c (W_c scale_c) v_c + (b - Σ_c W_c scale_c
// mid_c), a layer on v = (S, θ) itself (input 0, τ, is not mapped).
func (sg *bundleSegment) evalLayers() []evalLayer {
	net := sg.net
	var ls []evalLayer
	for l := 1; l < len(net.widths); l++ {
		in, w := net.widths[l-1], net.widths[l]
		L := evalLayer{in: in, w: w, ld: max(w, 4)}
		L.wb = make([]float64, (in+1)*L.ld)
		W, bias := net.params[2*(l-1)], net.params[2*(l-1)+1]
		for k := range in {
			copy(L.wb[k*L.ld:k*L.ld+w], W[k*w:(k+1)*w])
		}
		bb := L.wb[in*L.ld : in*L.ld+w]
		copy(bb, bias)
		if l == 1 {
			for c := range in - 1 {
				row, s := L.wb[(1+c)*L.ld:(1+c)*L.ld+w], sg.scale[c]
				for i := range row {
					row[i] *= s
				}
				floats.AddScaled(bb, -sg.mid[c], row)
			}
		}
		ls = append(ls, L)
	}
	return ls
}

// forward computes N of a segment's network, its layers ls, for the r
// members whose inputs are the first rows of h ((in+1) × r, feature-major,
// the last row ones) and returns it, 2d × r, feature-major, in e.a. h is
// only read.
func (e *bundleEvaluator) forward(ls []evalLayer, act Activation, h []float64, r int) []float64 {
	for l, L := range ls {
		wp := max(L.w, min(4, r)) // ≤ L.ld; the padding rows are zero
		a := e.a[:wp*r]
		gemm(blas.Trans, wp, r, L.in+1, L.wb, L.ld, h, r, 0, a, r) // a = [W; b]ᵀ [h; 1]
		if l == len(ls)-1 {
			return a[:L.w*r]
		}
		h = e.h2
		if l%2 == 1 {
			h = e.h
		}
		h = h[:(L.w+1)*r]
		if act == Sin {
			sinValues(a[:L.w*r], h[:L.w*r])
		} else {
			for j, v := range a[:L.w*r] {
				h[j], _ = act.eval(v)
			}
		}
		ones := h[L.w*r:]
		for j := range ones {
			ones[j] = 1
		}
	}
	panic("hnnsolve: network without layers")
}

// segmentOf returns the segment of e that covers t: the last one whose
// t0 <= t (the first before it), as Solution.segmentAt.
func (e *bundleEvaluator) segmentOf(t float64) int {
	s := 0
	for s+1 < len(e.segs) && e.segs[s+1].t0 <= t {
		s++
	}
	return s
}

// states computes, for each row i, ẑ(ts[i]; z0_i, θ_i) into z (row-major
// len(ts) × 2d), with members row-major len(ts) × (2d + m), row i
// (z0_i, θ_i). A time at or after the end of the segments evaluated gives
// the last one's formula there.
func (e *bundleEvaluator) states(ts, members, z []float64) {
	dim, n := e.b.problem.dim(), len(e.b.mid)
	for c0 := 0; c0 < len(ts); c0 += e.rows {
		c1 := min(c0+e.rows, len(ts))
		e.chunk(ts[c0:c1], members[c0*n:c1*n], z[c0*dim:c1*dim])
	}
}

// chunk is states for r = len(ts) <= e.rows rows: segment by segment, the
// rows past segment j advance their start state, S_{j+1} = S_j +
// f(t_{j+1} - t_j) N_j, and those in it give ẑ = S_j + f(t - t_j) N_j.
func (e *bundleEvaluator) chunk(ts, members, z []float64) {
	b, dim, n := e.b, e.b.problem.dim(), len(e.b.mid)
	param := b.settings.Param
	r := len(ts)
	in := e.in[:(n+2)*r] // (τ, S_j, θ, 1)
	tau, cur := in[:r], in[r:(1+dim)*r]
	for c := range n {
		row := in[(1+c)*r : (2+c)*r]
		for i := range row {
			row[i] = members[i*n+c]
		}
	}
	ones := in[(1+n)*r:]
	for i := range ones {
		ones[i] = 1
	}
	last, first := 0, len(e.segs)
	for i, t := range ts {
		if i > 0 && t == ts[i-1] { // one search for a run of equal times
			e.seg[i] = e.seg[i-1]
			continue
		}
		e.seg[i] = e.segmentOf(t)
		last, first = max(last, e.seg[i]), min(first, e.seg[i])
	}
	for j := 0; j <= last; j++ {
		sg := e.segs[j]
		length := sg.t1 - sg.t0
		fEnd, _ := param.eval(length, 0)
		if j < first {
			// every row is past segment j
			for i := range tau {
				tau[i] = length
			}
			out := e.forward(e.layers[j], sg.net.act, in, r)
			floats.AddScaled(cur, fEnd, out[:dim*r])
			continue
		}
		for i, t := range ts {
			switch {
			case e.seg[i] == j:
				tau[i] = t - sg.t0
				if i > 0 && t == ts[i-1] {
					e.fs[i] = e.fs[i-1]
				} else {
					e.fs[i], _ = param.eval(tau[i], 0)
				}
			case e.seg[i] > j:
				tau[i] = length
			default:
				tau[i] = 0 // done: its segment came earlier
			}
		}
		out := e.forward(e.layers[j], sg.net.act, in, r)
		for i := range ts {
			switch {
			case e.seg[i] > j:
				for c := range dim {
					cur[c*r+i] += fEnd * out[c*r+i]
				}
			case e.seg[i] == j:
				for c := range dim {
					z[i*dim+c] = cur[c*r+i] + e.fs[i]*out[c*r+i]
				}
			}
		}
	}
}
