package gpu

import (
	_ "embed"
	"fmt"
	"math"

	"hnnsolve/internal/pointwise"
)

//go:embed bundle.cu
var bundleKernels string

// BundleSegment is one segment of a solution bundle's chain: the network
// N_k(τ, u) with u = (x - Mid)·Scale for x = (S_k, θ), and f at the
// segment's end.
type BundleSegment struct {
	Widths     []int       // 1+n inputs (τ, u), the hidden layers, Dim outputs
	Params     [][]float64 // W_1, b_1, …: W_l row-major, inputs × units
	Mid, Scale []float64   // n values each
	Length     float64     // t_{k+1} - t_k
	FEnd       float64     // f(Length)
}

// BundleConfig is what a BundleEvaluator evaluates: the chain's segments,
// the state's dimension, the hidden layers' activation, and the members per
// call.
type BundleConfig struct {
	Dim      int
	Act      Activation
	Segments []BundleSegment
	Members  int
}

// BundleEvaluator evaluates a bundle's chain for Members members at once
// on a Device: per segment one launch for the inputs, per layer one
// product (the bias a row of ones under the inputs) and one launch for
// the activation, and one launch for the chain's step, every array
// feature-major. It is not safe for concurrent use.
type BundleEvaluator struct {
	s       Session
	cfg     BundleConfig
	n       int    // inputs after τ: Dim + the parameters
	weights []Span // per segment and layer: [W; b]
	maps    []Span // per segment: mid, then scale
	S, th   Span   // Dim×N start states, (n-Dim)×N parameters
	h, h2   Span   // (widest+1)×N layer inputs
	a       Span   // widest×N units
	stage   []float64
}

// BundleSource is the CUDA C of the bundle evaluator: internal/pointwise's
// Prelude, the activations' numbers, then bundle.cu.
func BundleSource() string {
	return fmt.Sprintf("%s\n#define HNN_SIN %d\n#define HNN_SIGMOID %d\n#define HNN_TANH %d\n\n%s",
		pointwise.Prelude, Sin, Sigmoid, Tanh, bundleKernels)
}

// NewBundleEvaluator compiles the bundle kernels on dev and copies the
// chain's weights there.
func NewBundleEvaluator(dev Device, cfg BundleConfig) (*BundleEvaluator, error) {
	if cfg.Dim < 1 || len(cfg.Segments) == 0 || cfg.Members < 1 {
		return nil, fmt.Errorf("gpu: bundle of dimension %d, %d segments, %d members", cfg.Dim, len(cfg.Segments), cfg.Members)
	}
	n := cfg.Segments[0].Widths[0] - 1
	if n < cfg.Dim {
		return nil, fmt.Errorf("gpu: bundle networks of %d inputs for dimension %d", n+1, cfg.Dim)
	}
	e := &BundleEvaluator{cfg: cfg, n: n}
	off, widest := 0, n+1
	span := func(l int) Span { s := Span{off, l}; off += l; return s }
	var packed [][]float64
	for k, sg := range cfg.Segments {
		ws := sg.Widths
		if len(ws) < 2 || ws[0] != n+1 || ws[len(ws)-1] != cfg.Dim || len(sg.Params) != 2*(len(ws)-1) ||
			len(sg.Mid) != n || len(sg.Scale) != n {
			return nil, fmt.Errorf("gpu: bundle segment %d: widths %v, %d parameter arrays, %d/%d map values", k, ws, len(sg.Params), len(sg.Mid), len(sg.Scale))
		}
		for l := 1; l < len(ws); l++ {
			in, w := ws[l-1], ws[l]
			W, b := sg.Params[2*l-2], sg.Params[2*l-1]
			if len(W) != in*w || len(b) != w {
				return nil, fmt.Errorf("gpu: bundle segment %d, layer %d: %d weights and %d biases for %d×%d", k, l, len(W), len(b), in, w)
			}
			e.weights = append(e.weights, span((in+1)*w))
			packed = append(packed, append(append([]float64(nil), W...), b...))
			widest = max(widest, w)
		}
		e.maps = append(e.maps, span(2*n))
		packed = append(packed, append(append([]float64(nil), sg.Mid...), sg.Scale...))
	}
	N := cfg.Members
	e.S, e.th = span(cfg.Dim*N), span(max(n-cfg.Dim, 1)*N)
	e.h, e.h2, e.a = span((widest+1)*N), span((widest+1)*N), span(widest*N)
	e.stage = make([]float64, n*N)
	ks, err := parseKernels(bundleKernels)
	if err != nil {
		return nil, err
	}
	if e.s, err = dev.Open(BundleSource(), ks, off); err != nil {
		return nil, err
	}
	i, m := 0, 0
	for _, sg := range cfg.Segments {
		for range len(sg.Widths) - 1 {
			if err := e.s.CopyIn(e.weights[i], packed[i+m]); err != nil {
				e.s.Close()
				return nil, err
			}
			i++
		}
		if err := e.s.CopyIn(e.maps[m], packed[i+m]); err != nil {
			e.s.Close()
			return nil, err
		}
		m++
	}
	return e, nil
}

