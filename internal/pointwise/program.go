// Package pointwise is the intermediate form from which hnnsolve generates GPU
// code for the user's Hamiltonian: a straight-line program of scalar
// operations that runs once per phase-space point.
//
// The root package runs H and its symbolic derivatives as a program of
// element-wise operations on length-K vectors (exec.go). Every one of those
// operations acts point by point, so the same computation, written for one
// point, is a Program: registers holding one float64 each (the inputs, the
// constants, then one result per instruction), a list of instructions, and
// the registers that are its outputs. Eval runs a Program in Go with exactly
// the arithmetic of the CPU executor; EmitC and EmitKernel write it as C99
// that compiles unchanged as CUDA C++ under NVRTC, so the GPU evaluates H at
// every point with the CPU's arithmetic and the host compiler can test the
// emitted code without a GPU.
//
// # Translating the root's program
//
//   - An element-wise binary op (+, -, ⊙, ÷, ^) becomes one instruction of
//     the same op (LookupOp takes gorgonia's symbols). An operand that is a
//     scalar broadcast over the points is just a register whose value is the
//     same at every point: a constant, or an input the engine fills with the
//     same value at each point.
//   - An element-wise unary op (neg, square, cube, sqrt, sin, cos, exp, ln,
//     inv, and invSqrt, tanh, abs, sign, which gorgonia also has) becomes one
//     instruction of the op with gorgonia's name.
//   - A constant becomes a register in Consts: a scalar, or a vector whose
//     entries are all equal (the seed of ones, the zeros of ∂H/∂z_i for a
//     coordinate H ignores); a vector of unequal constants has no per-point
//     form.
//   - A reshape, a whole-tensor slice and a repeat of a scalar are no
//     instruction: the result is the operand's register. gorgonia's SizeOf
//     (the number of points) is a constant.
//   - A sum over the points is not per-point. The one form a Hamiltonian
//     needs, H returned as Sum(h) (possibly Sum(a) + c·Sum(b), linear in
//     the sums), is translated by treating each Sum as the identity and
//     marking that the output H is to be summed over the points by the
//     engine. A sum whose value feeds a nonlinear op (Sum(a)·Sum(b)) is not a
//     point-wise H: reject it.
//
// Column slices of the network's output are the engine's business: the
// program's inputs are the coordinates z_0 … z_{D-1} (and whatever else the
// engine passes per point), in the order the engine chooses.
//
// # Arithmetic
//
// Add, Sub, Mul, Div, Neg, Square, Cube, Inv, Sqrt, InvSqrt, Abs and Sign
// are IEEE-754 operations (or exact) and give the same bits in Go, in C on
// the host and on the GPU, provided nothing contracts a product and a sum
// into a fused multiply-add: the Go code converts each result explicitly
// (which forbids fusion), the C is compiled with FP_CONTRACT off
// (-ffp-contract=off), and NVRTC must be given --fmad=false. Pow with an
// integer exponent is exact too (see OpPow). Sin, Cos, Exp, Ln and Tanh are
// the libraries' own: Go's math package, glibc's libm on the host, CUDA's
// math library on the GPU (1-2 ulps by CUDA's documentation). Measured on
// the host (emit_test.go), one such op of the emitted code differs from
// Eval's by at most 1 ulp for Exp and Ln, 2 for Tanh, 1 for Sin and Cos of
// arguments up to about 10, and 3 for Pow with a non-integer exponent; for
// large arguments Go's Sin and Cos are accurate to about 1e-16 absolute
// only, so near their zeros the ulps between Go and C grow. On amd64 Go's
// math.Log (and so math.Pow with a fractional exponent) is wrong for
// subnormal arguments (Log(5e-324) = -709.09, not -744.44), where the C
// libraries are right. Differences grow through a program as its condition
// allows; a Hamiltonian's arithmetic is mostly exact.
package pointwise

import (
	"fmt"
	"math"
)

// Op is one scalar operation of a Program.
type Op uint8

