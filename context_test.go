package hnnsolve

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countdownCtx is a context that is done from the n-th call of Err on: a
// deterministic stand-in for a cancellation at some point of training.
type countdownCtx struct {
	context.Context
	n atomic.Int64
}

func newCountdown(n int64) *countdownCtx {
	c := &countdownCtx{Context: context.Background()}
	c.n.Store(n)
	return c
}

func (c *countdownCtx) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// oscillatorFixedLoss is Eq. 7 of sol's network at the grid of K points on
// [T0, T], from the closed-form ∇H of the oscillator.
func oscillatorFixedLoss(sol *Solution, k int) float64 {
	p := sol.Problem()
	ts := make([]float64, k)
	for i := range ts {
		ts[i] = p.T0 + (p.T-p.T0)*float64(i)/float64(k-1)
	}
	z, v := sol.Trajectory(ts), sol.Velocity(ts)
	loss := 0.0
	for i := range ts {
		x, pp := z.At(i, 0), z.At(i, 1)
		rx, rp := v.At(i, 0)-pp, v.At(i, 1)+x+x*x*x
		loss += rx*rx + rp*rp
	}
	return loss / float64(k)
}

// TestSolveContextStopsAdam: a cancellation during Adam returns within one
// epoch with the weights of the last recorded loss (before any epoch is
// kept) or the kept ones, and an error wrapping context.Canceled.
func TestSolveContextStopsAdam(t *testing.T) {
	for _, c := range []struct {
		cancelAt, wantRun int
	}{{300, 301}, {900, 901}} {
		ctx, cancel := context.WithCancel(context.Background())
		set := quickSettings()
		set.Epochs, set.Perturb = 1000, -1
		set.Progress = func(pr Progress) {
			if pr.Epoch == c.cancelAt {
				cancel()
			}
		}
		sol, err := SolveContext(ctx, oscillatorProblem(), set)
		cancel()
		if !errors.Is(err, context.Canceled) || sol == nil {
			t.Fatalf("cancel at %d: %v, %v; want a Solution and context.Canceled", c.cancelAt, sol, err)
		}
		if sol.EpochsRun != c.wantRun || len(sol.Loss()) != c.wantRun {
			t.Errorf("cancel at %d: %d epochs run, want %d", c.cancelAt, sol.EpochsRun, c.wantRun)
		}
		want := sol.Loss()[sol.BestEpoch]
		if c.cancelAt < 800 && sol.BestEpoch != c.cancelAt {
			t.Errorf("cancel at %d before the kept epochs: kept %d, want the last, %d", c.cancelAt, sol.BestEpoch, c.cancelAt)
		}
		if got := oscillatorFixedLoss(sol, set.Points); math.Abs(got-want) > 1e-12*want {
			t.Errorf("cancel at %d: returned network's loss %v, recorded at kept epoch %d: %v", c.cancelAt, got, sol.BestEpoch, want)
		}
		if st := sol.Stages[len(sol.Stages)-1]; st.Status != "stopped: context canceled" {
			t.Errorf("stage status %q", st.Status)
		}
	}
}

// TestSolveContextStopsChainAndRefinement: stopped in a later segment or in
// a refinement stage, the Solution holds what was trained and stays usable
// (its Problem ends at the last segment it holds; it saves and loads).
func TestSolveContextStopsChainAndRefinement(t *testing.T) {
	set := quickSettings()
	set.Epochs, set.Segments, set.LM, set.RefinePoints = 40, 3, 5, 40
	// How many checks an uninterrupted run makes, to stop at fractions of it.
	full := newCountdown(math.MaxInt64)
	ref, err := SolveContext(full, oscillatorProblem(), set)
	if err != nil {
		t.Fatal(err)
	}
	total := math.MaxInt64 - full.n.Load()
	for _, frac := range []float64{0.1, 0.45, 0.55, 0.8, 0.99} {
		n := int64(frac * float64(total))
		sol, err := SolveContext(newCountdown(n), oscillatorProblem(), set)
		if !errors.Is(err, context.Canceled) || sol == nil {
			t.Fatalf("stop after %d of %d checks: %v, %v", n, total, sol, err)
		}
		b := sol.Segments()
		p := sol.Problem()
		if p.T != b[len(b)-1] || len(b)-1 != sol.Settings().Segments || len(b) > 4 {
			t.Errorf("stop after %d checks: segments %v, problem ends at %v, settings say %d", n, b, p.T, sol.Settings().Segments)
		}
		for i := 1; i < len(b)-1; i++ { // finished segments are the uninterrupted run's
			if z, zr := sol.At(b[i]), ref.At(b[i]); z[0] != zr[0] || z[1] != zr[1] {
				t.Errorf("stop after %d checks: z(%v) = %v, uninterrupted %v", n, b[i], z, zr)
			}
		}
		last := sol.Stages[len(sol.Stages)-1]
		if last.Status != "stopped: context canceled" {
			t.Errorf("stop after %d checks: last stage %s: %q", n, last.Name, last.Status)
		}
		t.Logf("stop after %d of %d checks: %d segments, last stage %s %q", n, total, len(b)-1, last.Name, last.Status)
		if e := sol.Energy([]float64{p.T0, p.T}); e == nil || !isFinite(e[1]) {
			t.Errorf("stopped Solution's energy %v", e)
		}
		var buf bytes.Buffer
		if err := sol.Save(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := Load(&buf, p)
		if err != nil || !slices.Equal(back.At(p.T), sol.At(p.T)) {
			t.Errorf("stopped Solution does not round-trip: %v", err)
		}
	}
	if _, err := SolveContext(newCountdown(0), oscillatorProblem(), set); !errors.Is(err, context.Canceled) {
		t.Errorf("done before the start: %v", err)
	}
}

// BenchmarkCancelLatency: the time from a cancellation to SolveContext's
// return at the paper's size (K = 200, 2×50), the cancellation 20 ms into
// training; one epoch there is ~0.2 ms.
func BenchmarkCancelLatency(b *testing.B) {
	var total time.Duration
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		var at time.Time
		time.AfterFunc(20*time.Millisecond, func() { at = time.Now(); cancel() })
		_, err := SolveContext(ctx, oscillatorProblem(), &Settings{Epochs: 1 << 30})
		total += time.Since(at)
		if !errors.Is(err, context.Canceled) {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs/cancel")
}

// TestSolveContextStopsEverywhere: a stop at every point of a short run
// with L-BFGS and LM leaves only named stages, the last one saying it was
// stopped.
func TestSolveContextStopsEverywhere(t *testing.T) {
	set := quickSettings()
	set.Epochs, set.LBFGS, set.LM, set.RefinePoints = 20, 3, 3, 20
	full := newCountdown(math.MaxInt64)
	if _, err := SolveContext(full, oscillatorProblem(), set); err != nil {
		t.Fatal(err)
	}
	total := math.MaxInt64 - full.n.Load()
	for n := int64(1); n < total; n++ {
		sol, err := SolveContext(newCountdown(n), oscillatorProblem(), set)
		if !errors.Is(err, context.Canceled) || sol == nil {
			t.Fatalf("stop after %d of %d checks: %v, %v", n, total, sol, err)
		}
		for i, st := range sol.Stages {
			if st.Name == "" {
				t.Fatalf("stop after %d checks: stage %d has no name: %+v", n, i, st)
			}
		}
		if last := sol.Stages[len(sol.Stages)-1]; !strings.HasPrefix(last.Status, "stopped") {
			t.Errorf("stop after %d checks: last stage %s says %q", n, last.Name, last.Status)
		}
	}
}
