package hnnsolve_test

import (
	"math"
	"strings"
	"testing"

	"hnnsolve"
	"hnnsolve/systems"
)

// quickChain is a short recipe that reaches errors of 1e-7-1e-4 in a second
// or two: chains of 2×8 networks, Adam then Levenberg-Marquardt.
func quickChain(segments, epochs, lm int) *hnnsolve.Settings {
	return &hnnsolve.Settings{Points: 40, Hidden: []int{8, 8}, Epochs: epochs, Beta1: 0.9, Beta2: 0.999,
		LearnRateFinal: 1e-4, LM: lm, RefinePoints: 80, Segments: segments, Seed: 1}
}

// checkCertified asserts that the certified bound holds at every grid time
// against the DOP853 reference (RTol = ATol = 1e-12, so a slack of 1e-11),
// is certified (H polynomial), and is within 3× of the true error where
// that is below 1e-3.
func checkCertified(t *testing.T, name string, c *trained) {
	t.Helper()
	r := c.rep
	t.Logf("%s: true %.3e, Eq. 18 %.3e, certified %.3e (ratio %.4g, ρ %.3g, M3 %.3g), transfer %.3e; %s",
		name, r.TrueErrorMax, r.EstimateEq18Max, r.BoundCertified, r.RatioCertified, r.TubeRadius, r.RemainderM3, r.TransferBoundMax, r.CertifiedAssumptions)
	if !r.Certified || math.IsNaN(r.BoundCertified) {
		t.Fatalf("%s: not certified (%v): %s", name, r.BoundCertified, r.CertifiedAssumptions)
	}
	for k, b := range r.BoundCertifiedCurve {
		if te := r.TrueErrorNorm[k]; te > b+1e-11 {
			t.Errorf("%s: t = %.4g: true error %.6e above the certified bound %.6e", name, r.Grid[k], te, b)
			break
		}
	}
	if !r.CertifiedHolds {
		t.Errorf("%s: Report.CertifiedHolds = false", name)
	}
	if r.TrueErrorMax < 1e-3 && !(r.BoundCertified <= 3*r.TrueErrorMax) {
		t.Errorf("%s: certified bound %.3e is %.3g× the true error %.3e, want <= 3×", name, r.BoundCertified, r.RatioCertified, r.TrueErrorMax)
	}
	if s := r.String(); !strings.Contains(s, "certified bound") || !strings.Contains(s, "assumptions") {
		t.Errorf("%s: report does not give the certified bound and its assumptions:\n%s", name, s)
	}
}

// TestCertifiedBound: the certified bound holds, and is tight, on the
// nonlinear oscillator (quartic), Hénon-Heiles (cubic), the non-separable
// H = p²(1+q²)/2 (quartic) and chains of them.
func TestCertifiedBound(t *testing.T) {
	for _, c := range []struct {
		name string
		sys  systems.System
		z0   []float64
		t1   float64
		set  *hnnsolve.Settings
	}{
		{"oscillator [0, 2π], chain of 4", systems.NewNonlinearOscillator(), []float64{1.3, 1}, 2 * math.Pi, quickChain(4, 1500, 60)},
		{"oscillator [0, 2π], one network", systems.NewNonlinearOscillator(), []float64{1.3, 1}, 2 * math.Pi, quickChain(1, 1500, 60)},
		{"Hénon-Heiles [0, 2π], chain of 4", systems.HenonHeiles{}, []float64{0.3, -0.3, 0.3, 0.15}, 2 * math.Pi, quickChain(4, 1500, 60)},
		{"non-separable [0, 3], chain of 6", systems.NonSeparable{}, []float64{0, 1}, 3, quickChain(6, 1500, 60)},
	} {
		tr, err := train(c.sys, c.z0, c.t1, c.set)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkCertified(t, c.name, tr)
	}
}