// The operations. Binary ops read registers A and B, unary ops A alone.
const (
	OpInvalid Op = iota

	OpAdd // A + B
	OpSub // A - B
	OpMul // A · B (gorgonia's ⊙)
	OpDiv // A / B (gorgonia's ÷)
	// OpPow is A^B as the CPU executor computes it: for B = 2, 3, 4 by
	// multiplication (A·A, A·A·A, (A·A)·(A·A)), as exec.go's powConst does
	// for a broadcast exponent, otherwise math.Pow(A, B). math.Pow itself
	// gives the same bits for B = 2, 3, 4 unless the result is subnormal,
	// so the rule also matches the executor where it calls math.Pow. The
	// emitted C mirrors Go's math.Pow step by step: bitwise equal for any
	// integer exponent, and within a few ulp of it otherwise (Exp(y·Log(x))
	// there uses the C library's exp and log).
	OpPow

	OpNeg     // -A
	OpSquare  // A·A
	OpCube    // A·A·A, as (A·A)·A
	OpSqrt    // √A
	OpSin     // sin A
	OpCos     // cos A
	OpExp     // e^A
	OpLn      // natural logarithm of A (gorgonia's ln)
	OpInv     // 1/A
	OpInvSqrt // 1/√A (gorgonia's invSqrt)
	OpTanh    // tanh A
	OpAbs     // |A|
	// OpSign is gorgonia's sign on a vector (tensor's SignF64): -1 for
	// A < 0, 1 for A > 0, and A itself otherwise (±0 and NaN). It is the
	// derivative of Abs.
	OpSign

	numOps
)

var opNames = [numOps]string{
	OpInvalid: "invalid",
	OpAdd:     "add", OpSub: "sub", OpMul: "mul", OpDiv: "div", OpPow: "pow",
	OpNeg: "neg", OpSquare: "square", OpCube: "cube", OpSqrt: "sqrt",
	OpSin: "sin", OpCos: "cos", OpExp: "exp", OpLn: "ln", OpInv: "inv",
	OpInvSqrt: "invSqrt", OpTanh: "tanh", OpAbs: "abs", OpSign: "sign",
}

// String returns the op's name: add, sub, mul, div, pow, or the unary op's
// gorgonia name (neg, square, …, ln, inv, invSqrt, tanh, abs, sign).
func (op Op) String() string {
	if op < numOps {
		return opNames[op]
	}
	return fmt.Sprintf("Op(%d)", uint8(op))
}

// Valid reports whether op is one of the operations.
func (op Op) Valid() bool { return op > OpInvalid && op < numOps }

// Binary reports whether op reads two registers (A and B).
func (op Op) Binary() bool { return op >= OpAdd && op <= OpPow }

// Transcendental reports whether op is computed by a math library (Sin,
// Cos, Exp, Ln, Tanh; Pow with a non-integer exponent is too), so that Go,
// the host C library and CUDA may differ in the last bits.
func (op Op) Transcendental() bool {
	switch op {
	case OpSin, OpCos, OpExp, OpLn, OpTanh:
		return true
	}
	return false
}

// LookupOp returns the op named s: an Op's String, or gorgonia's symbol of
// an element-wise binary op (+, -, ⊙, ÷, ^; also * and /).
func LookupOp(s string) (Op, bool) {
	switch s {
	case "+":
		return OpAdd, true
	case "-":
		return OpSub, true
	case "⊙", "*":
		return OpMul, true
	case "÷", "/":
		return OpDiv, true
	case "^":
		return OpPow, true
	}
	for op := OpAdd; op < numOps; op++ {
		if opNames[op] == s {
			return op, true
		}
	}
	return OpInvalid, false
}

// Instr is one instruction: Op applied to registers A (and B for a binary
// op; B is ignored otherwise). Its result is the next register.
type Instr struct {
	Op   Op
	A, B int
}

// Program is a straight-line scalar program evaluated once per point.
//
// Registers are numbered: 0 … NumInputs-1 are the inputs, NumInputs …
// NumInputs+len(Consts)-1 the constants, and instruction i writes register
// NumInputs+len(Consts)+i. An instruction may read only lower registers.
// Outputs lists the registers copied out, in order; any register may be an
// output, more than once. Build one literally or with a Builder; Validate
// checks it.
type Program struct {
	NumInputs int
	Consts    []float64
	Instrs    []Instr
	Outputs   []int
}

// NumRegs is the number of registers: inputs, constants and instructions.
func (p *Program) NumRegs() int { return p.NumInputs + len(p.Consts) + len(p.Instrs) }

