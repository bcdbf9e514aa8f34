package hnnsolve

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
)

// TestSolveBatchMatchesSolve: each result of SolveBatch is bit-identical to
// Solve of its problem alone, whatever the number of workers, for problems
// with different initial states and intervals.
func TestSolveBatchMatchesSolve(t *testing.T) {
	set := quickSettings()
	set.Epochs = 60
	var problems []Problem
	for i := range 5 {
		p := oscillatorProblem()
		p.Z0 = []float64{1 + 0.1*float64(i), 0.5}
		p.T0, p.T = float64(i), float64(i)+2+0.5*float64(i)
		problems = append(problems, p)
	}
	var calls atomic.Int64
	set.ProgressEvery = 20
	set.Progress = func(pr Progress) {
		if pr.Problem < 0 || pr.Problem >= len(problems) {
			t.Errorf("progress for problem %d", pr.Problem)
		}
		calls.Add(1)
	}
	for _, procs := range []int{1, 3} {
		old := runtime.GOMAXPROCS(procs)
		sols, err := SolveBatch(problems, set)
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range problems {
			alone, err := Solve(p, set)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sols[i].Loss(), alone.Loss()) || !slices.Equal(sols[i].At(p.T), alone.At(p.T)) {
				t.Errorf("GOMAXPROCS %d, problem %d: batch result differs from Solve alone", procs, i)
			}
		}
	}
	if calls.Load() == 0 {
		t.Error("progress never called")
	}
}

func TestSolveBatchErrors(t *testing.T) {
	good := oscillatorProblem()
	if _, err := SolveBatch(nil, quickSettings()); !errors.Is(err, ErrProblem) {
		t.Errorf("empty batch: %v, want ErrProblem", err)
	}
	mixed := []Problem{good, {H: henonHeilesH, Z0: []float64{0.3, -0.3, 0.3, 0.15}, T: 1}}
	if _, err := SolveBatch(mixed, quickSettings()); !errors.Is(err, ErrProblem) {
		t.Errorf("mixed dimensions: %v, want ErrProblem", err)
	}
	bad := good
	bad.T = math.NaN()
	set := quickSettings()
	set.Epochs = 10
	sols, err := SolveBatch([]Problem{good, bad, good}, set)
	var be *BatchError
	if !errors.As(err, &be) || !errors.Is(err, ErrProblem) || len(be.Errs) != 1 || be.Errs[1] == nil {
		t.Fatalf("one bad problem: %v, want a BatchError for problem 1 wrapping ErrProblem", err)
	}
	if sols[1] != nil || sols[0] == nil || sols[2] == nil {
		t.Errorf("solutions %v: want nil only for the bad problem", sols)
	}
}

// BenchmarkSolveBatch: a sweep of 8 paper-size oscillator networks (K = 200,
// 2×50), 1000 epochs each; run with -cpu 1,2 to compare the throughput per
// core (ns/network-epoch).
func BenchmarkSolveBatch(b *testing.B) {
	const n, epochs = 8, 1000
	problems := make([]Problem, n)
	for i := range problems {
		problems[i] = oscillatorProblem()
		problems[i].Z0 = []float64{1 + 0.05*float64(i), 1}
	}
	set := &Settings{Epochs: epochs, Seed: 1}
	for b.Loop() {
		if _, err := SolveBatch(problems, set); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n*epochs), "ns/network-epoch")
}
