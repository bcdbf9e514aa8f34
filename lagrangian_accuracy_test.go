package hnnsolve_test

import (
	"math"
	"testing"

	"hnnsolve"
	"hnnsolve/systems"
)

// lagrangianCase is a paper system solved both ways.
type lagrangianCase struct {
	name string
	sys  systems.System // a systems.Mechanical
	z0   []float64
	t1   float64
}

var (
	lagOsc = lagrangianCase{"oscillator [0, 4π]", systems.NewNonlinearOscillator(), []float64{1.3, 1}, 4 * math.Pi}
	lagHH  = lagrangianCase{"Hénon-Heiles [0, 6π]", systems.HenonHeiles{}, []float64{0.3, -0.3, 0.3, 0.15}, 6 * math.Pi}
)

// solveBoth solves c with Solve and with SolveLagrangian at the same
// settings and returns both max errors against DOP853 (20 points per unit
// time) and the Lagrangian Solution.
func solveBoth(t *testing.T, c lagrangianCase, set hnnsolve.Settings) (errH, errL float64, solL *hnnsolve.Solution) {
	t.Helper()
	d := len(c.z0) / 2
	h, err := hnnsolve.Solve(hnnsolve.Problem{H: c.sys.Hamiltonian(), Z0: c.z0, T: c.t1}, &set)
	if err != nil {
		t.Fatalf("%s: Solve: %v", c.name, err)
	}
	lp := hnnsolve.LagrangianProblem{V: c.sys.(systems.Mechanical).Potential(), Q0: c.z0[:d], V0: c.z0[d:], T: c.t1}
	l, err := hnnsolve.SolveLagrangian(lp, &set)
	if err != nil {
		t.Fatalf("%s: SolveLagrangian: %v", c.name, err)
	}
	n := int(20 * c.t1)
	errH, _, _ = accuracy(t, h, c.sys, n)
	errL, _, _ = accuracy(t, l, c.sys, n)
	t.Logf("%s, seed %d: Hamiltonian max error %.3g (trained in %v), Lagrangian %.3g (%v)",
		c.name, set.Seed, errH, h.TrainTime, errL, l.TrainTime)
	return errH, errL, l
}

// TestLagrangianMatchesHamiltonian (reduced size, always run): chains of
// eight 2×8 networks (K = 40 per segment, 2000 Adam epochs and 100
// Levenberg-Marquardt steps each) on the paper's oscillator over [0, 4π]
// and Hénon-Heiles over [0, 6π], two seeds each: the Lagrangian
// formulation's worse max error is within 2× of the Hamiltonian one's
// (measured: oscillator 4.5e-4 and 1.6e-4 against 2.2e-4 and 2.7e-4,
// Hénon-Heiles 1.9e-5 and 1.3e-5 against 8.0e-5 and 2.4e-5).
func TestLagrangianMatchesHamiltonian(t *testing.T) {
	for _, c := range []struct {
		lagrangianCase
		lambda float64
	}{{lagOsc, 1}, {lagHH, 0}} {
		worstH, worstL := 0.0, 0.0
		for _, seed := range []int64{1, 2} {
			set := hnnsolve.Settings{Points: 40, Hidden: []int{8, 8}, Epochs: 2000, LM: 100, RefinePoints: 80, Beta1: 0.9, Beta2: 0.999,
				LearnRateFinal: 1e-4, Energy: c.lambda, Seed: seed, Segments: 8}
			errH, errL, _ := solveBoth(t, c.lagrangianCase, set)
			worstH, worstL = math.Max(worstH, errH), math.Max(worstL, errL)
		}
		if !(worstL <= 2*worstH) {
			t.Errorf("%s: Lagrangian max error %.3g, Hamiltonian %.3g: want within 2×", c.name, worstL, worstH)
		}
	}
}

// TestLagrangianPaper: the paper's network, points and epochs (Sec. III:
// 2×50, K = 200 and 5e4 epochs for the oscillator, K = 100 and 3e4 for
// Hénon-Heiles; Adam 8e-3, betas 0.999/0.9999, λ = 0, seed 0), both
// formulations: the Lagrangian max error within 2× of the Hamiltonian's.
func TestLagrangianPaper(t *testing.T) {
	skipLong(t)
	for _, c := range []struct {
		lagrangianCase
		points, epochs int
	}{{lagOsc, 200, 50000}, {lagHH, 100, 30000}} {
		set := hnnsolve.DefaultSettings()
		set.Points, set.Epochs = c.points, c.epochs
		errH, errL, _ := solveBoth(t, c.lagrangianCase, set)
		if !(errL <= 2*errH) {
			t.Errorf("%s: Lagrangian max error %.3g, Hamiltonian %.3g: want within 2×", c.name, errL, errH)
		}
	}
}

// TestLagrangianAccurate: the former fixed recipe of `reproduce -accurate`
// (accurateSettings: chains of 2×8 networks on segments of 0.5, Adam then
// Levenberg-Marquardt, retries) for the Lagrangian formulation reaches the
// issue's 1e-5 on the oscillator over [0, 4π] and Hénon-Heiles over
// [0, 6π] against DOP853.
func TestLagrangianAccurate(t *testing.T) {
	skipLong(t)
	for _, c := range []struct {
		lagrangianCase
		lm     int
		lambda float64
	}{{lagOsc, 800, 1}, {lagHH, 400, 0}} {
		set := accurateSettings(0, c.t1, 0.5, 2000, c.lm, 5, c.lambda)
		d := len(c.z0) / 2
		lp := hnnsolve.LagrangianProblem{V: c.sys.(systems.Mechanical).Potential(), Q0: c.z0[:d], V0: c.z0[d:], T: c.t1}
		sol, err := hnnsolve.SolveLagrangian(lp, set)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		maxErr, maxDH, _ := accuracy(t, sol, c.sys, int(20*c.t1))
		t.Logf("%s: Lagrangian, accurate recipe: max |ẑ - z| = %.3g, max |H - E0| = %.3g, trained in %v", c.name, maxErr, maxDH, sol.TrainTime)
		if !(maxErr <= 1e-5) {
			t.Errorf("%s: max error %.3g, want <= 1e-5", c.name, maxErr)
		}
	}
}
