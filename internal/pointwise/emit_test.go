package pointwise

import (
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// exactOps give the same bits in Go and C: IEEE operations, exact ones, and
// Pow with an integer exponent (randomProgram gives exact programs only
// integer constant exponents).
var exactOps = []Op{OpAdd, OpSub, OpMul, OpDiv, OpPow, OpNeg, OpSquare, OpCube, OpSqrt, OpInv, OpInvSqrt, OpAbs, OpSign}

var allOps = func() []Op {
	var ops []Op
	for op := OpAdd; op < numOps; op++ {
		ops = append(ops, op)
	}
	return ops
}()

// randomProgram draws a program of up to maxInstrs instructions over 1-4
// inputs and a few constants (integers, which serve as exponents, and
// random values), each operand one of the last few registers. exact keeps
// to exactOps with integer constant exponents.
func randomProgram(rng *rand.Rand, maxInstrs int, exact bool) *Program {
	p := &Program{NumInputs: 1 + rng.IntN(4)}
	ints := []float64{2, 3, 4, -1, -2, -3, 0, 1, 5, 7, 10}
	for range 1 + rng.IntN(3) {
		p.Consts = append(p.Consts, ints[rng.IntN(len(ints))])
	}
	for range rng.IntN(3) {
		c := inputs(rng, 1, 4)[0]
		if rng.IntN(4) == 0 {
			c = math.Float64frombits(rng.Uint64()) // any bits: subnormals, huge values, NaN payloads
		}
		p.Consts = append(p.Consts, c)
	}
	intConsts := []int{}
	for i, c := range p.Consts {
		if c == math.Trunc(c) {
			intConsts = append(intConsts, p.NumInputs+i)
		}
	}
	ops := allOps
	if exact {
		ops = exactOps
	}
	base := p.NumInputs + len(p.Consts)
	pick := func(n int) int { // mostly recent registers, so that chains form
		if rng.IntN(3) == 0 {
			return rng.IntN(n)
		}
		return n - 1 - rng.IntN(min(n, 4))
	}
	for i := range 1 + rng.IntN(maxInstrs) {
		in := Instr{Op: ops[rng.IntN(len(ops))], A: pick(base + i)}
		if in.Op.Binary() {
			in.B = pick(base + i)
			if in.Op == OpPow && (exact || rng.IntN(2) == 0) {
				in.B = intConsts[rng.IntN(len(intConsts))]
			}
		}
		p.Instrs = append(p.Instrs, in)
	}
	// Every register is an output, so that each instruction can be checked.
	for r := range p.NumRegs() {
		p.Outputs = append(p.Outputs, r)
	}
	return p
}

// randomPrograms is how many random programs a test compiles: 100, 20 with
// -short (compiling 100 takes some seconds).
func randomPrograms() int {
	if testing.Short() {
		return 20
	}
	return 100
}

// newCase runs p over k points drawn by inputs.
func newCase(rng *rand.Rand, p *Program, k int, scale float64) cCase {
	return cCase{p: p, k: k, in: inputs(rng, p.NumInputs*k, scale)}
}

// compareExact checks that every output of every case has Eval's bits.
func compareExact(t *testing.T, cases []cCase, got [][]float64) {
	t.Helper()
	for i, c := range cases {
		want := make([]float64, len(c.p.Outputs)*c.k)
		c.p.EvalPoints(c.in, want, c.k)
		for j := range want {
			if !same(got[i][j], want[j]) {
				out, n := j/c.k, j%c.k
				t.Fatalf("case %d, point %d, output %d (register %d): C gives %v (%x), Eval %v (%x)\nprogram %+v\nC source:\n%s",
					i, n, out, c.p.Outputs[out], got[i][j], math.Float64bits(got[i][j]), want[j], math.Float64bits(want[j]),
					c.p, mustEmit(t, c.p))
			}
		}
	}
}

func mustEmit(t *testing.T, p *Program) string {
	s, err := p.EmitC("f")
	if err != nil {
		t.Fatal(err)
	}
	return s[len(Prelude):]
}

func handWrittenCases(t *testing.T, rng *rand.Rand) []cCase {
	return []cCase{newCase(rng, oscillator(t), 200, 2), newCase(rng, henonHeiles(t), 100, 0.5),
		newCase(rng, oscillator(t), 50, 1e100), newCase(rng, henonHeiles(t), 1, 1)}
}

// TestEmitHandWritten compiles the oscillator's and Hénon-Heiles' H and
// gradient as C and compares them with Eval bit by bit.
func TestEmitHandWritten(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cases := handWrittenCases(t, rng)
	compareExact(t, cases, runC(t, cases, false, nil))
}

// TestEmitRandomExact: random programs of exact ops give Eval's bits, end to
// end, at every register.
func TestEmitRandomExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	var cases []cCase
	for range randomPrograms() {
		cases = append(cases, newCase(rng, randomProgram(rng, 30, true), 20, 3))
	}
	compareExact(t, cases, runC(t, cases, false, nil))
}

