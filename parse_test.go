package hnnsolve

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
)

// The paper's two systems as package systems builds them
// (systems/oscillator.go, systems/henonheiles.go: x⁴ as (x²)², c·x as
// HadamardProd(x, c)), copied because this package cannot import systems.
// example_parse_test.go compares with package systems itself.

func systemsOscillatorH(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
	scale := func(c float64, a *gorgonia.Node) *gorgonia.Node {
		return gorgonia.Must(gorgonia.HadamardProd(a, gorgonia.NewConstant(c)))
	}
	sq := func(a *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.Square(a)) }
	x2 := sq(q[0])
	h := scale(0.5, gorgonia.Must(gorgonia.Add(sq(p[0]), x2)))
	return gorgonia.Add(h, scale(1.0/4, sq(x2)))
}

func systemsHenonHeilesH(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
	scale := func(c float64, a *gorgonia.Node) *gorgonia.Node {
		return gorgonia.Must(gorgonia.HadamardProd(a, gorgonia.NewConstant(c)))
	}
	sq := func(a *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.Square(a)) }
	add := func(a, b *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.Add(a, b)) }
	x, y := q[0], q[1]
	x2 := sq(x)
	quad := scale(0.5, add(add(add(sq(p[0]), sq(p[1])), x2), sq(y)))
	cubic := gorgonia.Must(gorgonia.Sub(gorgonia.Must(gorgonia.HadamardProd(x2, y)), scale(1.0/3, gorgonia.Must(gorgonia.Cube(y)))))
	return gorgonia.Add(quad, cubic)
}

const (
	oscillatorText  = "p^2/2 + q^2/2 + q^4/4"
	henonHeilesText = "(px^2+py^2)/2 + (x^2+y^2)/2 + x^2*y - y^3/3"
)

func mustParse(t testing.TB, expr string, coords ...string) Hamiltonian {
	t.Helper()
	h, err := ParseHamiltonian(expr, coords...)
	if err != nil {
		t.Fatalf("ParseHamiltonian(%q): %v", expr, err)
	}
	return h
}

func mustExpr(t testing.TB, expr string, coords ...string) *Expression {
	t.Helper()
	e, err := ParseExpression(expr, coords...)
	if err != nil {
		t.Fatalf("ParseExpression(%q): %v", expr, err)
	}
	return e
}

func relDiff(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

// TestParseLossMatchesHandBuilt: the training loss of Eq. 7-8 and its
// gradient with respect to every weight, with the parsed H and with the
// hand-built one, at the same random weights and times.
func TestParseLossMatchesHandBuilt(t *testing.T) {
	cases := []struct {
		name   string
		text   string
		coords []string
		hand   Hamiltonian
		z0     []float64
	}{
		{"oscillator", oscillatorText, nil, systemsOscillatorH, []float64{1.3, 1}},
		{"oscillator named", "px^2/2 + x^2/2 + x^4/4", []string{"x", "px"}, systemsOscillatorH, []float64{1.3, 1}},
		{"henon-heiles", henonHeilesText, []string{"x", "y", "px", "py"}, systemsHenonHeilesH, []float64{0.3, -0.3, 0.3, 0.15}},
		{"henon-heiles default names", "(p1^2+p2^2)/2 + (q1^2+q2^2)/2 + q1^2*q2 - q2^3/3", nil, systemsHenonHeilesH, []float64{0.3, -0.3, 0.3, 0.15}},
	}
	for _, c := range cases {
		parsed := mustParse(t, c.text, c.coords...)
		for _, lambda := range []float64{0, 0.7} {
			for _, fused := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/λ=%g/fused=%v", c.name, lambda, fused), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(11, uint64(len(c.z0))))
					e0 := energyOf(t, c.hand, c.z0)
					if e0p := energyOf(t, parsed, c.z0); relDiff(e0, e0p) > 1e-15 {
						t.Fatalf("E0: parsed %.17g, hand-built %.17g", e0p, e0)
					}
					const k = 23
					for trial := range 3 {
						net := newNetwork([]int{16, 12}, len(c.z0), Sin)
						net.init(rng)
						ts := make([]float64, k)
						for i := range ts {
							ts[i] = 4 * rng.Float64()
						}
						var loss [2]float64
						var grads [2][][]float64
						for j, h := range []Hamiltonian{c.hand, parsed} {
							lg, err := buildLossGraph(h, c.z0, net, k, lambda, e0, true, fused)
							if err != nil {
								t.Fatal(err)
							}
							lg.setTimes(ts, Exponential, 0)
							if loss[j], err = lg.run(); err != nil {
								t.Fatal(err)
							}
							gs, err := lg.gradients()
							if err != nil {
								t.Fatal(err)
							}
							for _, g := range gs {
								grads[j] = append(grads[j], append([]float64(nil), g...))
							}
						}
						d := relDiff(loss[0], loss[1])
						if d > 1e-15 {
							t.Errorf("trial %d: loss parsed %.17g, hand-built %.17g (rel. diff %.2g)", trial, loss[1], loss[0], d)
						}
						t.Logf("trial %d: loss %.6g, rel. diff %.2g", trial, loss[0], d)
						for i := range grads[0] {
							scale := 0.0
							for _, g := range grads[0][i] {
								scale = math.Max(scale, math.Abs(g))
							}
							for j := range grads[0][i] {
								if d := math.Abs(grads[0][i][j] - grads[1][i][j]); d > 1e-14*scale {
									t.Errorf("trial %d: ∂L/∂%s[%d]: parsed %.17g, hand-built %.17g", trial, net.paramName(i), j, grads[1][i][j], grads[0][i][j])
									break
								}
							}
						}
					}
				})
			}
		}
	}
}