// States sets z (Members × Dim, row-major) to the members' states at τ in
// segment k: the chain's steps through the segments before k, S_{j+1} = S_j +
// FEnd_j N_j(Length_j, u_j(S_j, θ)), then S_k + fTau N_k(τ, u_k(S_k, θ)).
// members is Members × n, row-major: each member's z0, then its θ.
func (e *BundleEvaluator) States(k int, tau, fTau float64, members, z []float64) error {
	N, dim, n := e.cfg.Members, e.cfg.Dim, e.n
	if k < 0 || k >= len(e.cfg.Segments) || len(members) != N*n || len(z) != N*dim {
		return fmt.Errorf("gpu: bundle states: segment %d of %d, %d member values and %d outputs for %d members", k, len(e.cfg.Segments), len(members), len(z), N)
	}
	for i := range N {
		for c, v := range members[i*n : (i+1)*n] {
			e.stage[c*N+i] = v
		}
	}
	if err := e.s.CopyIn(e.S, e.stage[:dim*N]); err != nil {
		return err
	}
	if n > dim {
		if err := e.s.CopyIn(e.th.At(0, (n-dim)*N), e.stage[dim*N:]); err != nil {
			return err
		}
	}
	first := 0 // segment j's first layer in e.weights
	for j := 0; j <= k; j++ {
		sg := e.cfg.Segments[j]
		t, f := sg.Length, sg.FEnd
		if j == k {
			t, f = tau, fTau
		}
		if err := e.segment(j, t, f, first); err != nil {
			return err
		}
		first += len(sg.Widths) - 1
	}
	if err := e.s.CopyOut(e.stage[:dim*N], e.S); err != nil {
		return err
	}
	for i := range N {
		for c := range dim {
			v := e.stage[c*N+i]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: bundle state %d of member %d is %v", ErrDevice, c, i, v)
			}
			z[i*dim+c] = v
		}
	}
	return nil
}

// segment queues segment j's network at τ = t on the start states S, its
// layers' weights from e.weights[first], and the step S += f N.
func (e *BundleEvaluator) segment(j int, t, f float64, first int) error {
	N, dim, n := int64(e.cfg.Members), int64(e.cfg.Dim), int64(e.n)
	sg := e.cfg.Segments[j]
	mp := e.maps[j]
	h, h2 := e.h, e.h2
	if err := e.s.Launch("hnn_bundle_inputs", int(N), N, dim, n, t, e.S, e.th, mp.At(0, int(n)), mp.At(int(n), int(n)), h); err != nil {
		return err
	}
	ws := sg.Widths
	for l := 1; l < len(ws); l++ {
		in, w := ws[l-1], ws[l]
		g := &Gemm{TransA: true, M: w, N: int(N), K: in + 1, Alpha: 1, A: e.weights[first+l-1], LDA: w,
			B: h.At(0, (in+1)*int(N)), LDB: int(N), C: e.a.At(0, w*int(N)), LDC: int(N), Batch: 1}
		if err := e.s.Gemm(g); err != nil {
			return err
		}
		if l == len(ws)-1 {
			break
		}
		if err := e.s.Launch("hnn_bundle_act", (w+1)*int(N), N, int64(w), int64(e.cfg.Act), e.a, h2); err != nil {
			return err
		}
		h, h2 = h2, h
	}
	return e.s.Launch("hnn_bundle_step", int(dim*N), dim*N, f, e.a, e.S)
}

// Close frees the evaluator's memory and kernels.
func (e *BundleEvaluator) Close() error { return e.s.Close() }