// Tolerances between the emitted code and Eval for the ops computed by a
// math library (Go's math package against glibc's libm), in ulps unless
// said otherwise; the tests log the largest differences they see.
const (
	// transTolerance: Exp, Ln and Tanh (at most 1, 1 and 2 ulps seen), and
	// Sin and Cos for arguments up to about 10 (1 ulp seen).
	transTolerance = 2
	// trigAbsTolerance: Sin and Cos of any argument, absolute. Go reduces a
	// large argument (Payne-Hanek beyond 2^29) to about 1e-16 absolute,
	// glibc to the last bit, so near a zero of sin or cos the ulps between
	// them grow (199 seen at cos(-9.4e9) = 0.0032).
	trigAbsTolerance = 0x1p-52
	// powTolerance: Pow with a non-integer exponent. Both sides compute
	// Exp(f·Log(x)) for the fraction f of the exponent with their own exp
	// and log (1 ulp apart at most), then the same products, each of which
	// may round the difference once more: 3 ulps seen for exponents in
	// [-10, 10]. Integer exponents are exact.
	powTolerance = 4
)

// tolerance is how far the emitted op may be from Apply at (a, b): ulps
// and, for Sin and Cos, an absolute difference that also passes. skip is
// true where Go's own math is wrong: on amd64 math.Log ignores that its
// argument is subnormal (Log(5e-324) = -709.09, not -744.44), and so does
// math.Pow's Exp(f·Log(x)), while C's log gets them right.
func tolerance(op Op, a, b float64) (ulp int64, abs float64, skip bool) {
	subnormal := a != 0 && math.Abs(a) < 0x1p-1022
	switch {
	case op == OpLn:
		return transTolerance, 0, subnormal
	case op == OpSin || op == OpCos:
		return transTolerance, trigAbsTolerance, false
	case op.Transcendental():
		return transTolerance, 0, false
	case op == OpPow && b != math.Trunc(b) && !math.IsInf(b, 0) && !math.IsNaN(b) && b != 0.5 && b != -0.5:
		return powTolerance, 0, subnormal
	}
	return 0, 0, false
}

// withinTolerance reports whether the emitted result c is within tolerance of ref.
func withinTolerance(op Op, a, b, c, ref float64) (ok, skip bool) {
	ulp, abs, skip := tolerance(op, a, b)
	return ulps(c, ref) <= ulp || math.Abs(c-ref) <= abs, skip
}

// TestEmitRandomMixed: random programs over all ops. End to end, the
// transcendental functions' last-bit differences grow through the program,
// so each instruction is checked on its own: its C result against Apply of
// its op to the C values of its operands, exactly for the exact ops and
// within transTolerance (powTolerance) ulps for the others. The inputs and
// constants must come out exactly.
func TestEmitRandomMixed(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var cases []cCase
	for range randomPrograms() {
		cases = append(cases, newCase(rng, randomProgram(rng, 30, false), 20, 3))
	}
	got := runC(t, cases, false, nil)
	worst := map[Op]int64{}
	checked := 0
	for i, c := range cases {
		p, k := c.p, c.k
		base := p.NumInputs + len(p.Consts)
		want := make([]float64, len(p.Outputs)*k)
		p.EvalPoints(c.in, want, k)
		reg := func(r, n int) float64 { return got[i][r*k+n] } // every register is an output, in order
		for n := range k {
			for r := range base {
				if !same(reg(r, n), want[r*k+n]) {
					t.Fatalf("case %d point %d: register %d (input or constant) is %v, want %v", i, n, r, reg(r, n), want[r*k+n])
				}
			}
			for j, in := range p.Instrs {
				a, b := reg(in.A, n), 0.0
				if in.Op.Binary() {
					b = reg(in.B, n)
				}
				ref, c := Apply(in.Op, a, b), reg(base+j, n)
				ok, skip := withinTolerance(in.Op, a, b, c, ref)
				if skip {
					continue
				}
				if !ok {
					t.Fatalf("case %d point %d instruction %d: %v(%v, %v) = %v in C, %v in Go: %d ulps apart, beyond tolerance\nC source:\n%s",
						i, n, j, in.Op, a, b, c, ref, ulps(c, ref), mustEmit(t, p))
				}
				if d := ulps(c, ref); d > 0 && d < math.MaxInt64 {
					worst[in.Op] = max(worst[in.Op], d)
				}
				checked++
			}
		}
	}
	t.Logf("%d instructions checked; largest differences in ulps: %v", checked, worst)
}