// TestParseGradHessianClosedForms checks GradH and HessianH of the parsed
// paper systems against their closed forms (those of package systems).
func TestParseGradHessianClosedForms(t *testing.T) {
	osc := mustParse(t, oscillatorText)
	hh := mustParse(t, henonHeilesText, "x", "y", "px", "py")
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		x, p := 4*rng.Float64()-2, 4*rng.Float64()-2
		checkVec(t, "oscillator ∇H", osc, []float64{x, p}, []float64{x + x*x*x, p}, false)
		checkVec(t, "oscillator D²H", osc, []float64{x, p}, []float64{1 + 3*x*x, 0, 0, 1}, true)
		z := []float64{2*rng.Float64() - 1, 2*rng.Float64() - 1, 2*rng.Float64() - 1, 2*rng.Float64() - 1}
		y := z[1]
		x = z[0]
		checkVec(t, "Hénon-Heiles ∇H", hh, z, []float64{x + 2*x*y, y + x*x - y*y, z[2], z[3]}, false)
		checkVec(t, "Hénon-Heiles D²H", hh, z, []float64{
			1 + 2*y, 2 * x, 0, 0,
			2 * x, 1 - 2*y, 0, 0,
			0, 0, 1, 0,
			0, 0, 0, 1}, true)
	}
}

func checkVec(t *testing.T, what string, h Hamiltonian, z, want []float64, hessian bool) {
	t.Helper()
	var got []float64
	var err error
	if hessian {
		got, err = HessianH(h, z)
	} else {
		got, err = GradH(h, z)
	}
	if err != nil {
		t.Fatalf("%s at %v: %v", what, z, err)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-14*(1+math.Abs(want[i])) {
			t.Errorf("%s at %v: component %d = %.17g, want %.17g", what, z, i, got[i], want[i])
		}
	}
}

