package hnnsolve

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The fused network is one gorgonia Op for the whole of N(t) and its time
// tangent dN/dt, with a hand-written backward pass, instead of the few dozen
// small nodes of netGraph. It keeps what the backward pass needs in buffers
// allocated once, and multiplies with BLAS (gonum's pure Go by default,
// OpenBLAS with -tags openblas).
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
	id     uint64 // distinct hash per instance: gorgonia merges nodes by hash
	net    *network
	params [][]float64 // the parameter values bound by the latest Do
	k      int
	dim    int
	nPar   int
	// forward cache, row-major K×width per hidden layer; d1 = σ'(a)
	a, da, h, dh, d1 [][]float64
	out              []float64 // K×2D: [N | dN/dt]
	// backward work space
	gradPacked       []float64 // all ∂L/∂θ, packed in parameter order
	offsets          []int
	ga, gda, gh, gdh []float64 // K×maxWidth
	gh2, gdh2        []float64
	// result tensors, made once: the ops return them every run
	outT, gradT *tensor.Dense
	pickT       []*tensor.Dense
}

var fusedIDs atomic.Uint64

func newFusedNet(net *network, k int) *fusedNet {
	f := &fusedNet{id: fusedIDs.Add(1), net: net, k: k, dim: net.widths[len(net.widths)-1]}
	hidden := net.widths[1 : len(net.widths)-1]
	for _, w := range hidden {
		f.a = append(f.a, make([]float64, k*w))
		f.da = append(f.da, make([]float64, k*w))
		f.h = append(f.h, make([]float64, k*w))
		f.dh = append(f.dh, make([]float64, k*w))
		f.d1 = append(f.d1, make([]float64, k*w))
	}
	f.out = make([]float64, k*2*f.dim)
	f.params = make([][]float64, len(net.params))
	copy(f.params, net.params)
	off := 0
	for _, p := range net.params {
		f.offsets = append(f.offsets, off)
		off += len(p)
	}
	f.nPar = off
	f.gradPacked = make([]float64, off)
	mw := net.maxWidth()
	f.ga, f.gda, f.gh, f.gdh = make([]float64, k*mw), make([]float64, k*mw), make([]float64, k*mw), make([]float64, k*mw)
	f.gh2, f.gdh2 = make([]float64, k*mw), make([]float64, k*mw)
	f.outT = tensor.New(tensor.WithShape(k, 2*f.dim), tensor.WithBacking(f.out))
	f.gradT = tensor.New(tensor.WithShape(1, f.nPar), tensor.WithBacking(f.gradPacked))
	for i, p := range net.params {
		f.pickT = append(f.pickT, tensor.New(tensor.WithShape(net.shape(i)...), tensor.WithBacking(make([]float64, len(p)))))
	}
	return f
}

// gemm computes C = op(A) op(B) + beta C (row-major). OpenBLAS does it
// with -tags openblas; otherwise serialGemm, since gonum's Dgemm starts
// goroutines and allocates on every call, and at these sizes one thread
// per network is the better use of the cores.
func gemm(tA, tB blas.Transpose, m, n, kk int, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if BLAS == "gonum" {
		serialGemm(tA, tB, m, n, kk, a, lda, b, ldb, beta, c, ldc)
		return
	}
	blas64.Implementation().Dgemm(tA, tB, m, n, kk, 1, a, lda, b, ldb, beta, c, ldc)
}

