package hnnsolve

import (
	"bytes"
	"slices"
	"sync"
	"testing"
)

// TestConcurrentUse: 8 Solves in parallel goroutines train exactly as they
// do one at a time, and one Solution read from 16 goroutines at once
// (At, Trajectory, Velocity, Energy, Residual, Analyze, Save) gives the
// values it gives alone. Run under -race (CI does) it also checks that
// nothing is shared unguarded, gorgonia's package-level state included.
func TestConcurrentUse(t *testing.T) {
	set := quickSettings()
	set.Epochs = 40
	problems := make([]Problem, 8)
	alone := make([]*Solution, len(problems))
	for i := range problems {
		problems[i] = oscillatorProblem()
		problems[i].Z0 = []float64{1 + 0.1*float64(i), 1}
		if i%2 == 1 { // two Hamiltonians in the mix
			problems[i] = Problem{H: henonHeilesH, Z0: []float64{0.3, -0.3, 0.3, 0.05 * float64(i)}, T: 3}
		}
		var err error
		if alone[i], err = Solve(problems[i], set); err != nil {
			t.Fatal(err)
		}
	}
	together := make([]*Solution, len(problems))
	var wg sync.WaitGroup
	for i := range problems {
		wg.Go(func() {
			var err error
			if together[i], err = Solve(problems[i], set); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range problems {
		if together[i] == nil || !slices.Equal(together[i].Loss(), alone[i].Loss()) {
			t.Fatalf("problem %d trained differently in parallel", i)
		}
	}

	sol := alone[0]
	ts := []float64{0, 0.7, 3.1, 4 * 3.14159}
	wantZ := sol.Trajectory(ts).RawMatrix().Data
	wantV := sol.Velocity(ts).RawMatrix().Data
	wantE, wantR := sol.Energy(ts), sol.Residual(ts)
	wantA, err := sol.Analyze(nil)
	if err != nil {
		t.Fatal(err)
	}
	var saved bytes.Buffer
	if err := sol.Save(&saved); err != nil {
		t.Fatal(err)
	}
	for range 16 {
		wg.Go(func() {
			var b bytes.Buffer
			r, err := sol.Analyze(nil)
			switch {
			case !slices.Equal(sol.Trajectory(ts).RawMatrix().Data, wantZ),
				!slices.Equal(sol.Velocity(ts).RawMatrix().Data, wantV),
				!slices.Equal(sol.Energy(ts), wantE), !slices.Equal(sol.Residual(ts), wantR),
				!slices.Equal(sol.At(ts[1]), wantZ[2:4]):
				t.Error("concurrent reads disagree with a single reader")
			case err != nil || r.EllMax != wantA.EllMax || r.EstimateEq18Max != wantA.EstimateEq18Max:
				t.Errorf("concurrent Analyze: %v", err)
			case sol.Save(&b) != nil || !bytes.Equal(b.Bytes(), saved.Bytes()):
				t.Error("concurrent Save differs")
			}
		})
	}
	wg.Wait()
}
