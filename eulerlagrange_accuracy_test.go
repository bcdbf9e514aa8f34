package hnnsolve_test

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"

	"hnnsolve"
	"hnnsolve/integrate"
)

func cst(v float64) *gorgonia.Node { return gorgonia.NewConstant(v) }
func sqr(n *gorgonia.Node) *gorgonia.Node {
	return gorgonia.Must(gorgonia.Square(n))
}
func mul(a, b *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.HadamardProd(a, b)) }

// magneticLagrangian is a unit charge of unit mass in the uniform field
// B ẑ, symmetric gauge A = B/2 (-y, x): L = |v|²/2 + B/2 (x v_y - y v_x).
func magneticLagrangian(b float64) hnnsolve.Lagrangian {
	return func(q, v []*gorgonia.Node) (*gorgonia.Node, error) {
		kin := mul(cst(0.5), gorgonia.Must(gorgonia.Add(sqr(v[0]), sqr(v[1]))))
		a := gorgonia.Must(gorgonia.Sub(mul(q[0], v[1]), mul(q[1], v[0])))
		return gorgonia.Add(kin, mul(cst(b/2), a))
	}
}

// relativisticOscillator is L = -sqrt(1 - v²) - x²/2 (c = m = k = 1).
func relativisticOscillator(q, v []*gorgonia.Node) (*gorgonia.Node, error) {
	g := gorgonia.Must(gorgonia.Sqrt(gorgonia.Must(gorgonia.Sub(cst(1), sqr(v[0])))))
	return gorgonia.Sub(gorgonia.Must(gorgonia.Neg(g)), mul(cst(0.5), sqr(q[0])))
}

// elAccuracy returns the max |ẑ - z| of sol over n+1 times against ref(t)
// (len 2d), and the max |E - E0|.
func elAccuracy(sol *hnnsolve.Solution, n int, ref func(i int, t float64) []float64) (maxErr, maxDE float64) {
	p := sol.Problem()
	ts := make([]float64, n+1)
	for i := range ts {
		ts[i] = p.T0 + (p.T-p.T0)*float64(i)/float64(n)
	}
	got := sol.Trajectory(ts)
	e := sol.Energy(ts)
	for i, t := range ts {
		want := ref(i, t)
		for j := range want {
			maxErr = math.Max(maxErr, math.Abs(got.At(i, j)-want[j]))
		}
		maxDE = math.Max(maxDE, math.Abs(e[i]-sol.E0()))
	}
	return maxErr, maxDE
}

// TestEulerLagrangeExamples: general Lagrangians trained with the accurate
// recipe (chains of 2×8 networks on segments of 0.5, Adam then
// Levenberg-Marquardt, retries): a charged particle in a uniform magnetic
// field against its exact circular orbit, and the relativistic oscillator
// against DOP853, both over [0, 4π] to the 1e-5. The reduced
// version (two segments, fewer steps) always runs.
func TestEulerLagrangeExamples(t *testing.T) {
	const b = 1.0
	circle := func(_ int, t float64) []float64 { // q0 = (1, 0), v0 = (0, -1): x = cos bt, y = -sin bt
		s, c := math.Sincos(b * t)
		return []float64{c, -s, -s, -c}
	}
	full := !testing.Short()
	t1 := 4 * math.Pi
	set := &hnnsolve.Settings{Points: 50, Hidden: []int{8, 8}, Epochs: 2000, Beta1: 0.9, Beta2: 0.999,
		LearnRateFinal: 1e-4, LM: 400, RefinePoints: 100, Retries: 5, RetryLoss: 1e-10,
		Segments: int(math.Round(t1 / 0.5)), Seed: 1}
	want := 1e-5
	if !full {
		t1, set.Segments, set.Epochs, set.LM, set.Retries, want = 1, 2, 500, 100, 0, 1e-4
	}
	// Charged particle.
	mag := hnnsolve.LagrangianProblem{L: magneticLagrangian(b), Q0: []float64{1, 0}, V0: []float64{0, -1}, T: t1}
	sol, err := hnnsolve.SolveLagrangian(mag, set)
	if err != nil {
		t.Fatal(err)
	}
	maxErr, maxDE := elAccuracy(sol, int(20*t1), circle)
	res := sol.Residual([]float64{0, t1 / 3, t1})
	t.Logf("magnetic field: max |ẑ - z| = %.3g (exact circle), max |E - E0| = %.3g, residual %.3g, trained in %v", maxErr, maxDE, res, sol.TrainTime)
	if !(maxErr <= want) {
		t.Errorf("magnetic field: max error %.3g, want <= %.0e", maxErr, want)
	}
	if sol.Formulation() != "euler-lagrange" || math.Abs(sol.E0()-0.5) > 1e-15 {
		t.Errorf("formulation %q, E0 = %v (want 1/2)", sol.Formulation(), sol.E0())
	}
	// Relativistic oscillator: y = (x, v), ẋ = v, v̇ = -x (1 - v²)^(3/2).
	rel := hnnsolve.LagrangianProblem{L: relativisticOscillator, Q0: []float64{1}, V0: []float64{0}, T: t1}
	sol, err = hnnsolve.SolveLagrangian(rel, set)
	if err != nil {
		t.Fatal(err)
	}
	n := int(20 * t1)
	ts := make([]float64, n+1)
	for i := range ts {
		ts[i] = t1 * float64(i) / float64(n)
	}
	ref, err := integrate.SolveODE(func(dst []float64, _ float64, y []float64) {
		dst[0], dst[1] = y[1], -y[0]*math.Pow(1-y[1]*y[1], 1.5)
	}, []float64{1, 0}, ts, &integrate.AdaptiveSettings{RTol: 1e-12, ATol: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	maxErr, maxDE = elAccuracy(sol, n, func(i int, _ float64) []float64 { return ref.Z.RawRowView(i) })
	t.Logf("relativistic oscillator: max |ẑ - z| = %.3g (DOP853), max |E - E0| = %.3g (E0 = %v), trained in %v", maxErr, maxDE, sol.E0(), sol.TrainTime)
	if !(maxErr <= want) {
		t.Errorf("relativistic oscillator: max error %.3g, want <= %.0e", maxErr, want)
	}
	if math.Abs(sol.E0()-1.5) > 1e-15 {
		t.Errorf("E0 = %v, want γ + x²/2 = 1.5", sol.E0())
	}
	if _, err := sol.Analyze(nil); err == nil {
		t.Error("Analyze of a general Lagrangian: no error")
	}
}
