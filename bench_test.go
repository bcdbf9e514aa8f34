package hnnsolve

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

// BenchmarkEpoch measures one training epoch (perturb the points, loss and
// gradient through the graph, Adam step) of the nonlinear oscillator at the
// paper's size (K = 200, 2×50) and a larger one (K = 2000, 2×128), for the
// fused network Op (the training path) and the plain graph (the reference);
// and the same epoch of the Lagrangian formulation (Eq. 11-12, V = x²/2 +
// x⁴/4) on its fused second-order Op ("lagrangian") and its plain graph
// ("lagrangian-plain"), for the paper's cost ratio (README).
func BenchmarkEpoch(b *testing.B) {
	for _, c := range []struct {
		k      int
		hidden []int
	}{{200, []int{50, 50}}, {2000, []int{128, 128}}} {
		for _, fused := range []bool{true, false} {
			path := map[bool]string{true: "fused", false: "graph"}[fused]
			b.Run(fmt.Sprintf("K=%d/%dx%d/%s", c.k, len(c.hidden), c.hidden[0], path), func(b *testing.B) {
				benchmarkEpoch(b, benchTrainer(b, c.k, c.hidden, fused, 1))
			})
		}
		for _, fused := range []bool{true, false} {
			path := map[bool]string{true: "lagrangian", false: "lagrangian-plain"}[fused]
			b.Run(fmt.Sprintf("K=%d/%dx%d/%s", c.k, len(c.hidden), c.hidden[0], path), func(b *testing.B) {
				benchmarkEpoch(b, benchLagrangianTrainer(b, c.k, c.hidden, fused, 1))
			})
		}
	}
}

func benchmarkEpoch(b *testing.B, tr *cpuTrainer) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tr.loss(); err != nil {
			b.Fatal(err)
		}
		if err := tr.step(i); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/epoch")
}

// benchTrainer is a trainer for the nonlinear oscillator at the paper's
// settings, K points and the hidden widths given.
func benchTrainer(b *testing.B, k int, hidden []int, fused bool, seed uint64) *cpuTrainer {
	p := Problem{H: oscillatorH, Z0: []float64{1.3, 1}, T: 4 * math.Pi}
	set, err := (&Settings{Points: k, Hidden: hidden}).resolve(p)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	net := newNetwork(set.Hidden, 2, set.Activation)
	net.init(rng)
	lg, err := buildLossGraph(p.H, p.Z0, net, k, 0, 0, true, fused)
	if err != nil {
		b.Fatal(err)
	}
	return newCPUTrainer(lg, net, set, p.T0, p.T, rng, math.MaxInt)
}

// benchLagrangianTrainer is benchTrainer for the Lagrangian formulation of
// the same oscillator (one network output).
func benchLagrangianTrainer(b *testing.B, k int, hidden []int, fused bool, seed uint64) *cpuTrainer {
	lp := LagrangianProblem{V: oscillatorV, Q0: []float64{1.3}, V0: []float64{1}, T: 4 * math.Pi}
	p, set, err := lp.prepare(&Settings{Points: k, Hidden: hidden})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	net := newNetwork(set.Hidden, 1, set.Activation)
	net.init(rng)
	lg, err := buildLagrangianLoss(p.H, p.Z0, net, k, 0, 0, true, fused)
	if err != nil {
		b.Fatal(err)
	}
	return newCPUTrainer(lg, net, set, p.T0, p.T, rng, math.MaxInt)
}

// BenchmarkEpochParallel: a sweep's throughput, one network per goroutine
// (GOMAXPROCS of them, set with -cpu), at the paper's size. ns/epoch is the
// wall time per epoch of all networks together.
func BenchmarkEpochParallel(b *testing.B) {
	var seed atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		tr := benchTrainer(b, 200, []int{50, 50}, true, seed.Add(1))
		for i := 0; pb.Next(); i++ {
			if _, err := tr.loss(); err != nil {
				b.Error(err)
				return
			}
			if err := tr.step(i); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/epoch")
}

// TestEpochAllocatesNothing: in steady state a training epoch (perturb,
// loss and gradient, Adam step) allocates nothing, for the paper's systems.
func TestEpochAllocatesNothing(t *testing.T) {
	for _, c := range []struct {
		name string
		h    Hamiltonian
		z0   []float64
		lam  float64
	}{
		{"oscillator", oscillatorH, []float64{1.3, 1}, 0},
		{"henon-heiles+energy", henonHeilesH, []float64{0.3, -0.3, 0.3, 0.15}, 0.5},
	} {
		p := Problem{H: c.h, Z0: c.z0, T: 6}
		set, err := (&Settings{Points: 50, Hidden: []int{16, 16}, Energy: c.lam, LearnRateFinal: 1e-4}).resolve(p)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		net := newNetwork(set.Hidden, len(c.z0), set.Activation)
		net.init(rng)
		lg, err := buildLossGraph(p.H, p.Z0, net, set.Points, set.Energy, 0.1, true, true)
		if err != nil {
			t.Fatal(err)
		}
		// Keep every improving epoch: the copy of the weights must not
		// allocate either.
		tr := newCPUTrainer(lg, net, set, p.T0, p.T, rng, 0)
		losses := make([]float64, 100)
		epoch := 0
		allocs := testing.AllocsPerRun(50, func() {
			if _, err := tr.Run(context.Background(), epoch, epoch+1, 0, losses); err != nil {
				t.Fatal(err)
			}
			epoch++
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per epoch, want 0", c.name, allocs)
		}
	}
}