// serialGemm is a single-threaded, allocation-free C = op(A) op(B) + beta C
// for beta 0 or 1, on gonum's assembly kernels (floats.AddScaled, floats.Dot).
func serialGemm(tA, tB blas.Transpose, m, n, kk int, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if beta == 0 {
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
	}
	// For the thin products (one dimension is D, the phase-space size)
	// the assembly kernels' call overhead dominates: plain loops.
	const thin = 16
	switch {
	case tA == blas.NoTrans && tB == blas.NoTrans && n < thin:
		for i := range m {
			ci := c[i*ldc : i*ldc+n]
			for l, ail := range a[i*lda : i*lda+kk] {
				bl := b[l*ldb : l*ldb+n]
				for j := range ci {
					ci[j] += ail * bl[j]
				}
			}
		}
	case tA == blas.Trans && tB == blas.NoTrans && n < thin: // A is kk×m
		for l := range kk {
			bl := b[l*ldb : l*ldb+n]
			for i, ali := range a[l*lda : l*lda+m] {
				ci := c[i*ldc : i*ldc+n]
				for j := range ci {
					ci[j] += ali * bl[j]
				}
			}
		}
	case tA == blas.NoTrans && tB == blas.Trans && kk < thin: // B is n×kk
		for i := range m {
			ai := a[i*lda : i*lda+kk]
			ci := c[i*ldc : i*ldc+n]
			for j := range ci {
				bj := b[j*ldb : j*ldb+kk]
				s := 0.0
				for l, x := range ai {
					s += x * bj[l]
				}
				ci[j] += s
			}
		}
	case tA == blas.NoTrans && tB == blas.NoTrans:
		for i := range m {
			ci := c[i*ldc : i*ldc+n]
			for l, ail := range a[i*lda : i*lda+kk] {
				floats.AddScaled(ci, ail, b[l*ldb:l*ldb+n])
			}
		}
	case tA == blas.Trans && tB == blas.NoTrans: // A is kk×m
		for l := range kk {
			bl := b[l*ldb : l*ldb+n]
			for i, ali := range a[l*lda : l*lda+m] {
				floats.AddScaled(c[i*ldc:i*ldc+n], ali, bl)
			}
		}
	case tA == blas.NoTrans && tB == blas.Trans: // B is n×kk
		for i := range m {
			ai := a[i*lda : i*lda+kk]
			ci := c[i*ldc : i*ldc+n]
			for j := range n {
				ci[j] += floats.Dot(ai, b[j*ldb:j*ldb+kk])
			}
		}
	default:
		blas64.Implementation().Dgemm(tA, tB, m, n, kk, 1, a, lda, b, ldb, beta, c, ldc)
	}
}

// forward runs the network on the times ts (len K) into f.out and the cache.
func (f *fusedNet) forward(ts []float64) {
	net, k := f.net, f.k
	L := len(f.a)
	for l := range L {
		w := net.widths[l+1]
		W, b := f.params[2*l], f.params[2*l+1]
		a, da := f.a[l], f.da[l]
		if l == 0 {
			// h_0 = t, ḣ_0 = 1: a rank-one update, no GEMM needed.
			for i, t := range ts {
				row, drow := a[i*w:(i+1)*w], da[i*w:(i+1)*w]
				for j := range w {
					row[j] = t*W[j] + b[j]
					drow[j] = W[j]
				}
			}
		} else {
			in := net.widths[l]
			for i := range k {
				copy(a[i*w:(i+1)*w], b)
			}
			gemm(blas.NoTrans, blas.NoTrans, k, w, in, f.h[l-1], in, W, w, 1, a, w)
			gemm(blas.NoTrans, blas.NoTrans, k, w, in, f.dh[l-1], in, W, w, 0, da, w)
		}
		f.activate(l)
	}
	// Output layer into [N | dN/dt], row stride 2D.
	D, w := f.dim, net.widths[L]
	Wo, bo := f.params[2*L], f.params[2*L+1]
	for i := range k {
		copy(f.out[i*2*D:i*2*D+D], bo)
	}
	gemm(blas.NoTrans, blas.NoTrans, k, D, w, f.h[L-1], w, Wo, D, 1, f.out, 2*D)
	gemm(blas.NoTrans, blas.NoTrans, k, D, w, f.dh[L-1], w, Wo, D, 0, f.out[D:], 2*D)
}

