package hnnsolve

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/floats"
)

// bundleEvaluator evaluates a bundle's chain of networks for many rows
// (t_i, z0_i, θ_i) at once, a chunk of rows at a time: per segment one
// forward pass, one matrix product per layer for all the rows of the chunk
// (the fused one of netop.go, with the time tangent, when dẑ/dt is wanted). Its buffers are allocated once; it is not safe for
// concurrent use.
type bundleEvaluator struct {
	b       *Bundle
	segs    []bundleSegment // the segments evaluated (a prefix of the chain while it trains)
	rows    int             // the chunk size
	nets    []*fusedNet     // one per segment, on rows rows
	x       []float64       // rows × (1+dim+m): the network inputs (τ, u)
	cur     []float64       // rows × dim: the start states S_j
	seg     []int           // per row: the segment that covers t
	fs, dfs []float64       // per row: f(τ), f'(τ) in the row's own segment
	// for values alone (no dẑ/dt): the layers' values, rows × widest, and
	// the outputs N, rows × dim
	ha, hb, vout []float64
	zero, dh     []float64 // rows × widest: the sine kernel's tangent in and out
}

// newBundleEvaluator returns an evaluator of the segments segs of b on
// chunks of rows rows.
func newBundleEvaluator(b *Bundle, segs []bundleSegment, rows int) *bundleEvaluator {
	dim, n := b.problem.dim(), len(b.mid)
	e := &bundleEvaluator{b: b, segs: segs, rows: rows,
		x: make([]float64, rows*(1+n)), cur: make([]float64, rows*dim),
		seg: make([]int, rows), fs: make([]float64, rows), dfs: make([]float64, rows)}
	w := 0
	for _, sg := range segs {
		e.nets = append(e.nets, newFusedNet(sg.net, rows))
		w = max(w, sg.net.maxWidth())
	}
	e.ha, e.hb, e.vout = make([]float64, rows*w), make([]float64, rows*w), make([]float64, rows*dim)
	e.zero, e.dh = make([]float64, rows*w), make([]float64, rows*w)
	return e
}

// values computes N of the network net at the rows of e.x into e.vout,
// one matrix product per layer: the forward pass of fusedNet without the
// time tangent, half its work, for when dẑ/dt is not wanted.
func (e *bundleEvaluator) values(net *network) {
	rows := e.rows
	h, in := e.x, net.widths[0]
	last := len(net.widths) - 2
	for l := 0; l <= last; l++ {
		w := net.widths[l+1]
		W, b := net.params[2*l], net.params[2*l+1]
		a := e.ha[:rows*w]
		if l == last {
			a = e.vout
		}
		gemm(blas.NoTrans, rows, w, in, h, in, W, w, 0, a, w)
		for i := range rows {
			floats.Add(a[i*w:(i+1)*w], b)
		}
		if l == last {
			return
		}
		h = e.hb[:rows*w]
		if net.act == Sin {
			// The vectorised sine of training; its cosine lands in a
			// and its tangent, of zeros, in e.dh.
			sinActivation(a, e.zero[:len(a)], h, a, e.dh[:len(a)])
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

// states computes, for each row i, ẑ(ts[i]; z0_i, θ_i) into z and dẑ/dt
// into dz (row-major n × dim; either may be nil), with members[i] the row
// (z0_i, θ_i). A time at or after the end of the segments evaluated gives
// the last one's formula there.
func (e *bundleEvaluator) states(ts []float64, members [][]float64, z, dz []float64) {
	dim := e.b.problem.dim()
	for c0 := 0; c0 < len(ts); c0 += e.rows {
		c1 := min(c0+e.rows, len(ts))
		var zc, dzc []float64
		if z != nil {
			zc = z[c0*dim : c1*dim]
		}
		if dz != nil {
			dzc = dz[c0*dim : c1*dim]
		}
		e.chunk(ts[c0:c1], members[c0:c1], zc, dzc)
	}
}

// chunk is states for at most e.rows rows.
func (e *bundleEvaluator) chunk(ts []float64, members [][]float64, z, dz []float64) {
	b, dim, in := e.b, e.b.problem.dim(), 1+len(e.b.mid)
	param := b.settings.Param
	last := 0
	for i, t := range ts {
		copy(e.cur[i*dim:(i+1)*dim], members[i][:dim])
		e.seg[i] = e.segmentOf(t)
		last = max(last, e.seg[i])
	}
	for j := 0; j <= last; j++ {
		sg := e.segs[j]
		length := sg.t1 - sg.t0
		fEnd, _ := param.eval(length, 0)
		clear(e.x)
		for i, t := range ts {
			x := e.x[i*in : (i+1)*in]
			switch {
			case e.seg[i] == j:
				x[0] = t - sg.t0
				e.fs[i], e.dfs[i] = param.eval(x[0], 0)
			case e.seg[i] > j:
				x[0] = length
			default:
				continue // already done: its segment came earlier
			}
			sg.inputs(x[1:], e.cur[i*dim:(i+1)*dim], members[i][dim:])
		}
		out, stride := e.vout, dim
		if dz != nil {
			f := e.nets[j]
			f.forward(e.x)
			out, stride = f.out, 2*dim
		} else {
			e.values(sg.net)
		}
		for i := range ts {
			if e.seg[i] < j {
				continue
			}
			nv, dn := out[i*stride:i*stride+dim], out[i*stride+dim:(i+1)*stride]
			s := e.cur[i*dim : (i+1)*dim]
			if e.seg[i] > j {
				// S_{j+1} = S_j + f(t_{j+1} - t_j) N_j
				for c := range dim {
					s[c] += fEnd * nv[c]
				}
				continue
			}
			for c := range dim {
				if z != nil {
					z[i*dim+c] = s[c] + e.fs[i]*nv[c]
				}
				if dz != nil {
					dz[i*dim+c] = e.dfs[i]*nv[c] + e.fs[i]*dn[c]
				}
			}
		}
	}
}
