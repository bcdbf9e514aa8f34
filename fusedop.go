package hnnsolve

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fusedCore is what the gorgonia Ops below need of a fused network: its
// shared state and its forward and backward passes. fusedNet carries the
// time tangent to first order ([N | Ṅ], netop.go), fusedNet2 to second
// order ([N | Ṅ | N̈], netop2.go).
type fusedCore interface {
	base() *fusedBase
	// forward runs the network on the input times ts (len K) into out.
	forward(ts []float64)
	// backward computes ∂L/∂θ into gradPacked from g = ∂L/∂out.
	backward(ts, g []float64)
}

// fusedBase is the state both fused networks share with the Ops.
type fusedBase struct {
	id     uint64 // distinct hash per instance: gorgonia merges nodes by hash
	net    *network
	params [][]float64 // the parameter values bound by the latest Do
	k      int
	dim    int // network outputs
	blocks int // value and tangent blocks of out: 2 or 3
	nPar   int
	out    []float64 // K×(blocks·dim)
	// gradPacked holds all ∂L/∂θ, packed in parameter order at offsets.
	gradPacked []float64
	offsets    []int
	// result tensors, made once: the Ops return them every run
	outT, gradT *tensor.Dense
	pickT       []*tensor.Dense
}

var fusedIDs atomic.Uint64

func newFusedBase(net *network, k, blocks int) fusedBase {
	b := fusedBase{id: fusedIDs.Add(1), net: net, k: k, dim: net.widths[len(net.widths)-1], blocks: blocks}
	b.out = make([]float64, k*blocks*b.dim)
	b.params = make([][]float64, len(net.params))
	copy(b.params, net.params)
	for _, p := range net.params {
		b.offsets = append(b.offsets, b.nPar)
		b.nPar += len(p)
	}
	b.gradPacked = make([]float64, b.nPar)
	b.outT = tensor.New(tensor.WithShape(k, blocks*b.dim), tensor.WithBacking(b.out))
	b.gradT = tensor.New(tensor.WithShape(1, b.nPar), tensor.WithBacking(b.gradPacked))
	for i, p := range net.params {
		b.pickT = append(b.pickT, tensor.New(tensor.WithShape(net.shape(i)...), tensor.WithBacking(make([]float64, len(p)))))
	}
	return b
}

func (b *fusedBase) base() *fusedBase { return b }

// bindInputs checks the input values and points the network at them.
func (b *fusedBase) bindInputs(vals []gorgonia.Value) ([]float64, error) {
	if len(vals) < 1+len(b.net.params) {
		return nil, fmt.Errorf("fused network: %d inputs, want %d", len(vals), 1+len(b.net.params))
	}
	ts, ok := vals[0].Data().([]float64)
	if !ok || len(ts) != b.k*b.net.widths[0] {
		return nil, fmt.Errorf("fused network: inputs are not %d×%d float64", b.k, b.net.widths[0])
	}
	for i := range b.net.params {
		p, ok := vals[1+i].Data().([]float64)
		if !ok || len(p) != len(b.net.params[i]) {
			return nil, fmt.Errorf("fused network: parameter %d has the wrong size", i)
		}
		b.params[i] = p
	}
	return ts, nil
}

func matType() hm.Type { return hm.TypeVariable('a') }

func hashOf(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// --- gorgonia Ops ---

// fusedNetOp: (t (K×1), W_1, b_1, ..., W_o, b_o) → [N | Ṅ (| N̈)].
type fusedNetOp struct{ f fusedCore }

func (op fusedNetOp) Arity() int { return 1 + len(op.f.base().net.params) }
func (op fusedNetOp) Type() hm.Type {
	ts := make([]hm.Type, op.Arity()+1)
	for i := range ts {
		ts[i] = matType()
	}
	return hm.NewFnType(ts...)
}
func (op fusedNetOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	b := op.f.base()
	return tensor.Shape{b.k, b.blocks * b.dim}, nil
}
func (op fusedNetOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	ts, err := op.f.base().bindInputs(vals)
	if err != nil {
		return nil, err
	}
	op.f.forward(ts)
	return op.f.base().outT, nil
}
func (op fusedNetOp) ReturnsPtr() bool     { return false }
func (op fusedNetOp) CallsExtern() bool    { return false }
func (op fusedNetOp) OverwritesInput() int { return -1 }
func (op fusedNetOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "hnnsolve.fusedNet%d#%d", op.f.base().blocks, op.f.base().id)
}
func (op fusedNetOp) Hashcode() uint32 { return hashOf(op) }
func (op fusedNetOp) String() string {
	b := op.f.base()
	return fmt.Sprintf("fusedNet%d%v", b.blocks-1, b.net.widths)
}
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

