package hnnsolve

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// publicError reports whether err is one of the typed errors the API
// promises.
func publicError(err error) bool {
	for _, e := range []error{ErrProblem, ErrSettings, ErrHamiltonian, ErrDiverged, ErrModel, ErrDevice, ErrAnalysis, ErrLagrangian} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// finiteSolution checks that sol evaluates to finite states and energies
// over its interval.
func finiteSolution(t *testing.T, sol *Solution) {
	t.Helper()
	p := sol.Problem()
	ts := []float64{p.T0, p.T0 + (p.T-p.T0)/3, p.T}
	z := sol.Trajectory(ts)
	for i := range ts {
		for _, v := range z.RawRowView(i) {
			if !isFinite(v) {
				t.Fatalf("state %v at t = %v", z.RawRowView(i), ts[i])
			}
		}
	}
	for _, l := range sol.Loss() {
		if !isFinite(l) {
			t.Fatalf("loss history holds %v", l)
		}
	}
}

// FuzzLoad: a model file from anywhere gives a typed error or a usable
// Solution, never a panic. Each input is tried as it is and with its
// checksum made right, so that mutations reach the checks behind it.
func FuzzLoad(f *testing.F) {
	p := Problem{H: oscillatorH, Z0: []float64{1.3, 1}, T: 2}
	sol, err := Solve(p, &Settings{Points: 8, Hidden: []int{3, 2}, Epochs: 3, Segments: 2})
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := sol.Save(&buf); err != nil {
		f.Fatal(err)
	}
	real := buf.Bytes()
	f.Add(real)
	f.Add(real[:len(real)/3])
	f.Add(bytes.Replace(real, []byte(`"hidden":[3,2]`), []byte(`"hidden":[1000000000,2]`), 2))
	f.Add(bytes.Replace(real, []byte(`"segments":2`), []byte(`"segments":100000`), 1))
	f.Add([]byte(`{"format":"hnnsolve-model","version":2}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		tries := [][]byte{data}
		if fixed, ok := withChecksum(string(data)); ok {
			tries = append(tries, []byte(fixed))
		}
		for _, d := range tries {
			sol, err := Load(bytes.NewReader(d), p)
			if err != nil {
				if !publicError(err) {
					t.Fatalf("untyped error %v", err)
				}
				continue
			}
			finiteSolution(t, sol)
		}
	})
}

// FuzzSolve: extreme numeric inputs (tiny and huge intervals and states,
// Points 2, width 1, subnormal perturbations) give a typed error or a
// finite Solution.
func FuzzSolve(f *testing.F) {
	f.Add(0.0, 1.0, 1.3, 1.0, uint8(0), uint8(0), 0.0)
	f.Add(0.0, 1e-300, 1.3, 1.0, uint8(0), uint8(1), 0.0)
	f.Add(-1e308, 1e308, 1.3, 1.0, uint8(5), uint8(3), 0.0)
	f.Add(1e300, 1e300, 1e300, 1.0, uint8(1), uint8(2), 5e-324)
	f.Add(0.0, 1e6, 1e50, -1e50, uint8(2), uint8(0), -1.0)
	f.Add(1e15, 1.0, 0.0, 0.0, uint8(200), uint8(255), 1e300)
	f.Add(0.0, 3.0, math.SmallestNonzeroFloat64, 1.0, uint8(0), uint8(0), math.SmallestNonzeroFloat64)
	f.Fuzz(func(t *testing.T, t0, length, q0, p0 float64, points, width uint8, perturb float64) {
		_ = checkExtreme(t, t0, length, q0, p0, points, width, perturb)
	})
}

// checkExtreme runs one extreme input through Solve: 2 to 9 points, hidden
// width 1 to 4, three epochs.
func checkExtreme(t *testing.T, t0, length, q0, p0 float64, points, width uint8, perturb float64) (solved bool) {
	t.Helper()
	p := Problem{H: oscillatorH, Z0: []float64{q0, p0}, T0: t0, T: t0 + length}
	set := &Settings{Points: 2 + int(points%8), Hidden: []int{1 + int(width%4)}, Epochs: 3, Perturb: perturb, LM: int(width % 2)}
	sol, err := Solve(p, set)
	if err != nil {
		if !publicError(err) {
			t.Fatalf("%+v: untyped error %v", p, err)
		}
		return false
	}
	finiteSolution(t, sol)
	return true
}

// TestExtremeInputs runs a fixed sweep of generated extreme inputs through
// checkExtreme (the fuzz target's check), without the fuzzer.
func TestExtremeInputs(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), 5e-324, 1e-300, 1e-8, 0.5, 1, 3, 1e6, 1e15, 1e150, 1e300, math.MaxFloat64,
		-1, -1e300, math.Inf(1), math.Inf(-1), math.NaN()}
	n := 10000
	if testing.Short() {
		n = 500
	}
	solved := 0
	for i := range n {
		pick := func(k int) float64 { return values[(i*k+i/len(values)*(k+3))%len(values)] }
		if checkExtreme(t, pick(1), pick(3), pick(5), pick(7), uint8(i), uint8(i/3), pick(11)) {
			solved++
		}
	}
	t.Logf("%d extreme inputs (%d solved, %d refused with a typed error): no panic, no untyped error, no non-finite Solution", n, solved, n-solved)
}
