package hnnsolve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"

	"gorgonia.org/gorgonia"

	"hnnsolve/internal/engine"
	"hnnsolve/internal/gpu"
	"hnnsolve/internal/pointwise"
)

// This file connects the root's Hamiltonian and network to the GPU engine
// (internal/gpu): H and its derivatives as a per-point program, and the
// engine's configuration from a segment's problem, settings and network.

// pointProgram is H with its symbolic derivatives as one per-point program:
// inputs z_0 … z_{D-1}; outputs H, ∂H/∂z_i (D), ∂²H/∂z_i∂z_j (D·D, row i
// is the derivative of ∂H/∂z_i), in that order.
type pointProgram struct {
	prog *pointwise.Program
	dim  int
	// summed: H was returned as a sum over the points. The program's H is
	// then the value at one point (what the CPU's evaluator gives at batch
	// 1); the derivatives are per point either way.
	summed bool
}

// newPointProgram builds the CPU evaluator of H, ∇H and D²H
// (newHamiltonianEvaluator with the Hessian) and translates its program
// (exec.go) into a pointwise.Program, step by step, as internal/pointwise's
// package documentation describes. A step that has no per-point form (an op
// the translation does not know, which the CPU runs through its own Do; a
// vector constant with unequal entries; a column slice; a sum over the
// points used other than linearly) is an error wrapping ErrDevice: such an
// H trains on the CPU only. Errors building H itself wrap ErrHamiltonian.
func newPointProgram(h Hamiltonian, dim int) (*pointProgram, error) {
	ev, err := newHamiltonianEvaluator(h, dim, 2, true)
	if err != nil {
		return nil, err
	}
	prog, summed, err := translateProgram(ev.prog, ev.z, ev.outs)
	if err != nil {
		return nil, fmt.Errorf("%w: H has no per-point GPU form: %w", ErrDevice, err)
	}
	return &pointProgram{prog: prog, dim: dim, summed: summed}, nil
}

// tval is what the translation knows of one slot of the root's program.
type tval struct {
	v     pointwise.Value
	ok    bool   // v is usable as a per-point value
	why   string // why not, when !ok
	sum   bool   // linear in sums over the points
	konst bool   // a constant (independent of the point and of z)
	c     float64
}

// translateProgram translates the steps of p that the outputs depend on.
// inputs are the program's input nodes, in the order of the pointwise
// inputs. summed reports that outputs[0] is linear in sums over the points.
func translateProgram(p *program, inputs, outputs []*gorgonia.Node) (prog *pointwise.Program, summed bool, err error) {
	b := pointwise.NewBuilder(len(inputs))
	vals := make([]tval, len(p.slots))
	set := make([]bool, len(p.slots))
	for i, n := range inputs {
		s, ok := p.index[n]
		if !ok {
			return nil, false, fmt.Errorf("input %v is not in the program", n)
		}
		vals[s], set[s] = tval{v: b.Input(i), ok: true}, true
	}
	// Slots that no step writes are inputs or constants.
	written := make([]bool, len(p.slots))
	for _, st := range p.steps {
		written[st.out] = true
	}
	for n, s := range p.index {
		if set[s] || written[s] {
			continue
		}
		if n.Op() == nil {
			vals[s] = tval{why: fmt.Sprintf("input %v is not a coordinate", n)}
		} else {
			vals[s] = constVal(b, p.slots[s].d, n)
		}
		set[s] = true
	}
	for _, st := range p.steps {
		in := make([]tval, len(st.in))
		for j, s := range st.in {
			if !set[s] {
				return nil, false, fmt.Errorf("step %v (%s) reads a slot not computed before it", st.op, st.name)
			}
			in[j] = vals[s]
		}
		v, err := translateStep(b, st, in, p.slots[st.out].d)
		if err != nil {
			return nil, false, fmt.Errorf("step %v (%s): %w", st.op, st.name, err)
		}
		vals[st.out], set[st.out] = v, true
	}
	outs := make([]pointwise.Value, len(outputs))
	for j, n := range outputs {
		s, ok := p.index[n]
		if !ok || !set[s] {
			return nil, false, fmt.Errorf("output %v is not in the program", n)
		}
		v := vals[s]
		if !v.ok {
			return nil, false, fmt.Errorf("output %d (%v): %s", j, n, v.why)
		}
		if v.sum && j > 0 {
			return nil, false, fmt.Errorf("output %d (%v) is a sum over the points, not a per-point derivative", j, n)
		}
		outs[j] = v.v
	}
	prog, err = b.Program(outs...)
	if err != nil {
		return nil, false, err
	}
	return prog, len(outputs) > 0 && vals[p.index[outputs[0]]].sum, nil
}

// constVal is a constant's register: a scalar, or a vector of equal entries.
func constVal(b *pointwise.Builder, d []float64, n *gorgonia.Node) tval {
	if len(d) == 0 {
		return tval{why: fmt.Sprintf("constant %v is empty", n)}
	}
	for _, x := range d[1:] {
		if math.Float64bits(x) != math.Float64bits(d[0]) {
			return tval{why: fmt.Sprintf("constant %v is a vector of unequal entries", n)}
		}
	}
	return tval{v: b.Const(d[0]), ok: true, konst: true, c: d[0]}
}

