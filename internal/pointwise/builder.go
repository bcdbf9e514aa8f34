package pointwise

import (
	"fmt"
	"math"
)

// Value is a register of a program under construction by a Builder. The
// zero Value is invalid.
type Value struct {
	kind  valueKind
	index int
}

type valueKind uint8

const (
	noValue valueKind = iota
	inputValue
	constValue
	instrValue
)

// Builder assembles a Program one operation at a time, in the order a
// translator walks the root's program, without caring how registers are
// numbered: constants may be added at any point. Equal constants (the same
// bits) share a register, and an instruction equal to an earlier one (same
// op, same operands) is not repeated; both keep the arithmetic unchanged.
// The first misuse (a Value from another Builder, an invalid op, an input
// out of range) is kept and returned by Program.
type Builder struct {
	numInputs  int
	consts     []float64
	constIndex map[uint64]int
	instrs     []builderInstr
	instrIndex map[builderInstr]int
	err        error
}

type builderInstr struct {
	op   Op
	a, b Value
}

// NewBuilder starts a program with numInputs inputs.
func NewBuilder(numInputs int) *Builder {
	b := &Builder{numInputs: numInputs, constIndex: map[uint64]int{}, instrIndex: map[builderInstr]int{}}
	if numInputs < 0 {
		b.fail(fmt.Errorf("pointwise: NewBuilder(%d): want >= 0 inputs", numInputs))
	}
	return b
}

func (b *Builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Input is input register i.
func (b *Builder) Input(i int) Value {
	if i < 0 || i >= b.numInputs {
		b.fail(fmt.Errorf("pointwise: Input(%d) of a program with %d inputs", i, b.numInputs))
		return Value{}
	}
	return Value{inputValue, i}
}

// Const is a register holding c.
func (b *Builder) Const(c float64) Value {
	bits := math.Float64bits(c)
	if i, ok := b.constIndex[bits]; ok {
		return Value{constValue, i}
	}
	b.consts = append(b.consts, c)
	b.constIndex[bits] = len(b.consts) - 1
	return Value{constValue, len(b.consts) - 1}
}

func (b *Builder) check(v Value) bool {
	switch v.kind {
	case inputValue:
		return v.index < b.numInputs
	case constValue:
		return v.index < len(b.consts)
	case instrValue:
		return v.index < len(b.instrs)
	}
	return false
}

// Unary is op applied to x.
func (b *Builder) Unary(op Op, x Value) Value {
	if !op.Valid() || op.Binary() {
		b.fail(fmt.Errorf("pointwise: Unary(%v): not a unary op", op))
		return Value{}
	}
	return b.add(builderInstr{op: op, a: x})
}

// Binary is x op y.
func (b *Builder) Binary(op Op, x, y Value) Value {
	if !op.Binary() {
		b.fail(fmt.Errorf("pointwise: Binary(%v): not a binary op", op))
		return Value{}
	}
	return b.add(builderInstr{op: op, a: x, b: y})
}

func (b *Builder) add(in builderInstr) Value {
	if !b.check(in.a) || in.op.Binary() && !b.check(in.b) {
		b.fail(fmt.Errorf("pointwise: %v of an invalid Value", in.op))
		return Value{}
	}
	if i, ok := b.instrIndex[in]; ok {
		return Value{instrValue, i}
	}
	b.instrs = append(b.instrs, in)
	b.instrIndex[in] = len(b.instrs) - 1
	return Value{instrValue, len(b.instrs) - 1}
}

// Add, Sub, Mul, Div and Pow are Binary with their op.
func (b *Builder) Add(x, y Value) Value { return b.Binary(OpAdd, x, y) }

// Sub is x - y.
func (b *Builder) Sub(x, y Value) Value { return b.Binary(OpSub, x, y) }

// Mul is x·y.
func (b *Builder) Mul(x, y Value) Value { return b.Binary(OpMul, x, y) }

// Div is x/y.
func (b *Builder) Div(x, y Value) Value { return b.Binary(OpDiv, x, y) }

// Pow is x^y (OpPow).
func (b *Builder) Pow(x, y Value) Value { return b.Binary(OpPow, x, y) }

// Program numbers the registers and returns the program with these
// outputs, or the first error met while building.
func (b *Builder) Program(outputs ...Value) (*Program, error) {
	if b.err != nil {
		return nil, b.err
	}
	p := &Program{NumInputs: b.numInputs, Consts: append([]float64(nil), b.consts...)}
	base := b.numInputs + len(b.consts)
	reg := func(v Value) int {
		switch v.kind {
		case inputValue:
			return v.index
		case constValue:
			return b.numInputs + v.index
		}
		return base + v.index
	}
	for _, in := range b.instrs {
		ins := Instr{Op: in.op, A: reg(in.a)}
		if in.op.Binary() {
			ins.B = reg(in.b)
		}
		p.Instrs = append(p.Instrs, ins)
	}
	for j, o := range outputs {
		if !b.check(o) {
			return nil, fmt.Errorf("pointwise: output %d is an invalid Value", j)
		}
		p.Outputs = append(p.Outputs, reg(o))
	}
	return p, p.Validate()
}
