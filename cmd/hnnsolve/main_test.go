package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"hnnsolve"
	"hnnsolve/systems"
)

// runCmd runs the command and returns its exit code, stdout and stderr.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// table is a CSV file: header and columns by name.
type table struct {
	header []string
	cols   map[string][]float64
	rows   int
}

func readCSV(t *testing.T, path string) table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(recs) < 2 {
		t.Fatalf("%s: %d records, want a header and rows", path, len(recs))
	}
	tb := table{header: recs[0], cols: map[string][]float64{}, rows: len(recs) - 1}
	for _, rec := range recs[1:] {
		for j, s := range rec {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s: column %s: %v", path, recs[0][j], err)
			}
			tb.cols[recs[0][j]] = append(tb.cols[recs[0][j]], v)
		}
	}
	return tb
}

func (tb table) col(t *testing.T, name string) []float64 {
	t.Helper()
	c, ok := tb.cols[name]
	if !ok {
		t.Fatalf("no column %q in %v", name, tb.header)
	}
	return c
}

func maxAbs(vs ...[]float64) float64 {
	m := 0.0
	for _, v := range vs {
		for _, x := range v {
			m = math.Max(m, math.Abs(x))
		}
	}
	return m
}

func readSummary(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	return m
}

// number returns the number under key, failing if it is missing or null.
func number(t *testing.T, m map[string]any, key string) float64 {
	t.Helper()
	v, ok := m[key]
	if !ok {
		t.Fatalf("summary.json has no key %q", key)
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("summary.json: %s = %v, want a number", key, v)
	}
	return f
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 300 {
		t.Errorf("%s is %dx%d, too small", path, b.Dx(), b.Dy())
	}
}

func approx(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))
}

// summaryKeys are the keys every summary.json of a run has; the Euler key
// at F·K points is added per experiment.
var summaryKeys = []string{
	"experiment", "epochs_run", "train_seconds", "final_loss", "max_abs_error",
	"max_abs_error_per_coordinate", "max_energy_error", "ell_max", "sigma_min",
	"estimate_eq22", "estimate_eq18", "bound_gronwall", "bound_certified", "bound_certified_status",
	"bound_certified_assumptions", "estimate_sampled_tube", "euler_K_max_abs_error", "settings",
	"preset", "stages", "segments", "target", "best_loss", "formulation",
}

type wantRun struct {
	name       string
	coords     []string
	eulerLabel string // "100K" or "10K"; "" when Euler cannot run
	points     int
	epochs     int
	hidden     []float64
	lambda     float64
	orbit      bool // orbit.png instead of phase.png
	z0         []float64
	segments   int     // 0: 1
	learnRate  float64 // 0: 8e-3
}

