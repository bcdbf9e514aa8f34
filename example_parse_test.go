package hnnsolve_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"hnnsolve"
	"hnnsolve/systems"
)

// The Hénon-Heiles system (Eq. 26 of the paper) written as text: ∇H and H
// at a point, and the error a misspelt name gives.
func ExampleParseHamiltonian() {
	H, err := hnnsolve.ParseHamiltonian("(px^2+py^2)/2 + (x^2+y^2)/2 + x^2*y - y^3/3", "x", "y", "px", "py")
	if err != nil {
		fmt.Println(err)
		return
	}
	z := []float64{0.5, -0.2, 0.1, 0.3} // (x, y, px, py)
	grad, err := hnnsolve.GradH(H, z)
	if err != nil {
		fmt.Println(err)
		return
	}
	// ∇H = (x + 2xy, y + x² − y², px, py)
	fmt.Printf("∇H = (%.4f, %.4f, %.4f, %.4f)\n", grad[0], grad[1], grad[2], grad[3])

	e, _ := hnnsolve.ParseExpression("(px^2+py^2)/2 + (x^2+y^2)/2 + x^2*y - y^3/3", "x", "y", "px", "py")
	h, _ := e.Eval(z, nil, nil)
	fmt.Printf("H = %.7f\n", h)

	_, err = hnnsolve.ParseHamiltonian("p^2/2 + 2*pi*x", "q", "p")
	fmt.Println(err)
	var pe *hnnsolve.ParseError
	fmt.Println(errors.As(err, &pe), pe.Col, errors.Is(err, hnnsolve.ErrHamiltonian))
	// Output:
	// ∇H = (0.3000, 0.0100, 0.1000, 0.3000)
	// H = 0.1476667
	// hnnsolve: parsing H: col 14: unknown name "x" (coordinates: q, p)
	// true 14 true
}

// A pendulum with the default names q and p, solved without writing a
// gorgonia expression; H, ∇H and D²H at a point.
func ExampleParseExpression() {
	e, err := hnnsolve.ParseExpression("p^2/2 - cos(q)")
	if err != nil {
		fmt.Println(err)
		return
	}
	z := []float64{math.Pi / 3, 0.5}
	grad, hess := make([]float64, 2), make([]float64, 4)
	h, err := e.Eval(z, grad, hess)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("H = %.4f, ∇H = (%.4f, %.4f), D²H = %.4f\n", h, grad[0], grad[1], hess)
	fmt.Println("separable:", e.Separable())

	sol, err := hnnsolve.Solve(hnnsolve.Problem{H: e.Hamiltonian(), Z0: []float64{1, 0}, T: 2},
		&hnnsolve.Settings{Points: 20, Hidden: []int{10}, Epochs: 500, LearnRateFinal: 1e-4, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("E0 = %.4f\n", sol.E0())
	// Output:
	// H = -0.3750, ∇H = (0.8660, 0.5000), D²H = [0.5000 0.0000 0.0000 1.0000]
	// separable: true
	// E0 = -0.5403
}

// parsedSystems are built-in systems of package systems written as text.
func parsedSystems() []struct {
	sys    systems.System
	text   string
	coords []string
} {
	// The FPU-β chain with fixed ends, 8 masses: bonds q1, q2-q1, ..., -q8.
	var fpu strings.Builder
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&fpu, "p%d^2/2 + ", i)
	}
	for i := 0; i <= 8; i++ {
		var b string
		switch i {
		case 0:
			b = "q1"
		case 8:
			b = "(-q8)"
		default:
			b = fmt.Sprintf("(q%d-q%d)", i+1, i)
		}
		fmt.Fprintf(&fpu, "%s^2/2 + %s^4/4", b, b)
		if i < 8 {
			fpu.WriteString(" + ")
		}
	}
	look := func(name string) systems.System {
		s, err := systems.Lookup(name)
		if err != nil {
			panic(err)
		}
		return s
	}
	return []struct {
		sys    systems.System
		text   string
		coords []string
	}{
		{look("oscillator"), "p^2/2 + q^2/2 + q^4/4", nil},
		{look("henon-heiles"), "(px^2+py^2)/2 + (x^2+y^2)/2 + x^2*y - y^3/3", []string{"x", "y", "px", "py"}},
		{look("harmonic"), "p^2/2 + q^2/2", nil},
		{look("pendulum"), "p^2/2 + 1 - cos(θ)", []string{"θ", "p"}},
		{look("double-pendulum"), "(p1^2 + 2*p2^2 - 2*p1*p2*cos(q1-q2)) / (2*(1 + sin(q1-q2)^2)) + 2*(1-cos(q1)) + (1-cos(q2))", nil},
		{look("kepler"), "(px^2 + py^2)/2 - 1/sqrt(x^2 + y^2)", []string{"x", "y", "px", "py"}},
		{look("nonseparable"), "p^2*(1+q^2)/2", nil},
		{look("fpu"), fpu.String(), nil},
	}
}