// TestEmitTranscendental sweeps each library function over its useful range
// and reports the largest difference from Go's, in ulps.
func TestEmitTranscendental(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	type sweep struct {
		op       Op
		lo, hi   float64
		b        func() float64 // Pow's exponent
		expRange bool           // draw |x| log-uniformly on [lo, hi]
	}
	sweeps := []sweep{
		{op: OpSin, lo: -10, hi: 10},
		{op: OpSin, lo: 1e-300, hi: 1e20, expRange: true},
		{op: OpCos, lo: -10, hi: 10},
		{op: OpCos, lo: 1e-300, hi: 1e20, expRange: true},
		{op: OpExp, lo: -745, hi: 710},
		{op: OpExp, lo: -2, hi: 2},
		{op: OpLn, lo: 1e-300, hi: 1e300, expRange: true},
		{op: OpLn, lo: 0.5, hi: 2},
		{op: OpTanh, lo: -20, hi: 20},
		{op: OpTanh, lo: -1, hi: 1},
		{op: OpPow, lo: 0, hi: 10, b: func() float64 { return 20*rng.Float64() - 10 }},
		{op: OpPow, lo: 1e-10, hi: 1e10, b: func() float64 { return 4*rng.Float64() - 2 }, expRange: true},
		{op: OpPow, lo: -10, hi: 10, b: func() float64 { return float64(rng.IntN(41) - 20) }}, // integer exponents: exact
		{op: OpSqrt, lo: 0, hi: 1e300, expRange: true},
		{op: OpInvSqrt, lo: 0, hi: 1e300, expRange: true},
	}
	const k = 5000
	var cases []cCase
	for _, s := range sweeps {
		p := &Program{NumInputs: 1, Instrs: []Instr{{Op: s.op, A: 0}}, Outputs: []int{1}}
		if s.op.Binary() {
			p = &Program{NumInputs: 2, Instrs: []Instr{{Op: s.op, A: 0, B: 1}}, Outputs: []int{2}}
		}
		in := make([]float64, p.NumInputs*k)
		for n := range k {
			x := s.lo + (s.hi-s.lo)*rng.Float64()
			if s.expRange {
				x = math.Exp(math.Log(s.lo) + (math.Log(s.hi)-math.Log(s.lo))*rng.Float64())
				if rng.IntN(2) == 0 && s.op != OpLn && s.op != OpSqrt && s.op != OpInvSqrt && s.op != OpPow {
					x = -x
				}
			}
			in[n] = x
			if s.b != nil {
				in[k+n] = s.b()
			}
		}
		cases = append(cases, cCase{p: p, k: k, in: in})
	}
	got := runC(t, cases, false, nil)
	for i, s := range sweeps {
		c := cases[i]
		want := make([]float64, k)
		c.p.EvalPoints(c.in, want, k)
		var worst int64
		hist := map[int64]int{}
		for n := range k {
			d := ulps(got[i][n], want[n])
			hist[min(d, 99)]++
			b := 0.0
			if s.b != nil {
				b = c.in[k+n]
			}
			if ok, _ := withinTolerance(s.op, c.in[n], b, got[i][n], want[n]); !ok {
				t.Errorf("%v(%v, %v): C %v, Go %v: %d ulps apart, beyond tolerance", s.op, c.in[n], b, got[i][n], want[n], d)
			}
			worst = max(worst, d)
		}
		t.Logf("%-7v on [%g, %g]: largest difference %d ulps; points by ulps %v", s.op, s.lo, s.hi, worst, hist)
	}
}

