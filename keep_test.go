package hnnsolve_test

import (
	"math"
	"testing"

	"hnnsolve"
	"hnnsolve/systems"
)

// closedFormLoss is Eq. 7 at the grid times ts recomputed from the
// Solution's trajectory and velocity and the system's closed-form ∇H,
// independently of the loss graph that training ran.
func closedFormLoss(sol *hnnsolve.Solution, sys systems.System, ts []float64) float64 {
	z, v := sol.Trajectory(ts), sol.Velocity(ts)
	dim := sys.Dim()
	d := dim / 2
	g := make([]float64, dim)
	sum := 0.0
	for k := range ts {
		sys.Gradient(g, z.RawRowView(k))
		for i := range d {
			rq := v.At(k, i) - g[d+i] // q̇ - ∂H/∂p
			rp := v.At(k, d+i) + g[i] // ṗ + ∂H/∂q
			sum += rq*rq + rp*rp
		}
	}
	return sum / float64(len(ts))
}

func grid(t0, t1 float64, k int) []float64 {
	ts := make([]float64, k)
	for i := range ts {
		ts[i] = t0 + (t1-t0)*float64(i)/float64(k-1)
	}
	return ts
}

// TestKeptWeightsGiveRecordedLoss: on fixed times (Perturb < 0) the loss
// recorded at the kept epoch is the loss of the returned network, recomputed
// from the closed-form ∇H: this fails if the loss graph has a wrong sign or
// factor in J∇H, or if the kept weights are not those of BestEpoch (with
// Epochs < 5 no epoch used to be kept, leaving all-zero weights). The 1e-12
// tolerance is rounding in two evaluations of the same sums.
func TestKeptWeightsGiveRecordedLoss(t *testing.T) {
	sys := systems.NewNonlinearOscillator()
	p := hnnsolve.Problem{H: sys.Hamiltonian(), Z0: []float64{1.3, 1}, T: 4}
	for _, epochs := range []int{1, 2, 3, 4, 5, 6, 200} {
		set := &hnnsolve.Settings{Points: 30, Hidden: []int{10, 10}, Epochs: epochs, Perturb: -1, Seed: 2}
		sol, err := hnnsolve.Solve(p, set)
		if err != nil {
			t.Fatal(err)
		}
		loss := sol.Loss()
		b := sol.BestEpoch
		if b < epochs-max(epochs/5, 1) || b >= epochs {
			t.Errorf("Epochs = %d: kept epoch %d, want one of the last 20%% (at least the last)", epochs, b)
		}
		got := closedFormLoss(sol, sys, grid(p.T0, p.T, set.Points))
		if math.Abs(got-loss[b]) > 1e-12*loss[b] {
			t.Errorf("Epochs = %d: returned network's loss %.16g, recorded at the kept epoch %d: %.16g", epochs, got, b, loss[b])
		}
	}
}

// TestHighDimensionTrainsOnTheRightLoss: the FPU chain with N = 128
// (D = 256: network columns up to 511) trains on the loss that its returned
// network has. With gorgonia's Slice for the columns this was 28% off.
func TestHighDimensionTrainsOnTheRightLoss(t *testing.T) {
	sys := systems.FPU{N: 128, Beta: 1}
	z0 := sys.Z0()
	for i := range z0 {
		z0[i] += 0.01 * math.Sin(float64(7*i)) // break the mode's symmetry
	}
	p := hnnsolve.Problem{H: sys.Hamiltonian(), Z0: z0, T: 2}
	set := &hnnsolve.Settings{Points: 6, Hidden: []int{8}, Epochs: 3, Perturb: -1, Seed: 1}
	sol, err := hnnsolve.Solve(p, set)
	if err != nil {
		t.Fatal(err)
	}
	want := sol.Loss()[sol.BestEpoch]
	got := closedFormLoss(sol, sys, grid(p.T0, p.T, set.Points))
	if math.Abs(got-want) > 1e-12*want {
		t.Errorf("N = 128: recomputed loss %.16g, recorded %.16g (relative %.2g)", got, want, math.Abs(got-want)/want)
	}
}
