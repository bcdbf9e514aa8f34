package integrate

import (
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestDOP853Coefficients checks the simplifying and quadrature conditions
// of the tableau: Σ_j a_ij = c_i for every stage, Σ b_i c_i^{k-1} = 1/k for
// k = 1..8, and Σ E_i = 0 for both error estimators.
func TestDOP853Coefficients(t *testing.T) {
	for i := 1; i < 16; i++ {
		var s float64
		for j := 0; j < i; j++ {
			s += dopA[i][j]
		}
		if math.Abs(s-dopC[i]) > 1e-14 {
			t.Errorf("row %d: Σ a = %v, c = %v", i, s, dopC[i])
		}
		for j := i; j < 16; j++ {
			if dopA[i][j] != 0 {
				t.Errorf("a[%d][%d] = %v, want 0 (explicit method)", i, j, dopA[i][j])
			}
		}
	}
	for k := 1; k <= 8; k++ {
		var s float64
		for i := 0; i < 12; i++ {
			s += dopA[12][i] * math.Pow(dopC[i], float64(k-1))
		}
		if math.Abs(s-1/float64(k)) > 1e-14 {
			t.Errorf("Σ b c^%d = %v, want 1/%d", k-1, s, k)
		}
	}
	// Σ b_i a_ij c_j = 1/6 and Σ b_i c_i a_ij c_j² = 1/15 (two non-bushy trees).
	var s1, s2 float64
	for i := 0; i < 12; i++ {
		for j := 0; j < i; j++ {
			s1 += dopA[12][i] * dopA[i][j] * dopC[j]
			s2 += dopA[12][i] * dopC[i] * dopA[i][j] * dopC[j] * dopC[j]
		}
	}
	if math.Abs(s1-1.0/6) > 1e-14 || math.Abs(s2-1.0/15) > 1e-14 {
		t.Errorf("Σ b a c = %v (want 1/6), Σ b c a c² = %v (want 1/15)", s1, s2)
	}
	// The embedded solutions are of orders 3 and 5, so the differences
	// E3 and E5 integrate polynomials of degree 2 and 4 to zero.
	for k := 1; k <= 5; k++ {
		var e3, e5 float64
		for i := 0; i < 12; i++ {
			ck := math.Pow(dopC[i], float64(k-1))
			e3 += dopE3[i] * ck
			e5 += dopE5[i] * ck
		}
		if k <= 3 && math.Abs(e3) > 1e-14 {
			t.Errorf("Σ E3 c^%d = %v, want 0", k-1, e3)
		}
		if math.Abs(e5) > 1e-14 {
			t.Errorf("Σ E5 c^%d = %v, want 0", k-1, e5)
		}
	}
}

// TestDOP853Quadrature checks that on y' = g(t) the steps integrate
// polynomials of degree 7 and the dense output those of degree 6 exactly.
func TestDOP853Quadrature(t *testing.T) {
	for _, deg := range []int{6, 7} {
		f := func(dst []float64, t float64, _ []float64) { dst[0] = math.Pow(t, float64(deg)) }
		s := &AdaptiveSettings{RTol: 1, ATol: 1, InitialStep: 0.5, MaxStep: 0.5}
		ts := []float64{0, 0.5, 0.6, 0.75, 1.0, 1.3, 1.5}
		tr, err := SolveODE(f, []float64{0}, ts, s)
		if err != nil {
			t.Fatal(err)
		}
		for i, ti := range ts {
			want := math.Pow(ti, float64(deg+1)) / float64(deg+1)
			got := tr.Z.At(i, 0)
			onStep := math.Mod(ti, 0.5) == 0
			if deg == 7 && !onStep {
				continue
			}
			if math.Abs(got-want) > 1e-14*math.Max(1, want) {
				t.Errorf("y' = t^%d: y(%v) = %v, want %v", deg, ti, got, want)
			}
		}
	}
}

func maxErr(tr *Trajectory, exact func(t float64) []float64) float64 {
	var e float64
	for i, ti := range tr.T {
		for j, v := range exact(ti) {
			e = math.Max(e, math.Abs(tr.Z.At(i, j)-v))
		}
	}
	return e
}

func linspace(a, b float64, n int) []float64 {
	ts := make([]float64, n)
	for i := range ts {
		ts[i] = a + (b-a)*float64(i)/float64(n-1)
	}
	ts[n-1] = b
	return ts
}

// TestAdaptiveHarmonic integrates five periods of the harmonic oscillator
// at RTol = ATol = 1e-12 (the defaults): max error about 2e-13 (6e-12 with
// PerStep).
func TestAdaptiveHarmonic(t *testing.T) {
	ho := harmonic{w: 1.5}
	z0 := []float64{0.7, -0.4}
	period := 2 * math.Pi / ho.w
	exact := func(t float64) []float64 { q, p := ho.exact(z0, t); return []float64{q, p} }
	for _, n := range []int{2, 501} {
		for _, s := range []*AdaptiveSettings{nil, {RTol: 1e-12, ATol: 1e-12}} {
			tr, err := Adaptive(ho, z0, linspace(0, 5*period, n), s)
			if err != nil {
				t.Fatal(err)
			}
			e := maxErr(tr, exact)
			t.Logf("harmonic oscillator, 5 periods, %d outputs: max error %.3g, %+v", n, e, tr.Stats)
			if e > 1e-11 {
				t.Errorf("max error %g, want <= 1e-11", e)
			}
		}
	}
	// Many periods: the per-step tolerance stays at its round-off floor
	// 100ε rather than falling with h/(t_end - t_0), and the integration
	// succeeds.
	tr, err := Adaptive(ho, z0, linspace(0, 200*period, 201), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := maxErr(tr, exact)
	t.Logf("harmonic oscillator, 200 periods: max error %.3g, %+v", e, tr.Stats)
	if e > 1e-10 {
		t.Errorf("200 periods: max error %g", e)
	}
}

// TestAdaptiveKepler integrates one period of the Kepler orbit of
// eccentricity 0.5. At RTol = ATol = 1e-12 the default error control holds
// the max error to about 2e-12. Hairer's per-step control (PerStep) bounds
// only the error of each step, and its 60 steps and the pericentre passage
// make the global error about 100 times the tolerance, 1.4e-10, as with
// dop853 and scipy. A tolerance of 1e-14 is raised to 100ε ≈ 2.2e-14 and
// gives about 2e-12 in both controls.
func TestAdaptiveKepler(t *testing.T) {
	z0, exact := keplerOrbit(0.5)
	for _, c := range []struct {
		tol       float64
		perStep   bool
		min, want float64 // range of the max error
	}{
		{1e-12, false, 0, 1e-11},
		{1e-12, true, 3e-11, 3e-10},
		{1e-14, false, 0, 1e-11},
		{1e-14, true, 0, 1e-11},
	} {
		s := &AdaptiveSettings{RTol: c.tol, ATol: c.tol, PerStep: c.perStep}
		tr, err := Adaptive(kepler{}, z0, linspace(0, 2*math.Pi, 201), s)
		if err != nil {
			t.Fatal(err)
		}
		e := maxErr(tr, exact)
		t.Logf("Kepler e = 0.5, one period, tol %.0e, PerStep %v: max error %.3g, %+v", c.tol, c.perStep, e, tr.Stats)
		if e > c.want || e < c.min {
			t.Errorf("tol %g, PerStep %v: max error %g, want in [%g, %g]", c.tol, c.perStep, e, c.min, c.want)
		}
		// The final state is the end of a step, not an interpolation:
		// back at the pericentre.
		for j, v := range z0 {
			if d := math.Abs(tr.Z.At(200, j) - v); d > c.want {
				t.Errorf("tol %g: final state component %d off by %g", c.tol, j, d)
			}
		}
	}
	// Circular orbit.
	z0, exact = keplerOrbit(0)
	tr, err := Adaptive(kepler{}, z0, linspace(0, 2*math.Pi, 201), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := maxErr(tr, exact)
	t.Logf("Kepler e = 0, one period, tol 1e-12: max error %.3g, %+v", e, tr.Stats)
	if e > 1e-12 {
		t.Errorf("circular orbit: max error %g", e)
	}
}

// TestAdaptiveRTolFloor checks that an RTol below 100ε is raised to it, in
// both error controls.
func TestAdaptiveRTolFloor(t *testing.T) {
	z0, _ := keplerOrbit(0.5)
	ts := []float64{0, 2 * math.Pi}
	for _, perStep := range []bool{false, true} {
		floor, err := Adaptive(kepler{}, z0, ts, &AdaptiveSettings{RTol: 100 * eps, ATol: 1e-14, PerStep: perStep})
		if err != nil {
			t.Fatal(err)
		}
		for _, rtol := range []float64{1e-15, 1e-20, 5e-324} {
			tr, err := Adaptive(kepler{}, z0, ts, &AdaptiveSettings{RTol: rtol, ATol: 1e-14, PerStep: perStep})
			if err != nil {
				t.Fatalf("RTol %g, PerStep %v: %v", rtol, perStep, err)
			}
			if tr.Stats != floor.Stats || !mat.Equal(tr.Z, floor.Z) {
				t.Errorf("RTol %g, PerStep %v: %+v, want %+v as at 100ε", rtol, perStep, tr.Stats, floor.Stats)
			}
		}
	}
}

// TestAdaptiveTolerance checks that the error on the circular Kepler orbit
// is proportional to the tolerance.
func TestAdaptiveTolerance(t *testing.T) {
	z0, exact := keplerOrbit(0)
	ts := linspace(0, 2*math.Pi, 51)
	prev := math.Inf(1)
	for _, tol := range []float64{1e-6, 1e-8, 1e-10, 1e-12} {
		tr, err := Adaptive(kepler{}, z0, ts, &AdaptiveSettings{RTol: tol, ATol: tol})
		if err != nil {
			t.Fatal(err)
		}
		e := maxErr(tr, exact)
		t.Logf("tol %.0e: max error %.3g, %d steps, %d rejected, %d evaluations", tol, e, tr.Stats.Steps, tr.Stats.Rejected, tr.Stats.Evaluations)
		if e > 20*tol || e >= prev {
			t.Errorf("tol %g: error %g (previous %g)", tol, e, prev)
		}
		prev = e
	}
}

// TestDOP853Order runs DOP853 with fixed steps (tolerance never binding)
// on the circular Kepler orbit and checks the order 8 of the steps and of
// the dense output at the step midpoints.
func TestDOP853Order(t *testing.T) {
	z0, exact := keplerOrbit(0)
	ns := []int{10, 14, 20, 28, 40}
	var hs, es, ds []float64
	for _, n := range ns {
		h := 2 * math.Pi / float64(n)
		// Output at the step ends and at the midpoints.
		ts := linspace(0, 2*math.Pi, 2*n+1)
		s := &AdaptiveSettings{RTol: 1e3, ATol: 1e3, InitialStep: h, MaxStep: h}
		tr, err := Adaptive(kepler{}, z0, ts, s)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Stats.Steps != n || tr.Stats.Rejected != 0 {
			t.Fatalf("n = %d: %+v, want n steps", n, tr.Stats)
		}
		var eEnd, eMid float64
		for i, ti := range tr.T {
			for j, v := range exact(ti) {
				d := math.Abs(tr.Z.At(i, j) - v)
				if i%2 == 0 {
					eEnd = math.Max(eEnd, d)
				} else {
					eMid = math.Max(eMid, d)
				}
			}
		}
		hs, es, ds = append(hs, h), append(es, eEnd), append(ds, eMid)
	}
	p, pd := slope(hs, es), slope(hs, ds)
	t.Logf("fixed h: step errors %.3g, order %.2f; dense output errors %.3g, order %.2f", es, p, ds, pd)
	if p < 7.6 || p > 8.6 {
		t.Errorf("order %.2f, want 8", p)
	}
	if pd < 7 {
		t.Errorf("dense output order %.2f, want >= 7", pd)
	}
}

// TestSolveODETimeDependent solves y' = -2ty, y(0) = 1 (y = exp(-t²)) and
// the oscillator written as a general ODE.
func TestSolveODETimeDependent(t *testing.T) {
	f := func(dst []float64, t float64, y []float64) { dst[0] = -2 * t * y[0] }
	ts := linspace(0, 3, 31)
	tr, err := SolveODE(f, []float64{1}, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	var e float64
	for i, ti := range ts {
		e = math.Max(e, math.Abs(tr.Z.At(i, 0)-math.Exp(-ti*ti)))
	}
	t.Logf("y' = -2ty: max error %.3g, %+v", e, tr.Stats)
	if e > 5e-11 {
		t.Errorf("max error %g", e)
	}
	// A start time other than zero.
	tr, err = SolveODE(f, []float64{math.Exp(-1)}, []float64{1, 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(tr.Z.At(1, 0) - math.Exp(-4)); d > 1e-13 {
		t.Errorf("y(2) off by %g", d)
	}
}

func TestAdaptiveFailures(t *testing.T) {
	// y' = y², y(0) = 1 blows up at t = 1.
	blowup := func(dst []float64, _ float64, y []float64) { dst[0] = y[0] * y[0] }
	_, err := SolveODE(blowup, []float64{1}, []float64{0, 2}, nil)
	if !errors.Is(err, ErrStepSize) {
		t.Errorf("blow-up: err = %v, want ErrStepSize", err)
	}
	_, err = SolveODE(blowup, []float64{1}, []float64{0, 0.9}, &AdaptiveSettings{RTol: 1e-12, ATol: 1e-12, MaxSteps: 5})
	if !errors.Is(err, ErrMaxSteps) {
		t.Errorf("MaxSteps: err = %v, want ErrMaxSteps", err)
	}
	nan := func(dst []float64, _ float64, _ []float64) { dst[0] = math.NaN() }
	_, err = SolveODE(nan, []float64{1}, []float64{0, 1}, nil)
	if !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN f: err = %v, want ErrNonFinite", err)
	}
	// NaN away from the start: steps are rejected until the step collapses.
	nanLater := func(dst []float64, t float64, _ []float64) {
		dst[0] = 1
		if t > 0.5 {
			dst[0] = math.NaN()
		}
	}
	_, err = SolveODE(nanLater, []float64{1}, []float64{0, 1}, nil)
	if !errors.Is(err, ErrStepSize) {
		t.Errorf("NaN later: err = %v, want ErrStepSize", err)
	}
}

func TestAdaptiveBadInput(t *testing.T) {
	f := func(dst []float64, _ float64, y []float64) { dst[0] = -y[0] }
	nan, inf := math.NaN(), math.Inf(1)
	good := []float64{0, 1}
	for _, c := range []struct {
		name string
		f    func(dst []float64, t float64, y []float64)
		y0   []float64
		ts   []float64
		s    *AdaptiveSettings
	}{
		{"nil f", nil, []float64{1}, good, nil},
		{"empty y0", f, nil, good, nil},
		{"NaN y0", f, []float64{nan}, good, nil},
		{"Inf y0", f, []float64{-inf}, good, nil},
		{"no times", f, []float64{1}, nil, nil},
		{"one time", f, []float64{1}, []float64{0}, nil},
		{"equal times", f, []float64{1}, []float64{0, 1, 1}, nil},
		{"decreasing times", f, []float64{1}, []float64{1, 0}, nil},
		{"NaN time", f, []float64{1}, []float64{0, nan}, nil},
		{"Inf time", f, []float64{1}, []float64{0, inf}, nil},
		{"zero settings", f, []float64{1}, good, &AdaptiveSettings{}},
		{"RTol 0", f, []float64{1}, good, &AdaptiveSettings{RTol: 0, ATol: 1e-9}},
		{"ATol < 0", f, []float64{1}, good, &AdaptiveSettings{RTol: 1e-9, ATol: -1}},
		{"RTol NaN", f, []float64{1}, good, &AdaptiveSettings{RTol: nan, ATol: 1e-9}},
		{"ATol Inf", f, []float64{1}, good, &AdaptiveSettings{RTol: 1e-9, ATol: inf}},
		{"MaxSteps < 0", f, []float64{1}, good, &AdaptiveSettings{RTol: 1e-9, ATol: 1e-9, MaxSteps: -1}},
		{"InitialStep < 0", f, []float64{1}, good, &AdaptiveSettings{RTol: 1e-9, ATol: 1e-9, InitialStep: -0.1}},
		{"MaxStep NaN", f, []float64{1}, good, &AdaptiveSettings{RTol: 1e-9, ATol: 1e-9, MaxStep: nan}},
	} {
		tr, err := SolveODE(c.f, c.y0, c.ts, c.s)
		if !errors.Is(err, ErrBadInput) || tr != nil {
			t.Errorf("%s: err = %v, want ErrBadInput", c.name, err)
		}
	}
	for _, c := range []struct {
		name string
		sys  System
		z0   []float64
	}{
		{"nil system", nil, []float64{1, 0}},
		{"odd dimension", odd{}, []float64{1, 0, 0}},
		{"short z0", duffing{}, []float64{1}},
		{"NaN z0", duffing{}, []float64{1, nan}},
	} {
		tr, err := Adaptive(c.sys, c.z0, good, nil)
		if !errors.Is(err, ErrBadInput) || tr != nil {
			t.Errorf("Adaptive %s: err = %v, want ErrBadInput", c.name, err)
		}
	}
}