// parseFuncCases are every function and operator of the grammar, each in an
// H of (q, p), with its value in plain Go and the range of q (p is drawn
// from [-1.5, 1.5]).
var parseFuncCases = []struct {
	text   string
	f      func(q, p float64) float64
	lo, hi float64
}{
	{"sin(q)*p", func(q, p float64) float64 { return math.Sin(q) * p }, -3, 3},
	{"cos(q*p)", func(q, p float64) float64 { return math.Cos(q * p) }, -3, 3},
	{"tan(q)+p^2", func(q, p float64) float64 { return math.Tan(q) + p*p }, -1.4, 1.4},
	{"exp(q)*p", func(q, p float64) float64 { return math.Exp(q) * p }, -3, 3},
	{"exp(-q^2)*cos(p)", func(q, p float64) float64 { return math.Exp(-q*q) * math.Cos(p) }, -2, 2},
	{"log(q)*p", func(q, p float64) float64 { return math.Log(q) * p }, 0.1, 5},
	{"sqrt(q)*p", func(q, p float64) float64 { return math.Sqrt(q) * p }, 0.1, 5},
	{"tanh(q)*p", func(q, p float64) float64 { return math.Tanh(q) * p }, -3, 3},
	{"tanh(q*p)", func(q, p float64) float64 { return math.Tanh(q * p) }, -3, 3},
	{"abs(q)*p", func(q, p float64) float64 { return math.Abs(q) * p }, 0.05, 3},
	{"abs(q)*p ", func(q, p float64) float64 { return math.Abs(q) * p }, -3, -0.05},
	{"q+p", func(q, p float64) float64 { return q + p }, -3, 3},
	{"q-p", func(q, p float64) float64 { return q - p }, -3, 3},
	{"q*p", func(q, p float64) float64 { return q * p }, -3, 3},
	{"q/p", func(q, p float64) float64 { return q / p }, -3, 3},
	{"1/q + p", func(q, p float64) float64 { return 1/q + p }, 0.2, 3},
	{"2-q*p", func(q, p float64) float64 { return 2 - q*p }, -3, 3},
	{"-q*p", func(q, p float64) float64 { return -q * p }, -3, 3},
	{"+q*p", func(q, p float64) float64 { return q * p }, -3, 3},
	{"q^p", func(q, p float64) float64 { return math.Pow(q, p) }, 0.2, 3},
	{"2^(q*p)", func(q, p float64) float64 { return math.Pow(2, q*p) }, -2, 2},
	{"q^2*p", func(q, p float64) float64 { return q * q * p }, -3, 3},
	{"q^3*p", func(q, p float64) float64 { return q * q * q * p }, -3, 3},
	{"q^4 + p^5", func(q, p float64) float64 { return math.Pow(q, 4) + math.Pow(p, 5) }, -3, 3},
	{"q^7 + p^6", func(q, p float64) float64 { return math.Pow(q, 7) + math.Pow(p, 6) }, -1.5, 1.5},
	{"q^-2 + p^-3", func(q, p float64) float64 { return math.Pow(q, -2) + math.Pow(p, -3) }, 0.3, 2},
	{"q^0.5 + p", func(q, p float64) float64 { return math.Sqrt(q) + p }, 0.1, 4},
	{"q^2.5 + p", func(q, p float64) float64 { return math.Pow(q, 2.5) + p }, 0.1, 4},
	{"q^-1.5 * p", func(q, p float64) float64 { return math.Pow(q, -1.5) * p }, 0.2, 4},
	{"q^70 * p", func(q, p float64) float64 { return math.Pow(q, 70) * p }, -1.02, -0.98},
	{"q^65 * p", func(q, p float64) float64 { return math.Pow(q, 65) * p }, -1.02, -0.98},
	{"pi*q*p", func(q, p float64) float64 { return math.Pi * q * p }, -3, 3},
	{"(p^2 + q^2)/2 - q*p/3", func(q, p float64) float64 { return (p*p+q*q)/2 - q*p/3 }, -3, 3},
}

// TestParseFunctions checks each function and operator: the value against
// math, ∇H against central differences of that value, D²H against central
// differences of ∇H, and GradH/HessianH against Eval.
func TestParseFunctions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range parseFuncCases {
		t.Run(c.text, func(t *testing.T) {
			e := mustExpr(t, c.text)
			for range 8 {
				z := []float64{c.lo + (c.hi-c.lo)*rng.Float64(), 3*rng.Float64() - 1.5}
				if strings.Contains(c.text, "p^-3") || c.text == "q/p" {
					z[1] = math.Copysign(0.3+math.Abs(z[1]), z[1])
				}
				f := func(z []float64) float64 { return c.f(z[0], z[1]) }
				g, hs := make([]float64, 2), make([]float64, 4)
				v, err := e.Eval(z, g, hs)
				if err != nil {
					t.Fatal(err)
				}
				if want := f(z); relDiff(v, want) > 1e-14 {
					t.Errorf("H%v = %.17g, math gives %.17g", z, v, want)
				}
				gradScale, hessScale := 1.0, 1.0
				for _, x := range g {
					gradScale = math.Max(gradScale, math.Abs(x))
				}
				for _, x := range hs {
					hessScale = math.Max(hessScale, math.Abs(x))
				}
				for i := range z {
					step := 1e-5 * (1 + math.Abs(z[i]))
					zp, zm := append([]float64(nil), z...), append([]float64(nil), z...)
					zp[i] += step
					zm[i] -= step
					if fd := (f(zp) - f(zm)) / (2 * step); math.Abs(fd-g[i]) > 1e-6*gradScale {
						t.Errorf("∂H/∂z%d at %v = %.12g, central difference %.12g", i, z, g[i], fd)
					}
					gp, gm := make([]float64, 2), make([]float64, 2)
					if _, err := e.Eval(zp, gp, nil); err != nil {
						t.Fatal(err)
					}
					if _, err := e.Eval(zm, gm, nil); err != nil {
						t.Fatal(err)
					}
					for j := range z {
						if fd := (gp[j] - gm[j]) / (2 * step); math.Abs(fd-hs[j*2+i]) > 1e-6*hessScale {
							t.Errorf("∂²H/∂z%d∂z%d at %v = %.12g, central difference %.12g", j, i, z, hs[j*2+i], fd)
						}
					}
				}
				gh, err := GradH(e.Hamiltonian(), z)
				if err != nil {
					t.Fatal(err)
				}
				hh, err := HessianH(e.Hamiltonian(), z)
				if err != nil {
					t.Fatal(err)
				}
				for i := range g {
					if gh[i] != g[i] {
						t.Errorf("GradH %v, Eval %v", gh, g)
					}
				}
				for i := range hs {
					if hh[i] != hs[i] {
						t.Errorf("HessianH %v, Eval %v", hh, hs)
					}
				}
			}
		})
	}
}