// fusedNetBackOp: (t, θ..., G) → all ∂L/∂θ packed (1×P).
type fusedNetBackOp fusedNetOp

func (op fusedNetBackOp) Arity() int { return 2 + len(op.f.base().net.params) }
func (op fusedNetBackOp) Type() hm.Type {
	ts := make([]hm.Type, op.Arity()+1)
	for i := range ts {
		ts[i] = matType()
	}
	return hm.NewFnType(ts...)
}
func (op fusedNetBackOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{1, op.f.base().nPar}, nil
}
func (op fusedNetBackOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	b := op.f.base()
	ts, err := b.bindInputs(vals)
	if err != nil {
		return nil, err
	}
	g, ok := vals[len(vals)-1].Data().([]float64)
	if !ok || len(g) != len(b.out) {
		return nil, fmt.Errorf("fused network backward: gradient has the wrong size")
	}
	op.f.backward(ts, g)
	return b.gradT, nil
}
func (op fusedNetBackOp) ReturnsPtr() bool     { return false }
func (op fusedNetBackOp) CallsExtern() bool    { return false }
func (op fusedNetBackOp) OverwritesInput() int { return -1 }
func (op fusedNetBackOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "hnnsolve.fusedNetBack%d#%d", op.f.base().blocks, op.f.base().id)
}
func (op fusedNetBackOp) Hashcode() uint32 { return hashOf(op) }
func (op fusedNetBackOp) String() string   { return "fusedNetBack" }

// fusedPickOp: packed gradient → the gradient of one parameter, in its
// shape. (gorgonia's own Slice cannot be used: its hash confuses offsets
// of 256 and more.)
type fusedPickOp struct {
	f     fusedCore
	param int
}

func (op fusedPickOp) Arity() int    { return 1 }
func (op fusedPickOp) Type() hm.Type { return hm.NewFnType(matType(), matType()) }
func (op fusedPickOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.f.base().net.shape(op.param), nil
}
func (op fusedPickOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	b := op.f.base()
	packed, ok := vals[0].Data().([]float64)
	if !ok || len(packed) != b.nPar {
		return nil, fmt.Errorf("fused network: packed gradient has the wrong size")
	}
	off := b.offsets[op.param]
	out := b.pickT[op.param]
	d := out.Data().([]float64)
	copy(d, packed[off:off+len(d)])
	return out, nil
}
func (op fusedPickOp) ReturnsPtr() bool     { return false }
func (op fusedPickOp) CallsExtern() bool    { return false }
func (op fusedPickOp) OverwritesInput() int { return -1 }
func (op fusedPickOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "hnnsolve.fusedPick%d#%d.%d", op.f.base().blocks, op.f.base().id, op.param)
}
func (op fusedPickOp) Hashcode() uint32 { return hashOf(op) }
func (op fusedPickOp) String() string {
	return fmt.Sprintf("pick(%s)", op.f.base().net.paramName(op.param))
}

// Kernels for the program (exec.go): the same computations on raw slices,
// without the Values that Do needs.

func (op fusedNetOp) kernel() kernel {
	f, b := op.f, op.f.base()
	return func(in [][]float64, out []float64) {
		copy(b.params, in[1:])
		f.forward(in[0])
		copy(out, b.out)
	}
}

func (op fusedNetBackOp) kernel() kernel {
	f, b := op.f, op.f.base()
	return func(in [][]float64, out []float64) {
		copy(b.params, in[1:len(in)-1])
		f.backward(in[0], in[len(in)-1])
		copy(out, b.gradPacked)
	}
}

func (op fusedPickOp) kernel() kernel {
	off := op.f.base().offsets[op.param]
	return func(in [][]float64, out []float64) { copy(out, in[0][off:off+len(out)]) }
}
