package hnnsolve

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// program executes a part of a gorgonia graph: the nodes its outputs depend
// on, in topological order. Unlike gorgonia's TapeMachine, which frees every
// register on Reset and so allocates every result anew each run (and starts
// a goroutine per run), it gives each tensor result a buffer once and has
// ops write into it (UsePreallocDo), so a training epoch allocates next to
// nothing. Ops without UsePreallocDo, and scalar results, fall back to Do.
type program struct {
	steps []step
	vals  []gorgonia.Value
	index map[*gorgonia.Node]int
}

type step struct {
	op      gorgonia.Op
	in      []int
	out     int
	inVals  []gorgonia.Value
	buf     gorgonia.Value // preallocated result, nil for Do
	bufData []float64
	name    string
}

// constantValue is what gorgonia's constant ops have.
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
			return p.add(n, n.Value()), nil
		case constantValue:
			return p.add(n, c.Value()), nil
		}
		cs := children(g, n)
		st := step{op: op, name: n.Name()}
		for _, c := range cs {
			i, err := visit(c)
			if err != nil {
				return 0, err
			}
			st.in = append(st.in, i)
		}
		st.inVals = make([]gorgonia.Value, len(cs))
		if _, ok := op.(gorgonia.UsePreallocDoer); ok && !n.IsScalar() && n.Dtype() == tensor.Float64 {
			st.bufData = make([]float64, n.Shape().TotalSize())
			st.buf = tensor.New(tensor.WithShape(n.Shape().Clone()...), tensor.WithBacking(st.bufData))
		}
		st.out = p.add(n, nil)
		p.steps = append(p.steps, st)
		return st.out, nil
	}
	for _, o := range outputs {
		if _, err := visit(o); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *program) add(n *gorgonia.Node, v gorgonia.Value) int {
	p.vals = append(p.vals, v)
	p.index[n] = len(p.vals) - 1
	return len(p.vals) - 1
}

// run executes every step. Panics inside ops become errors.
func (p *program) run() (err error) {
	defer recoverGorgonia(&err, ErrHamiltonian)
	for i := range p.steps {
		st := &p.steps[i]
		for j, k := range st.in {
			st.inVals[j] = p.vals[k]
		}
		var v gorgonia.Value
		if st.buf != nil {
			// Some ops (the gradient of Slice, for one) add into the
			// buffer rather than overwrite it.
			clear(st.bufData)
			v, err = st.op.(gorgonia.UsePreallocDoer).UsePreallocDo(st.buf, st.inVals...)
		} else {
			v, err = st.op.Do(st.inVals...)
		}
		if err != nil {
			return fmt.Errorf("executing %v (%s): %w", st.op, st.name, err)
		}
		p.vals[st.out] = v
	}
	return nil
}

// value returns the latest value of n, which must be in the program.
func (p *program) value(n *gorgonia.Node) gorgonia.Value { return p.vals[p.index[n]] }