// TestParsePowers: integer powers of negative bases, and what the
// derivatives of Pow give at 0 and below.
func TestParsePowers(t *testing.T) {
	e := mustExpr(t, "q^4 + p^2")
	g, hs := make([]float64, 2), make([]float64, 4)
	v, err := e.Eval([]float64{-1.3, 0}, g, hs)
	if err != nil {
		t.Fatal(err)
	}
	x := -1.3
	x2 := x * x
	if v != x2*x2 || relDiff(g[0], 4*x*x*x) > 1e-15 || relDiff(hs[0], 12*x2) > 1e-15 {
		t.Errorf("q^4 at -1.3: H = %v, H' = %v, H'' = %v, want %v, %v, %v", v, g[0], hs[0], x2*x2, 4*x*x*x, 12*x2)
	}
	// x^2.5 (Pow with a constant exponent) at 0: H = 0, H' = 2.5·0^1.5 = 0,
	// H'' = 3.75·0^0.5 = 0; at x < 0 it is NaN, as math.Pow.
	e = mustExpr(t, "q^2.5 + p")
	if v, err := e.Eval([]float64{0, 1}, g, hs); err != nil || v != 1 || g[0] != 0 || hs[0] != 0 {
		t.Errorf("q^2.5 at 0: H = %v, H' = %v, H'' = %v (%v), want 1, 0, 0", v, g[0], hs[0], err)
	}
	if v, err := e.Eval([]float64{-0.5, 1}, g, nil); err != nil || !math.IsNaN(v) || !math.IsNaN(g[0]) || g[1] != 1 {
		t.Errorf("q^2.5 at -0.5: H = %v, ∇H = %v (%v), want NaN, (NaN, 1)", v, g, err)
	}
	// Even and odd integer powers of negative bases.
	for _, n := range []int{2, 3, 4, 5, 6, 9, 10, 64, 65, 100, -1, -2, -3, -7} {
		e := mustExpr(t, fmt.Sprintf("q^%d + 0*p", n))
		x := -1.1
		v, err := e.Eval([]float64{x, 0}, g, hs)
		if err != nil {
			t.Fatal(err)
		}
		fn := float64(n)
		want := []float64{math.Pow(x, fn), fn * math.Pow(x, fn-1), fn * (fn - 1) * math.Pow(x, fn-2)}
		for i, got := range []float64{v, g[0], hs[0]} {
			if relDiff(got, want[i]) > 1e-13 {
				t.Errorf("q^%d at %v: derivative %d = %.17g, want %.17g", n, x, i, got, want[i])
			}
		}
	}
	// q^0 is the constant 1.
	if v, err := mustExpr(t, "q^0 + p").Eval([]float64{0, 2}, g, nil); err != nil || v != 3 || g[0] != 0 || g[1] != 1 {
		t.Errorf("q^0 + p at (0, 2): %v, %v (%v)", v, g, err)
	}
}

