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
// product, a row of ones under the layer's inputs. Its buffers are
// allocated once; it is not safe for concurrent use.
type bundleEvaluator struct {
	b    *Bundle
	segs []bundleSegment // the segments evaluated (a prefix of the chain while it trains)
	rows int             // the chunk size
	cur  []float64       // dim × rows: the start states S_j
	th   []float64       // m × rows: the parameters θ
	seg  []int           // per row: the segment that covers t
	fs   []float64       // per row: f(τ) in the row's own segment
	// a layer's units, widest × rows; its inputs and a row of ones, two
	// buffers of (widest+1) × rows; the layer's weights with the bias as
	// one more row
	a, h, h2, wb []float64
}

// newBundleEvaluator returns an evaluator of the segments segs of b on
// chunks of rows rows.
func newBundleEvaluator(b *Bundle, segs []bundleSegment, rows int) *bundleEvaluator {
	dim, n := b.problem.dim(), len(b.mid)
	e := &bundleEvaluator{b: b, segs: segs, rows: rows,
		cur: make([]float64, dim*rows), th: make([]float64, (n-dim)*rows),
		seg: make([]int, rows), fs: make([]float64, rows)}
	w, wb := max(4, 1+n), 0
	for _, sg := range segs {
		w = max(w, sg.net.maxWidth())
		for l := 1; l < len(sg.net.widths); l++ {
			wb = max(wb, (sg.net.widths[l-1]+1)*max(4, sg.net.widths[l]))
		}
	}
	e.a, e.wb = make([]float64, w*rows), make([]float64, wb)
	e.h, e.h2 = make([]float64, (w+1)*rows), make([]float64, (w+1)*rows)
	return e
}

// forward computes N of the network net for the r members whose inputs
// are the first rows of h ((in+1) × r, feature-major, row in free for the
// ones) and returns it, dim × r, feature-major, in e.a. h is overwritten.
func (e *bundleEvaluator) forward(net *network, h []float64, r int) []float64 {
	in := net.widths[0]
	last := len(net.widths) - 2
	for l := 0; ; l++ {
		w := net.widths[l+1]
		W, b := net.params[2*l], net.params[2*l+1]
		// A layer thinner than the 4-row blocks of the product (the
		// output layer, 2d = 2 units) is padded with zero units: a block
		// does them in one sweep along the members.
		wp := max(w, min(4, r))
		wb := e.wb[:(in+1)*wp]
		for k := range in + 1 {
			row, src := wb[k*wp:(k+1)*wp], b
			if k < in {
				src = W[k*w : (k+1)*w]
			}
			copy(row, src)
			clear(row[w:])
		}
		ones := h[in*r : (in+1)*r]
		for j := range ones {
			ones[j] = 1
		}
		a := e.a[:wp*r]
		gemm(blas.Trans, wp, r, in+1, wb, wp, h, r, 0, a, r) // a = [W; b]ᵀ [h; 1]
		if l == last {
			return a[:w*r]
		}
		h = e.h2
		if l%2 == 1 {
			h = e.h
		}
		h = h[:(w+1)*r]
		if net.act == Sin {
			sinValues(a, h[:w*r])
		} else {
			for j, v := range a {
				h[j], _ = net.act.eval(v)
			}
		}
		in = w
	}
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
// n × dim), with members[i] the row (z0_i, θ_i). A time at or after the end
// of the segments evaluated gives the last one's formula there.
func (e *bundleEvaluator) states(ts []float64, members [][]float64, z []float64) {
	dim := e.b.problem.dim()
	for c0 := 0; c0 < len(ts); c0 += e.rows {
		c1 := min(c0+e.rows, len(ts))
		e.chunk(ts[c0:c1], members[c0:c1], z[c0*dim:c1*dim])
	}
}

// chunk is states for r = len(ts) <= e.rows rows: segment by segment, the
// rows past segment j advance their start state, S_{j+1} = S_j +
// f(t_{j+1} - t_j) N_j, and those in it give ẑ = S_j + f(t - t_j) N_j.
func (e *bundleEvaluator) chunk(ts []float64, members [][]float64, z []float64) {
	b, dim, n := e.b, e.b.problem.dim(), len(e.b.mid)
	param := b.settings.Param
	r := len(ts)
	cur, th := e.cur[:dim*r], e.th[:(n-dim)*r]
	last, first := 0, len(e.segs)
	for i, t := range ts {
		for c, v := range members[i][:dim] {
			cur[c*r+i] = v
		}
		for c, v := range members[i][dim:] {
			th[c*r+i] = v
		}
		e.seg[i] = e.segmentOf(t)
		last, first = max(last, e.seg[i]), min(first, e.seg[i])
	}
	for j := 0; j <= last; j++ {
		sg := e.segs[j]
		length := sg.t1 - sg.t0
		fEnd, _ := param.eval(length, 0)
		h := e.h[:(1+n+1)*r] // (τ, u(S_j, θ), 1)
		for i, t := range ts {
			switch {
			case e.seg[i] == j:
				h[i] = t - sg.t0
				e.fs[i], _ = param.eval(h[i], 0)
			case e.seg[i] > j:
				h[i] = length
			default:
				h[i] = 0 // done: its segment came earlier
			}
		}
		for c := range n {
			var src []float64
			if c < dim {
				src = cur[c*r : (c+1)*r]
			} else {
				src = th[(c-dim)*r : (c-dim+1)*r]
			}
			mid, scale := sg.mid[c], sg.scale[c]
			u := h[(1+c)*r : (2+c)*r]
			for i, v := range src {
				u[i] = (v - mid) * scale
			}
		}
		out := e.forward(sg.net, h, r)
		if j < first {
			// every row is past segment j
			floats.AddScaled(cur, fEnd, out[:dim*r])
			continue
		}
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