// TestEmitPowSpecial runs the emitted Pow (with the exponent a run-time
// value and, separately, a constant) at Go's special cases and at
// subnormal, huge and negative operands, which must all give Go's bits.
func TestEmitPowSpecial(t *testing.T) {
	negZero := math.Copysign(0, -1)
	inf, nan := math.Inf(1), math.NaN()
	xs := []float64{0, negZero, 1, -1, 2, -2, 0.5, -0.5, 3, -3, 1e300, -1e300, 1e-300, 5e-324, -5e-324,
		2.2250738585072014e-308, 1.7976931348623157e308, inf, -inf, nan, 1.0000001, 0.9999999, 10}
	ys := []float64{0, negZero, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 0.5, -0.5, 7, 63, -64, 1075, -1075, 2000,
		1e18, 9.223372036854775807e18, -1e19, 1 << 53, (1 << 53) + 2, inf, -inf, nan}
	fractional := []float64{2.5, -1.5, 0.25, 1e-3, -7.75}
	var pairs [2][]float64
	for _, x := range xs {
		for _, y := range append(ys, fractional...) {
			pairs[0], pairs[1] = append(pairs[0], x), append(pairs[1], y)
		}
	}
	k := len(pairs[0])
	run := &Program{NumInputs: 2, Instrs: []Instr{{Op: OpPow, A: 0, B: 1}}, Outputs: []int{2}}
	cases := []cCase{{p: run, k: k, in: append(append([]float64{}, pairs[0]...), pairs[1]...)}}
	for _, y := range append(ys, fractional...) {
		cases = append(cases, cCase{p: &Program{NumInputs: 1, Consts: []float64{y}, Instrs: []Instr{{Op: OpPow, A: 0, B: 1}},
			Outputs: []int{2}}, k: len(xs), in: xs})
	}
	got := runC(t, cases, false, nil)
	check := func(x, y, c float64) {
		want := Apply(OpPow, x, y)
		if ok, skip := withinTolerance(OpPow, x, y, c, want); !ok && !skip {
			t.Errorf("Pow(%v, %v): C %v (%x), Go %v (%x): %d ulps apart, beyond tolerance", x, y, c, math.Float64bits(c), want,
				math.Float64bits(want), ulps(c, want))
		}
	}
	for n := range k {
		check(pairs[0][n], pairs[1][n], got[0][n])
	}
	for i, c := range cases[1:] {
		for n, x := range xs {
			check(x, c.p.Consts[0], got[1+i][n])
		}
	}
}

// TestEmitCUDABranch compiles the Prelude's CUDA branch (what NVRTC sees)
// as host C++ with stand-ins for the CUDA qualifiers and thread indices,
// launches each kernel on a grid of 3 blocks of 5 threads (each thread
// striding over the points) and checks the outputs bit by bit: the
// hand-written programs, random exact programs and Pow's special cases.
func TestEmitCUDABranch(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	cases := handWrittenCases(t, rng)
	for range randomPrograms() / 2 {
		cases = append(cases, newCase(rng, randomProgram(rng, 30, true), 37, 3))
	}
	compareExact(t, cases, runC(t, cases, true, nil))
}

// TestHarnessDetectsWrongEmitter makes sure the comparison is not vacuous:
// the emitted source with the operands of one subtraction swapped, or with
// cube written as a square, must fail it.
func TestHarnessDetectsWrongEmitter(t *testing.T) {
	p := henonHeiles(t)
	rng := rand.New(rand.NewPCG(17, 18))
	c := newCase(rng, p, 50, 1)
	for _, m := range []struct {
		name string
		re   *regexp.Regexp
		repl string
	}{
		{"swapped operands", regexp.MustCompile(`= (r\d+) - (r\d+); /\* sub \*/`), "= $2 - $1; /* sub */"},
		{"cube as square", regexp.MustCompile(`= \((r\d+) \* r\d+\) \* r\d+; /\* cube \*/`), "= $1 * $1; /* cube */"},
	} {
		edited := false
		mutate := func(s string) string {
			out := m.re.ReplaceAllString(s, m.repl)
			edited = out != s
			return out
		}
		got := runC(t, []cCase{c}, false, mutate)
		if !edited {
			t.Fatalf("%s: the pattern %v matched nothing in the emitted source", m.name, m.re)
		}
		want := make([]float64, len(p.Outputs)*c.k)
		p.EvalPoints(c.in, want, c.k)
		differ := 0
		for j := range want {
			if !same(got[0][j], want[j]) {
				differ++
			}
		}
		if differ == 0 {
			t.Errorf("%s: the broken emitter's output equals Eval's at every point", m.name)
		}
		t.Logf("%s: %d of %d outputs differ from Eval", m.name, differ, len(want))
	}
}

