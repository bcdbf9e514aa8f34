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