func (f *fusedNet) activate(l int) {
	a, da, h, dh, d1 := f.a[l], f.da[l], f.h[l], f.dh[l], f.d1[l]
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
	// Output layer.
	w := net.widths[L]
	gWo := gp[f.offsets[2*L] : f.offsets[2*L]+w*D]
	gbo := gp[f.offsets[2*L+1] : f.offsets[2*L+1]+D]
	Wo := f.params[2*L]
	gemm(blas.Trans, blas.NoTrans, w, D, k, f.h[L-1], w, g, 2*D, 0, gWo, D)
	gemm(blas.Trans, blas.NoTrans, w, D, k, f.dh[L-1], w, g[D:], 2*D, 1, gWo, D)
	clear(gbo)
	for i := range k {
		for j, v := range g[i*2*D : i*2*D+D] {
			gbo[j] += v
		}
	}
	gh, gdh := f.gh[:k*w], f.gdh[:k*w]
	gemm(blas.NoTrans, blas.Trans, k, w, D, g, 2*D, Wo, D, 0, gh, w)
	gemm(blas.NoTrans, blas.Trans, k, w, D, g[D:], 2*D, Wo, D, 0, gdh, w)
	for l := L - 1; l >= 0; l-- {
		w := net.widths[l+1]
		in := net.widths[l]
		ga, gda := f.ga[:k*w], f.gda[:k*w]
		f.activationBackward(f.h[l], f.d1[l], f.da[l], gh, gdh, ga, gda)
		gW := gp[f.offsets[2*l] : f.offsets[2*l]+in*w]
		gb := gp[f.offsets[2*l+1] : f.offsets[2*l+1]+w]
		clear(gb)
		for i := range k {
			for j, v := range ga[i*w : (i+1)*w] {
				gb[j] += v
			}
		}
		if l == 0 {
			// h_0 = t, ḣ_0 = 1.
			clear(gW)
			for i, t := range ts {
				rowA, rowDA := ga[i*w:(i+1)*w], gda[i*w:(i+1)*w]
				for j := range w {
					gW[j] += t*rowA[j] + rowDA[j]
				}
			}
			break
		}
		W := f.params[2*l]
		gemm(blas.Trans, blas.NoTrans, in, w, k, f.h[l-1], in, ga, w, 0, gW, w)
		gemm(blas.Trans, blas.NoTrans, in, w, k, f.dh[l-1], in, gda, w, 1, gW, w)
		gh2, gdh2 := f.gh2[:k*in], f.gdh2[:k*in]
		gemm(blas.NoTrans, blas.Trans, k, in, w, ga, w, W, w, 0, gh2, in)
		gemm(blas.NoTrans, blas.Trans, k, in, w, gda, w, W, w, 0, gdh2, in)
		copy(f.gh[:k*in], gh2)
		copy(f.gdh[:k*in], gdh2)
		gh, gdh = f.gh[:k*in], f.gdh[:k*in]
	}
}

// activationBackward: G_a = G_h σ'(a) + G_ḣ σ”(a) ȧ, G_ȧ = G_ḣ σ'(a), with
// σ”(a) written in terms of the cached h = σ(a) and d1 = σ'(a), so no
// transcendental function is evaluated twice.
func (f *fusedNet) activationBackward(h, d1, da, gh, gdh, ga, gda []float64) {
	switch f.net.act {
	case Sin: // σ'' = -sin
		for i := range ga {
			ga[i] = gh[i]*d1[i] - gdh[i]*h[i]*da[i]
			gda[i] = gdh[i] * d1[i]
		}
	case Tanh: // σ'' = -2 tanh σ'
		for i := range ga {
			ga[i] = gh[i]*d1[i] - 2*gdh[i]*h[i]*d1[i]*da[i]
			gda[i] = gdh[i] * d1[i]
		}
	case Sigmoid: // σ'' = σ'(1 - 2σ)
		for i := range ga {
			ga[i] = gh[i]*d1[i] + gdh[i]*d1[i]*(1-2*h[i])*da[i]
			gda[i] = gdh[i] * d1[i]
		}
	}
}

// --- gorgonia Ops ---

// fusedNetOp: (t (K×1), W_1, b_1, ..., W_o, b_o) → [N | dN/dt] (K×2D).
type fusedNetOp struct{ f *fusedNet }

func matType() hm.Type { return hm.TypeVariable('a') }

func (op fusedNetOp) Arity() int { return 1 + len(op.f.net.params) }
func (op fusedNetOp) Type() hm.Type {
	ts := make([]hm.Type, op.Arity()+1)
	for i := range ts {
		ts[i] = matType()
	}
	return hm.NewFnType(ts...)
}
func (op fusedNetOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.f.k, 2 * op.f.dim}, nil
}
func (op fusedNetOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	ts, err := op.f.bindInputs(vals)
	if err != nil {
		return nil, err
	}
	op.f.forward(ts)
	return op.f.outT, nil
}
func (op fusedNetOp) ReturnsPtr() bool     { return false }
func (op fusedNetOp) CallsExtern() bool    { return false }
func (op fusedNetOp) OverwritesInput() int { return -1 }
func (op fusedNetOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "hnnsolve.fusedNet#%d", op.f.id)
}
func (op fusedNetOp) Hashcode() uint32 { return hashOf(op) }
func (op fusedNetOp) String() string   { return fmt.Sprintf("fusedNet%v", op.f.net.widths) }
func (op fusedNetOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := 1; i < n; i++ {
		d[i] = true
	}
	return d
}

