package hnnsolve

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"

	"hnnsolve/internal/gpu"
)

// hostBatchEngine builds SolveBatch's device engine on the host emulation.
func hostBatchEngine(t *testing.T) func(gpu.Config) (*gpu.Engine, error) {
	dev := hostGPU(t)
	return func(cfg gpu.Config) (*gpu.Engine, error) { return gpu.New(dev, cfg) }
}

// batchProblems are oscillators with their own Z0 and intervals (so their
// default perturbations differ too), and one problem that fails before
// training (problem 2: non-finite Z0), which the batch must not wait for.
func batchProblems() []Problem {
	base := oscillatorProblem()
	var ps []Problem
	for i := range 5 {
		p := base
		p.Z0 = []float64{1.3 - 0.1*float64(i), 1 + 0.05*float64(i)}
		p.T0, p.T = 0.5*float64(i), 0.5*float64(i)+2+0.5*float64(i)
		if i == 2 {
			p.Z0 = []float64{math.NaN(), 1}
		}
		ps = append(ps, p)
	}
	return ps
}

func same(s *Settings) func(int) *Settings { return func(int) *Settings { return s } }

// TestSolveBatchDeviceMatchesAlone: SolveBatch on a device (the GPU
// engine, here in its host emulation) trains every problem exactly as a
// batch of that problem alone: the same losses, Stages and saved model, bit
// for bit, through a TargetLoss stop of some members, the refinement on the
// CPU, and a member that fails before it joins.
func TestSolveBatchDeviceMatchesAlone(t *testing.T) {
	newEngine := hostBatchEngine(t)
	ps := batchProblems()
	set := &Settings{Points: 21, Hidden: []int{8, 8}, Epochs: 240, LearnRateFinal: 1e-3, Beta1: 0.9, Beta2: 0.999,
		Energy: 0.5, LM: 5, RefinePoints: 30, ProgressEvery: 40, Seed: 11, Device: CUDA}
	// A target that two problems reach and two do not: between the second
	// and third lowest of their Adam stages' lowest losses.
	first, errs := solveBatch(ps, set, same(set), newEngine)
	var lows []float64
	for i, sol := range first {
		if i != 2 {
			if errs[i] != nil {
				t.Fatalf("problem %d: %v", i, errs[i])
			}
			lows = append(lows, slices.Min(sol.Loss()))
		}
	}
	slices.Sort(lows)
	withTarget := *set
	withTarget.TargetLoss = math.Sqrt(lows[1] * lows[2])
	for n, s := range []*Settings{set, &withTarget} {
		sols, errs := first, errs
		if n > 0 {
			sols, errs = solveBatch(ps, s, same(s), newEngine)
		}
		stopped := 0
		for i, p := range ps {
			if i == 2 {
				if !errors.Is(errs[i], ErrProblem) {
					t.Errorf("problem 2: %v, want ErrProblem", errs[i])
				}
				continue
			}
			if errs[i] != nil {
				t.Fatalf("problem %d: %v", i, errs[i])
			}
			alone, aerrs := solveBatch([]Problem{p}, s, same(s), newEngine)
			if aerrs[0] != nil {
				t.Fatal(aerrs[0])
			}
			b, a := sols[i], alone[0]
			if b.EarlyStop {
				stopped++
			}
			lb, la := b.Loss(), a.Loss()
			if len(lb) != len(la) {
				t.Fatalf("problem %d: %d epochs in the batch, %d alone", i, len(lb), len(la))
			}
			for e := range lb {
				if math.Float64bits(lb[e]) != math.Float64bits(la[e]) {
					t.Fatalf("problem %d, epoch %d: loss %v in the batch, %v alone", i, e, lb[e], la[e])
				}
			}
			var sb, sa bytes.Buffer
			if err := b.Save(&sb); err != nil {
				t.Fatal(err)
			}
			if err := a.Save(&sa); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sb.Bytes(), sa.Bytes()) {
				t.Errorf("problem %d: the saved models differ (batch %d bytes, alone %d)", i, sb.Len(), sa.Len())
			}
			if len(b.Stages) != 2 && !b.EarlyStop {
				t.Errorf("problem %d: stages %+v, want Adam and LM", i, b.Stages)
			}
		}
		if s.TargetLoss > 0 && stopped != 2 {
			t.Errorf("target %v stopped %d of %d problems: the test does not test a partial stop", s.TargetLoss, stopped, len(ps)-1)
		}
	}
}

// TestSolveBatchDeviceTracksCPU: at fixed times (Perturb < 0) the device
// batch trains each problem as the CPU does: losses within 1e-9 relative
// (the kernels' libm and FMA differ from Go's in the last bits, and 300
// Adam steps amplify that), the same kept epoch, solutions within 1e-7.
func TestSolveBatchDeviceTracksCPU(t *testing.T) {
	newEngine := hostBatchEngine(t)
	testBatchTracksCPU(t, func(ps []Problem, s *Settings) ([]*Solution, error) {
		sols, errs := solveBatch(ps, s, same(s), newEngine)
		return sols, errors.Join(errs...)
	})
}

// testBatchTracksCPU runs TestSolveBatchDeviceTracksCPU's check on the
// device batch solveBatch (TestCUDASolveBatch: SolveBatch on the GPU).
func testBatchTracksCPU(t *testing.T, solveBatch func([]Problem, *Settings) ([]*Solution, error)) {
	ps := batchProblems()
	ps = append(ps[:2], ps[3:]...)
	cpu := &Settings{Points: 30, Hidden: []int{10, 10}, Epochs: 300, Perturb: -1, Seed: 3, LearnRateFinal: 1e-3}
	dev := *cpu
	dev.Device = CUDA
	sols, err := solveBatch(ps, &dev)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		ref, err := Solve(p, cpu)
		if err != nil {
			t.Fatal(err)
		}
		lg, lc := sols[i].Loss(), ref.Loss()
		worst := 0.0
		for e := range lc {
			worst = math.Max(worst, math.Abs(lg[e]-lc[e])/lc[e])
		}
		dz := 0.0
		for j := range 51 {
			tt := p.T0 + (p.T-p.T0)*float64(j)/50
			a, b := sols[i].At(tt), ref.At(tt)
			for k := range a {
				dz = math.Max(dz, math.Abs(a[k]-b[k]))
			}
		}
		t.Logf("problem %d: losses within %.2g relative, solutions within %.2g", i, worst, dz)
		if worst > 1e-9 || dz > 1e-7 || sols[i].BestEpoch != ref.BestEpoch {
			t.Errorf("problem %d: losses within %.2g relative, solutions within %.2g, kept epochs %d (device) and %d (CPU)",
				i, worst, dz, sols[i].BestEpoch, ref.BestEpoch)
		}
	}
}