// translateStep is one step of the root's program; out is its output's
// buffer (for the op's shape only).
func translateStep(b *pointwise.Builder, st step, in []tval, out []float64) (tval, error) {
	op := st.op
	name := op.String()
	switch t := fmt.Sprintf("%T", op); t {
	case "gorgonia.elemBinOp":
		if len(in) != 2 {
			return tval{}, fmt.Errorf("%d operands", len(in))
		}
		sym := strings.Fields(name)[0]
		pop, ok := pointwise.LookupOp(sym)
		if !ok || !pop.Binary() {
			return tval{}, fmt.Errorf("binary op %q has no per-point form", sym)
		}
		return binaryVal(b, pop, in[0], in[1])
	case "gorgonia.elemUnaryOp", "hnnsolve.exprUnaryOp":
		if len(in) != 1 {
			return tval{}, fmt.Errorf("%d operands", len(in))
		}
		pop, ok := pointwise.LookupOp(name)
		if !ok || pop.Binary() {
			return tval{}, fmt.Errorf("unary op %q has no per-point form", name)
		}
		x := in[0]
		if err := usable(x); err != nil {
			return tval{}, err
		}
		if x.sum && pop != pointwise.OpNeg {
			return tval{}, fmt.Errorf("%s of a sum over the points is not a per-point H", name)
		}
		r := tval{v: b.Unary(pop, x.v), ok: true, sum: x.sum}
		if x.konst {
			r.konst, r.c = true, pointwise.Apply(pop, x.c, 0)
		}
		return r, nil
	case "gorgonia.sumOp":
		// Σ over the points: the identity per point, the result marked.
		if len(in) != 1 || len(out) != 1 {
			return tval{}, fmt.Errorf("a sum to %d values: only a sum over all points has a per-point form", len(out))
		}
		x := in[0]
		if err := usable(x); err != nil {
			return tval{}, err
		}
		if x.konst {
			return tval{}, fmt.Errorf("a sum of a constant over the points depends on their number")
		}
		x.sum = true
		return x, nil
	case "*gorgonia.repeatOp":
		if len(in) < 1 {
			return tval{}, fmt.Errorf("no operand")
		}
		x := in[0]
		if err := usable(x); err != nil {
			return tval{}, err
		}
		if x.sum && !x.konst {
			return tval{}, fmt.Errorf("a sum over the points repeated at every point is not a per-point H")
		}
		return x, nil
	case "gorgonia.sizeOp":
		var n int
		if _, err := fmt.Sscanf(name, "SizeOf=%d", &n); err != nil {
			return tval{}, fmt.Errorf("size %q", name)
		}
		// The number of points: used as a repeat count (a shape input,
		// never as a value) in the derivative of a sum.
		return tval{why: "the number of points is not a per-point value"}, nil
	case "gorgonia.reshapeOp":
		if len(in) != 1 {
			return tval{}, fmt.Errorf("%d operands", len(in))
		}
		return in[0], nil
	case "*gorgonia.sliceOp", "gorgonia.sliceIncrOp":
		if !strings.Contains(name, "[:...]") {
			return tval{}, fmt.Errorf("slice %q of a vector of points has no per-point form", name)
		}
		if t == "gorgonia.sliceIncrOp" {
			if len(in) != 2 {
				return tval{}, fmt.Errorf("%d operands", len(in))
			}
			return in[1], nil
		}
		return in[0], nil
	}
	return tval{}, fmt.Errorf("op %T (%s) has no per-point form", op, name)
}

func usable(x tval) error {
	if !x.ok {
		return fmt.Errorf("%s", x.why)
	}
	return nil
}

// binaryVal is x op y, keeping sums linear: a sum may be added to or
// subtracted from another sum or a constant, and multiplied or divided by
// a constant.
func binaryVal(b *pointwise.Builder, op pointwise.Op, x, y tval) (tval, error) {
	if err := usable(x); err != nil {
		return tval{}, err
	}
	if err := usable(y); err != nil {
		return tval{}, err
	}
	r := tval{v: b.Binary(op, x.v, y.v), ok: true}
	if x.konst && y.konst {
		r.konst, r.c = true, pointwise.Apply(op, x.c, y.c)
	}
	if !x.sum && !y.sum {
		return r, nil
	}
	linear := false
	switch op {
	case pointwise.OpAdd, pointwise.OpSub:
		linear = (x.sum || x.konst) && (y.sum || y.konst)
	case pointwise.OpMul:
		linear = x.sum && y.konst || x.konst && y.sum
	case pointwise.OpDiv:
		linear = x.sum && y.konst
	}
	if !linear {
		return tval{}, fmt.Errorf("%v of a sum over the points and a per-point value is not a per-point H", op)
	}
	r.sum = true
	return r, nil
}

// gpuTrainer is the GPU engine (internal/gpu) training one network behind
// engine.Trainer: the device's errors wrap ErrDevice, a non-finite loss is
// a *DivergedError as on the CPU.
type gpuTrainer struct {
	eng    *gpu.Engine
	losses [][]float64
}