// checkRun checks every output of a run in dir against the expectations
// and the summary against the CSV files.
func checkRun(t *testing.T, dir string, w wantRun) {
	t.Helper()
	segs := max(1, w.segments)
	s := readSummary(t, dir)
	keys := slices.Clone(summaryKeys)
	if w.eulerLabel != "" {
		keys = append(keys, "euler_"+w.eulerLabel+"_max_abs_error")
	}
	for _, k := range keys {
		if _, ok := s[k]; !ok {
			t.Errorf("summary.json has no key %q", k)
		}
	}
	if s["experiment"] != w.name {
		t.Errorf("experiment = %v, want %s", s["experiment"], w.name)
	}
	analysed := s["analysis_error"] == nil

	files := []string{
		"loss.png", "trajectory.png", "error.png", "energy.png", "residual.png",
		"loss.csv", "trajectory.csv", "error.csv", "energy.csv", "residual.csv",
		"model.json", "summary.json",
	}
	if w.orbit {
		files = append(files, "orbit.png")
	} else {
		files = append(files, "phase.png")
	}
	for _, lab := range []string{"K", w.eulerLabel} {
		if w.eulerLabel != "" && s["euler_"+lab+"_diverged"] == false {
			files = append(files, "euler_"+lab+".csv")
		}
	}
	if analysed {
		files = append(files, "bounds.png", "bounds.csv", "error_analysis.txt")
	} else {
		t.Logf("%s: no error analysis: %v", w.name, s["analysis_error"])
	}
	for _, f := range files {
		p := filepath.Join(dir, f)
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("missing or empty output %s (%v)", f, err)
			continue
		}
		if strings.HasSuffix(f, ".png") {
			checkPNG(t, p)
		}
	}

	// Loss.
	loss := readCSV(t, filepath.Join(dir, "loss.csv"))
	l := loss.col(t, "loss")
	if got := number(t, s, "epochs_run"); int(got) != segs*w.epochs || loss.rows != segs*w.epochs {
		t.Errorf("epochs_run = %v, loss.csv has %d rows, want %d", got, loss.rows, segs*w.epochs)
	}
	if got := number(t, s, "final_loss"); got != l[len(l)-1] {
		t.Errorf("final_loss = %v, last row of loss.csv is %v", got, l[len(l)-1])
	}
	if number(t, s, "train_seconds") <= 0 {
		t.Errorf("train_seconds = %v", s["train_seconds"])
	}

	// Error against the reference, per coordinate.
	errs := readCSV(t, filepath.Join(dir, "error.csv"))
	dense := w.points * 10 * segs
	if errs.rows != dense {
		t.Errorf("error.csv has %d rows, want 10K = %d", errs.rows, dense)
	}
	traj := readCSV(t, filepath.Join(dir, "trajectory.csv"))
	per, ok := s["max_abs_error_per_coordinate"].(map[string]any)
	if !ok {
		t.Fatalf("max_abs_error_per_coordinate = %v", s["max_abs_error_per_coordinate"])
	}
	var all [][]float64
	for j, c := range w.coords {
		d := errs.col(t, "d"+c)
		all = append(all, d)
		if got := number(t, per, c); got != maxAbs(d) {
			t.Errorf("max_abs_error_per_coordinate.%s = %v, error.csv gives %v", c, got, maxAbs(d))
		}
		nn, ref := traj.col(t, c+"_nn"), traj.col(t, c+"_ref")
		if nn[0] != w.z0[j] || ref[0] != w.z0[j] {
			t.Errorf("%s at t0: network %v, reference %v, want z0 = %v", c, nn[0], ref[0], w.z0[j])
		}
		for i := range nn {
			if math.Abs(nn[i]-ref[i]-d[i]) > 1e-12*(1+math.Abs(nn[i])) {
				t.Fatalf("error.csv d%s[%d] = %v, trajectory.csv gives %v", c, i, d[i], nn[i]-ref[i])
			}
		}
	}
	if got := number(t, s, "max_abs_error"); got != maxAbs(all...) {
		t.Errorf("max_abs_error = %v, error.csv gives %v", got, maxAbs(all...))
	}

	// Energy.
	en := readCSV(t, filepath.Join(dir, "energy.csv"))
	if got, want := number(t, s, "max_energy_error"), maxAbs(en.col(t, "energy_error_nn")); got != want {
		t.Errorf("max_energy_error = %v, energy.csv gives %v", got, want)
	}
	e0 := number(t, s, "e0")
	for i, e := range en.col(t, "energy_ref") {
		if math.Abs(e-e0) > 1e-8*(1+math.Abs(e0)) {
			t.Fatalf("reference energy drifts: %v at row %d, E0 %v", e, i, e0)
		}
	}

	// Symplectic Euler.
	for _, lab := range []string{"K", w.eulerLabel} {
		if w.eulerLabel == "" {
			if s["euler_K_max_abs_error"] != nil {
				t.Errorf("euler_K_max_abs_error = %v, want null", s["euler_K_max_abs_error"])
			}
			break
		}
		n := w.points * segs
		if lab != "K" {
			f, _ := strconv.Atoi(strings.TrimSuffix(lab, "K"))
			n *= f
		}
		if number(t, s, "euler_"+lab+"_points") != float64(n) {
			t.Errorf("euler_%s_points = %v, want %d", lab, s["euler_"+lab+"_points"], n)
		}
		if s["euler_"+lab+"_diverged"] == true {
			if s[eulerKey(lab)] != nil {
				t.Errorf("%s = %v for a diverged run, want null", eulerKey(lab), s[eulerKey(lab)])
			}
			if _, err := os.Stat(filepath.Join(dir, "euler_"+lab+".csv")); err == nil {
				t.Errorf("euler_%s.csv written for a diverged run", lab)
			}
			t.Logf("symplectic Euler at %d points diverged", n)
			continue
		}
		eu := readCSV(t, filepath.Join(dir, "euler_"+lab+".csv"))
		if eu.rows != n {
			t.Errorf("euler_%s.csv has %d rows, want %d", lab, eu.rows, n)
		}
		var ds [][]float64
		for _, c := range w.coords {
			ds = append(ds, eu.col(t, "d"+c))
		}
		if got, want := number(t, s, "euler_"+lab+"_max_abs_error"), maxAbs(ds...); got != want {
			t.Errorf("euler_%s_max_abs_error = %v, CSV gives %v", lab, got, want)
		}
	}

	// Residual and the error analysis.
	res := readCSV(t, filepath.Join(dir, "residual.csv"))
	if got, want := number(t, s, "max_residual_ode"), maxAbs(res.col(t, "residual_ode")); got != want {
		t.Errorf("max_residual_ode = %v, residual.csv gives %v", got, want)
	}
	if analysed {
		ell := number(t, s, "ell_max")
		if want := maxAbs(res.col(t, "residual")); !approx(ell, want, 1e-8) {
			t.Errorf("ell_max = %v, residual.csv gives %v", ell, want)
		}
		bd := readCSV(t, filepath.Join(dir, "bounds.csv"))
		if want := maxAbs(bd.col(t, "residual")); !approx(ell, want, 1e-12) {
			t.Errorf("ell_max = %v, bounds.csv gives %v", ell, want)
		}
		sigma := number(t, s, "sigma_min")
		if b, ok := s["estimate_eq22"].(float64); ok {
			if !approx(b, ell/sigma, 1e-12) {
				t.Errorf("estimate_eq22 = %v, ell_max/sigma_min = %v", b, ell/sigma)
			}
			// eq22_holds says whether the estimate is above the largest
			// component error, never assumed.
			holds, ok := s["eq22_holds"].(bool)
			if !ok || holds != (b >= number(t, s, "max_abs_error")) {
				t.Errorf("eq22_holds = %v with estimate_eq22 %v and max_abs_error %v", s["eq22_holds"], b, s["max_abs_error"])
			}
		} else if s["estimate_eq22_vacuous"] != true {
			t.Errorf("estimate_eq22 = %v but not vacuous", s["estimate_eq22"])
		}
		if got, want := number(t, s, "estimate_eq18"), maxAbs(bd.col(t, "estimate_eq18_norm")); !approx(got, want, 1e-12) {
			t.Errorf("estimate_eq18 = %v, bounds.csv gives %v", got, want)
		}
		if g, ok := s["bound_gronwall"].(float64); ok {
			if want := maxAbs(bd.col(t, "gronwall")); !approx(g, want, 1e-12) {
				t.Errorf("bound_gronwall = %v, bounds.csv gives %v", g, want)
			}
		} else if s["bound_gronwall_vacuous"] != true {
			t.Errorf("bound_gronwall = %v but not vacuous", s["bound_gronwall"])
		}
		// The certified bound, when there is one, is above the true error
		// norm, and is the maximum of its bounds.csv column.
		if b, ok := s["bound_certified"].(float64); ok {
			if tn := number(t, s, "true_error_max_norm"); b < tn || s["bound_certified_holds"] != true {
				t.Errorf("bound_certified = %v below the true error %v (holds %v)", b, tn, s["bound_certified_holds"])
			}
			if want := maxAbs(bd.col(t, "bound_certified")); !approx(b, want, 1e-12) {
				t.Errorf("bound_certified = %v, bounds.csv gives %v", b, want)
			}
		}
		// The true error norm is at least the largest component error.
		if tn := maxAbs(bd.col(t, "true_error_norm")); tn < number(t, s, "max_abs_error")*(1-1e-9) {
			t.Errorf("true error norm %v < max abs error %v", tn, s["max_abs_error"])
		}
	}

	// Settings.
	set, ok := s["settings"].(map[string]any)
	if !ok {
		t.Fatalf("settings = %v", s["settings"])
	}
	lr := w.learnRate
	if lr == 0 {
		lr = 8e-3
	}
	if number(t, set, "points") != float64(w.points) || number(t, set, "epochs") != float64(w.epochs) ||
		number(t, set, "lambda") != w.lambda || number(t, set, "learn_rate") != lr || number(t, set, "segments") != float64(segs) {
		t.Errorf("settings = %v", set)
	}
	if w.hidden != nil {
		if h, _ := set["hidden"].([]any); len(h) != len(w.hidden) || h[0] != w.hidden[0] {
			t.Errorf("settings.hidden = %v, want %v", set["hidden"], w.hidden)
		}
	}
}

