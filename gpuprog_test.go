package hnnsolve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"hnnsolve/internal/engine"
	"hnnsolve/internal/gpu"
	"hnnsolve/internal/gpu/hostgpu"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gpuTestSystems are the Hamiltonians whose per-point programs are checked
// against the CPU evaluator, with the scale of the random points.
type gpuTestSystem struct {
	name   string
	h      Hamiltonian
	dim    int
	scale  float64
	summed bool
}

// gpuTestSystems is a function: the parser's tables are set up by init.
func gpuTestSystems() []gpuTestSystem {
	return []gpuTestSystem{
		{"oscillator", oscillatorH, 2, 2, false},
		{"henon-heiles", henonHeilesH, 4, 0.7, false},
		{"non-separable", nonSeparablePointH, 2, 1.5, false},
		{"non-separable-summed", nonSeparableH, 2, 1.5, true},
		{"pendulum", pendulumH, 4, 3, false},
		{"fpu-chain-d8", chainH, 16, 1, false},
		{"parsed", gpuParsed("p^2/2 + sqrt(1 + x^2) + tanh(x)*exp(-x^2/2) + abs(x)^3/6 + log(2 + sin(x)) + tan(x/4)", "x", "p"), 2, 1.5, false},
		{"parsed-pow", gpuParsed("(px^2 + py^2)/2 + (x^2 + y^2 + 1)^1.5 - x*y^2 + x^5/5", "x", "y", "px", "py"), 4, 1, false},
	}
}

func gpuParsed(expr string, coords ...string) Hamiltonian {
	h, err := ParseHamiltonian(expr, coords...)
	if err != nil {
		panic(err)
	}
	return h
}

// TestPointProgramMatchesEvaluator: the per-point program of H, ∇H and D²H
// (pointwise.Eval, the arithmetic the emitted C and CUDA code reproduce)
// gives the CPU evaluator's bits at random points: both run Go's own
// arithmetic, the transcendental functions included.
func TestPointProgramMatchesEvaluator(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range gpuTestSystems() {
		t.Run(c.name, func(t *testing.T) {
			pp, err := newPointProgram(c.h, c.dim)
			if err != nil {
				t.Fatal(err)
			}
			if pp.summed != c.summed {
				t.Errorf("summed = %v, want %v", pp.summed, c.summed)
			}
			d := c.dim
			if n := len(pp.prog.Outputs); n != 1+d+d*d || pp.prog.NumInputs != d {
				t.Fatalf("program has %d inputs and %d outputs, want %d and %d", pp.prog.NumInputs, n, d, 1+d+d*d)
			}
			ev, err := newHamiltonianEvaluator(c.h, d, 64, true)
			if err != nil {
				t.Fatal(err)
			}
			const n = 300
			zs := make([][]float64, n)
			for i := range zs {
				zs[i] = make([]float64, d)
				for j := range zs[i] {
					zs[i][j] = c.scale * (2*rng.Float64() - 1)
				}
			}
			energy, grad, hess := make([]float64, n), make([]float64, n*d), make([]float64, n*d*d)
			if err := ev.eval(zs, energy, grad, hess); err != nil {
				t.Fatal(err)
			}
			out := make([]float64, 1+d+d*d)
			for i, z := range zs {
				pp.prog.Eval(z, out)
				want := append(append([]float64{energy[i]}, grad[i*d:(i+1)*d]...), hess[i*d*d:(i+1)*d*d]...)
				for j, w := range want {
					if math.Float64bits(out[j]) != math.Float64bits(w) && !(math.IsNaN(w) && math.IsNaN(out[j])) {
						t.Fatalf("point %v, output %d: program %v, evaluator %v", z, j, out[j], w)
					}
				}
			}
			t.Logf("%d inputs, %d constants, %d instructions", pp.prog.NumInputs, len(pp.prog.Consts), len(pp.prog.Instrs))
		})
	}
}