var _ engine.Trainer = (*gpuTrainer)(nil)

// gpuNetConfig is the engine's configuration for the network net of the
// segment Solution sol: the problem, settings and E0 of the segment, the
// network's widths, activation and initial weights, and the seed of the
// times' perturbations, drawn once from rng (the CPU engine draws from rng
// every epoch instead; the two see different times unless Perturb < 0).
// H's program is pp, or, when pp is nil, built from the problem's H.
func gpuNetConfig(sol *Solution, net *network, rng *rand.Rand, keepFrom int, pp *pointProgram) (gpu.Config, error) {
	p, set := sol.problem, sol.settings
	if k := sol.formulation().kind(); k != (hamiltonianForm{}).kind() {
		return gpu.Config{}, fmt.Errorf("%w: the GPU engine trains the Hamiltonian formulation only, not the %s one (use Device CPU)", ErrDevice, k)
	}
	if len(p.Z0) > gpu.MaxDim {
		return gpu.Config{}, fmt.Errorf("%w: dimension %d: the GPU engine takes at most %d (use Device CPU)", ErrDevice, len(p.Z0), gpu.MaxDim)
	}
	if pp == nil {
		var err error
		if pp, err = newPointProgram(p.H, len(p.Z0)); err != nil {
			return gpu.Config{}, err
		}
	}
	if pp.summed && set.Energy > 0 {
		return gpu.Config{}, fmt.Errorf("%w: the energy regulariser (Eq. 8) needs H at each point, but H returned a scalar", ErrHamiltonian)
	}
	act, err := gpuActivation(net.act)
	if err != nil {
		return gpu.Config{}, err
	}
	param := gpu.Exponential
	if set.Param == Linear {
		param = gpu.Linear
	}
	hidden := net.widths[1 : len(net.widths)-1]
	return gpu.Config{
		Program: pp.prog, Hidden: hidden, Activation: act, Param: param,
		Points: set.Points, Energy: set.Energy,
		Adam: engine.Adam{LearnRate: set.LearnRate, LearnRateFinal: set.LearnRateFinal,
			Beta1: set.Beta1, Beta2: set.Beta2, Epochs: set.Epochs},
		KeepFrom: keepFrom,
		Nets:     []gpu.Net{{Z0: p.Z0, Length: p.T - p.T0, E0: sol.e0, Perturb: set.Perturb, Seed: rng.Uint64(), Params: net.params}},
	}, nil
}

// newGPUTrainer builds the GPU engine on dev for the network net of the
// segment Solution sol. The engine's device memory is freed when the
// trainer is garbage collected.
func newGPUTrainer(dev gpu.Device, sol *Solution, net *network, rng *rand.Rand, keepFrom int) (*gpuTrainer, error) {
	cfg, err := gpuNetConfig(sol, net, rng, keepFrom, nil)
	if err != nil {
		return nil, err
	}
	eng, err := gpu.New(dev, cfg)
	if err != nil {
		return nil, deviceError(err)
	}
	t := &gpuTrainer{eng: eng, losses: make([][]float64, 1)}
	runtime.AddCleanup(t, func(e *gpu.Engine) { e.Close() }, eng)
	return t, nil
}

// deviceError wraps a failure of the device in ErrDevice.
func deviceError(err error) error {
	if errors.Is(err, ErrDevice) {
		return err
	}
	return fmt.Errorf("%w: GPU engine: %w", ErrDevice, err)
}

// Run implements engine.Trainer.
func (t *gpuTrainer) Run(ctx context.Context, from, to int, targetLoss float64, losses []float64) (int, error) {
	t.losses[0] = losses
	ends, err := t.eng.Run(ctx, from, to, targetLoss, t.losses)
	t.losses[0] = nil
	end := from
	if len(ends) == 1 {
		end = ends[0]
	}
	var de *gpu.DivergedError
	switch {
	case err == nil:
		return end, nil
	case errors.As(err, &de):
		return end, &DivergedError{Epoch: de.Epoch, Loss: de.Loss}
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return end, err
	}
	return end, deviceError(err)
}

// Kept implements engine.Trainer.
func (t *gpuTrainer) Kept() int { return t.eng.Kept(0) }

// Weights implements engine.Trainer. A failure to read the device (which
// the interface cannot return) panics with an ErrDevice error, which
// Solve's recovery turns into its error.
func (t *gpuTrainer) Weights(dst [][]float64, kept bool) {
	if err := t.eng.Weights(0, dst, kept); err != nil {
		panic(deviceError(fmt.Errorf("reading the weights: %w", err)))
	}
}

// gpuActivation is a's number in internal/gpu.
func gpuActivation(a Activation) (gpu.Activation, error) {
	switch a {
	case Sin:
		return gpu.Sin, nil
	case Sigmoid:
		return gpu.Sigmoid, nil
	case Tanh:
		return gpu.Tanh, nil
	}
	return 0, fmt.Errorf("%w: activation %v", ErrSettings, a)
}
