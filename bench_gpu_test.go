//go:build gpu

package hnnsolve

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"hnnsolve/internal/gpu"
)

// The GPU engine on the device Solve uses with -tags gpu: the GPU, or,
// with HNNSOLVE_GPU=host, the host emulation. Without either the tests and
// benchmarks are skipped. The tests are those of gpuprog_test.go, run on
// that device.

// gpuDeviceOrSkip is the device of Device CUDA, or a skip.
func gpuDeviceOrSkip(tb testing.TB) gpu.Device {
	tb.Helper()
	dev, err := openGPU()
	if err != nil {
		tb.Skipf("no GPU: %v", err)
	}
	return dev
}

// cudaOrSkip is the GPU itself (not the host emulation), or a skip: for
// the benchmarks.
func cudaOrSkip(tb testing.TB) *gpu.CUDA {
	tb.Helper()
	c, ok := gpuDeviceOrSkip(tb).(*gpu.CUDA)
	if !ok {
		tb.Skip("the device is the host emulation: no GPU to time")
	}
	return c
}

func TestCUDADevice(t *testing.T) {
	dev := gpuDeviceOrSkip(t)
	t.Logf("device: %s", dev.Name())
}

// TestCUDANormals: the device's Philox4x32-10 and Box-Muller give
// gpu.Normal's numbers (to the last bits of its log and cos), for the
// seeds of three networks of one engine.
func TestCUDANormals(t *testing.T) {
	dev := gpuDeviceOrSkip(t)
	sol, net := gpuSegment(t, gpuCases()[0], 5000, nil)
	cfg, err := gpuNetConfig(sol, net, rand.New(rand.NewPCG(3, 4)), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []uint64{0, 0xfedcba9876543210} {
		n := cfg.Nets[0]
		n.Seed = seed
		cfg.Nets = append(cfg.Nets, n)
	}
	eng, err := gpu.New(dev, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	const epoch = 777
	eps, err := eng.Normals(epoch)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, x := range eps {
		var sum, sum2 float64
		for n, v := range x {
			want := gpu.Normal(cfg.Nets[i].Seed, epoch, n)
			d := math.Abs(v - want)
			if d > 1e-15*math.Max(1, math.Abs(want)) {
				t.Fatalf("network %d, point %d: ε = %v, gpu.Normal %v", i, n, v, want)
			}
			worst = math.Max(worst, d)
			sum += v
			sum2 += v * v
		}
		k := float64(len(x))
		if m, v := sum/k, sum2/k-sum*sum/k/k; math.Abs(m) > 0.06 || math.Abs(v-1) > 0.1 {
			t.Errorf("network %d: mean %v, variance %v of %v draws", i, m, v, k)
		}
	}
	t.Logf("largest difference to gpu.Normal: %g", worst)
}

// TestCUDAEngineEpoch: one epoch's loss and ∂L/∂θ on the device equal the
// CPU engine's to 1e-12 relative (oscillator, Hénon-Heiles, non-separable
// H, and the other cases of gpuCases).
func TestCUDAEngineEpoch(t *testing.T) { testGPUEngineEpoch(t, gpuDeviceOrSkip(t)) }

// TestCUDAEngineTracksCPU: 300 Adam epochs at fixed times track the CPU
// engine's losses to 1e-9 relative; kept epoch and weights agree.
func TestCUDAEngineTracksCPU(t *testing.T) { testGPUEngineTracksCPU(t, gpuDeviceOrSkip(t)) }

// TestCUDAEngineStops: target loss, cancellation and divergence as on the CPU.
func TestCUDAEngineStops(t *testing.T) { testGPUEngineStops(t, gpuDeviceOrSkip(t)) }

// TestCUDAEngineBatch: five networks in one engine give each network's
// results alone, to 1e-9 (cuBLAS may sum a batched product in another
// order than a single one).
func TestCUDAEngineBatch(t *testing.T) { testGPUEngineBatch(t, gpuDeviceOrSkip(t), 1e-9) }

// TestCUDAGraphMatchesDirect: replaying the captured epoch gives the bits
// of launching its kernels and products one by one.
func TestCUDAGraphMatchesDirect(t *testing.T) {
	dev := gpuDeviceOrSkip(t)
	c := gpuCases()[0]
	run := func(direct bool) []float64 {
		sol, net := gpuSegment(t, c, 200, func(s *Settings) { s.Hidden, s.Perturb, s.Epochs = []int{50, 50}, 0, 200 })
		cfg, err := gpuNetConfig(sol, net, rand.New(rand.NewPCG(1, 2)), 150, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Direct = direct
		eng, err := gpu.New(dev, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		losses := [][]float64{make([]float64, 200)}
		if _, err := eng.Run(context.Background(), 0, 200, 0, losses); err != nil {
			t.Fatal(err)
		}
		return losses[0]
	}
	g, d := run(false), run(true)
	for e := range g {
		if math.Float64bits(g[e]) != math.Float64bits(d[e]) {
			t.Fatalf("epoch %d: graph %v, direct %v", e, g[e], d[e])
		}
	}
	t.Logf("loss %.4g → %.4g over 200 epochs (K = 200, 2×50, perturbed times)", g[0], g[199])
}

// TestCUDASolve: Solve with Device CUDA, through the driver, against
// Device CPU: at fixed times the same training (losses to 1e-9, the same
// kept epoch, the solutions within 1e-7); with the perturbed times (the
// device's own generator) a training as good.
func TestCUDASolve(t *testing.T) {
	gpuDeviceOrSkip(t)
	p := oscillatorProblem()
	base := Settings{Points: 40, Hidden: []int{12, 12}, Epochs: 400, Seed: 3, Perturb: -1, ProgressEvery: 50, LearnRateFinal: 1e-3}
	cpuSol, err := Solve(p, &base)
	if err != nil {
		t.Fatal(err)
	}
	set := base
	set.Device = CUDA
	gpuSol, err := Solve(p, &set)
	if err != nil {
		t.Fatal(err)
	}
	lc, lg := cpuSol.Loss(), gpuSol.Loss()
	if len(lc) != len(lg) {
		t.Fatalf("%d losses on the CPU, %d on the GPU", len(lc), len(lg))
	}
	worst := 0.0
	for e := range lc {
		worst = math.Max(worst, math.Abs(lg[e]-lc[e])/lc[e])
	}
	if worst > 1e-9 || cpuSol.BestEpoch != gpuSol.BestEpoch {
		t.Errorf("losses differ by %g relative; kept epochs %d (CPU), %d (GPU)", worst, cpuSol.BestEpoch, gpuSol.BestEpoch)
	}
	dz := 0.0
	for i := range 101 {
		tt := p.T * float64(i) / 100
		a, b := cpuSol.At(tt), gpuSol.At(tt)
		for j := range a {
			dz = math.Max(dz, math.Abs(a[j]-b[j]))
		}
	}
	if dz > 1e-7 {
		t.Errorf("solutions differ by %g", dz)
	}
	t.Logf("fixed times: loss %.3g → %.3g, losses within %.2g relative, solutions within %.2g", lc[0], lc[len(lc)-1], worst, dz)

	base.Perturb = 0
	cpuSol, err = Solve(p, &base)
	if err != nil {
		t.Fatal(err)
	}
	set = base
	set.Device = CUDA
	if gpuSol, err = Solve(p, &set); err != nil {
		t.Fatal(err)
	}
	fc, fg := cpuSol.Stages[0].LossAfter, gpuSol.Stages[0].LossAfter
	t.Logf("perturbed times: kept loss %.3g (CPU), %.3g (GPU)", fc, fg)
	if !(fg < 5*fc) {
		t.Errorf("GPU's kept loss %v, CPU's %v", fg, fc)
	}
}

// TestCUDASolveBatch: SolveBatch with Device CUDA, all problems on one
// engine, against the CPU (TestSolveBatchDeviceTracksCPU's check).
func TestCUDASolveBatch(t *testing.T) {
	gpuDeviceOrSkip(t)
	testBatchTracksCPU(t, SolveBatch)
}

// BenchmarkEpochGPU: one training epoch on the GPU (the whole epoch on the
// device, replayed as a graph; the host looks every 64 epochs), for the
// oscillator at the paper's settings and larger sizes; direct launches
// for comparison at the paper's size.
func BenchmarkEpochGPU(b *testing.B) {
	dev := cudaOrSkip(b)
	for _, c := range []struct {
		k      int
		hidden []int
		direct bool
	}{{200, []int{50, 50}, false}, {200, []int{50, 50}, true}, {2000, []int{128, 128}, false}, {20000, []int{256, 256}, false}} {
		name := fmt.Sprintf("K=%d/%dx%d", c.k, len(c.hidden), c.hidden[0])
		if c.direct {
			name += "/direct"
		}
		b.Run(name, func(b *testing.B) { benchmarkEpochGPU(b, dev, c.k, c.hidden, 1, c.direct) })
	}
}

// BenchmarkEpochGPUSolveBatch: SolveBatch on the GPU, the whole call: 4096
// paper-size oscillator problems (a sweep of Z0), 1000 Adam epochs each,
// through the driver (one goroutine per problem, in step on one engine),
// setup and the copies of the results included; us/net-epoch is the time
// per network and epoch.
func BenchmarkEpochGPUSolveBatch(b *testing.B) {
	cudaOrSkip(b)
	const n, epochs = 4096, 1000
	base := oscillatorProblem()
	ps := make([]Problem, n)
	for i := range ps {
		ps[i] = base
		ps[i].Z0 = []float64{1.3 * (1 + 0.1*float64(i)/n), 1 + 0.1*float64(i%64)/64}
	}
	set := &Settings{Epochs: epochs, Device: CUDA, ProgressEvery: 250}
	b.ResetTimer()
	for range b.N {
		if _, err := SolveBatch(ps, set); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n*epochs), "us/net-epoch")
}

// BenchmarkEpochGPUBatch: many paper-size oscillator networks (a sweep of
// Z0) trained together; us/net-epoch is the time per network and epoch.
func BenchmarkEpochGPUBatch(b *testing.B) {
	dev := cudaOrSkip(b)
	for _, n := range []int{1024, 4096} {
		b.Run(fmt.Sprintf("K=200/2x50/B=%d", n), func(b *testing.B) { benchmarkEpochGPU(b, dev, 200, []int{50, 50}, n, false) })
	}
}

func benchmarkEpochGPU(b *testing.B, dev gpu.Device, k int, hidden []int, nets int, direct bool) {
	p := Problem{H: oscillatorH, Z0: []float64{1.3, 1}, T: 4 * math.Pi}
	set, err := (&Settings{Points: k, Hidden: hidden, Epochs: 1 << 30}).resolve(p)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	energy := func(z []float64) float64 { return 0.5*z[1]*z[1] + 0.5*z[0]*z[0] + 0.25*math.Pow(z[0], 4) }
	net := newNetwork(set.Hidden, 2, set.Activation)
	net.init(rng)
	cfg, err := gpuNetConfig(&Solution{problem: p, settings: set, e0: energy(p.Z0)}, net, rng, math.MaxInt, nil)
	if err != nil {
		b.Fatal(err)
	}
	for len(cfg.Nets) < nets {
		// A sweep of initial conditions, each network with its own weights.
		n := newNetwork(set.Hidden, 2, set.Activation)
		n.init(rng)
		z0 := []float64{1.3 * (1 + 0.1*rng.Float64()), 1 + 0.1*rng.Float64()}
		cfg.Nets = append(cfg.Nets, gpu.Net{Z0: z0, Length: p.T - p.T0, E0: energy(z0), Perturb: set.Perturb, Seed: rng.Uint64(), Params: n.params})
	}
	cfg.Direct = direct
	eng, err := gpu.New(dev, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	const warm = 64
	losses := make([][]float64, nets)
	for i := range losses {
		losses[i] = make([]float64, warm+b.N)
	}
	ctx := context.Background()
	if _, err := eng.Run(ctx, 0, warm, 0, losses); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if _, err := eng.Run(ctx, warm, warm+b.N, 0, losses); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns, "ns/epoch")
	b.ReportMetric(ns/1e3/float64(nets), "us/net-epoch")
	if l := losses[0][warm+b.N-1]; !(l < losses[0][0]) {
		b.Errorf("loss %v → %v: not training", losses[0][0], l)
	}
}

// TestCUDABundle: Bundle.AtMembers with Device CUDA, on the device (the GPU,
// or the host emulation with HNNSOLVE_GPU=host), gives the CPU's states of
// the saved oscillator bundle to 1e-12 relative at T for 10^4 members.
func TestCUDABundle(t *testing.T) {
	t.Logf("device: %s", gpuDeviceOrSkip(t).Name())
	b := loadOscillatorBundle(t)
	p := b.Problem()
	const n = 10000
	z0, _ := memberMatrices(p, bundleMembers(p, n, 5))
	want, err := b.AtMembers(p.T, z0, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Device = CUDA
	got, err := b.AtMembers(p.T, z0, nil)
	if err != nil {
		t.Fatal(err)
	}
	worst := statesRelDiff(got, want)
	t.Logf("bundle at T, %d members: GPU against CPU %.2g relative", n, worst)
	if worst > 1e-12 {
		t.Errorf("GPU and CPU states differ by %.3g relative", worst)
	}
}

// BenchmarkBundleStateAtTGPU is BenchmarkBundleStateAtT's bundle half on
// the GPU: the state at T of 10^5 and 10^6 members of the saved oscillator
// bundle in one AtMembers call (copies in and out included).
func BenchmarkBundleStateAtTGPU(b *testing.B) {
	cudaOrSkip(b)
	bun := loadOscillatorBundle(b)
	bun.Device = CUDA
	p := bun.Problem()
	for _, n := range []int{100000, 1000000} {
		rows := bundleMembers(p, n, 3)
		z0, _ := memberMatrices(p, rows)
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			if _, err := bun.AtMembers(p.T, z0, nil); err != nil { // compiles the kernels once
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := bun.AtMembers(p.T, z0, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/member")
		})
	}
}