// TestReproduceAll runs every experiment of Sec. III for a few epochs and
// checks its outputs.
func TestReproduceAll(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCmd(t, "reproduce", "all", "-epochs", "30", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if strings.Contains(stderr, "\r") {
		t.Errorf("stderr is not a terminal but got a progress bar: %q", stderr)
	}
	osc, hh := []float64{1.3, 1}, []float64{0.3, -0.3, 0.3, 0.15}
	for _, w := range []wantRun{
		{name: "oscillator", coords: []string{"x", "p"}, eulerLabel: "100K", points: 200, hidden: []float64{50, 50}, z0: osc},
		{name: "oscillator-long", coords: []string{"x", "p"}, eulerLabel: "100K", points: 500, hidden: []float64{80, 80}, lambda: 1, z0: osc},
		{name: "henon-heiles", coords: []string{"x", "y", "px", "py"}, eulerLabel: "10K", points: 100, hidden: []float64{50, 50}, orbit: true, z0: hh},
		{name: "henon-heiles-long", coords: []string{"x", "y", "px", "py"}, eulerLabel: "10K", points: 500, hidden: []float64{80, 80}, lambda: 0.5, orbit: true, z0: hh},
	} {
		t.Run(w.name, func(t *testing.T) {
			w.epochs = 30
			checkRun(t, filepath.Join(dir, w.name), w)
			if !strings.Contains(stdout, w.name+" (Fig.") {
				t.Errorf("stdout has no table for %s:\n%s", w.name, stdout)
			}
			if !strings.Contains(stderr, w.name+": epoch 30/30") {
				t.Errorf("stderr has no progress for %s:\n%s", w.name, stderr)
			}
		})
	}
	for _, want := range []string{"max abs error", "ell_max", "estimate Eq. 22 (not a bound)", "Euler 100K (20000 points)", "Euler 10K (1000 points)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout has no %q:\n%s", want, stdout)
		}
	}
}