// TestParsePrecedence checks precedence and associativity against Go.
func TestParsePrecedence(t *testing.T) {
	cases := []struct {
		text string
		f    func(q, p float64) float64
	}{
		{"-q^2", func(q, p float64) float64 { return -(q * q) }},
		{"-q^2 + p", func(q, p float64) float64 { return -(q * q) + p }},
		{"2*p^2/2", func(q, p float64) float64 { return p * p }},
		{"2^3^2*q", func(q, p float64) float64 { return 512 * q }},
		{"2^3^2", func(q, p float64) float64 { return 512 }},
		{"(2^3)^2*q", func(q, p float64) float64 { return 64 * q }},
		{"-2^2 + q", func(q, p float64) float64 { return -4 + q }},
		{"(-2)^2 + q", func(q, p float64) float64 { return 4 + q }},
		{"2^-1*q", func(q, p float64) float64 { return 0.5 * q }},
		{"q^-2", func(q, p float64) float64 { return 1 / (q * q) }},
		{"q^p^2", func(q, p float64) float64 { return math.Pow(q, p*p) }},
		{"q^-p^2", func(q, p float64) float64 { return math.Pow(q, -(p * p)) }},
		{"q-p-1", func(q, p float64) float64 { return (q - p) - 1 }},
		{"q-p+1", func(q, p float64) float64 { return (q - p) + 1 }},
		{"q/p/2", func(q, p float64) float64 { return (q / p) / 2 }},
		{"q/p*3", func(q, p float64) float64 { return (q / p) * 3 }},
		{"1/2*q", func(q, p float64) float64 { return 0.5 * q }},
		{"q*p^2", func(q, p float64) float64 { return q * p * p }},
		{"q+p*q", func(q, p float64) float64 { return q + p*q }},
		{"(q+p)*q", func(q, p float64) float64 { return (q + p) * q }},
		{"-q*p", func(q, p float64) float64 { return -q * p }},
		{"--q", func(q, p float64) float64 { return q }},
		{"q - -p", func(q, p float64) float64 { return q + p }},
		{"q*-p", func(q, p float64) float64 { return -(q * p) }},
		{"sin(q)^2", func(q, p float64) float64 { s := math.Sin(q); return s * s }},
		{"-sin(q)^2", func(q, p float64) float64 { s := math.Sin(q); return -(s * s) }},
		{"pi*q", func(q, p float64) float64 { return math.Pi * q }},
		{".5*q + 1e-3*p + 2.5E+1", func(q, p float64) float64 { return 0.5*q + 0.001*p + 25 }},
		{"q^2/2^2", func(q, p float64) float64 { return q * q / 4 }},
		{"  q\t*\n p  ", func(q, p float64) float64 { return q * p }},
	}
	for _, c := range cases {
		e := mustExpr(t, c.text)
		for _, z := range [][]float64{{0.7, 1.9}, {1.3, -0.4}} {
			v, err := e.Eval(z, nil, nil)
			if err != nil {
				t.Fatalf("%q: %v", c.text, err)
			}
			if want := c.f(z[0], z[1]); relDiff(v, want) > 1e-15 {
				t.Errorf("%q at %v = %.17g, want %.17g", c.text, z, v, want)
			}
		}
	}
}

