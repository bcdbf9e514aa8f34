package hnnsolve

import (
	"fmt"
	"gonum.org/v1/gonum/floats"
	"math"
	"reflect"
	"strings"
	"unsafe"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// program executes the part of a gorgonia graph that some outputs depend
// on, in topological order. gorgonia builds the graph and differentiates it
// (SymDiff, Grad); the program runs it. Unlike gorgonia's TapeMachine,
// which frees every register on Reset, so allocates every result anew each
// run, and starts a goroutine per run, the program gives every result a
// buffer once and runs the element-wise arithmetic, sums, repeats, reshapes
// and column slices that H and its derivatives are made of with its own
// kernels on those buffers: a training epoch allocates nothing. Any other
// op runs through its own Do (allocating), so every graph still runs.
type program struct {
	steps []step
	slots []slot
	index map[*gorgonia.Node]int
}

// slot holds one node's value: d is its data, stable over runs except for
// the results of fallback steps; v wraps d for ops that take Values.
type slot struct {
	v gorgonia.Value
	d []float64
}

type step struct {
	op     gorgonia.Op
	name   string
	in     []int
	out    int
	kernel kernel // nil: op.Do
	inVals []gorgonia.Value
	inData [][]float64
}

// kernel computes out from the inputs' data.
type kernel func(in [][]float64, out []float64)

type constantValue interface{ Value() gorgonia.Value }

// compile builds the program that computes outputs in graph g.
func compile(g *gorgonia.ExprGraph, outputs ...*gorgonia.Node) (*program, error) {
	p := &program{index: map[*gorgonia.Node]int{}}
	var visit func(n *gorgonia.Node) (int, error)
	visit = func(n *gorgonia.Node) (int, error) {
		if i, ok := p.index[n]; ok {
			return i, nil
		}
		if n.Graph() != g {
			return 0, fmt.Errorf("node %v is not in the graph", n)
		}
		op := n.Op()
		switch c := op.(type) {
		case nil: // an input: its value is bound and updated in place
			if n.Value() == nil {
				return 0, fmt.Errorf("input %v has no value", n)
			}
			return p.add(n, n.Value())
		case constantValue:
			return p.add(n, c.Value())
		}
		cs := children(g, n)
		st := step{op: op, name: n.Name()}
		var inShapes []tensor.Shape
		for _, c := range cs {
			i, err := visit(c)
			if err != nil {
				return 0, err
			}
			st.in = append(st.in, i)
			inShapes = append(inShapes, c.Shape())
		}
		st.inVals = make([]gorgonia.Value, len(cs))
		st.inData = make([][]float64, len(cs))
		if n.Dtype() == tensor.Float64 {
			st.kernel = nativeKernel(op, inShapes, n.Shape())
		}
		var out int
		var err error
		if st.kernel != nil {
			out, err = p.add(n, newValue(n.Shape()))
		} else {
			out, err = p.add(n, nil)
		}
		if err != nil {
			return 0, err
		}
		st.out = out
		p.steps = append(p.steps, st)
		return out, nil
	}
	for _, o := range outputs {
		if _, err := visit(o); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// newValue makes a float64 value of the given shape: a *F64 for a scalar.
func newValue(s tensor.Shape) gorgonia.Value {
	if s.IsScalar() {
		return gorgonia.NewF64(0)
	}
	return tensor.New(tensor.WithShape(s.Clone()...), tensor.Of(tensor.Float64))
}

func (p *program) add(n *gorgonia.Node, v gorgonia.Value) (int, error) {
	s := slot{v: v}
	if v != nil {
		d, err := valueSlice(v)
		if err != nil {
			return 0, fmt.Errorf("node %v: %w", n, err)
		}
		s.d = d
	}
	p.slots = append(p.slots, s)
	p.index[n] = len(p.slots) - 1
	return len(p.slots) - 1, nil
}

// valueSlice returns the data of a float64 value without copying; for a
// *F64 a slice aliasing it.
func valueSlice(v gorgonia.Value) ([]float64, error) {
	switch v := v.(type) {
	case *gorgonia.F64:
		return unsafe.Slice((*float64)(v), 1), nil
	case tensor.Tensor:
		if d, ok := v.Data().([]float64); ok {
			return d, nil
		}
		if f, ok := v.Data().(float64); ok { // a 0-d tensor
			return []float64{f}, nil
		}
	}
	return nil, fmt.Errorf("value %T is not float64", v)
}

// run executes every step. Panics inside ops become errors.
func (p *program) run() (err error) {
	defer recoverGorgonia(&err, ErrHamiltonian)
	for i := range p.steps {
		st := &p.steps[i]
		if st.kernel != nil {
			for j, k := range st.in {
				st.inData[j] = p.slots[k].d
			}
			st.kernel(st.inData, p.slots[st.out].d)
			continue
		}
		for j, k := range st.in {
			st.inVals[j] = p.slots[k].v
		}
		v, err := st.op.Do(st.inVals...)
		if err != nil {
			return fmt.Errorf("executing %v (%s): %w", st.op, st.name, err)
		}
		d, err := valueSlice(v)
		if err != nil {
			return fmt.Errorf("executing %v (%s): %w", st.op, st.name, err)
		}
		p.slots[st.out] = slot{v: v, d: d}
	}
	return nil
}

// value returns the latest data of n, nil if n is not in the program.
func (p *program) value(n *gorgonia.Node) []float64 {
	i, ok := p.index[n]
	if !ok {
		return nil
	}
	return p.slots[i].d
}

// nativeKernel returns a kernel for op with these input and output shapes,
// or nil where gorgonia's own Do must run it.
func nativeKernel(op gorgonia.Op, in []tensor.Shape, out tensor.Shape) kernel {
	if nk, ok := op.(interface{ kernel() kernel }); ok {
		return nk.kernel()
	}
	name := op.String()
	size := out.TotalSize()
	switch t := fmt.Sprintf("%T", op); t {
	case "gorgonia.elemBinOp":
		if len(in) != 2 {
			return nil
		}
		sym := strings.Fields(name)[0]
		na, nb := in[0].TotalSize(), in[1].TotalSize()
		if !(na == size && nb == size || na == 1 && nb == size || na == size && nb == 1) {
			return nil
		}
		return binaryKernel(sym, na == 1 && size > 1, nb == 1 && size > 1)
	case "gorgonia.elemUnaryOp":
		if len(in) != 1 || in[0].TotalSize() != size {
			return nil
		}
		return unaryKernel(name)
	case "gorgonia.sumOp":
		if len(in) != 1 || size != 1 || in[0].Dims() > 1 {
			return nil
		}
		return func(in [][]float64, out []float64) {
			s := 0.0
			for _, x := range in[0] {
				s += x
			}
			out[0] = s
		}
	case "*gorgonia.repeatOp":
		if len(in) < 1 || in[0].TotalSize() != 1 {
			return nil
		}
		return func(in [][]float64, out []float64) {
			for i := range out {
				out[i] = in[0][0]
			}
		}
	case "gorgonia.sizeOp":
		var n int
		if _, err := fmt.Sscanf(name, "SizeOf=%d", &n); err != nil || size != 1 {
			return nil
		}
		return func(_ [][]float64, out []float64) { out[0] = float64(n) }
	case "gorgonia.reshapeOp":
		if len(in) != 1 || in[0].TotalSize() != size {
			return nil
		}
		return func(in [][]float64, out []float64) { copy(out, in[0]) }
	case "*gorgonia.sliceOp":
		return sliceKernel(op, in, out, false)
	case "gorgonia.sliceIncrOp":
		return sliceKernel(op, in, out, true)
	}
	return nil
}

// binaryKernel is the elementwise a op b, with a or b possibly a scalar
// broadcast over the other. The common forms run as gonum's vector loops,
// and a power with a small integer exponent, the form Hamiltonians take, by
// multiplication (as math.Pow computes it, to the last bit).
func binaryKernel(sym string, aScalar, bScalar bool) kernel {
	switch {
	case aScalar: // c op x
		switch sym {
		case "+":
			return func(in [][]float64, out []float64) { copy(out, in[1]); floats.AddConst(in[0][0], out) }
		case "⊙":
			return func(in [][]float64, out []float64) { floats.ScaleTo(out, in[0][0], in[1]) }
		}
		f := scalarOp(sym)
		if f == nil {
			return nil
		}
		return func(in [][]float64, out []float64) {
			c := in[0][0]
			for i, x := range in[1] {
				out[i] = f(c, x)
			}
		}
	case bScalar: // x op c
		switch sym {
		case "+":
			return func(in [][]float64, out []float64) { copy(out, in[0]); floats.AddConst(in[1][0], out) }
		case "-":
			return func(in [][]float64, out []float64) { copy(out, in[0]); floats.AddConst(-in[1][0], out) }
		case "⊙":
			return func(in [][]float64, out []float64) { floats.ScaleTo(out, in[1][0], in[0]) }
		case "^":
			return func(in [][]float64, out []float64) { powConst(out, in[0], in[1][0]) }
		}
		f := scalarOp(sym)
		if f == nil {
			return nil
		}
		return func(in [][]float64, out []float64) {
			c := in[1][0]
			for i, x := range in[0] {
				out[i] = f(x, c)
			}
		}
	}
	switch sym {
	case "+":
		return func(in [][]float64, out []float64) { floats.AddTo(out, in[0], in[1]) }
	case "-":
		return func(in [][]float64, out []float64) { floats.SubTo(out, in[0], in[1]) }
	case "⊙":
		return func(in [][]float64, out []float64) { floats.MulTo(out, in[0], in[1]) }
	case "÷":
		return func(in [][]float64, out []float64) { floats.DivTo(out, in[0], in[1]) }
	}
	f := scalarOp(sym)
	if f == nil {
		return nil
	}
	return func(in [][]float64, out []float64) {
		b := in[1]
		for i, a := range in[0] {
			out[i] = f(a, b[i])
		}
	}
}

// scalarOp is the binary op on two numbers.
func scalarOp(sym string) func(a, b float64) float64 {
	switch sym {
	case "+":
		return func(a, b float64) float64 { return a + b }
	case "-":
		return func(a, b float64) float64 { return a - b }
	case "⊙":
		return func(a, b float64) float64 { return a * b }
	case "÷":
		return func(a, b float64) float64 { return a / b }
	case "^":
		return math.Pow
	}
	return nil
}

// powConst sets out = x^c. For c = 2, 3, 4 math.Pow multiplies the
// mantissas by squaring, as here, and gives the same bits for normal x.
func powConst(out, x []float64, c float64) {
	switch c {
	case 2:
		for i, v := range x {
			out[i] = v * v
		}
	case 3:
		for i, v := range x {
			out[i] = v * v * v
		}
	case 4:
		for i, v := range x {
			v2 := v * v
			out[i] = v2 * v2
		}
	default:
		for i, v := range x {
			out[i] = math.Pow(v, c)
		}
	}
}

func unaryKernel(name string) kernel {
	var f func(float64) float64
	switch name {
	case "neg":
		f = func(x float64) float64 { return -x }
	case "square":
		f = func(x float64) float64 { return x * x }
	case "cube":
		f = func(x float64) float64 { return x * x * x }
	case "sqrt":
		f = math.Sqrt
	case "sin":
		f = math.Sin
	case "cos":
		f = math.Cos
	case "exp":
		f = math.Exp
	case "ln":
		f = math.Log
	case "tanh":
		f = math.Tanh // as gorgonia's own Do (tensor's TanhF64)
	case "inv":
		f = func(x float64) float64 { return 1 / x }
	default:
		return nil
	}
	return func(in [][]float64, out []float64) {
		for i, x := range in[0] {
			out[i] = f(x)
		}
	}
}

// sliceKernel handles unit-step slices of one axis of a matrix or vector
// (the columns of the network's output), and their gradients (incr: the
// slice's gradient placed into zeros of the input's shape).
func sliceKernel(op gorgonia.Op, in []tensor.Shape, out tensor.Shape, incr bool) kernel {
	sl, ok := op.(interface {
		Start() int
		End() int
		Step() int
	})
	if !ok || len(in) < 1 {
		return nil
	}
	src := in[0]
	if strings.Contains(op.String(), "[:...]") && src.TotalSize() == out.TotalSize() {
		// The whole tensor (gorgonia's Slice with a nil slice).
		if incr {
			return func(in [][]float64, out []float64) { copy(out, in[1]) }
		}
		return func(in [][]float64, out []float64) { copy(out, in[0]) }
	}
	rv := reflect.ValueOf(op)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Struct && rv.Type().Name() == "sliceIncrOp" {
		if rv.Kind() == reflect.Pointer {
			rv = rv.Elem()
		} else {
			rv = rv.Field(0)
		}
	}
	alongF := rv.FieldByName("along")
	if !alongF.IsValid() {
		return nil
	}
	along := int(alongF.Int())
	start, end := -1, -1
	func() {
		defer func() { _ = recover() }() // a nil Slice panics: leave it to Do
		if sl.Step() <= 1 {
			start, end = sl.Start(), sl.End()
		}
	}()
	if start < 0 || end != start+1 {
		return nil
	}
	switch {
	case src.Dims() == 2 && along == 1: // column start of a rows×cols matrix
		rows, cols := src[0], src[1]
		if incr {
			return func(in [][]float64, out []float64) {
				clear(out)
				for r, g := range in[1][:rows] {
					out[r*cols+start] = g
				}
			}
		}
		return func(in [][]float64, out []float64) {
			for r := range out[:rows] {
				out[r] = in[0][r*cols+start]
			}
		}
	}
	return nil
}