// TestReproduceModel checks that model.json reloads to the network whose
// trajectory is in trajectory.csv, with flags after the experiment name.
func TestReproduceModel(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runCmd(t, "reproduce", "henon-heiles", "-epochs", "20", "-points", "30", "-hidden", "16,8", "-seed", "3", "-out", dir, "-quiet")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("-quiet: stderr = %q", stderr)
	}
	checkRun(t, dir, wantRun{name: "henon-heiles", coords: []string{"x", "y", "px", "py"}, eulerLabel: "10K",
		points: 30, epochs: 20, hidden: []float64{16, 8}, orbit: true, z0: []float64{0.3, -0.3, 0.3, 0.15}})
	sys, _ := systems.Lookup("henon-heiles")
	f, err := os.Open(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sol, err := hnnsolve.Load(f, hnnsolve.Problem{H: sys.Hamiltonian(), Z0: sys.Z0(), T0: 0, T: 6 * math.Pi})
	if err != nil {
		t.Fatal(err)
	}
	traj := readCSV(t, filepath.Join(dir, "trajectory.csv"))
	ts := traj.col(t, "t")
	z := sol.Trajectory(ts)
	for i := range ts {
		if got, want := z.At(i, 1), traj.col(t, "y_nn")[i]; got != want {
			t.Fatalf("reloaded model: y(%v) = %v, trajectory.csv has %v", ts[i], got, want)
		}
	}
	if s := readSummary(t, dir); s["settings"].(map[string]any)["seed"] != 3.0 {
		t.Errorf("seed not recorded: %v", s["settings"])
	}
}

func TestSolve(t *testing.T) {
	t.Run("harmonic default out", func(t *testing.T) {
		t.Chdir(t.TempDir())
		code, stdout, stderr := runCmd(t, "solve", "-system", "harmonic", "-epochs", "20", "-points", "20", "-t1", "3", "-z0", "1,0.5", "-lambda", "0.1", "-quiet")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, stderr)
		}
		checkRun(t, filepath.Join("out", "solve-harmonic"), wantRun{name: "solve-harmonic", coords: []string{"q", "p"}, eulerLabel: "100K",
			points: 20, epochs: 20, lambda: 0.1, z0: []float64{1, 0.5}})
		if !strings.Contains(stdout, "solve-harmonic") {
			t.Errorf("stdout: %s", stdout)
		}
	})
	t.Run("non-separable", func(t *testing.T) {
		dir := t.TempDir()
		code, _, stderr := runCmd(t, "solve", "-system", "nonseparable", "-epochs", "10", "-points", "15", "-t1", "2", "-out", dir, "-quiet")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, stderr)
		}
		sys, _ := systems.Lookup("nonseparable")
		checkRun(t, dir, wantRun{name: "solve-nonseparable", coords: []string{"q", "p"}, points: 15, epochs: 10, z0: sys.Z0()})
	})
	t.Run("stages and target", func(t *testing.T) {
		dir := t.TempDir()
		code, stdout, stderr := runCmd(t, "solve", "-system", "harmonic", "-epochs", "30", "-points", "15", "-t1", "2",
			"-hidden", "8,8", "-lbfgs", "3", "-lm", "2", "-target-error", "1e-12", "-check-every", "10", "-beta1", "0.9", "-out", dir, "-quiet")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, stderr)
		}
		s := readSummary(t, dir)
		var names []string
		for _, st := range s["stages"].([]any) {
			names = append(names, st.(map[string]any)["name"].(string))
		}
		if !slices.Equal(names, []string{"adam", "lbfgs", "lm"}) {
			t.Errorf("stages = %v", s["stages"])
		}
		tg, ok := s["target"].(map[string]any)
		if !ok || tg["check"] != "eq18" || tg["target"] != 1e-12 || tg["met"] != false || tg["checks"] != 2.0 {
			t.Errorf("target = %v", s["target"])
		}
		set := s["settings"].(map[string]any)
		if set["lm"] != 2.0 || set["lbfgs"] != 3.0 || set["beta1"] != 0.9 || set["target_error"] != 1e-12 || set["check_every"] != 10.0 {
			t.Errorf("settings = %v", set)
		}
		if !strings.Contains(stdout, "stage lm") || !strings.Contains(stdout, "target eq18 < 1e-12") || !strings.Contains(stdout, "segments  ") {
			t.Errorf("stdout: %s", stdout)
		}
	})
	t.Run("target loss", func(t *testing.T) {
		dir := t.TempDir()
		code, _, stderr := runCmd(t, "solve", "-system", "harmonic", "-epochs", "30", "-points", "15", "-t1", "2",
			"-target-loss", "1e9", "-out", dir, "-quiet")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, stderr)
		}
		s := readSummary(t, dir)
		st := s["stages"].([]any)
		if s["epochs_run"] != 1.0 || s["early_stop"] != true || len(st) != 1 || st[0].(map[string]any)["status"] != "target reached" ||
			s["settings"].(map[string]any)["target_loss"] != 1e9 {
			t.Errorf("summary = %v", s)
		}
	})
	t.Run("two degrees of freedom", func(t *testing.T) {
		dir := t.TempDir()
		code, _, stderr := runCmd(t, "solve", "-system", "kepler", "-epochs", "10", "-points", "15", "-t1", "1", "-hidden", "8", "-out", dir, "-quiet")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, stderr)
		}
		sys, _ := systems.Lookup("kepler")
		checkRun(t, dir, wantRun{name: "solve-kepler", coords: []string{"q1", "q2", "p1", "p2"}, eulerLabel: "100K",
			points: 15, epochs: 10, hidden: []float64{8}, orbit: true, z0: sys.Z0()})
	})
}

