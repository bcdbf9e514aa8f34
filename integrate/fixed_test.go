package integrate

import (
	"errors"
	"math"
	"testing"
)

var allMethods = []Method{SymplecticEuler, StormerVerlet, Yoshida4, RK4, ImplicitMidpoint, GaussLegendre4}

// maxErrHarmonic integrates the harmonic oscillator over [0, t1] with n
// steps and returns the maximum error against the exact solution.
func maxErrHarmonic(t *testing.T, sys System, m Method, t1 float64, n int) float64 {
	t.Helper()
	ho := harmonic{w: 1.5}
	z0 := []float64{0.7, -0.4}
	tr, err := Fixed(sys, m, z0, 0, t1, n)
	if err != nil {
		t.Fatalf("%v: %v", m, err)
	}
	var e float64
	for i, ti := range tr.T {
		q, p := ho.exact(z0, ti)
		e = math.Max(e, math.Max(math.Abs(tr.Z.At(i, 0)-q), math.Abs(tr.Z.At(i, 1)-p)))
	}
	return e
}

func TestConvergenceOrder(t *testing.T) {
	ho := harmonic{w: 1.5}
	const t1 = 10
	ns := []int{100, 200, 400, 800, 1600}
	for _, sys := range []System{ho, gradOnly{ho}} {
		for _, m := range allMethods {
			if _, ok := sys.(Separable); !ok && m.NeedsSeparable() {
				continue
			}
			var hs, errs []float64
			for _, n := range ns {
				hs = append(hs, t1/float64(n))
				errs = append(errs, maxErrHarmonic(t, sys, m, t1, n))
			}
			got := slope(hs, errs)
			t.Logf("%-16v %T: errors %.3g, order %.3f", m, sys, errs, got)
			if math.Abs(got-float64(m.Order())) > 0.2 {
				t.Errorf("%v %T: observed order %.3f, want %d", m, sys, got, m.Order())
			}
		}
	}
}

// TestSymplecticEulerEq45 checks one step against Eq. (4), (5) written out.
func TestSymplecticEulerEq45(t *testing.T) {
	s, err := NewStepper(duffing{}, SymplecticEuler)
	if err != nil {
		t.Fatal(err)
	}
	z := []float64{1.3, 1.0}
	const h = 0.1
	q := z[0] + h*z[1]
	p := z[1] - h*(q+q*q*q)
	if err := s.Step(z, z, h); err != nil {
		t.Fatal(err)
	}
	if z[0] != q || z[1] != p {
		t.Errorf("step = %v, want %v", z, []float64{q, p})
	}
}

