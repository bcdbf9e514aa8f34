package hnnsolve

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// resumeSettings: a chain of three segments, two tries each (every retry
// runs with RetryLoss 0), L-BFGS and LM after Adam, checkpoints every 7
// epochs: every kind of point a run can be killed at.
func resumeSettings(path string) *Settings {
	return &Settings{
		Points: 20, Hidden: []int{6}, Epochs: 60, Seed: 5, Segments: 3, Retries: 1,
		LBFGS: 3, LM: 4, RefinePoints: 30, Energy: 0.5, LearnRateFinal: 1e-3,
		Checkpoint: Checkpoint{Path: path, Every: 7},
	}
}

// sameRun reports whether two Solutions hold the same weights, losses and
// stages (all but wall times).
func sameRun(a, b *Solution) bool {
	if len(a.Stages) != len(b.Stages) || !slices.Equal(a.Loss(), b.Loss()) || a.EpochsRun != b.EpochsRun || a.BestEpoch != b.BestEpoch {
		return false
	}
	for i := range a.Stages {
		if a.Stages[i] != b.Stages[i] {
			return false
		}
	}
	var x, y bytes.Buffer
	return a.Save(&x) == nil && b.Save(&y) == nil && bytes.Equal(x.Bytes(), y.Bytes())
}

// TestResumeBitIdentical: a run stopped at 24 random points and resumed
// from its last checkpoint ends bit-identical to the uninterrupted run
// (which checkpoints change in nothing); kills land in Adam, in L-BFGS and
// LM, and in later segments.
func TestResumeBitIdentical(t *testing.T) {
	dir := t.TempDir()
	p := oscillatorProblem()
	plain := resumeSettings("")
	ref, err := Solve(p, plain)
	if err != nil {
		t.Fatal(err)
	}
	full := newCountdown(math.MaxInt64)
	withCk, err := SolveContext(full, p, resumeSettings(filepath.Join(dir, "full.ckpt")))
	if err != nil {
		t.Fatal(err)
	}
	if !sameRun(ref, withCk) {
		t.Fatal("writing checkpoints changed the run")
	}
	total := math.MaxInt64 - full.n.Load()
	rng := rand.New(rand.NewPCG(1, 2))
	where := map[string]int{}
	const kills = 24
	for k := range kills {
		n := 1 + rng.Int64N(total-1)
		path := filepath.Join(dir, "run.ckpt")
		os.Remove(path)
		stopped, err := SolveContext(newCountdown(n), p, resumeSettings(path))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("kill %d after %d of %d checks: %v", k, n, total, err)
		}
		last := stopped.Stages[len(stopped.Stages)-1]
		where[last.Name]++
		if last.Segment > 0 {
			where["later segment"]++
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("kill %d: no checkpoint: %v", k, err)
		}
		resumed, err := Resume(f, p, resumeSettings(path))
		f.Close()
		if err != nil {
			t.Fatalf("kill %d after %d checks (in %s, segment %d): resume: %v", k, n, last.Name, last.Segment, err)
		}
		if !sameRun(ref, resumed) {
			t.Errorf("kill %d after %d checks (in %s, segment %d, try %d): resumed run differs from the uninterrupted one", k, n, last.Name, last.Segment, last.Try)
		}
	}
	t.Logf("%d kills, all resumed bit-identical; stopped in: %v", kills, where)
	for _, w := range []string{"adam", "lbfgs", "lm", "later segment"} {
		if where[w] == 0 {
			t.Errorf("no kill landed in %s: %v", w, where)
		}
	}
}

// TestResumeRefusesOtherRuns: a checkpoint resumes only its own problem
// and settings, and a corrupt one is refused.
func TestResumeRefusesOtherRuns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.ckpt")
	p := oscillatorProblem()
	if _, err := SolveContext(newCountdown(100), p, resumeSettings(path)); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	other := resumeSettings(path)
	other.Seed = 6
	corrupt := slices.Clone(data)
	corrupt[len(corrupt)/2] ^= 1
	shifted := p
	shifted.T0, shifted.T = 1, 1+p.T
	for name, c := range map[string]struct {
		data []byte
		p    Problem
		s    *Settings
	}{
		"other seed":    {data, p, other},
		"other problem": {data, shifted, resumeSettings(path)},
		"other H":       {data, Problem{H: henonHeilesH, Z0: p.Z0, T: p.T}, resumeSettings(path)},
		"corrupt":       {corrupt, p, resumeSettings(path)},
		"truncated":     {data[:len(data)/2], p, resumeSettings(path)},
		"empty":         {nil, p, resumeSettings(path)},
	} {
		if _, err := Resume(bytes.NewReader(c.data), c.p, c.s); err == nil || !publicError(err) {
			t.Errorf("%s: Resume error %v, want a typed error", name, err)
		}
	}
	// An unwritable checkpoint directory stops training with an error.
	bad := resumeSettings(filepath.Join(dir, "no", "such", "dir", "run.ckpt"))
	if _, err := Solve(p, bad); err == nil {
		t.Error("checkpoint into a missing directory: no error")
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}