// TestParseErrors: malformed input gives a *ParseError at the right column
// with the right reason, wrapping ErrHamiltonian, and never a panic.
func TestParseErrors(t *testing.T) {
	deep := strings.Repeat("(", 300) + "q" + strings.Repeat(")", 300)
	cases := []struct {
		expr   string
		coords []string
		col    int // 0: about the coordinate list
		msg    string
	}{
		{"", nil, 1, "empty expression"},
		{"  \t ", nil, 1, "empty expression"},
		{"p^2/2 + z", []string{"q", "p"}, 9, `unknown name "z" (coordinates: q, p)`},
		{"x + p", nil, 1, `unknown name "x" (coordinates: q1..qd`},
		{"q0 + p1", nil, 1, `unknown name "q0" (indices run from 1`},
		{"q01 + p1", nil, 1, `unknown name "q01"`},
		{"foo(q)", nil, 1, `unknown function "foo"`},
		{"q + sinh(p)", nil, 5, `unknown function "sinh"`},
		{"sin(q, p)", nil, 1, "sin takes 1 argument, got 2"},
		{"2*cos()", nil, 3, "cos takes 1 argument, got 0"},
		{"sin q", nil, 1, "function sin needs its argument in parentheses"},
		{"q(2)", nil, 1, "q is a coordinate, not a function"},
		{"pi(2)", nil, 1, "pi is a constant, not a function"},
		{"q +", nil, 4, `missing operand after "+"`},
		{"q^", nil, 3, `missing operand after "^"`},
		{"q * / p", nil, 5, `missing operand between "*" and "/"`},
		{"()", nil, 2, `missing operand before ")"`},
		{"sin(p,)", nil, 7, `missing operand before ")"`},
		{"(q + p", nil, 1, `unclosed "("`},
		{"q * (p + (q)", nil, 5, `unclosed "("`},
		{"sin(q", nil, 4, `unclosed "(" of sin`},
		{"q + p)", nil, 6, `unexpected ")" without a matching "("`},
		{"q p", nil, 3, `missing operator before name "p"`},
		{"(q)(p)", nil, 4, `missing operator before "("`},
		{"q 2", nil, 3, "missing operator before number 2"},
		{"q, p", nil, 2, `unexpected ","`},
		{"1e*q", nil, 1, `bad number "1e"`},
		{"1e+*q", nil, 1, `bad number "1e+"`},
		{"1.2.3*q", nil, 1, `bad number "1.2.3"`},
		{"2q", nil, 1, `bad number "2q" (a product needs *`},
		{"q + .", nil, 5, `bad number "."`},
		{"1e999*q", nil, 1, "number 1e999 is not a finite float64"},
		{"q + log(0)", nil, 5, "constant log(0) is -Inf, not a finite number"},
		{"q + 1/0", nil, 5, "constant 1/0 is +Inf"},
		{"sqrt(-1) * p", nil, 1, "constant sqrt(-1) is NaN"},
		{"q * 2^1e9", nil, 5, "constant 2^1e9 is +Inf"},
		{"q**2", nil, 2, `"**" is not an operator`},
		{"q # p", nil, 3, `unexpected character '#'`},
		{"p² + q", nil, 2, `unexpected character '²' (write powers with ^`},
		{"q\xff", nil, 2, "invalid UTF-8"},
		{"q + q2", nil, 5, "q and q2 cannot be used together"},
		{"θ^2 + z", []string{"θ", "pθ"}, 7, `unknown name "z" (coordinates: θ, pθ)`},
		{deep, nil, 201, "nested too deeply"},
		{strings.Repeat("-", 250) + "q", nil, 201, "nested too deeply"},
		{"q^2", []string{"q"}, 0, "want an even number"},
		{"q^2", []string{"q", "p", "r"}, 0, "want an even number"},
		{"x^2", []string{"x", "x"}, 0, `"x" appears twice`},
		{"x^2", []string{"x", "1p"}, 0, `"1p" is not a name`},
		{"x^2", []string{"x", "p y"}, 0, `"p y" is not a name`},
		{"x^2", []string{"", "p"}, 0, `"" is not a name`},
		{"x^2", []string{"sin", "p"}, 0, `"sin" is reserved`},
		{"x^2", []string{"x", "pi"}, 0, `"pi" is reserved`},
	}
	for _, c := range cases {
		_, err := ParseHamiltonian(c.expr, c.coords...)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseHamiltonian(%q, %q): error %v, want a *ParseError", c.expr, c.coords, err)
			continue
		}
		if !errors.Is(err, ErrHamiltonian) {
			t.Errorf("%q: %v does not wrap ErrHamiltonian", c.expr, err)
		}
		if pe.Col != c.col || !strings.Contains(pe.Msg, c.msg) || pe.Expr != c.expr {
			t.Errorf("ParseHamiltonian(%q, %q): col %d, %q; want col %d, %q", c.expr, c.coords, pe.Col, pe.Msg, c.col, c.msg)
		}
		if c.col == 0 && pe.Offset != -1 || c.col > 0 && (pe.Offset < 0 || pe.Offset > len(c.expr)) {
			t.Errorf("%q: offset %d for col %d", c.expr, pe.Offset, pe.Col)
		}
		wantPrefix := fmt.Sprintf("hnnsolve: parsing H: col %d: ", c.col)
		if c.col == 0 {
			wantPrefix = "hnnsolve: parsing H: coordinate names"
		}
		if !strings.HasPrefix(err.Error(), wantPrefix) {
			t.Errorf("%q: Error() = %q, want prefix %q", c.expr, err, wantPrefix)
		}
	}
	if len(cases) < 20 {
		t.Fatalf("only %d cases", len(cases))
	}
}

