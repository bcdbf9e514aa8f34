package pointwise

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// oscillator builds, as hnnsolve's systems package writes it, H = p²/2 +
// q²/2 + q⁴/4 (x⁴ as (x²)²) and its gradient (q + q³, p) (q³ as Pow(q, 3)):
// inputs q, p; outputs H, ∂H/∂q, ∂H/∂p.
func oscillator(t testing.TB) *Program {
	b := NewBuilder(2)
	q, p := b.Input(0), b.Input(1)
	x2 := b.Unary(OpSquare, q)
	h := b.Mul(b.Const(0.5), b.Add(b.Unary(OpSquare, p), x2))
	h = b.Add(h, b.Mul(b.Const(0.25), b.Unary(OpSquare, x2)))
	dq := b.Add(q, b.Pow(q, b.Const(3)))
	prog, err := b.Program(h, dq, p)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// oscillatorRef is oscillator's arithmetic written out in Go.
func oscillatorRef(q, p float64) [3]float64 {
	// float64(…) around each product keeps the compiler from fusing it
	// with a sum (the Go spec allows that without a conversion).
	x2 := q * q
	h := 0.5 * (float64(p*p) + x2)
	h = float64(h) + float64(0.25*float64(x2*x2))
	return [3]float64{h, q + float64(float64(q*q)*q), p}
}

// henonHeiles builds H = (px² + py²)/2 + (x² + y²)/2 + x²y − y³/3 (Eq. 26)
// and ∇H = (x + 2xy, y + x² − y², px, py), with Cube, Pow(·, 2) and a
// division: inputs x, y, px, py; outputs H, then ∇H.
func henonHeiles(t testing.TB) *Program {
	b := NewBuilder(4)
	x, y, px, py := b.Input(0), b.Input(1), b.Input(2), b.Input(3)
	x2 := b.Unary(OpSquare, x)
	quad := b.Mul(b.Const(0.5), b.Add(b.Add(b.Add(b.Unary(OpSquare, px), b.Unary(OpSquare, py)), x2), b.Unary(OpSquare, y)))
	cubic := b.Sub(b.Mul(x2, y), b.Div(b.Unary(OpCube, y), b.Const(3)))
	h := b.Add(quad, cubic)
	two := b.Const(2)
	dx := b.Add(x, b.Mul(b.Mul(two, x), y))
	dy := b.Sub(b.Add(y, x2), b.Pow(y, two))
	prog, err := b.Program(h, dx, dy, px, py)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func henonHeilesRef(x, y, px, py float64) [5]float64 {
	x2 := x * x
	quad := 0.5 * (((float64(px*px) + float64(py*py)) + x2) + float64(y*y))
	cubic := float64(x2*y) - float64(y*y*y)/3
	return [5]float64{float64(quad) + cubic, x + float64(float64(2*x)*y), (y + x2) - float64(y*y), px, py}
}

func TestEvalHandWritten(t *testing.T) {
	osc, hh := oscillator(t), henonHeiles(t)
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]float64, 5)
	for range 1000 {
		q, p := 4*rng.Float64()-2, 4*rng.Float64()-2
		osc.Eval([]float64{q, p}, out)
		if want := oscillatorRef(q, p); !same(out[0], want[0]) || !same(out[1], want[1]) || !same(out[2], want[2]) {
			t.Fatalf("oscillator at (%v, %v): %v, want %v", q, p, out[:3], want)
		}
		z := [4]float64{rng.Float64() - 0.5, rng.Float64() - 0.5, rng.Float64() - 0.5, rng.Float64() - 0.5}
		hh.Eval(z[:], out)
		want := henonHeilesRef(z[0], z[1], z[2], z[3])
		for i := range want {
			if !same(out[i], want[i]) {
				t.Fatalf("Hénon-Heiles output %d at %v: %v, want %v", i, z, out[i], want[i])
			}
		}
	}
}

