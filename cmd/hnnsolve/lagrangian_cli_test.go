package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hnnsolve"
	"hnnsolve/systems"
)

// TestReproduceLagrangian: reproduce -formulation lagrangian trains the
// Lagrangian network (Eq. 11-12) and writes the same outputs as the
// Hamiltonian run, its summary and model file naming the formulation;
// the model reads back with LoadLagrangian to the trajectory in the CSV
// file. Systems without H = |p|²/2 + V and unknown formulations are usage
// errors.
func TestReproduceLagrangian(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCmd(t, "reproduce", "henon-heiles", "-formulation", "lagrangian", "-epochs", "20", "-points", "30",
		"-hidden", "16,8", "-seed", "3", "-out", dir, "-quiet")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if !strings.Contains(stdout, "henon-heiles-lagrangian") || !strings.Contains(stdout, "formulation") {
		t.Errorf("table does not name the Lagrangian run:\n%s", stdout)
	}
	checkRun(t, dir, wantRun{name: "henon-heiles-lagrangian", coords: []string{"x", "y", "px", "py"}, eulerLabel: "10K",
		points: 30, epochs: 20, hidden: []float64{16, 8}, orbit: true, z0: []float64{0.3, -0.3, 0.3, 0.15}})
	if s := readSummary(t, dir); s["formulation"] != "lagrangian" {
		t.Errorf("summary formulation = %v", s["formulation"])
	}
	sys := systems.HenonHeiles{}
	f, err := os.Open(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sol, err := hnnsolve.LoadLagrangian(f, hnnsolve.LagrangianProblem{V: sys.Potential(), Q0: []float64{0.3, -0.3}, V0: []float64{0.3, 0.15}, T: 6 * math.Pi})
	if err != nil {
		t.Fatal(err)
	}
	traj := readCSV(t, filepath.Join(dir, "trajectory.csv"))
	ts := traj.col(t, "t")
	z := sol.Trajectory(ts)
	for i := range ts {
		if got, want := z.At(i, 3), traj.col(t, "py_nn")[i]; got != want {
			t.Fatalf("reloaded model: py(%v) = %v, trajectory.csv has %v", ts[i], got, want)
		}
	}
	for _, args := range [][]string{
		{"reproduce", "oscillator", "-formulation", "newtonian"},
		{"solve", "-system", "pendulum", "-formulation", "lagrangian"},
		{"solve", "-H", "p^2/2 + q^2/2", "-z0", "1,0", "-formulation", "lagrangian"},
	} {
		if code, _, stderr := runCmd(t, append(args, "-out", t.TempDir(), "-quiet")...); code != exitUsage || !strings.Contains(stderr, "formulation") {
			t.Errorf("%v: exit %d, stderr %q; want %d naming the formulation", args, code, stderr, exitUsage)
		}
	}
}

// TestSolveLagrangianDefaultOut: solve -system NAME -formulation lagrangian
// writes into out/solve-NAME-lagrangian.
func TestSolveLagrangianDefaultOut(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, stderr := runCmd(t, "solve", "-system", "harmonic", "-formulation", "lagrangian", "-epochs", "10", "-points", "20", "-hidden", "4", "-quiet")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if s := readSummary(t, filepath.Join(dir, "out", "solve-harmonic-lagrangian")); s["formulation"] != "lagrangian" {
		t.Errorf("summary formulation = %v", s["formulation"])
	}
}

// TestSolveGeneralLagrangian: solve -L trains a general Lagrangian (the
// relativistic oscillator, and a charge in a magnetic field) against
// DOP853 on the Euler-Lagrange equations; the summary names the
// formulation and the error analysis is reported unavailable.
func TestSolveGeneralLagrangian(t *testing.T) {
	for _, c := range []struct {
		name, l, coords, z0 string
		coord               string // a column of trajectory.csv
	}{
		{"relativistic", "-sqrt(1 - v^2) - x^2/2", "x,v", "1,0", "v_nn"},
		{"magnetic", "(vx^2+vy^2)/2 + (x*vy - y*vx)/2", "x,y,vx,vy", "1,0,0,-1", "v2_nn"},
	} {
		dir := t.TempDir()
		code, stdout, stderr := runCmd(t, "solve", "-L", c.l, "-coords", c.coords, "-z0", c.z0, "-t1", "1", "-segments", "2",
			"-points", "40", "-hidden", "8,8", "-epochs", "500", "-lr-final", "1e-4", "-beta1", "0.9", "-beta2", "0.999",
			"-lm", "100", "-refine-points", "80", "-seed", "1", "-out", dir, "-quiet")
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %s", c.name, code, stderr)
		}
		s := readSummary(t, dir)
		if s["formulation"] != "euler-lagrange" || !strings.Contains(stdout, "euler-lagrange") {
			t.Errorf("%s: formulation %v", c.name, s["formulation"])
		}
		if e := number(t, s, "max_abs_error"); !(e < 1e-3) {
			t.Errorf("%s: max abs error %v against DOP853, want < 1e-3", c.name, e)
		}
		if s["analysis_error"] == nil || !strings.Contains(stderr, "no error bounds") {
			t.Errorf("%s: analysis_error %v, stderr %q: want the analysis reported unavailable", c.name, s["analysis_error"], stderr)
		}
		traj := readCSV(t, filepath.Join(dir, "trajectory.csv"))
		traj.col(t, c.coord)
	}
	for _, args := range [][]string{
		{"solve", "-L", "v^2/2", "-H", "p^2/2", "-z0", "1,0"},
		{"solve", "-L", "v^2/2 - x^2/2", "-coords", "x,v"},
		{"solve", "-L", "v^2/2 - x^2/2", "-coords", "x,v", "-z0", "1,0", "-formulation", "hamiltonian"},
		{"solve", "-L", "x*v - x^2/2", "-coords", "x,v", "-z0", "1,0"}, // ∂²L/∂v² = 0
	} {
		if code, _, stderr := runCmd(t, append(args, "-out", t.TempDir(), "-quiet", "-epochs", "2")...); code == 0 {
			t.Errorf("%v: exit 0, want an error (stderr %q)", args, stderr)
		}
	}
}