// TestPointProgramRejects: forms of H without a per-point program are
// ErrDevice errors, not wrong code.
func TestPointProgramRejects(t *testing.T) {
	m := func(n *gorgonia.Node, err error) *gorgonia.Node { return gorgonia.Must(n, err) }
	cases := []struct {
		name string
		h    Hamiltonian
	}{
		{"product of sums", func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Mul(m(gorgonia.Sum(m(gorgonia.Square(q[0])))), m(gorgonia.Sum(m(gorgonia.Square(p[0])))))
		}},
		{"square of a sum", func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Square(m(gorgonia.Sum(m(gorgonia.Add(m(gorgonia.Square(q[0])), m(gorgonia.Square(p[0])))))))
		}},
		{"unequal vector constant", func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
			w := gorgonia.NewConstant(tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{1, 2})), gorgonia.In(q[0].Graph()))
			return gorgonia.Add(m(gorgonia.HadamardProd(w, m(gorgonia.Square(q[0])))), m(gorgonia.Square(p[0])))
		}},
	}
	for _, c := range cases {
		_, err := newPointProgram(c.h, 2)
		if !errors.Is(err, ErrDevice) && !errors.Is(err, ErrHamiltonian) {
			t.Errorf("%s: %v, want an ErrDevice (or ErrHamiltonian) error", c.name, err)
			continue
		}
		t.Logf("%s: %v", c.name, err)
	}
	// A linear combination of sums is fine.
	lin := func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
		a := m(gorgonia.Sum(m(gorgonia.Square(p[0]))))
		b := m(gorgonia.Sum(m(gorgonia.Cos(q[0]))))
		return gorgonia.Sub(m(gorgonia.Mul(mustC(0.5), a)), b)
	}
	pp, err := newPointProgram(lin, 2)
	if err != nil || !pp.summed {
		t.Fatalf("0.5 Σp² - Σcos q: %v, summed %v", err, pp != nil && pp.summed)
	}
	out := make([]float64, 7)
	pp.prog.Eval([]float64{0.3, 2}, out)
	if want := 0.5*4 - math.Cos(0.3); math.Abs(out[0]-want) > 1e-15 || out[1] != math.Sin(0.3) || out[2] != 2 {
		t.Errorf("0.5 Σp² - Σcos q at (0.3, 2): %v", out)
	}
}

// The GPU engine against the CPU engine, on the host emulation of the GPU
// (internal/gpu/hostgpu: the engine's CUDA C compiled by the host's C
// compiler, the products in Go): the loss and its gradient of one epoch,
// hundreds of Adam epochs, the kept weights, the stops.

// gpuCase is a problem and network for the engine comparisons.
type gpuCase struct {
	name   string
	h      Hamiltonian
	z0     []float64
	t1     float64
	hidden []int
	act    Activation
	param  Param
	lambda float64
}

func gpuCases() []gpuCase {
	return []gpuCase{
		{"oscillator", oscillatorH, []float64{1.3, 1}, 4 * math.Pi, []int{16, 16}, Sin, Exponential, 0},
		{"oscillator+energy", oscillatorH, []float64{1.3, 1}, 4 * math.Pi, []int{12, 12}, Sin, Exponential, 1},
		{"henon-heiles", henonHeilesH, []float64{0.3, -0.3, 0.3, 0.15}, 6 * math.Pi, []int{20, 20}, Sin, Exponential, 0.5},
		{"non-separable", nonSeparablePointH, []float64{0.5, 1}, 3, []int{10, 14}, Sin, Exponential, 0.7},
		{"non-separable-summed", nonSeparableH, []float64{0.5, 1}, 3, []int{10, 10}, Sin, Exponential, 0},
		{"henon-heiles-tanh-3-layers", henonHeilesH, []float64{0.3, -0.3, 0.3, 0.15}, 5, []int{9, 7, 11}, Tanh, Linear, 0.5},
		{"pendulum-sigmoid-1-layer", pendulumH, []float64{1, 0, 0, 0.5}, 4, []int{13}, Sigmoid, Exponential, 0.3},
		{"fpu-chain-d8", chainH, []float64{0.1, -0.2, 0.3, 0, 0.1, 0, -0.1, 0.2, 0, 0.1, 0, -0.2, 0.1, 0, 0.05, 0}, 2, []int{8, 8}, Sin, Exponential, 0},
	}
}

// gpuSegment is the segment Solution and a network of c, as fitSegment
// makes them, with K points.
func gpuSegment(t *testing.T, c gpuCase, k int, mod func(*Settings)) (*Solution, *network) {
	t.Helper()
	p := Problem{H: c.h, Z0: c.z0, T: c.t1}
	s := &Settings{Points: k, Hidden: c.hidden, Activation: c.act, Param: c.param, Energy: c.lambda, Epochs: 400, Perturb: -1}
	if mod != nil {
		mod(s)
	}
	set, err := s.resolve(p)
	if err != nil {
		t.Fatal(err)
	}
	net := newNetwork(set.Hidden, len(c.z0), set.Activation)
	net.init(rand.New(rand.NewPCG(5, 6)))
	return &Solution{problem: p, settings: set, e0: energyOf(t, c.h, c.z0)}, net
}