// SymDiff returns the parameter gradients as pieces of one backward node.
func (op fusedNetOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	back, err := gorgonia.ApplyOp(fusedNetBackOp(op), append(append(gorgonia.Nodes{}, inputs...), grad)...)
	if err != nil {
		return nil, err
	}
	res := make(gorgonia.Nodes, len(inputs))
	for i := 1; i < len(inputs); i++ {
		if res[i], err = gorgonia.ApplyOp(fusedPickOp{f: op.f, param: i - 1}, back); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func hashOf(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// bindInputs checks the input values and points the network at them.
func (f *fusedNet) bindInputs(vals []gorgonia.Value) ([]float64, error) {
	if len(vals) < 1+len(f.net.params) {
		return nil, fmt.Errorf("fused network: %d inputs, want %d", len(vals), 1+len(f.net.params))
	}
	ts, ok := vals[0].Data().([]float64)
	if !ok || len(ts) != f.k {
		return nil, fmt.Errorf("fused network: times are not %d float64", f.k)
	}
	for i := range f.net.params {
		p, ok := vals[1+i].Data().([]float64)
		if !ok || len(p) != len(f.net.params[i]) {
			return nil, fmt.Errorf("fused network: parameter %d has the wrong size", i)
		}
		f.params[i] = p
	}
	return ts, nil
}

// fusedNetBackOp: (t, θ..., G) → all ∂L/∂θ packed (1×P).
type fusedNetBackOp fusedNetOp

func (op fusedNetBackOp) Arity() int { return 2 + len(op.f.net.params) }
func (op fusedNetBackOp) Type() hm.Type {
	ts := make([]hm.Type, op.Arity()+1)
	for i := range ts {
		ts[i] = matType()
	}
	return hm.NewFnType(ts...)
}
func (op fusedNetBackOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{1, op.f.nPar}, nil
}
func (op fusedNetBackOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	ts, err := op.f.bindInputs(vals)
	if err != nil {
		return nil, err
	}
	g, ok := vals[len(vals)-1].Data().([]float64)
	if !ok || len(g) != len(op.f.out) {
		return nil, fmt.Errorf("fused network backward: gradient has the wrong size")
	}
	op.f.backward(ts, g)
	return op.f.gradT, nil
}
func (op fusedNetBackOp) ReturnsPtr() bool     { return false }
func (op fusedNetBackOp) CallsExtern() bool    { return false }
func (op fusedNetBackOp) OverwritesInput() int { return -1 }
func (op fusedNetBackOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "hnnsolve.fusedNetBack#%d", op.f.id)
}
func (op fusedNetBackOp) Hashcode() uint32 { return hashOf(op) }
func (op fusedNetBackOp) String() string   { return "fusedNetBack" }

// fusedPickOp: packed gradient → the gradient of one parameter, in its
// shape. (gorgonia's own Slice cannot be used: its hash confuses offsets
// of 256 and more.)
type fusedPickOp struct {
	f     *fusedNet
	param int
}

func (op fusedPickOp) Arity() int    { return 1 }
func (op fusedPickOp) Type() hm.Type { return hm.NewFnType(matType(), matType()) }
func (op fusedPickOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.f.net.shape(op.param), nil
}
func (op fusedPickOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	packed, ok := vals[0].Data().([]float64)
	if !ok || len(packed) != op.f.nPar {
		return nil, fmt.Errorf("fused network: packed gradient has the wrong size")
	}
	off := op.f.offsets[op.param]
	out := op.f.pickT[op.param]
	d := out.Data().([]float64)
	copy(d, packed[off:off+len(d)])
	return out, nil
}
func (op fusedPickOp) ReturnsPtr() bool     { return false }
func (op fusedPickOp) CallsExtern() bool    { return false }
func (op fusedPickOp) OverwritesInput() int { return -1 }
func (op fusedPickOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "hnnsolve.fusedPick#%d.%d", op.f.id, op.param)
}
func (op fusedPickOp) Hashcode() uint32 { return hashOf(op) }
func (op fusedPickOp) String() string   { return fmt.Sprintf("pick(%s)", op.f.net.paramName(op.param)) }

// Kernels for the program (exec.go): the same computations on raw slices,
// without the Values that Do needs.

func (op fusedNetOp) kernel() kernel {
	f := op.f
	return func(in [][]float64, out []float64) {
		copy(f.params, in[1:])
		f.forward(in[0])
		copy(out, f.out)
	}
}

func (op fusedNetBackOp) kernel() kernel {
	f := op.f
	return func(in [][]float64, out []float64) {
		copy(f.params, in[1:len(in)-1])
		f.backward(in[0], in[len(in)-1])
		copy(out, f.gradPacked)
	}
}

func (op fusedPickOp) kernel() kernel {
	off := op.f.offsets[op.param]
	return func(in [][]float64, out []float64) { copy(out, in[0][off:off+len(out)]) }
}
