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

// TestHenonHeilesCoupling checks the closed forms of the parametrised
// Hénon-Heiles against the derivatives of its expression, and θ = 1
// against Eq. 26.
func TestHenonHeilesCoupling(t *testing.T) {
	var hc HenonHeilesCoupling
	rng := rand.New(rand.NewSource(8))
	for range 4 {
		z := []float64{rng.Float64() - 0.5, rng.Float64() - 0.5, rng.Float64() - 0.5, rng.Float64() - 0.5}
		th := 0.5 + rng.Float64()
		h := hc.ParamHamiltonian().WithTheta([]float64{th})
		g, err := hnnsolve.GradH(h, z)
		if err != nil {
			t.Fatal(err)
		}
		hs, err := hnnsolve.HessianH(h, z)
		if err != nil {
			t.Fatal(err)
		}
		wantG, wantH := make([]float64, 4), make([]float64, 16)
		hc.Gradient(wantG, z, th)
		hc.Hessian(wantH, z, th)
		compare(t, "coupling GradH", g, wantG)
		compare(t, "coupling HessianH", hs, wantH)
		if d := hc.Energy(z, 1) - (HenonHeiles{}).Energy(z); math.Abs(d) > 1e-15 {
			t.Errorf("θ = 1: energy differs from Eq. 26 by %v", d)
		}
	}
	if _, err := hnnsolve.GradH(hc.ParamHamiltonian().WithTheta(nil), []float64{0, 0, 0, 0}); err == nil {
		t.Error("no θ: no error")
	}
}
