package hnnsolve

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkEpoch measures one training epoch (perturb the points, loss and
// gradient through the graph, Adam step) of the nonlinear oscillator at the
// paper's size (K = 200, 2×50) and a larger one (K = 2000, 2×128), for the
// fused network Op (the training path) and the plain graph (the reference).
func BenchmarkEpoch(b *testing.B) {
	for _, c := range []struct {
		k      int
		hidden []int
	}{{200, []int{50, 50}}, {2000, []int{128, 128}}} {
		for _, fused := range []bool{true, false} {
			path := map[bool]string{true: "fused", false: "graph"}[fused]
			b.Run(fmt.Sprintf("K=%d/%dx%d/%s", c.k, len(c.hidden), c.hidden[0], path), func(b *testing.B) {
				benchmarkEpoch(b, c.k, c.hidden, fused)
			})
		}
	}
}

func benchmarkEpoch(b *testing.B, k int, hidden []int, fused bool) {
	p := Problem{H: oscillatorH, Z0: []float64{1.3, 1}, T: 4 * math.Pi}
	set, err := (&Settings{Points: k, Hidden: hidden}).resolve(p)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	net := newNetwork(set.Hidden, 2, set.Activation)
	net.init(rng)
	lg, err := buildLossGraph(p.H, p.Z0, net, k, 0, 0, true, fused)
	if err != nil {
		b.Fatal(err)
	}
	tr := newTrainer(lg, net, set, p.T0, p.T, rng)
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
