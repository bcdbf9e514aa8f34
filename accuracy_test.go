package hnnsolve_test

import (
	"math"
	"testing"

	"hnnsolve"
	"hnnsolve/integrate"
	"hnnsolve/systems"
)

// accuracy returns the max |ẑ - z| over n+1 equally spaced times of the
// solution's interval against DOP853 at rtol = atol = 1e-12 (~1e-11 itself),
// the max |H(ẑ) - E0|, and the mean square residual on the same grid.
func accuracy(t *testing.T, sol *hnnsolve.Solution, sys systems.System, n int) (maxErr, maxDH, meanRes2 float64) {
	t.Helper()
	p := sol.Problem()
	ts := make([]float64, n+1)
	for i := range ts {
		ts[i] = p.T0 + (p.T-p.T0)*float64(i)/float64(n)
	}
	ref, err := integrate.Adaptive(sys, p.Z0, ts, &integrate.AdaptiveSettings{RTol: 1e-12, ATol: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	got := sol.Trajectory(ts)
	energy := sol.Energy(ts)
	res := sol.Residual(ts)
	e0 := sys.Energy(p.Z0)
	for i := range ts {
		for j := range p.Z0 {
			maxErr = math.Max(maxErr, math.Abs(got.At(i, j)-ref.Z.At(i, j)))
		}
		maxDH = math.Max(maxDH, math.Abs(energy[i]-e0))
		meanRes2 += res[i] * res[i] / float64(len(ts))
	}
	return maxErr, maxDH, meanRes2
}

func skipLong(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("long training: skipped in -short and -race runs")
	}
}

// TestLBFGSImprovesOnAdam: at reduced size (oscillator on [0, 3], 2×16),
// L-BFGS after Adam lowers both the loss (measured as the mean |ℓ|² on a
// dense grid, not on the points it was fitted on) and the true error at
// least 10-fold against Adam alone, same seed.
func TestLBFGSImprovesOnAdam(t *testing.T) {
	sys := systems.NewNonlinearOscillator()
	p := hnnsolve.Problem{H: sys.Hamiltonian(), Z0: []float64{1.3, 1}, T: 3}
	set := hnnsolve.Settings{Points: 60, Hidden: []int{16, 16}, Epochs: 3000, Beta1: 0.9, Beta2: 0.999,
		LearnRateFinal: 1e-4, Seed: 1}
	adam, err := hnnsolve.Solve(p, &set)
	if err != nil {
		t.Fatal(err)
	}
	set.LBFGS, set.RefinePoints = 1500, 240
	refined, err := hnnsolve.Solve(p, &set)
	if err != nil {
		t.Fatal(err)
	}
	errA, _, resA := accuracy(t, adam, sys, 3000)
	errL, _, resL := accuracy(t, refined, sys, 3000)
	st := refined.Stages[len(refined.Stages)-1]
	t.Logf("Adam: mean |ℓ|² %.3g, max error %.3g (%v); +L-BFGS (%d iterations, %s): %.3g, %.3g (%v)",
		resA, errA, adam.TrainTime, st.Iterations, st.Status, resL, errL, refined.TrainTime)
	if st.Name != "lbfgs" || !(resL <= resA/10) || !(errL <= errA/10) {
		t.Errorf("L-BFGS: loss %.3g -> %.3g, error %.3g -> %.3g; want both 10x lower", resA, resL, errA, errL)
	}
}

// TestChainingBeatsOneNetwork: on [0, 4π] one 2×8 network against a chain of
// 8 such networks, same seed, the single network given more work than the
// whole chain: its 400 points per epoch equal the chain's 8×50 (likewise the
// Levenberg-Marquardt points), and it gets 1.5× the epochs and steps, which
// more than covers the chain's per-segment overhead (the times are logged).
func TestChainingBeatsOneNetwork(t *testing.T) {
	skipLong(t)
	sys := systems.NewNonlinearOscillator()
	p := hnnsolve.Problem{H: sys.Hamiltonian(), Z0: []float64{1.3, 1}, T: 4 * math.Pi}
	set := hnnsolve.Settings{Hidden: []int{8, 8}, Epochs: 2000, Beta1: 0.9, Beta2: 0.999,
		LearnRateFinal: 1e-4, LM: 200, Seed: 1}
	one, chain := set, set
	one.Points, one.RefinePoints = 400, 800
	one.Epochs, one.LM = 3*set.Epochs/2, 3*set.LM/2
	chain.Points, chain.RefinePoints, chain.Segments = 50, 100, 8
	solOne, err := hnnsolve.Solve(p, &one)
	if err != nil {
		t.Fatal(err)
	}
	solChain, err := hnnsolve.Solve(p, &chain)
	if err != nil {
		t.Fatal(err)
	}
	errOne, _, _ := accuracy(t, solOne, sys, 4000)
	errChain, _, _ := accuracy(t, solChain, sys, 4000)
	t.Logf("one network: max error %.3g in %v; chain of 8: %.3g in %v", errOne, solOne.TrainTime, errChain, solChain.TrainTime)
	if !(errChain < errOne/10) {
		t.Errorf("chain %.3g, one network %.3g: want the chain 10x better", errChain, errOne)
	}
}

// accurateSettings is a fixed recipe (the former hand preset of
// `hnnsolve reproduce -accurate`, now TargetError's): chains of 2×8
// networks, Adam then Levenberg-Marquardt, retrying poor segments.
func accurateSettings(t0, t1, segmentLength float64, epochs, lm, retries int, lambda float64) *hnnsolve.Settings {
	return &hnnsolve.Settings{Points: 50, Hidden: []int{8, 8}, Epochs: epochs, Beta1: 0.9, Beta2: 0.999,
		LearnRateFinal: 1e-4, LM: lm, Energy: lambda, RefinePoints: 100, Retries: retries, RetryLoss: 1e-10,
		Segments: int(math.Round((t1 - t0) / segmentLength)), Seed: 1}
}