// TestCertifiedLargeError: on the poorly trained shared oscillator (error
// near 1e-2) the bound still holds, or says the bootstrap did not close
// (+Inf), never less than the true error.
func TestCertifiedLargeError(t *testing.T) {
	c, err := oscillator()
	if err != nil {
		t.Fatal(err)
	}
	r := c.rep
	t.Logf("true %.3e, Eq. 18 %.3e, certified %.3e: %s", r.TrueErrorMax, r.EstimateEq18Max, r.BoundCertified, r.CertifiedAssumptions)
	if !r.Certified || !(r.BoundCertified >= r.TrueErrorMax) || !r.CertifiedHolds {
		t.Errorf("certified %v (%v) below the true error %.3e, or not certified", r.BoundCertified, r.CertifiedHolds, r.TrueErrorMax)
	}
	if math.IsInf(r.BoundCertified, 1) && !strings.Contains(r.CertifiedAssumptions, "did not close") {
		t.Errorf("bound +Inf without saying why: %s", r.CertifiedAssumptions)
	}
}

// TestCertifiedNeedsRemainder: a case where the linearised Eq. 18 estimate
// undershoots the true error somewhere; the certified bound, which adds the
// remainder, does not. Without the remainder term the bound would fail here.
func TestCertifiedNeedsRemainder(t *testing.T) {
	// One network on [0, 2π]: an error near 5e-3, where the second-order
	// term is visible against the first.
	tr, err := train(systems.NewNonlinearOscillator(), []float64{1.3, 1}, 2*math.Pi, quickChain(1, 1500, 60))
	if err != nil {
		t.Fatal(err)
	}
	r := tr.rep
	t.Logf("true %.6e, Eq. 18 %.6e, certified %.6e", r.TrueErrorMax, r.EstimateEq18Max, r.BoundCertified)
	if !(r.TrueErrorMax > r.EstimateEq18Max*(1+1e-5)) {
		t.Fatalf("Eq. 18 estimate %.6e does not undershoot the true error %.6e: the case does not test the remainder", r.EstimateEq18Max, r.TrueErrorMax)
	}
	if math.IsInf(r.BoundCertified, 1) {
		t.Fatalf("certified bound +Inf: the case does not test the remainder (%s)", r.CertifiedAssumptions)
	}
	checkCertified(t, "oscillator, one network", tr)
}

// TestCertifiedNotPolynomial: for the pendulum (cos q) the tube maximum of
// D³H can only be sampled: the figure is reported as a sampled estimate,
// and BoundCertified stays NaN.
func TestCertifiedNotPolynomial(t *testing.T) {
	tr, err := train(systems.Pendulum{G: 1, L: 1}, []float64{1, 0}, 4, quickChain(2, 1000, 30))
	if err != nil {
		t.Fatal(err)
	}
	r := tr.rep
	t.Logf("pendulum: true %.3e, sampled %.3e: %s", r.TrueErrorMax, r.BoundSampled, r.CertifiedAssumptions)
	if r.Certified || !math.IsNaN(r.BoundCertified) || r.BoundCertifiedCurve != nil {
		t.Errorf("pendulum: certified %v, bound %v: cos q is not a polynomial", r.Certified, r.BoundCertified)
	}
	if !(r.BoundSampled >= r.TrueErrorMax) || !strings.Contains(r.CertifiedAssumptions, "sampled") {
		t.Errorf("pendulum: sampled %v vs true %v; assumptions %q", r.BoundSampled, r.TrueErrorMax, r.CertifiedAssumptions)
	}
	if s := r.String(); !strings.Contains(s, "not certified") {
		t.Errorf("report does not say the figure is not certified:\n%s", s)
	}
}

// TestPolynomialDegree: the degree read off the expression graph.
func TestPolynomialDegree(t *testing.T) {
	for _, c := range []struct {
		expr string
		deg  int
		ok   bool
	}{
		{"p^2/2 + x^2/2", 2, true},
		{"p^2/2 + x^2/2 + x^4/4", 4, true},
		{"p^2*(1+x^2)/2", 4, true},
		{"p^2/2 - cos(x)", 0, false},
		{"p^2/2 + 1/x", 0, false},
		{"p^2/2 + x^3", 3, true},
		{"(p^2 + x^2)^3", 6, true},
	} {
		h, err := hnnsolve.ParseHamiltonian(c.expr, "x", "p")
		if err != nil {
			t.Fatal(err)
		}
		deg, ok, err := hnnsolve.PolynomialDegree(h, 2)
		if err != nil {
			t.Fatal(err)
		}
		if ok != c.ok || ok && deg != c.deg {
			t.Errorf("%s: degree %d, polynomial %v; want %d, %v", c.expr, deg, ok, c.deg, c.ok)
		}
	}
}