// TestParseCallErrors: errors that only the call of H can see.
func TestParseCallErrors(t *testing.T) {
	h := mustParse(t, "p1^2/2 + q3")
	_, err := GradH(h, []float64{1, 2, 3, 4})
	var pe *ParseError
	if !errors.Is(err, ErrHamiltonian) || !errors.As(err, &pe) || pe.Col != 10 || !strings.Contains(pe.Msg, "q3 needs d >= 3, H is called with d = 2") {
		t.Errorf("q3 at d = 2: %v", err)
	}
	if _, err := GradH(h, []float64{1, 2, 3, 4, 5, 6}); err != nil {
		t.Errorf("q3 at d = 3: %v", err)
	}
	h = mustParse(t, "p^2/2 + q")
	if _, err := GradH(h, []float64{1, 2, 3, 4}); !errors.As(err, &pe) || pe.Col != 1 || !strings.Contains(pe.Msg, "plain p means d = 1, but H is called with d = 2") {
		t.Errorf("plain q at d = 2: %v", err)
	}
	h = mustParse(t, "px^2/2 + x", "x", "px")
	if _, err := GradH(h, []float64{1, 2, 3, 4}); !errors.Is(err, ErrHamiltonian) || !strings.Contains(err.Error(), "dimension 2, not 4") {
		t.Errorf("named coordinates at the wrong dimension: %v", err)
	}
	e := mustExpr(t, "q1*p2")
	for _, dim := range []int{0, 1, 2, 3} {
		if _, err := e.Eval(make([]float64, dim), nil, nil); !errors.Is(err, ErrHamiltonian) {
			t.Errorf("Eval at dimension %d: %v", dim, err)
		}
	}
	if _, err := e.Eval(make([]float64, 4), make([]float64, 3), nil); !errors.Is(err, ErrHamiltonian) {
		t.Errorf("Eval with a short gradient: %v", err)
	}
	if _, err := e.Hamiltonian()(nil, nil); !errors.Is(err, ErrHamiltonian) {
		t.Errorf("H() with no nodes: %v", err)
	}
}

// TestParseConstant: a constant H is one value per point with ∇H = 0, and
// trains (with the energy term, which needs H per point).
func TestParseConstant(t *testing.T) {
	for text, want := range map[string]float64{"3": 3, "2*pi - 1": 2*math.Pi - 1, "q^0": 1, "-(2^3 - 1)/2": -3.5} {
		h := mustParse(t, text)
		if v, err := mustExpr(t, text).Eval([]float64{0.5, 1}, nil, nil); err != nil || v != want {
			t.Errorf("%q = %v (%v), want %v", text, v, err, want)
		}
		ev, err := newHamiltonianEvaluator(h, 2, 5, false)
		if err != nil {
			t.Fatal(err)
		}
		if ev.hg.scalar || ev.hg.h.Shape().TotalSize() != 5 {
			t.Errorf("%q: H has shape %v (scalar %v), want (5)", text, ev.hg.h.Shape(), ev.hg.scalar)
		}
		g, err := GradH(h, []float64{0.5, 1})
		if err != nil || g[0] != 0 || g[1] != 0 {
			t.Errorf("%q: ∇H = %v (%v)", text, g, err)
		}
		if _, err := Solve(Problem{H: h, Z0: []float64{0.5, 1}, T: 1}, &Settings{Epochs: 5, Points: 8, Hidden: []int{4}, Energy: 1}); err != nil {
			t.Errorf("%q: Solve: %v", text, err)
		}
	}
}

func TestParseSeparable(t *testing.T) {
	for text, want := range map[string]bool{
		oscillatorText:            true,
		"(p^2 + q^2)/2":           true,
		"-(p^2 - 3*q^2)*2 + 1":    true,
		"p^2/2 - cos(q)":          true,
		"p*q":                     false,
		"p^2*(1+q^2)/2":           false,
		"(p + q)^2":               false,
		"p^2/(2*q)":               false,
		"sin(q) + exp(p) - 1/p^2": true,
	} {
		if got := mustExpr(t, text).Separable(); got != want {
			t.Errorf("%q: Separable() = %v, want %v", text, got, want)
		}
	}
	if !mustExpr(t, henonHeilesText, "x", "y", "px", "py").Separable() {
		t.Error("Hénon-Heiles is separable")
	}
}