// hostGPU is the host emulation, or a skip without a C compiler.
func hostGPU(t testing.TB) *hostgpu.Device {
	t.Helper()
	d, err := hostgpu.Open()
	if errors.Is(err, hostgpu.ErrNoCompiler) {
		t.Skipf("%v: the GPU engine's kernels cannot be compiled here (CI has gcc)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// gpuRelDiff is max|a-b| over max|b| of two parameter sets.
func gpuRelDiff(a, b [][]float64) float64 {
	var d, s float64
	for i := range a {
		for j := range a[i] {
			d = math.Max(d, math.Abs(a[i][j]-b[i][j]))
			s = math.Max(s, math.Abs(b[i][j]))
		}
	}
	return d / s
}

func gpuZerosLike(ps [][]float64) [][]float64 {
	out := make([][]float64, len(ps))
	for i, p := range ps {
		out[i] = make([]float64, len(p))
	}
	return out
}

// gpuEpochDiff runs one epoch of c on dev at times ts (the GPU's own for
// its seed and Perturb sigma) and returns the relative differences of the
// loss and of the gradient to the CPU engine's loss graph (fused network)
// at the same times.
func gpuEpochDiff(t *testing.T, dev gpu.Device, c gpuCase, k int, sigma float64) (dl, dg float64) {
	return gpuEpochDiffAt(t, dev, c, k, sigma, -1)
}

// gpuEpochDiffAt is gpuEpochDiff at the given epoch; -1 is the first from
// 3 on that perturbs some times beyond both ends of the interval (when
// sigma > 0), so that both reflections are tested.
func gpuEpochDiffAt(t *testing.T, dev gpu.Device, c gpuCase, k int, sigma float64, epoch int) (dl, dg float64) {
	t.Helper()
	sol, net := gpuSegment(t, c, k, func(s *Settings) { s.Perturb = sigma })
	cfg, err := gpuNetConfig(sol, net, rand.New(rand.NewPCG(9, 9)), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := gpu.New(dev, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	cpuNet := &network{widths: net.widths, act: net.act, params: cloneParams(net.params)}
	lg, err := buildLossGraph(c.h, c.z0, cpuNet, k, c.lambda, sol.e0, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if epoch < 0 {
		epoch = gpuReflectingEpoch(cfg.Nets[0].Seed, k, c.t1, sol.settings.Perturb)
	}
	ts := make([]float64, k)
	gpu.Times(ts, c.t1, sol.settings.Perturb, cfg.Nets[0].Seed, epoch)
	lg.setTimes(ts, c.param, 0)
	want, err := lg.run()
	if err != nil {
		t.Fatal(err)
	}
	wantG, err := lg.gradients()
	if err != nil {
		t.Fatal(err)
	}
	losses := [][]float64{make([]float64, epoch+1)}
	if _, err := eng.Run(context.Background(), epoch, epoch+1, 0, losses); err != nil {
		t.Fatal(err)
	}
	got := gpuZerosLike(net.params)
	loss, err := eng.Gradient(0, got)
	if err != nil {
		t.Fatal(err)
	}
	if loss != losses[0][epoch] {
		t.Errorf("Gradient's loss %v, Run's %v", loss, losses[0][epoch])
	}
	return math.Abs(loss-want) / want, gpuRelDiff(got, wantG)
}

// gpuReflectingEpoch is the first epoch from 3 on whose perturbed times
// leave [0, length] at both ends before their reflection (3 for sigma <= 0).
func gpuReflectingEpoch(seed uint64, k int, length, sigma float64) int {
	for e := 3; sigma > 0 && e < 1000; e++ {
		low, high := false, false
		for n := range k {
			t := length*float64(n)/float64(k-1) + sigma*gpu.Normal(seed, e, n)
			low, high = low || t < 0, high || t > length
		}
		if low && high {
			return e
		}
	}
	return 3
}

// TestGPUEngineEpoch: one epoch's loss and ∂L/∂θ from the GPU engine's
// kernels (host emulation) equal the CPU engine's to 1e-12 relative, at the
// grid and at perturbed times (σ large enough to reflect some at both
// ends; the CPU given the GPU's times).
func TestGPUEngineEpoch(t *testing.T) { testGPUEngineEpoch(t, hostGPU(t)) }

func testGPUEngineEpoch(t *testing.T, dev gpu.Device) {
	for _, c := range gpuCases() {
		for _, sigma := range []float64{-1, 0.4} {
			t.Run(fmt.Sprintf("%s/sigma=%v", c.name, sigma), func(t *testing.T) {
				dl, dg := gpuEpochDiff(t, dev, c, 23, sigma)
				t.Logf("loss %.2g, gradient %.2g relative", dl, dg)
				if dl > 1e-12 || dg > 1e-12 || math.IsNaN(dl+dg) {
					t.Errorf("loss differs by %g, gradient by %g relative; want <= 1e-12", dl, dg)
				}
			})
		}
	}
}

// TestGPUEngineCatchesBrokenKernels: the epoch comparison fails for
// kernels broken on purpose (the sign of J, a lost factor 2, the
// activation's second derivative, Adam's bias correction), so it tests
// the kernels' arithmetic.
func TestGPUEngineCatchesBrokenKernels(t *testing.T) {
	dev := hostGPU(t)
	for _, m := range []struct{ name, old, new string }{
		{"sign of J", "r[k] = k < d ? dz[k] - g[d + k] : dz[k] + g[k - d];", "r[k] = k < d ? dz[k] + g[d + k] : dz[k] - g[k - d];"},
		{"factor 2", "double c = 2.0 * invK;", "double c = invK;"},
		{"D²H's rows of ∂H/∂q for ∂H/∂p", "s = s - r[k] * hs[(d + k) * D + j];", "s = s - r[k] * hs[k * D + j];"},
		{"sin''", "ga = g * d1 - gd * h * da;", "ga = g * d1 + gd * h * da;"},
		{"layer-1 tangent", "h[(K + n) * (w + 1) + j] = dy * W;", "h[(K + n) * (w + 1) + j] = dy;"},
		{"energy gradient", "if (lambda > 0.0) s = s + lambda * dev * g[j];", "if (lambda > 0.0) s = s + dev * g[j];"},
		{"reflection", "t = 2.0 * L - t;", "t = L - t;"},
	} {
		t.Run(m.name, func(t *testing.T) {
			broken := dev.WithMutation(func(src string) string {
				if !strings.Contains(src, m.old) {
					t.Fatalf("the source has no %q", m.old)
				}
				return strings.Replace(src, m.old, m.new, 1)
			})
			// Hénon-Heiles with the energy term, so that every term
			// matters, and σ large enough to reflect times at both ends.
			dl, dg := gpuEpochDiff(t, broken, gpuCases()[2], 23, 5)
			t.Logf("loss %.2g, gradient %.2g relative", dl, dg)
			if dl <= 1e-12 && dg <= 1e-12 {
				t.Errorf("the broken kernel passes the comparison")
			}
		})
	}
}

// gpuPair is a CPU engine and a GPU engine (host emulation) on the same
// segment, network and settings, with fixed times unless the settings say
// otherwise.
type gpuPair struct {
	cpu, gpu engine.Trainer
	eng      *gpu.Engine
	set      Settings
}

func newGPUPair(t *testing.T, dev gpu.Device, c gpuCase, k int, mod func(*Settings), subChunk int, direct bool) *gpuPair {
	t.Helper()
	sol, net := gpuSegment(t, c, k, mod)
	set := sol.settings
	keepFrom := set.Epochs - max(set.Epochs/5, 1)
	cpuNet := &network{widths: net.widths, act: net.act, params: cloneParams(net.params)}
	lg, err := buildLossGraph(c.h, c.z0, cpuNet, k, set.Energy, sol.e0, true, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := gpuNetConfig(sol, net, rand.New(rand.NewPCG(1, 1)), keepFrom, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SubChunk, cfg.Direct = subChunk, direct
	eng, err := gpu.New(dev, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return &gpuPair{
		cpu: newCPUTrainer(lg, cpuNet, set, 0, c.t1, rand.New(rand.NewPCG(2, 2)), keepFrom),
		gpu: &gpuTrainer{eng: eng, losses: make([][]float64, 1)},
		eng: eng, set: set,
	}
}

// run trains both engines over [from, to) in chunks as the driver does and
// checks that they end alike; it returns both losses.
func (p *gpuPair) run(t *testing.T, ctx context.Context, from, to, chunk int, target float64, lc, lg []float64) (int, error) {
	t.Helper()
	for e := from; e < to; {
		next := min(e+chunk, to)
		ec, errc := p.cpu.Run(ctx, e, next, target, lc)
		eg, errg := p.gpu.Run(ctx, e, next, target, lg)
		if ec != eg || (errc == nil) != (errg == nil) || errc != nil && !errors.Is(errg, ErrDiverged) && !errors.Is(errg, ctx.Err()) {
			t.Fatalf("Run(%d, %d): CPU %d, %v; GPU %d, %v", e, next, ec, errc, eg, errg)
		}
		if errc != nil || ec < next {
			return ec, errc
		}
		e = next
	}
	return to, nil
}

func gpuWeightsDiff(a, b engine.Trainer, params [][]float64, kept bool) float64 {
	wa, wb := gpuZerosLike(params), gpuZerosLike(params)
	a.Weights(wa, kept)
	b.Weights(wb, kept)
	return gpuRelDiff(wb, wa)
}

// TestGPUEngineTracksCPU: 300 Adam epochs at fixed times (Perturb < 0),
// with the step size decaying, run in the driver's chunks (and the GPU's
// sub-chunks of 16 epochs): the GPU engine's losses track the CPU
// engine's to 1e-9 relative, the kept epoch is the same, and the current
// and kept weights agree. Direct launches give the graph's bits.
func TestGPUEngineTracksCPU(t *testing.T) { testGPUEngineTracksCPU(t, hostGPU(t)) }

func testGPUEngineTracksCPU(t *testing.T, dev gpu.Device) {
	cs := gpuCases()
	for _, c := range []gpuCase{cs[0], cs[2], cs[3], cs[5]} {
		t.Run(c.name, func(t *testing.T) {
			const epochs = 300
			mod := func(s *Settings) { s.Epochs, s.LearnRateFinal, s.Beta1, s.Beta2 = epochs, 1e-3, 0.9, 0.999 }
			p := newGPUPair(t, dev, c, 30, mod, 16, false)
			lc, lg := make([]float64, epochs), make([]float64, epochs)
			if _, err := p.run(t, context.Background(), 0, epochs, 50, 0, lc, lg); err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for e := range lc {
				worst = math.Max(worst, math.Abs(lg[e]-lc[e])/lc[e])
			}
			t.Logf("losses %.3g → %.3g; largest relative difference %.2g", lc[0], lc[epochs-1], worst)
			if worst > 1e-9 || math.IsNaN(worst) {
				t.Errorf("losses differ by %g relative, want <= 1e-9", worst)
			}
			if lc[epochs-1] > lc[0]/10 {
				t.Errorf("loss %v → %v: not training", lc[0], lc[epochs-1])
			}
			if kc, kg := p.cpu.Kept(), p.gpu.Kept(); kc != kg || kc < epochs-epochs/5 {
				t.Errorf("kept epoch: CPU %d, GPU %d", kc, kg)
			}
			params := p.cpu.(*cpuTrainer).net.params
			for _, kept := range []bool{false, true} {
				if d := gpuWeightsDiff(p.cpu, p.gpu, params, kept); d > 1e-9 {
					t.Errorf("weights (kept %v) differ by %g relative", kept, d)
				}
			}
			if c.name != "oscillator" {
				return
			}
			q := newGPUPair(t, dev, c, 30, mod, 7, true)
			ld := make([]float64, epochs)
			if _, err := q.gpu.Run(context.Background(), 0, epochs, 0, ld); err != nil {
				t.Fatal(err)
			}
			for e := range ld {
				if math.Float64bits(ld[e]) != math.Float64bits(lg[e]) {
					t.Fatalf("epoch %d: direct launches give %v, the graph %v", e, ld[e], lg[e])
				}
			}
		})
	}
}

// TestGPUEngineStops: the target loss, a cancelled context and a
// non-finite loss stop the GPU engine where they stop the CPU engine, with
// the same losses, kept epoch and weights (engine.Trainer's semantics);
// before any epoch, Kept is -1 and the kept weights are the current ones
// on both.
func TestGPUEngineStops(t *testing.T) { testGPUEngineStops(t, hostGPU(t)) }

func testGPUEngineStops(t *testing.T, dev gpu.Device) {
	c := gpuCases()[2]
	mod := func(s *Settings) { s.Epochs = 200 }
	params := func(p *gpuPair) [][]float64 { return p.cpu.(*cpuTrainer).net.params }

	p := newGPUPair(t, dev, c, 25, mod, 16, false)
	if p.cpu.Kept() != -1 || p.gpu.Kept() != -1 {
		t.Errorf("Kept before training: CPU %d, GPU %d", p.cpu.Kept(), p.gpu.Kept())
	}
	for _, kept := range []bool{false, true} {
		if d := gpuWeightsDiff(p.cpu, p.gpu, params(p), kept); d != 0 {
			t.Errorf("weights (kept %v) before training differ by %g", kept, d)
		}
	}
	// A reference run for the target.
	lc, lg := make([]float64, 200), make([]float64, 200)
	if _, err := p.run(t, context.Background(), 0, 200, 200, 0, lc, lg); err != nil {
		t.Fatal(err)
	}
	target := lc[130] * (1 + 1e-6)
	first := 0
	for lc[first] >= target {
		first++
	}

	t.Run("target", func(t *testing.T) {
		p := newGPUPair(t, dev, c, 25, mod, 16, false)
		lc, lg := make([]float64, 200), make([]float64, 200)
		end, err := p.run(t, context.Background(), 0, 200, 50, target, lc, lg)
		if err != nil || end != first+1 {
			t.Fatalf("stopped at %d, %v; want %d", end, err, first+1)
		}
		if kc, kg := p.cpu.Kept(), p.gpu.Kept(); kc != first || kg != first {
			t.Errorf("kept: CPU %d, GPU %d, want %d (the target epoch)", kc, kg, first)
		}
		for _, kept := range []bool{false, true} {
			if d := gpuWeightsDiff(p.cpu, p.gpu, params(p), kept); d > 1e-9 {
				t.Errorf("weights (kept %v) differ by %g", kept, d)
			}
		}
	})
	t.Run("cancel", func(t *testing.T) {
		p := newGPUPair(t, dev, c, 25, mod, 16, false)
		lc, lg := make([]float64, 200), make([]float64, 200)
		if _, err := p.run(t, context.Background(), 0, 37, 37, 0, lc, lg); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		end, err := p.run(t, ctx, 37, 100, 100, 0, lc, lg)
		if end != 38 || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled: %d, %v; want 38, context.Canceled", end, err)
		}
		if d := math.Abs(lg[37]-lc[37]) / lc[37]; d > 1e-12 {
			t.Errorf("the last loss differs by %g", d)
		}
		// The step of epoch 37 is taken (current weights), and, with no
		// epoch kept yet, the kept weights are those of its loss.
		if p.cpu.Kept() != -1 || p.gpu.Kept() != -1 {
			t.Fatalf("kept: CPU %d, GPU %d", p.cpu.Kept(), p.gpu.Kept())
		}
		for _, kept := range []bool{false, true} {
			if d := gpuWeightsDiff(p.cpu, p.gpu, params(p), kept); d > 1e-12 {
				t.Errorf("weights (kept %v) differ by %g", kept, d)
			}
		}
		wc, wl := gpuZerosLike(params(p)), gpuZerosLike(params(p))
		p.gpu.Weights(wc, false)
		p.gpu.Weights(wl, true)
		if gpuRelDiff(wc, wl) == 0 {
			t.Errorf("the step of the cancelled epoch was not taken")
		}
		// Training goes on from the epoch Run returned.
		if _, err := p.run(t, context.Background(), 38, 60, 10, 0, lc, lg); err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(lg[59]-lc[59]) / lc[59]; d > 1e-9 {
			t.Errorf("after the restart the losses differ by %g", d)
		}
	})
	t.Run("diverged", func(t *testing.T) {
		sol, net := gpuSegment(t, c, 25, mod)
		sol.e0 = math.NaN()
		tr, err := newGPUTrainer(dev, sol, net, rand.New(rand.NewPCG(1, 1)), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.eng.Close()
		losses := make([]float64, 10)
		end, err := tr.Run(context.Background(), 0, 10, 0, losses)
		var de *DivergedError
		if end != 0 || !errors.As(err, &de) || de.Epoch != 0 || !math.IsNaN(de.Loss) || !errors.Is(err, ErrDiverged) {
			t.Fatalf("NaN E0: %d, %v; want 0 and a DivergedError at epoch 0", end, err)
		}
	})
}

// TestGPUEngineBatch: five networks of one Hamiltonian trained together in
// one engine (strided-batched products, batched kernels; different Z0,
// intervals, seeds and initial weights; perturbed times) give each
// network's results alone: losses, stops (one network diverges at once,
// the target stops others), kept epochs and weights.
func TestGPUEngineBatch(t *testing.T) { testGPUEngineBatch(t, hostGPU(t), 0) }

// testGPUEngineBatch compares within tol relative (0: bit for bit).
func testGPUEngineBatch(t *testing.T, dev gpu.Device, tol float64) {
	c := gpuCases()[2]
	const nets, epochs, k = 5, 120, 21
	var cfgs []gpu.Config
	for i := range nets {
		ci := c
		ci.z0 = slices.Clone(c.z0)
		for j := range ci.z0 {
			ci.z0[j] *= 1 + 0.1*float64(i)
		}
		ci.t1 = c.t1 * (1 - 0.1*float64(i))
		sol, net := gpuSegment(t, ci, k, func(s *Settings) { s.Epochs, s.Perturb = epochs, 0.3 })
		net.init(rand.New(rand.NewPCG(uint64(i), 77)))
		if i == 3 {
			sol.e0 = math.NaN() // diverges at epoch 0
		}
		cfg, err := gpuNetConfig(sol, net, rand.New(rand.NewPCG(uint64(i), 78)), epochs-20, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.SubChunk = 16
		cfgs = append(cfgs, cfg)
	}
	solo := func(i int, target float64) ([]float64, int, *gpu.Engine, error) {
		eng, err := gpu.New(dev, cfgs[i])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Close() })
		losses := [][]float64{make([]float64, epochs)}
		ends, err := eng.Run(context.Background(), 0, epochs, target, losses)
		return losses[0], ends[0], eng, err
	}
	l1, _, _, _ := solo(1, 0)
	target := l1[60] * (1 + 1e-6)
	all := cfgs[0]
	all.Nets = nil
	for _, cfg := range cfgs {
		all.Nets = append(all.Nets, cfg.Nets...)
	}
	eng, err := gpu.New(dev, all)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	losses := make([][]float64, nets)
	for i := range losses {
		losses[i] = make([]float64, epochs)
	}
	ends, err := eng.Run(context.Background(), 0, epochs, target, losses)
	var de *gpu.DivergedError
	if !errors.As(err, &de) || de.Net != 3 || de.Epoch != 0 {
		t.Fatalf("batch: %v, want network 3 diverged at epoch 0", err)
	}
	same := func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || math.Abs(a-b) <= tol*math.Abs(b) || math.IsNaN(a) && math.IsNaN(b)
	}
	stopped := 0
	for i := range nets {
		li, end, alone, err := solo(i, target)
		if i == 3 != (err != nil) {
			t.Errorf("network %d alone: %v", i, err)
		}
		if end != ends[i] {
			t.Errorf("network %d: ends at %d in the batch, %d alone", i, ends[i], end)
			continue
		}
		if end < epochs && i != 3 {
			stopped++
		}
		for e := range end {
			if !same(losses[i][e], li[e]) {
				t.Fatalf("network %d, epoch %d: loss %v in the batch, %v alone", i, e, losses[i][e], li[e])
			}
		}
		if eng.Kept(i) != alone.Kept(0) {
			t.Errorf("network %d: kept %d in the batch, %d alone", i, eng.Kept(i), alone.Kept(0))
		}
		for _, kept := range []bool{false, true} {
			w := gpuZerosLike(cfgs[i].Nets[0].Params)
			wa := gpuZerosLike(w)
			if err := eng.Weights(i, w, kept); err != nil {
				t.Fatal(err)
			}
			if err := alone.Weights(0, wa, kept); err != nil {
				t.Fatal(err)
			}
			for a := range w {
				for b := range w[a] {
					if !same(w[a][b], wa[a][b]) {
						t.Fatalf("network %d (kept %v): weight %d.%d %v in the batch, %v alone", i, kept, a, b, w[a][b], wa[a][b])
					}
				}
			}
		}
	}
	if stopped == 0 {
		t.Errorf("no network reached the target %v (ends %v): the test does not test the target", target, ends)
	}
	t.Logf("ends %v", ends)
}