func TestAblation(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCmd(t, "ablation", "oscillator", "-epochs", "15", "-points", "20", "-out", dir, "-quiet")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	checkPNG(t, filepath.Join(dir, "ablation.png"))
	tb := readCSV(t, filepath.Join(dir, "ablation.csv"))
	if tb.rows != 15 {
		t.Errorf("ablation.csv has %d rows, want 15", tb.rows)
	}
	s := readSummary(t, dir)
	cases, _ := s["cases"].([]any)
	want := []string{"sin_exponential", "sin_linear", "sigmoid_exponential", "sigmoid_linear"}
	if len(cases) != len(want) {
		t.Fatalf("cases = %v", s["cases"])
	}
	for i, col := range want {
		c := cases[i].(map[string]any)
		if got := c["activation"].(string) + "_" + c["param"].(string); got != col {
			t.Errorf("case %d is %s, want %s", i, got, col)
		}
		l := tb.col(t, col)
		if c["final_loss"] != l[len(l)-1] || c["min_loss"] != slices.Min(l) {
			t.Errorf("%s: summary %v, CSV final %v min %v", col, c, l[len(l)-1], slices.Min(l))
		}
	}
	// Different activations give different curves.
	if slices.Equal(tb.col(t, "sin_exponential"), tb.col(t, "sigmoid_exponential")) {
		t.Error("sin and sigmoid give the same loss curve")
	}
	if !strings.Contains(stdout, "sigmoid, f = t") {
		t.Errorf("stdout: %s", stdout)
	}
}

// TestPaperSettings checks the defaults of every experiment against Sec. III.
func TestPaperSettings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		t1     float64
		k      int
		hidden []int
		epochs int
		lambda float64
		euler  int
		sigma  float64 // perturbation / π
	}{
		{"oscillator", 4 * math.Pi, 200, []int{50, 50}, 50000, 0, 100, 0.0603},
		{"oscillator-long", 20 * math.Pi, 500, []int{80, 80}, 50000, 1, 100, 0.120},
		{"henon-heiles", 6 * math.Pi, 100, []int{50, 50}, 30000, 0, 10, 0.1818},
		{"henon-heiles-long", 12 * math.Pi, 500, []int{80, 80}, 30000, 0.5, 10, 0.0721},
	} {
		c, err := experiments[tc.name].config(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		o := options{activation: "sin", param: "exponential", lr: 8e-3, set: map[string]bool{}}
		if err := o.apply(c); err != nil {
			t.Fatal(err)
		}
		s := c.settings
		if c.t0 != 0 || c.t1 != tc.t1 || s.Points != tc.k || !slices.Equal(s.Hidden, tc.hidden) || s.Epochs != tc.epochs ||
			s.Energy != tc.lambda || c.eulerFactor != tc.euler || s.LearnRate != 8e-3 || s.Activation != hnnsolve.Sin ||
			s.Param != hnnsolve.Exponential || c.dense != 10*tc.k || math.Abs(s.Perturb/math.Pi-tc.sigma) > 1e-3 {
			t.Errorf("%s: config %+v settings %+v", tc.name, c, s)
		}
	}
}

