package systems

import (
	"math"
	"math/rand"
	"testing"

	"hnnsolve"
)

// TestCoreDerivatives compares hnnsolve.GradH and hnnsolve.HessianH, which
// differentiate the gorgonia expression symbolically, with the closed forms,
// to 1e-12 relative to the largest component.
func TestCoreDerivatives(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, s := range testSystems() {
		n := s.Dim()
		wantG, wantH := make([]float64, n), make([]float64, n*n)
		for range 3 {
			z := samplePoint(rng, s)
			s.Gradient(wantG, z)
			s.Hessian(wantH, z)
			g, err := hnnsolve.GradH(s.Hamiltonian(), z)
			if err != nil {
				t.Fatalf("%s: GradH: %v", label(s), err)
			}
			h, err := hnnsolve.HessianH(s.Hamiltonian(), z)
			if err != nil {
				t.Fatalf("%s: HessianH: %v", label(s), err)
			}
			compare(t, label(s)+" GradH", g, wantG)
			compare(t, label(s)+" HessianH", h, wantH)
		}
	}
}

func compare(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	scale := maxAbs(want)
	for i := range got {
		if d := math.Abs(got[i] - want[i]); !(d <= 1e-12*scale) {
			t.Errorf("%s [%d]: %v, closed form %v (rel %.1e)", what, i, got[i], want[i], d/scale)
		}
	}
}