func TestEmitErrors(t *testing.T) {
	p := oscillator(t)
	for _, name := range []string{"", "1f", "f-g", "f g", "ƒ"} {
		if _, err := p.EmitC(name); err == nil {
			t.Errorf("EmitC(%q) gave no error", name)
		}
		if _, err := p.EmitKernel(name); err == nil {
			t.Errorf("EmitKernel(%q) gave no error", name)
		}
	}
	bad := &Program{NumInputs: 1, Instrs: []Instr{{Op: OpNeg, A: 3}}}
	if _, err := bad.EmitC("f"); err == nil {
		t.Error("EmitC of an invalid program gave no error")
	}
	if _, err := bad.EmitKernel("f"); err == nil {
		t.Error("EmitKernel of an invalid program gave no error")
	}
}

// TestEmitText pins the form of the emitted code: products for small
// integer powers, only live registers, exact constants.
func TestEmitText(t *testing.T) {
	p := &Program{NumInputs: 3, Consts: []float64{4, 0.1, 2.5, math.Inf(-1), 1e21},
		Instrs: []Instr{
			{Op: OpPow, A: 0, B: 3},  // r8 = r0^4
			{Op: OpPow, A: 0, B: 5},  // r9 = r0^2.5
			{Op: OpPow, A: 0, B: 1},  // r10 = r0^r1
			{Op: OpSin, A: 2},        // r11 dead
			{Op: OpMul, A: 8, B: 4},  // r12 = r8 * 0.1
			{Op: OpAdd, A: 12, B: 6}, // r13 = r12 + -Inf
			{Op: OpSub, A: 13, B: 7}, // r14 = r13 - 1e21
		},
		Outputs: []int{14, 9, 10}}
	src, err := p.EmitC("h")
	if err != nil {
		t.Fatal(err)
	}
	body := src[len(Prelude):]
	for _, want := range []string{
		"HNN_FN void h(const double* HNN_RESTRICT in, double* HNN_RESTRICT out) {",
		"const double r0 = in[0];", "const double r1 = in[1];",
		"const double r4 = 0.1;", "const double r5 = 2.5;", "const double r6 = (-HNN_INF);", "const double r7 = 1e+21;",
		"const double r8 = (r0 * r0) * (r0 * r0); /* pow */",
		"const double r9 = hnn_gopow(r0, r5); /* pow */",
		"const double r10 = hnn_pow(r0, r1); /* pow */",
		"out[0] = r14;", "out[1] = r9;", "out[2] = r10;",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("emitted code lacks %q:\n%s", want, body)
		}
	}
	for _, dead := range []string{"r2 =", "r3 =", "r11 ="} {
		if strings.Contains(body, dead) {
			t.Errorf("emitted code computes the unused %q:\n%s", dead, body)
		}
	}
	if strings.Count(src, "#define HNN_POINTWISE_PRELUDE") != 1 {
		t.Error("the prelude is not guarded once")
	}
	k, err := p.EmitKernel("hk")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"HNN_FN void hk_point(", "HNN_KERNEL void hk(const double* HNN_RESTRICT in, double* HNN_RESTRICT out, int K) {",
		"x[2] = in[2LL * K + n];", "out[2LL * K + n] = y[2];", "hk_point(x, y);"} {
		if !strings.Contains(k, want) {
			t.Errorf("kernel lacks %q:\n%s", want, k[len(Prelude):])
		}
	}
}

// TestCLiteral: constants read back exactly (checked in C by the random
// programs, whose constants include random bit patterns).
func TestCLiteral(t *testing.T) {
	for c, want := range map[float64]string{2: "2.0", -0.5: "-0.5", 1e300: "1e+300", 5e-324: "5e-324",
		math.Copysign(0, -1): "-0.0", 123456789: "1.23456789e+08", math.NaN(): "HNN_NAN"} {
		if got := cLiteral(c); got != want {
			t.Errorf("cLiteral(%v) = %q, want %q", c, got, want)
		}
	}
}