func TestErrors(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "missing command"},
		{"unknown command", []string{"train"}, "unknown command"},
		{"unknown experiment", []string{"reproduce", "pendulum", "-out", out}, "unknown experiment"},
		{"no experiment", []string{"reproduce", "-out", out}, "needs one experiment"},
		{"two experiments", []string{"reproduce", "oscillator", "henon-heiles", "-out", out}, "needs one experiment"},
		{"unknown flag", []string{"reproduce", "oscillator", "-bogus", "1"}, "flag provided but not defined"},
		{"bad epochs", []string{"reproduce", "oscillator", "-epochs", "abc"}, "invalid value"},
		{"zero epochs", []string{"reproduce", "oscillator", "-epochs", "0"}, "-epochs"},
		{"bad points", []string{"reproduce", "oscillator", "-points", "1"}, "-points"},
		{"bad hidden", []string{"reproduce", "oscillator", "-hidden", "50,x"}, "-hidden"},
		{"zero width", []string{"reproduce", "oscillator", "-hidden", "50,0"}, "-hidden"},
		{"bad activation", []string{"reproduce", "oscillator", "-activation", "relu"}, "-activation"},
		{"bad param", []string{"reproduce", "oscillator", "-param", "cubic"}, "-param"},
		{"negative lambda", []string{"reproduce", "oscillator", "-lambda", "-1"}, "-lambda"},
		{"bad lr", []string{"reproduce", "oscillator", "-lr", "0"}, "-lr"},
		{"nan lr-final", []string{"reproduce", "oscillator", "-lr-final", "NaN"}, "-lr-final"},
		{"beta1 one", []string{"reproduce", "oscillator", "-beta1", "1"}, "-beta1"},
		{"beta1 zero", []string{"solve", "-system", "harmonic", "-beta1", "0"}, "-beta1"},
		{"beta2 nan", []string{"reproduce", "oscillator", "-beta2", "NaN"}, "-beta2"},
		{"beta2 negative", []string{"ablation", "oscillator", "-beta2", "-0.5"}, "-beta2"},
		{"negative lbfgs", []string{"reproduce", "oscillator", "-lbfgs", "-1"}, "-lbfgs"},
		{"bad lbfgs", []string{"reproduce", "oscillator", "-lbfgs", "many"}, "-lbfgs"},
		{"negative lm", []string{"solve", "-system", "harmonic", "-lm", "-3"}, "-lm"},
		{"refine-points one", []string{"reproduce", "oscillator", "-refine-points", "1"}, "-refine-points"},
		{"refine-points zero", []string{"reproduce", "oscillator", "-accurate", "-refine-points", "0"}, "-refine-points"},
		{"zero segments", []string{"reproduce", "oscillator", "-segments", "0"}, "-segments"},
		{"negative segments", []string{"ablation", "henon-heiles", "-segments", "-2"}, "-segments"},
		{"negative retries", []string{"reproduce", "oscillator", "-retries", "-1"}, "-retries"},
		{"bad retries", []string{"solve", "-system", "harmonic", "-retries", "1.5"}, "-retries"},
		{"negative retry-loss", []string{"ablation", "oscillator", "-retry-loss", "-1e-10"}, "-retry-loss"},
		{"nan retry-loss", []string{"reproduce", "oscillator", "-accurate", "-retry-loss", "NaN"}, "-retry-loss"},
		{"inf retry-loss", []string{"solve", "-system", "harmonic", "-retry-loss", "+Inf"}, "-retry-loss"},
		{"negative target-error", []string{"reproduce", "oscillator", "-target-error", "-1e-3"}, "-target-error"},
		{"inf target-error", []string{"solve", "-system", "harmonic", "-target-error", "Inf"}, "-target-error"},
		{"target-error with segments", []string{"reproduce", "oscillator", "-target-error", "1e-3", "-segments", "2", "-out", out}, "-target-error"},
		{"target-error with accurate", []string{"reproduce", "all", "-accurate", "-target-error", "1e-3", "-out", out}, "takes no -target-error"},
		{"epochs with accurate", []string{"reproduce", "oscillator", "-accurate", "-epochs", "10", "-out", out}, "takes no -epochs"},
		{"bad target-check", []string{"reproduce", "oscillator", "-target-check", "eq19"}, "-target-check"},
		{"zero check-every", []string{"reproduce", "oscillator", "-check-every", "0"}, "-check-every"},
		{"negative target-loss", []string{"solve", "-system", "harmonic", "-target-loss", "-1"}, "-target-loss"},
		{"nan target-loss", []string{"reproduce", "oscillator", "-target-loss", "NaN"}, "-target-loss"},
		{"accurate on solve", []string{"solve", "-system", "harmonic", "-accurate"}, "flag provided but not defined"},
		{"accurate on ablation", []string{"ablation", "oscillator", "-accurate"}, "flag provided but not defined"},
		{"unwritable out", []string{"reproduce", "oscillator", "-epochs", "1", "-out", filepath.Join(notDir, "sub")}, "output directory"},
		{"unwritable out all", []string{"reproduce", "all", "-epochs", "1", "-out", notDir}, "output directory"},
		{"solve without system", []string{"solve", "-epochs", "1"}, "-system"},
		{"unknown system", []string{"solve", "-system", "lorenz"}, "unknown system"},
		{"bad z0", []string{"solve", "-system", "harmonic", "-z0", "1,x"}, "-z0"},
		{"short z0", []string{"solve", "-system", "henon-heiles", "-z0", "1,2"}, "needs 4 numbers"},
		{"empty interval", []string{"solve", "-system", "harmonic", "-t0", "2", "-t1", "1"}, "interval"},
		{"solve positional", []string{"solve", "harmonic"}, "positional"},
		{"solve unwritable", []string{"solve", "-system", "harmonic", "-epochs", "1", "-out", notDir}, "output directory"},
		{"unknown ablation", []string{"ablation", "kepler"}, "unknown ablation"},
		{"ablation activation", []string{"ablation", "oscillator", "-activation", "sigmoid"}, "not allowed"},
		{"systems args", []string{"systems", "x"}, "no arguments"},
		{"unknown device", []string{"reproduce", "oscillator", "-device", "tpu"}, "-device"},
		{"unknown device solve", []string{"solve", "-system", "harmonic", "-device", "CUDA"}, "-device"},
		{"demo positional", []string{"demo", "oscillator"}, "positional"},
		{"demo zero scale", []string{"demo", "-epochs-scale", "0"}, "-epochs-scale"},
		{"demo unknown device", []string{"demo", "-device", "gpu", "-out", out}, "-device"},
		{"demo unknown flag", []string{"demo", "-accurate"}, "flag provided but not defined"},
		{"demo unwritable", []string{"demo", "-epochs-scale", "0.001", "-out", notDir}, "output directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.args...)
			// An output directory that cannot be written is a failure of
			// the run (1), the rest misuse (2).
			want := 2
			if strings.Contains(tc.name, "unwritable") {
				want = 1
			}
			if code != want {
				t.Errorf("exit %d, want %d (stderr %q)", code, want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || !strings.HasPrefix(stderr, "hnnsolve: ") {
				t.Errorf("stderr = %q, want one line starting with hnnsolve:", stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr = %q, want it to mention %q", stderr, tc.want)
			}
			if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
				t.Errorf("stack trace: %q", stderr)
			}
		})
	}
	// Nothing was written for the failed runs.
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("output directory of failed runs is not empty: %v", ents)
	}
}