// TestParseTrainingGradient checks ∂L/∂θ of the training loss against
// central differences for an H with every function, abs (this package's
// op) and Pow included: the loss gradient differentiates ∇H
// once more, so it checks the second derivatives the training uses.
func TestParseTrainingGradient(t *testing.T) {
	h := mustParse(t, "p^2/2 + abs(q)*q^2/3 + tanh(q)^2/4 + exp(q/5)*cos(q)/9 + sin(q)*tan(q/3) + log(2+q^2)/7 + sqrt(2+q^2)/5 + 2^q/8 + (1+q^2)^1.5/11 + q^4/40")
	z0 := []float64{0.3, 0.8}
	rng := rand.New(rand.NewPCG(9, 10))
	net := newNetwork([]int{10, 10}, 2, Sin)
	net.init(rng)
	const k = 13
	lg, err := buildLossGraph(h, z0, net, k, 0.6, energyOf(t, h, z0), true, true)
	if err != nil {
		t.Fatal(err)
	}
	ts := make([]float64, k)
	for i := range ts {
		ts[i] = 2 * rng.Float64()
	}
	lg.setTimes(ts, Exponential, 0)
	if _, err := lg.run(); err != nil {
		t.Fatal(err)
	}
	gs, err := lg.gradients()
	if err != nil {
		t.Fatal(err)
	}
	grads := make([][]float64, len(gs))
	for i := range gs {
		grads[i] = append([]float64(nil), gs[i]...)
	}
	const step = 1e-5
	for i, p := range net.params {
		for _, j := range sampleIndices(rng, len(p), 6) {
			old := p[j]
			p[j] = old + step
			lp, _ := lg.run()
			p[j] = old - step
			lm, _ := lg.run()
			p[j] = old
			fd := (lp - lm) / (2 * step)
			if d := math.Abs(grads[i][j] - fd); d > 1e-6*math.Max(math.Abs(fd), 1e-3) {
				t.Errorf("∂L/∂%s[%d] = %.12g, central difference %.12g", net.paramName(i), j, grads[i][j], fd)
			}
		}
	}
	// The program runs abs, sign and tanh natively: an epoch allocates
	// nothing.
	h = mustParse(t, "p^2/2 + abs(q)*q^2/3 + sin(q)/q^-2 + tanh(q)^2")
	if lg, err = buildLossGraph(h, z0, net, k, 0.6, energyOf(t, h, z0), true, true); err != nil {
		t.Fatal(err)
	}
	lg.setTimes(ts, Exponential, 0)
	if allocs := testing.AllocsPerRun(20, func() { _, _ = lg.run() }); allocs != 0 {
		t.Errorf("a loss evaluation allocates %v times", allocs)
	}
}

// FuzzParseHamiltonian: any text either fails with a positioned
// *ParseError or gives an H that builds (with ∇H) at a dimension it allows.
func FuzzParseHamiltonian(f *testing.F) {
	for _, s := range []string{
		oscillatorText, henonHeilesText, "p^2/2 - cos(q)", "-q^2", "2^3^2", "2*p^2/2", "q1*p2 + q2^-3",
		"abs(q)+tanh(p)", "sqrt(q^2+1)*exp(-p)", "log(1+q^2)", "tan(q)/p", ".5e-3*q", "1e999", "log(0)",
		"sin(q,p)", "((q)", "q)", "q p", "q**2", "", "x + px", "pi", "q^0", "q^1e9", "q^-64", "2^q^p",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 400 {
			return
		}
		for _, coords := range [][]string{nil, {"x", "y", "px", "py"}} {
			e, err := ParseExpression(s, coords...)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || !errors.Is(err, ErrHamiltonian) {
					t.Fatalf("%q: error %v is not a *ParseError", s, err)
				}
				if pe.Offset < 0 || pe.Offset > len(s) || pe.Col < 1 || pe.Col > len(s)+1 {
					t.Fatalf("%q: error position %d, col %d", s, pe.Offset, pe.Col)
				}
				continue
			}
			d := 2
			if coords == nil {
				d = 1
				plain := false
				e.root.walk(func(n *exprNode) {
					if n.kind == exVar {
						d = max(d, n.v.idx+1)
						plain = plain || n.v.plain
					}
				})
				if plain && d > 1 {
					t.Fatalf("%q: plain q or p with d = %d", s, d)
				}
			}
			z := make([]float64, 2*d)
			for i := range z {
				z[i] = 0.3 + 0.1*float64(i)
			}
			if _, err := GradH(e.Hamiltonian(), z); err != nil {
				t.Fatalf("%q parsed but does not build at d = %d: %v", s, d, err)
			}
		}
	})
}