// TestImplicitSolvers checks that Newton's method and the fixed-point
// iteration agree to round-off on a non-separable H, and that the Gauss
// methods conserve its energy.
func TestImplicitSolvers(t *testing.T) {
	z0 := []float64{0.5, 1.2}
	for _, m := range []Method{ImplicitMidpoint, GaussLegendre4} {
		a, err := Fixed(nonsep{}, m, z0, 0, 20, 400)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Fixed(gradOnly{nonsep{}}, m, z0, 0, 20, 400)
		if err != nil {
			t.Fatal(err)
		}
		var diff, dh float64
		h0 := nonsep{}.Energy(z0)
		for i := range a.T {
			for j := 0; j < 2; j++ {
				diff = math.Max(diff, math.Abs(a.Z.At(i, j)-b.Z.At(i, j)))
			}
			dh = math.Max(dh, math.Abs(nonsep{}.Energy(a.Z.RawRowView(i))-h0))
		}
		t.Logf("%v: Newton vs fixed point %.3g, max |ΔH| %.3g, evaluations %d vs %d", m, diff, dh, a.Stats.Evaluations, b.Stats.Evaluations)
		if diff > 1e-12 {
			t.Errorf("%v: Newton and fixed point differ by %g", m, diff)
		}
		// H is quartic, not quadratic, so it is conserved only up to a
		// bounded O(h^p) error.
		if dh > 1e-2 {
			t.Errorf("%v: energy error %g", m, dh)
		}
	}
	// Compare GL4 with the adaptive reference.
	ts := []float64{0, 5, 10}
	ref, err := Adaptive(nonsep{}, z0, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	gl, err := Fixed(nonsep{}, GaussLegendre4, z0, 0, 10, 2000)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 2; j++ {
		if d := math.Abs(gl.Z.At(2000, j) - ref.Z.At(2, j)); d > 1e-9 {
			t.Errorf("GL4 vs DOP853 at t = 10: component %d differs by %g", j, d)
		}
	}
}

func TestNoConvergence(t *testing.T) {
	// A huge step: fixed-point iteration diverges.
	for _, m := range []Method{ImplicitMidpoint, GaussLegendre4} {
		_, err := Fixed(gradOnly{duffing{}}, m, []float64{1.3, 1}, 0, 100, 2)
		if !errors.Is(err, ErrNoConvergence) {
			t.Errorf("%v: err = %v, want ErrNoConvergence", m, err)
		}
	}
}

func TestNonFinite(t *testing.T) {
	// RK4 with a step far beyond its stability limit overflows.
	_, err := Fixed(duffing{}, RK4, []float64{1.3, 1}, 0, 200, 20)
	if !errors.Is(err, ErrNonFinite) {
		t.Errorf("err = %v, want ErrNonFinite", err)
	}
}

// TestEnergyDrift integrates the paper's oscillator for 1e5 steps: the
// energy error of the symplectic methods stays bounded (same maximum over the
// first and the last tenth) while that of RK4 grows.
func TestEnergyDrift(t *testing.T) {
	const n = 100000
	z0 := []float64{1.3, 1.0}
	sys := duffing{}
	h0 := sys.Energy(z0)
	ratio := func(m Method, h float64) (first, last float64) {
		tr, err := Fixed(sys, m, z0, 0, h*n, n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range tr.T {
			dh := math.Abs(sys.Energy(tr.Z.RawRowView(i)) - h0)
			switch {
			case i <= n/10:
				first = math.Max(first, dh)
			case i >= n-n/10:
				last = math.Max(last, dh)
			}
		}
		return first, last
	}
	for _, m := range []Method{SymplecticEuler, StormerVerlet, Yoshida4, ImplicitMidpoint, GaussLegendre4} {
		first, last := ratio(m, 0.05)
		t.Logf("%-16v h = 0.05: max |ΔH| first tenth %.3g, last tenth %.3g, ratio %.3f", m, first, last, last/first)
		if last > 1.1*first {
			t.Errorf("%v: energy error grows from %g to %g", m, first, last)
		}
	}
	first, last := ratio(RK4, 0.05)
	t.Logf("%-16v h = 0.05: max |ΔH| first tenth %.3g, last tenth %.3g, ratio %.3f", RK4, first, last, last/first)
	if last < 5*first {
		t.Errorf("RK4: energy error does not drift: %g to %g", first, last)
	}
}

func TestStepAllocs(t *testing.T) {
	systems := []System{duffing{}, gradOnly{duffing{}}}
	for _, sys := range systems {
		for _, m := range allMethods {
			s, err := NewStepper(sys, m)
			if errors.Is(err, ErrNotSeparable) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			z := []float64{1.3, 1.0}
			dst := make([]float64, 2)
			allocs := testing.AllocsPerRun(100, func() {
				if err := s.Step(dst, z, 0.01); err != nil {
					t.Fatal(err)
				}
				if err := s.Step(z, z, 0.01); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v %T: %v allocations per step", m, sys, allocs)
			}
		}
	}
}

// TestStepInPlace checks that an in-place step equals an out-of-place one.
func TestStepInPlace(t *testing.T) {
	for _, m := range allMethods {
		s, err := NewStepper(kepler{}, m)
		if errors.Is(err, ErrNotSeparable) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		z0, _ := keplerOrbit(0.5)
		z := append([]float64(nil), z0...)
		dst := make([]float64, 4)
		if err := s.Step(dst, z, 0.01); err != nil {
			t.Fatal(err)
		}
		if err := s.Step(z, z, 0.01); err != nil {
			t.Fatal(err)
		}
		for i := range z {
			if z[i] != dst[i] {
				t.Errorf("%v: in-place step %v, out-of-place %v", m, z, dst)
				break
			}
		}
	}
}

// odd is a System of odd dimension.
type odd struct{ harmonic }

func (odd) Dim() int { return 3 }

func TestFixedBadInput(t *testing.T) {
	ok := []float64{1, 0}
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []struct {
		name   string
		sys    System
		m      Method
		z0     []float64
		t0, t1 float64
		n      int
		want   error
	}{
		{"nil system", nil, RK4, ok, 0, 1, 10, ErrBadInput},
		{"odd dim", odd{}, RK4, []float64{1, 0, 0}, 0, 1, 10, ErrBadInput},
		{"unknown method", duffing{}, Method(99), ok, 0, 1, 10, ErrBadInput},
		{"negative method", duffing{}, Method(-1), ok, 0, 1, 10, ErrBadInput},
		{"not separable SE", nonsep{}, SymplecticEuler, ok, 0, 1, 10, ErrNotSeparable},
		{"not separable Verlet", nonsep{}, StormerVerlet, ok, 0, 1, 10, ErrNotSeparable},
		{"not separable Yoshida", gradOnly{duffing{}}, Yoshida4, ok, 0, 1, 10, ErrNotSeparable},
		{"n = 0", duffing{}, RK4, ok, 0, 1, 0, ErrBadInput},
		{"n < 0", duffing{}, RK4, ok, 0, 1, -3, ErrBadInput},
		{"t1 = t0", duffing{}, RK4, ok, 1, 1, 10, ErrBadInput},
		{"t1 < t0", duffing{}, RK4, ok, 1, 0, 10, ErrBadInput},
		{"t0 NaN", duffing{}, RK4, ok, nan, 1, 10, ErrBadInput},
		{"t1 Inf", duffing{}, RK4, ok, 0, inf, 10, ErrBadInput},
		{"short z0", duffing{}, RK4, []float64{1}, 0, 1, 10, ErrBadInput},
		{"long z0", duffing{}, RK4, []float64{1, 2, 3}, 0, 1, 10, ErrBadInput},
		{"nil z0", duffing{}, RK4, nil, 0, 1, 10, ErrBadInput},
		{"NaN z0", duffing{}, RK4, []float64{nan, 0}, 0, 1, 10, ErrBadInput},
		{"Inf z0", duffing{}, SymplecticEuler, []float64{0, -inf}, 0, 1, 10, ErrBadInput},
	} {
		tr, err := Fixed(c.sys, c.m, c.z0, c.t0, c.t1, c.n)
		if !errors.Is(err, c.want) || tr != nil {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}

	s, err := NewStepper(duffing{}, RK4)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		dst, z []float64
		h      float64
	}{
		{"short dst", make([]float64, 1), ok, 0.1},
		{"long z", make([]float64, 2), []float64{1, 2, 3}, 0.1},
		{"NaN h", make([]float64, 2), ok, nan},
		{"Inf h", make([]float64, 2), ok, -inf},
	} {
		if err := s.Step(c.dst, c.z, c.h); !errors.Is(err, ErrBadInput) {
			t.Errorf("Step %s: err = %v, want ErrBadInput", c.name, err)
		}
	}
	var zero Stepper
	for _, z := range [][]float64{nil, ok} {
		if err := zero.Step(z, z, 0.1); !errors.Is(err, ErrBadInput) {
			t.Errorf("zero Stepper, len(z) = %d: err = %v, want ErrBadInput", len(z), err)
		}
	}
}

func TestFixedTimes(t *testing.T) {
	tr, err := Fixed(duffing{}, StormerVerlet, []float64{1.3, 1}, 0.5, 4*math.Pi, 70)
	if err != nil {
		t.Fatal(err)
	}
	if r, c := tr.Z.Dims(); r != 71 || c != 2 || len(tr.T) != 71 {
		t.Fatalf("got %d times and %d×%d states, want 71 and 71×2", len(tr.T), r, c)
	}
	if tr.T[0] != 0.5 || tr.T[70] != 4*math.Pi || tr.Z.At(0, 0) != 1.3 || tr.Z.At(0, 1) != 1 {
		t.Errorf("T = %v, first state %v", tr.T, tr.Z.RawRowView(0))
	}
	if tr.Stats.Steps != 70 || tr.Stats.Evaluations != 70*3 {
		t.Errorf("stats %+v, want 70 steps and 210 evaluations", tr.Stats)
	}
}
