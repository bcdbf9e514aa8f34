package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"hnnsolve/integrate"
	"hnnsolve/systems"
)

// TestSolveParsedH runs solve -H with a tiny training and checks every
// output, the error figure, and the DOP853 reference built from the parsed
// H against the built-in system it equals.
func TestSolveParsedH(t *testing.T) {
	t.Run("pendulum default names", func(t *testing.T) {
		dir := t.TempDir()
		code, stdout, stderr := runCmd(t, "solve", "-H", "p^2/2 - cos(q)", "-z0", "2,0", "-t1", "3",
			"-epochs", "20", "-points", "15", "-out", dir, "-quiet")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, stderr)
		}
		checkRun(t, dir, wantRun{name: "solve-custom", coords: []string{"q", "p"}, eulerLabel: "100K",
			points: 15, epochs: 20, z0: []float64{2, 0}})
		s := readSummary(t, dir)
		if e := number(t, s, "max_abs_error"); math.IsNaN(e) || math.IsInf(e, 0) || e <= 0 {
			t.Errorf("max_abs_error = %v", e)
		}
		if e0 := number(t, s, "e0"); math.Abs(e0-(-math.Cos(2))) > 1e-15 {
			t.Errorf("e0 = %v, want -cos 2", e0)
		}
		if !strings.Contains(stdout, "solve-custom") || !strings.Contains(stdout, "max abs error") {
			t.Errorf("stdout: %s", stdout)
		}
		// H differs from the built-in pendulum's by the constant 1: same
		// dynamics, so the reference trajectories agree.
		traj := readCSV(t, filepath.Join(dir, "trajectory.csv"))
		ts := traj.col(t, "t")
		ref, err := integrate.Adaptive(systems.Pendulum{G: 1, L: 1}, []float64{2, 0}, ts, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range []string{"q", "p"} {
			got := traj.col(t, c+"_ref")
			for k := range ts {
				if d := math.Abs(got[k] - ref.Z.At(k, i)); d > 1e-10 {
					t.Fatalf("%s_ref at t = %v: %v, built-in pendulum %v", c, ts[k], got[k], ref.Z.At(k, i))
				}
			}
		}
		// So does symplectic Euler, which runs on dT/dp and dV/dq.
		eu := readCSV(t, filepath.Join(dir, "euler_100K.csv"))
		tr, err := integrate.Fixed(systems.Pendulum{G: 1, L: 1}, integrate.SymplecticEuler, []float64{2, 0}, 0, 3, eu.rows-1)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range []string{"q", "p"} {
			got := eu.col(t, c)
			for k := range got {
				if d := math.Abs(got[k] - tr.Z.At(k, i)); d > 1e-12 {
					t.Fatalf("symplectic Euler %s at step %d: %v, built-in pendulum %v", c, k, got[k], tr.Z.At(k, i))
				}
			}
		}
	})
	t.Run("henon-heiles named", func(t *testing.T) {
		dir := t.TempDir()
		code, _, stderr := runCmd(t, "solve", "-H", "(px^2+py^2)/2 + (x^2+y^2)/2 + x^2*y - y^3/3", "-coords", "x, y, px, py",
			"-z0", "0.3,-0.3,0.3,0.15", "-t1", "2", "-epochs", "10", "-points", "15", "-hidden", "8", "-out", dir, "-quiet")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, stderr)
		}
		checkRun(t, dir, wantRun{name: "solve-custom", coords: []string{"x", "y", "px", "py"}, eulerLabel: "100K",
			points: 15, epochs: 10, hidden: []float64{8}, orbit: true, z0: []float64{0.3, -0.3, 0.3, 0.15}})
		if e0 := number(t, readSummary(t, dir), "e0"); math.Abs(e0-(systems.HenonHeiles{}).Energy([]float64{0.3, -0.3, 0.3, 0.15})) > 1e-15 {
			t.Errorf("e0 = %v", e0)
		}
	})
	t.Run("non-separable", func(t *testing.T) {
		dir := t.TempDir()
		code, _, stderr := runCmd(t, "solve", "-H", "p^2*(1+q^2)/2", "-z0", "0.5,1", "-t1", "2",
			"-epochs", "10", "-points", "15", "-out", dir, "-quiet", "-target-error", "1e-6", "-check-every", "5")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, stderr)
		}
		checkRun(t, dir, wantRun{name: "solve-custom", coords: []string{"q", "p"}, points: 15, epochs: 10, z0: []float64{0.5, 1}})
	})
}

func TestSolveParsedHErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"parse error", []string{"-H", "p^2/2 - cos(x)", "-z0", "1,0"}, `hnnsolve: parsing H: col 13: unknown name "x"`},
		{"bad coords", []string{"-H", "px^2/2", "-coords", "x", "-z0", "1,0"}, "want an even number"},
		{"both", []string{"-H", "p^2/2", "-system", "harmonic", "-z0", "1,0"}, "-system or -H, not both"},
		{"coords alone", []string{"-system", "harmonic", "-coords", "x,p"}, "-coords"},
		{"no z0", []string{"-H", "p^2/2 + q^2/2"}, "needs the initial state"},
		{"odd z0", []string{"-H", "p^2/2 + q^2/2", "-z0", "1,2,3"}, "want 2d numbers"},
		{"index beyond z0", []string{"-H", "p1^2/2 + q2^2/2", "-z0", "1,2"}, "q2 needs d >= 2"},
		{"z0 for coords", []string{"-H", "px^2/2 + x^2/2", "-coords", "x,px", "-z0", "1,2,3,4"}, "needs 2 numbers, got 4"},
		{"not finite at z0", []string{"-H", "p^2/2 + log(q)", "-z0", "-1,0", "-epochs", "1"}, "is NaN at the initial state"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, append([]string{"solve", "-out", t.TempDir(), "-quiet"}, c.args...)...)
			if code != exitUsage || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, c.want)
			}
		})
	}
}
