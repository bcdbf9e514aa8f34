package hnnsolve

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

// Test Hamiltonians, written here independently of package systems.

func mustC(v float64) *gorgonia.Node { return gorgonia.NewConstant(v) }

// oscillatorH is Eq. 23: H = p²/2 + x²/2 + x⁴/4 (written with Pow).
func oscillatorH(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
	x, v := q[0], p[0]
	k := gorgonia.Must(gorgonia.Mul(mustC(0.5), gorgonia.Must(gorgonia.Square(v))))
	a := gorgonia.Must(gorgonia.Mul(mustC(0.5), gorgonia.Must(gorgonia.Square(x))))
	b := gorgonia.Must(gorgonia.Mul(mustC(0.25), gorgonia.Must(gorgonia.Pow(x, mustC(4)))))
	return gorgonia.Add(k, gorgonia.Must(gorgonia.Add(a, b)))
}

func oscillatorGrad(z []float64) []float64 {
	return []float64{z[0] + z[0]*z[0]*z[0], z[1]}
}

// henonHeilesH is Eq. 26 (written with Cube).
func henonHeilesH(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
	x, y, px, py := q[0], q[1], p[0], p[1]
	sq := func(n *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.Square(n)) }
	add := func(a, b *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.Add(a, b)) }
	half := func(n *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.Mul(mustC(0.5), n)) }
	kin := half(add(sq(px), sq(py)))
	harm := half(add(sq(x), sq(y)))
	x2y := gorgonia.Must(gorgonia.HadamardProd(sq(x), y))
	y3 := gorgonia.Must(gorgonia.Mul(mustC(1.0/3), gorgonia.Must(gorgonia.Cube(y))))
	return gorgonia.Add(add(kin, harm), gorgonia.Must(gorgonia.Sub(x2y, y3)))
}

func henonHeilesGrad(z []float64) []float64 {
	x, y, px, py := z[0], z[1], z[2], z[3]
	return []float64{x + 2*x*y, y + x*x - y*y, px, py}
}

// nonSeparableH is H = p² (1 + q²) / 2, returned as its sum over the points.
func nonSeparableH(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
	one := gorgonia.Must(gorgonia.Add(mustC(1), gorgonia.Must(gorgonia.Square(q[0]))))
	h := gorgonia.Must(gorgonia.Mul(mustC(0.5), gorgonia.Must(gorgonia.HadamardProd(gorgonia.Must(gorgonia.Square(p[0])), one))))
	return gorgonia.Sum(h)
}

func nonSeparableGrad(z []float64) []float64 {
	q, p := z[0], z[1]
	return []float64{p * p * q, p * (1 + q*q)}
}

// pendulumH is H = p²/2 - cos q, with an unused second degree of freedom
// (its gradient must come out as zeros).
func pendulumH(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
	kin := gorgonia.Must(gorgonia.Mul(mustC(0.5), gorgonia.Must(gorgonia.Square(p[0]))))
	return gorgonia.Sub(kin, gorgonia.Must(gorgonia.Cos(q[0])))
}

func pendulumGrad(z []float64) []float64 { return []float64{math.Sin(z[0]), 0, z[2], 0} }

var testSystems = []struct {
	name string
	h    Hamiltonian
	grad func([]float64) []float64
	dim  int
}{
	{"oscillator", oscillatorH, oscillatorGrad, 2},
	{"henon-heiles", henonHeilesH, henonHeilesGrad, 4},
	{"non-separable", nonSeparableH, nonSeparableGrad, 2},
	{"pendulum-ignoring-a-coordinate", pendulumH, pendulumGrad, 4},
}

func TestGradHMatchesClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range testSystems {
		for range 20 {
			z := make([]float64, s.dim)
			for i := range z {
				z[i] = 4*rng.Float64() - 2
			}
			got, err := GradH(s.h, z)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			want := s.grad(z)
			for i := range want {
				if d := math.Abs(got[i] - want[i]); d > 1e-12*math.Max(1, math.Abs(want[i])) {
					t.Errorf("%s: ∂H/∂z%d at %v = %v, closed form %v", s.name, i, z, got[i], want[i])
				}
			}
		}
	}
}

func TestHessianHOfScalarH(t *testing.T) {
	// H = p² (1 + q²) / 2 returned as a sum: D²H = [[p², 2pq], [2pq, 1 + q²]].
	q, p := 0.7, -1.3
	got, err := HessianH(nonSeparableH, []float64{q, p})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{p * p, 2 * p * q, 2 * p * q, 1 + q*q}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("D²H[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestHessianHMatchesClosedForm(t *testing.T) {
	z := []float64{0.7, -0.4, 0.2, 1.1}
	got, err := HessianH(henonHeilesH, z)
	if err != nil {
		t.Fatal(err)
	}
	x, y := z[0], z[1]
	want := []float64{
		1 + 2*y, 2 * x, 0, 0,
		2 * x, 1 - 2*y, 0, 0,
		0, 0, 1, 0,
		0, 0, 0, 1,
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("D²H[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}