func TestHelpAndSystems(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"reproduce", "-h"}} {
		code, stdout, _ := runCmd(t, args...)
		if code != 0 || !strings.Contains(stdout, "hnnsolve reproduce EXPERIMENT") ||
			!strings.Contains(stdout, "-retries N") || !strings.Contains(stdout, "-retry-loss L") {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout)
		}
	}
	code, stdout, _ := runCmd(t, "systems")
	if code != 0 || strings.Fields(stdout)[0] != systems.Names()[0] || len(strings.Fields(stdout)) != len(systems.Names()) {
		t.Errorf("systems: exit %d, stdout %q", code, stdout)
	}
}

// TestProgressBar drives the progress bar as on a terminal.
func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := newProgressMode("oscillator", 1000, 1, 0, &buf, progressBar)
	for e := p.every; e <= 1000; e += p.every {
		p.update(hnnsolve.Progress{Epoch: e, Epochs: 1000, Loss: 1.5e-3})
	}
	p.update(hnnsolve.Progress{Epoch: 1000, Epochs: 1000, Loss: 1.5e-3})
	p.finish()
	out := buf.String()
	for _, want := range []string{"oscillator", "loss 1.500e-03", "1000/1000", "epoch/s", "100%"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress bar output has no %q: %q", want, out)
		}
	}
	if strings.Count(out, "1000/1000") != 1 {
		t.Errorf("the finished bar is drawn more than once: %q", out)
	}
}

// TestAnalysisFailure checks the outputs when the error analysis fails:
// the bounds are null, the reason is recorded and the run still succeeds.
func TestAnalysisFailure(t *testing.T) {
	c, err := experiments["oscillator"].config("oscillator")
	if err != nil {
		t.Fatal(err)
	}
	o := options{activation: "sin", param: "exponential", lr: 8e-3, quiet: true, points: 20, epochs: 5,
		set: map[string]bool{"points": true, "epochs": true}}
	if err := o.apply(c); err != nil {
		t.Fatal(err)
	}
	c.out = t.TempDir()
	set := c.settings
	sol, err := hnnsolve.Solve(hnnsolve.Problem{H: c.sys.Hamiltonian(), Z0: c.z0, T0: c.t0, T: c.t1}, &set)
	if err != nil {
		t.Fatal(err)
	}
	r, err := evaluate(c, sol)
	if err != nil {
		t.Fatal(err)
	}
	r.bounds = bounds{Err: hnnsolve.ErrAnalysis}
	if err := writeOutputs(r); err != nil {
		t.Fatal(err)
	}
	checkRun(t, c.out, wantRun{name: "oscillator", coords: []string{"x", "p"}, eulerLabel: "100K", points: 20, epochs: 5, z0: c.z0})
	s := readSummary(t, c.out)
	for _, k := range []string{"ell_max", "sigma_min", "estimate_eq22", "estimate_eq18", "bound_gronwall"} {
		if s[k] != nil {
			t.Errorf("%s = %v, want null", k, s[k])
		}
	}
	if s["analysis_error"] == nil {
		t.Error("analysis_error is null")
	}
	if _, err := os.Stat(filepath.Join(c.out, "bounds.png")); err == nil {
		t.Error("bounds.png written without an analysis")
	}
	var buf bytes.Buffer
	printTable(&buf, r)
	if !strings.Contains(buf.String(), "n/a") {
		t.Errorf("table: %s", buf.String())
	}
}

// TestAccurateShorthand checks that reproduce X -accurate is the run of
// reproduce X -target-error E (E = 1e-6, 1e-5 for the long runs: the
// recipe, whose accuracy the library's TestRecipeTargetError checks) with
// the other flags given, named X-accurate, for every experiment and for
// all; and that the flags that would make it something else are refused.
func TestAccurateShorthand(t *testing.T) {
	want := map[string]float64{"oscillator": 1e-6, "oscillator-long": 1e-5, "henon-heiles": 1e-6, "henon-heiles-long": 1e-5}
	parse := func(args ...string) *options {
		t.Helper()
		var o options
		if _, err := parseArgs(newFlagSet("reproduce", &o), args, &o); err != nil {
			t.Fatal(err)
		}
		if err := o.check(); err != nil {
			t.Fatal(err)
		}
		return &o
	}
	// One options value for all four, as reproduce all uses it.
	acc := parse("-accurate", "-points", "30", "-seed", "3")
	for _, name := range experimentNames() {
		a, err := experimentConfig(name, acc)
		if err != nil {
			t.Fatal(err)
		}
		b, err := experimentConfig(name, parse("-target-error", strconv.FormatFloat(want[name], 'g', -1, 64), "-points", "30", "-seed", "3"))
		if err != nil {
			t.Fatal(err)
		}
		if a.name != name+"-accurate" || outDir(acc, a.name, false) != filepath.Join("out", name+"-accurate") ||
			!a.recipe || a.preset != "recipe" || a.settings.TargetError != want[name] || a.settings.Points != 30 || a.settings.Seed != 3 {
			t.Errorf("%s -accurate: config %+v", name, a)
		}
		a.name = b.name
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: -accurate gives %+v, -target-error %g gives %+v", name, a, want[name], b)
		}
	}
	if acc.set["target-error"] || !acc.accurate {
		t.Errorf("-accurate changed the options it was given: %+v", acc)
	}
	for _, f := range []string{"-target-error 1e-3", "-segments 2", "-epochs 10", "-lm 5", "-lbfgs 5", "-retries 1"} {
		o := parse(append([]string{"-accurate"}, strings.Fields(f)...)...)
		_, err := experimentConfig("oscillator", o)
		if err == nil || !strings.Contains(err.Error(), "takes no "+strings.Fields(f)[0]) {
			t.Errorf("-accurate %s: err = %v", f, err)
		}
	}
}