// TestParseHamiltonianMatchesSystems compares the parsed built-in systems
// with package systems: H, ∇H (GradH) and D²H (HessianH) with the closed
// forms at random points, and the training loss of a few epochs from the
// same initial weights with the hand-built expressions (1e-15 for the
// paper's two systems at the first epoch, where the weights are the same).
func TestParseHamiltonianMatchesSystems(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	for _, c := range parsedSystems() {
		t.Run(c.sys.Name(), func(t *testing.T) {
			e, err := hnnsolve.ParseExpression(c.text, c.coords...)
			if err != nil {
				t.Fatal(err)
			}
			if _, sep := c.sys.(interface{ DV(dst, q []float64) }); sep != e.Separable() {
				t.Errorf("Separable() = %v, systems: %v", e.Separable(), sep)
			}
			dim := c.sys.Dim()
			for range 10 {
				z := make([]float64, dim)
				for i := range z {
					z[i] = 1.4*rng.Float64() - 0.7
				}
				if c.sys.Name() == "kepler" {
					z[0] += 1.5 // away from the singularity
				}
				g, err := hnnsolve.GradH(e.Hamiltonian(), z)
				if err != nil {
					t.Fatal(err)
				}
				hs, err := hnnsolve.HessianH(e.Hamiltonian(), z)
				if err != nil {
					t.Fatal(err)
				}
				h, err := e.Eval(z, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				wantG, wantH := make([]float64, dim), make([]float64, dim*dim)
				c.sys.Gradient(wantG, z)
				c.sys.Hessian(wantH, z)
				if want := c.sys.Energy(z); math.Abs(h-want) > 1e-14*(1+math.Abs(want)) {
					t.Errorf("H(%v) = %.17g, closed form %.17g", z, h, want)
				}
				for i := range wantG {
					if math.Abs(g[i]-wantG[i]) > 1e-13*(1+math.Abs(wantG[i])) {
						t.Errorf("∂H/∂z%d at %v = %.17g, closed form %.17g", i, z, g[i], wantG[i])
					}
				}
				for i := range wantH {
					if math.Abs(hs[i]-wantH[i]) > 1e-12*(1+math.Abs(wantH[i])) {
						t.Errorf("D²H[%d] at %v = %.17g, closed form %.17g", i, z, hs[i], wantH[i])
					}
				}
			}
			// Training from the same initial weights.
			z0 := c.sys.Z0()
			set := hnnsolve.Settings{Points: 16, Hidden: []int{12, 12}, Epochs: 3, Energy: 0.5, Seed: 7}
			var losses [2][]float64
			for j, h := range []hnnsolve.Hamiltonian{c.sys.Hamiltonian(), e.Hamiltonian()} {
				s := set
				sol, err := hnnsolve.Solve(hnnsolve.Problem{H: h, Z0: z0, T: 1}, &s)
				if err != nil {
					t.Fatal(err)
				}
				losses[j] = sol.Loss()
			}
			tol := 1e-13
			if c.sys.Name() == "oscillator" || c.sys.Name() == "henon-heiles" {
				tol = 1e-15
			}
			for i := range losses[0] {
				a, b := losses[0][i], losses[1][i]
				d := math.Abs(a-b) / math.Abs(a)
				if d > tol*float64(1+10*i) {
					t.Errorf("epoch %d: loss %.17g with systems' H, %.17g parsed (rel. diff %.2g)", i, a, b, d)
				}
				t.Logf("epoch %d: loss %.6g, rel. diff %.2g", i, a, d)
			}
		})
	}
}