// TestPowRule checks OpPow against exec.go's rule: powConst's products for
// 2, 3 and 4, math.Pow otherwise.
func TestPowRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		x := inputs(rng, 1, 10)[0]
		if got, want := Apply(OpPow, x, 2), x*x; !same(got, want) {
			t.Fatalf("Pow(%v, 2) = %v, want %v", x, got, want)
		}
		if got, want := Apply(OpPow, x, 3), x*x*x; !same(got, want) {
			t.Fatalf("Pow(%v, 3) = %v, want %v", x, got, want)
		}
		x2 := x * x
		if got, want := Apply(OpPow, x, 4), x2*x2; !same(got, want) {
			t.Fatalf("Pow(%v, 4) = %v, want %v", x, got, want)
		}
		y := inputs(rng, 1, 5)[0]
		if y == 2 || y == 3 || y == 4 {
			continue
		}
		if got, want := Apply(OpPow, x, y), math.Pow(x, y); !same(got, want) {
			t.Fatalf("Pow(%v, %v) = %v, want %v", x, y, got, want)
		}
	}
}

func TestApplySign(t *testing.T) {
	negZero := math.Copysign(0, -1)
	for _, c := range []struct{ x, want float64 }{{-3, -1}, {2, 1}, {0, 0}, {negZero, negZero},
		{math.Inf(-1), -1}, {math.NaN(), math.NaN()}} {
		if got := Apply(OpSign, c.x, 0); !same(got, c.want) {
			t.Errorf("sign(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

func TestLookupOp(t *testing.T) {
	for op := OpAdd; op < numOps; op++ {
		if got, ok := LookupOp(op.String()); !ok || got != op {
			t.Errorf("LookupOp(%q) = %v, %v", op.String(), got, ok)
		}
	}
	for sym, want := range map[string]Op{"+": OpAdd, "-": OpSub, "⊙": OpMul, "÷": OpDiv, "^": OpPow} {
		if got, ok := LookupOp(sym); !ok || got != want {
			t.Errorf("LookupOp(%q) = %v, %v, want %v", sym, got, ok, want)
		}
	}
	if _, ok := LookupOp("sigmoid"); ok {
		t.Error("LookupOp(sigmoid) is ok, want not found")
	}
	if OpInvalid.Valid() || numOps.Valid() || !OpSign.Valid() || OpNeg.Binary() || !OpPow.Binary() {
		t.Error("Valid or Binary wrong")
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		p    *Program
		want string
	}{
		{nil, "nil program"},
		{&Program{NumInputs: -1}, "NumInputs"},
		{&Program{NumInputs: 1, Instrs: []Instr{{Op: OpInvalid}}}, "invalid op"},
		{&Program{NumInputs: 1, Instrs: []Instr{{Op: Op(200)}}}, "invalid op"},
		{&Program{NumInputs: 1, Instrs: []Instr{{Op: OpNeg, A: 1}}}, "reads register 1"},
		{&Program{NumInputs: 1, Instrs: []Instr{{Op: OpAdd, A: 0, B: -1}}}, "reads register -1"},
		{&Program{NumInputs: 1, Consts: []float64{2}, Instrs: []Instr{{Op: OpMul, A: 0, B: 2}}}, "want 0 <= B < 2"},
		{&Program{NumInputs: 1, Outputs: []int{1}}, "output 0 is register 1"},
	} {
		err := c.p.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: Validate = %v, want an error containing %q", c.p, err, c.want)
		}
	}
	ok := &Program{NumInputs: 1, Consts: []float64{2}, Instrs: []Instr{{Op: OpMul, A: 0, B: 1}, {Op: OpSin, A: 2, B: 99}},
		Outputs: []int{3, 0, 1, 3}}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate = %v (a unary op's B is ignored)", err)
	}
	out := make([]float64, 4)
	ok.Eval([]float64{0.25}, out)
	if want := []float64{math.Sin(0.5), 0.25, 2, math.Sin(0.5)}; !same(out[0], want[0]) || out[1] != want[1] || out[2] != want[2] || out[3] != want[3] {
		t.Errorf("Eval = %v, want %v", out, want)
	}
}

func TestBuilder(t *testing.T) {
	b := NewBuilder(2)
	x := b.Input(0)
	c1, c2 := b.Const(1.5), b.Const(1.5)
	s1, s2 := b.Add(x, c1), b.Add(x, c2)
	if c1 != c2 || s1 != s2 {
		t.Error("equal constants or instructions were not shared")
	}
	negZero := b.Const(math.Copysign(0, -1))
	if negZero == b.Const(0) {
		t.Error("-0 and +0 share a register")
	}
	y := b.Unary(OpExp, s1)
	late := b.Const(7) // a constant after instructions: registers are renumbered
	p, err := b.Program(b.Mul(y, late), x, late)
	if err != nil {
		t.Fatal(err)
	}
	// Registers: inputs 0, 1; constants 2 (1.5), 3 (-0), 4 (+0), 5 (7); instructions 6 (add), 7 (exp), 8 (mul).
	want := &Program{NumInputs: 2, Consts: []float64{1.5, math.Copysign(0, -1), 0, 7},
		Instrs:  []Instr{{Op: OpAdd, A: 0, B: 2}, {Op: OpExp, A: 6}, {Op: OpMul, A: 7, B: 5}},
		Outputs: []int{8, 0, 5}}
	if p.NumInputs != want.NumInputs || len(p.Consts) != len(want.Consts) || len(p.Instrs) != len(want.Instrs) {
		t.Fatalf("Program = %+v, want %+v", p, want)
	}
	for i := range want.Instrs {
		if p.Instrs[i] != want.Instrs[i] {
			t.Errorf("instruction %d = %+v, want %+v", i, p.Instrs[i], want.Instrs[i])
		}
	}
	for i := range want.Outputs {
		if p.Outputs[i] != want.Outputs[i] {
			t.Errorf("output %d = %d, want %d", i, p.Outputs[i], want.Outputs[i])
		}
	}

	for name, f := range map[string]func(b *Builder){
		"input out of range": func(b *Builder) { b.Input(2) },
		"unary of binary op": func(b *Builder) { b.Unary(OpAdd, b.Input(0)) },
		"binary of unary op": func(b *Builder) { b.Binary(OpSin, b.Input(0), b.Input(0)) },
		"zero Value":         func(b *Builder) { b.Unary(OpSin, Value{}) },
		"foreign Value":      func(b *Builder) { b.Unary(OpSin, Value{instrValue, 5}) },
	} {
		b := NewBuilder(2)
		f(b)
		if _, err := b.Program(); err == nil {
			t.Errorf("%s: Program gave no error", name)
		}
	}
	if _, err := NewBuilder(1).Program(Value{}); err == nil {
		t.Error("an invalid output gave no error")
	}
	if _, err := NewBuilder(-1).Program(); err == nil {
		t.Error("NewBuilder(-1) gave no error")
	}
}

func TestEvalPoints(t *testing.T) {
	p := henonHeiles(t)
	const k = 7
	rng := rand.New(rand.NewPCG(5, 6))
	in := inputs(rng, 4*k, 1)
	out := make([]float64, 5*k)
	p.EvalPoints(in, out, k)
	x, y := make([]float64, 4), make([]float64, 5)
	for n := range k {
		for i := range x {
			x[i] = in[i*k+n]
		}
		p.Eval(x, y)
		for j := range y {
			if !same(out[j*k+n], y[j]) {
				t.Fatalf("point %d output %d: %v, want %v", n, j, out[j*k+n], y[j])
			}
		}
	}
}

func TestEvalAllocates(t *testing.T) {
	p := henonHeiles(t)
	in, out := []float64{0.1, 0.2, 0.3, 0.4}, make([]float64, 5)
	if n := testing.AllocsPerRun(100, func() { p.Eval(in, out) }); n != 0 {
		t.Errorf("Eval allocates %v times per run, want 0", n)
	}
}