// Validate reports the first thing that makes p unusable: a negative input
// count, an invalid op, an operand that is not a lower register, or an
// output out of range.
func (p *Program) Validate() error {
	if p == nil {
		return fmt.Errorf("pointwise: nil program")
	}
	if p.NumInputs < 0 {
		return fmt.Errorf("pointwise: NumInputs = %d, want >= 0", p.NumInputs)
	}
	base := p.NumInputs + len(p.Consts)
	for i, in := range p.Instrs {
		if !in.Op.Valid() {
			return fmt.Errorf("pointwise: instruction %d has invalid op %v", i, in.Op)
		}
		if in.A < 0 || in.A >= base+i {
			return fmt.Errorf("pointwise: instruction %d (%v) reads register %d, want 0 <= A < %d", i, in.Op, in.A, base+i)
		}
		if in.Op.Binary() && (in.B < 0 || in.B >= base+i) {
			return fmt.Errorf("pointwise: instruction %d (%v) reads register %d, want 0 <= B < %d", i, in.Op, in.B, base+i)
		}
	}
	n := p.NumRegs()
	for j, o := range p.Outputs {
		if o < 0 || o >= n {
			return fmt.Errorf("pointwise: output %d is register %d, want 0 <= register < %d", j, o, n)
		}
	}
	return nil
}

// Eval runs p at one point: in holds the NumInputs inputs, out receives the
// len(Outputs) outputs. p must be valid (Validate) and in and out long
// enough; Eval panics otherwise. It allocates nothing for programs of up
// to 256 registers.
func (p *Program) Eval(in, out []float64) {
	var buf [256]float64
	regs := buf[:0]
	if n := p.NumRegs(); n > len(buf) {
		regs = make([]float64, 0, n)
	}
	p.eval(regs, in, out)
}

// EvalPoints runs p at k points laid out as the emitted kernel takes them
// (struct of arrays): input i of point n is in[i*k+n], output j of point n
// goes to out[j*k+n].
func (p *Program) EvalPoints(in, out []float64, k int) {
	regs := make([]float64, 0, p.NumRegs())
	x := make([]float64, p.NumInputs)
	y := make([]float64, len(p.Outputs))
	for n := range k {
		for i := range x {
			x[i] = in[i*k+n]
		}
		p.eval(regs[:0], x, y)
		for j, v := range y {
			out[j*k+n] = v
		}
	}
}

func (p *Program) eval(regs, in, out []float64) {
	regs = append(regs, in[:p.NumInputs]...)
	regs = append(regs, p.Consts...)
	for _, ins := range p.Instrs {
		a := regs[ins.A]
		var b float64
		if ins.Op.Binary() {
			b = regs[ins.B]
		}
		regs = append(regs, Apply(ins.Op, a, b))
	}
	for j, o := range p.Outputs {
		out[j] = regs[o]
	}
}

// Apply is one op on numbers, with Eval's arithmetic; b is ignored by a
// unary op. An invalid op gives NaN. Each result is converted explicitly to
// float64, which keeps the compiler from fusing it with a neighbour.
func Apply(op Op, a, b float64) float64 {
	switch op {
	case OpAdd:
		return float64(a + b)
	case OpSub:
		return float64(a - b)
	case OpMul:
		return float64(a * b)
	case OpDiv:
		return float64(a / b)
	case OpPow:
		return pow(a, b)
	case OpNeg:
		return -a
	case OpSquare:
		return float64(a * a)
	case OpCube:
		return float64(float64(a*a) * a)
	case OpSqrt:
		return math.Sqrt(a)
	case OpSin:
		return math.Sin(a)
	case OpCos:
		return math.Cos(a)
	case OpExp:
		return math.Exp(a)
	case OpLn:
		return math.Log(a)
	case OpInv:
		return float64(1 / a)
	case OpInvSqrt:
		return float64(1 / math.Sqrt(a))
	case OpTanh:
		return math.Tanh(a)
	case OpAbs:
		return math.Abs(a)
	case OpSign:
		switch {
		case a < 0:
			return -1
		case a > 0:
			return 1
		}
		return a
	}
	return math.NaN()
}

// pow is OpPow: exec.go's powConst rule, then math.Pow.
func pow(x, c float64) float64 {
	switch c {
	case 2:
		return float64(x * x)
	case 3:
		return float64(float64(x*x) * x)
	case 4:
		x2 := float64(x * x)
		return float64(x2 * x2)
	}
	return math.Pow(x, c)
}