// TestRetries retrains every segment: a retry loss no try reaches makes
// each segment run 1 + retries times.
func TestRetries(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCmd(t, "solve", "-system", "harmonic", "-epochs", "10", "-points", "15", "-t1", "2",
		"-hidden", "8", "-segments", "2", "-lm", "2", "-retries", "2", "-retry-loss", "1e-300", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	s := readSummary(t, dir)
	set := s["settings"].(map[string]any)
	if set["retries"] != 2.0 || set["retry_loss"] != 1e-300 {
		t.Errorf("settings = %v", set)
	}
	stages, _ := s["stages"].([]any)
	if len(stages) != 2*3*2 {
		t.Fatalf("stages = %v, want 2 segments × 3 tries × (adam, lm)", s["stages"])
	}
	// The kept try of the last segment: the lowest final loss, the first
	// of equals.
	kept, keptLoss := -1.0, math.Inf(1)
	for i, x := range stages {
		st := x.(map[string]any)
		seg, try := float64(i/6), float64(i%6/2)
		name := []string{"adam", "lm"}[i%2]
		if st["segment"] != seg || st["try"] != try || st["name"] != name {
			t.Errorf("stage %d = %v, want segment %v try %v %s", i, st, seg, try, name)
		}
		if name == "adam" && number(t, st, "iterations") != 10 {
			t.Errorf("stage %d = %v, want 10 iterations", i, st)
		}
		if l := number(t, st, "loss_after"); name == "lm" && seg == 1 && (kept < 0 || l < keptLoss) {
			kept, keptLoss = try, l
		}
	}
	loss := readCSV(t, filepath.Join(dir, "loss.csv"))
	if s["epochs_run"] != 60.0 || loss.rows != 60 {
		t.Errorf("epochs_run = %v, loss.csv has %d rows, want 2 segments × 3 tries × 10", s["epochs_run"], loss.rows)
	}
	// best_loss is the loss at the kept epoch of the kept try.
	idx := 30 + int(kept)*10 + int(number(t, s, "best_epoch"))
	if got := number(t, s, "best_loss"); got != loss.col(t, "loss")[idx] {
		t.Errorf("best_loss = %v, loss.csv row %d (try %v kept) has %v", got, idx, kept, loss.col(t, "loss")[idx])
	}
	for _, w := range []string{"stage lm (segment 1, try 2)", "4 (up to 2 per segment while the loss is above 1e-300)"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout has no %q:\n%s", w, stdout)
		}
	}
	for _, w := range []string{"up to 2 retries each", "epoch 60/60  network 6 (2 segments)"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr has no %q:\n%s", w, stderr)
		}
	}
}

// TestTargetErrorRecipe: -target-error alone hands the training to the
// library's recipe: summary.json records it and its decisions, the
// certified bound holds, and a target out of reach exits 1 with the outputs
// written.
func TestTargetErrorRecipe(t *testing.T) {
	t.Chdir(t.TempDir())
	code, _, stderr := runCmd(t, "reproduce", "oscillator", "-target-error", "1e-3", "-points", "20", "-hidden", "6,6", "-quiet")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	s := readSummary(t, filepath.Join("out", "oscillator"))
	rc, _ := s["recipe"].(map[string]any)
	if s["preset"] != "recipe" || rc == nil || rc["met"] != true || number(t, rc, "target") != 1e-3 {
		t.Fatalf("preset %v, recipe %v", s["preset"], s["recipe"])
	}
	segs, _ := rc["segments"].([]any)
	b, _ := s["segments"].([]any)
	if len(segs) == 0 || len(b) != len(segs)+1 {
		t.Errorf("recipe has %d segments, the run %d boundaries", len(segs), len(b))
	}
	if e := number(t, s, "true_error_max_norm"); e > 2e-3 {
		t.Errorf("true error %v with -target-error 1e-3", e)
	}
	if bc, ok := s["bound_certified"].(float64); !ok || bc < number(t, s, "true_error_max_norm") || s["bound_certified_status"] != "certified" {
		t.Errorf("bound_certified %v (%v) against the true error %v", s["bound_certified"], s["bound_certified_status"], s["true_error_max_norm"])
	}

	code, _, stderr = runCmd(t, "reproduce", "oscillator", "-target-error", "1e-14", "-points", "10", "-hidden", "4", "-quiet", "-out", "miss")
	if code != 1 || !strings.Contains(stderr, "target error not reached") {
		t.Fatalf("unreachable target: exit %d, stderr %s", code, stderr)
	}
	if s := readSummary(t, "miss"); s["recipe"].(map[string]any)["met"] != false {
		t.Errorf("unreachable target: recipe %v", s["recipe"])
	}
}
