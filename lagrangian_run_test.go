package hnnsolve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
)

func lagOscillator() LagrangianProblem {
	return LagrangianProblem{V: oscillatorV, Q0: []float64{1.3}, V0: []float64{1}, T: 4 * math.Pi}
}

// TestLagrangianResumeBitIdentical: a SolveLagrangian run (a chain of three
// segments, two tries each, L-BFGS and LM) stopped at random points and
// resumed from its last checkpoint with ResumeLagrangian ends bit-identical
// to the uninterrupted run.
func TestLagrangianResumeBitIdentical(t *testing.T) {
	dir := t.TempDir()
	lp := lagOscillator()
	ref, err := SolveLagrangian(lp, resumeSettings(""))
	if err != nil {
		t.Fatal(err)
	}
	full := newCountdown(math.MaxInt64)
	withCk, err := SolveLagrangianContext(full, lp, resumeSettings(filepath.Join(dir, "full.ckpt")))
	if err != nil {
		t.Fatal(err)
	}
	if !sameRun(ref, withCk) {
		t.Fatal("writing checkpoints changed the run")
	}
	total := math.MaxInt64 - full.n.Load()
	rng := rand.New(rand.NewPCG(3, 2))
	where := map[string]int{}
	const kills = 24
	for k := range kills {
		n := 1 + rng.Int64N(total-1)
		path := filepath.Join(dir, "run.ckpt")
		os.Remove(path)
		stopped, err := SolveLagrangianContext(newCountdown(n), lp, resumeSettings(path))
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
		// A Lagrangian checkpoint is not a Hamiltonian one.
		if _, err := Resume(f, lp.Problem(), resumeSettings(path)); !errors.Is(err, ErrModel) {
			t.Errorf("kill %d: Resume of a Lagrangian checkpoint: %v, want ErrModel", k, err)
		}
		f.Seek(0, 0)
		resumed, err := ResumeLagrangian(f, lp, resumeSettings(path))
		f.Close()
		if err != nil {
			t.Fatalf("kill %d (in %s, segment %d): resume: %v", k, last.Name, last.Segment, err)
		}
		if !sameRun(ref, resumed) {
			t.Errorf("kill %d (in %s, segment %d, try %d): resumed run differs from the uninterrupted one", k, last.Name, last.Segment, last.Try)
		}
	}
	t.Logf("%d kills, all resumed bit-identical; stopped in: %v", kills, where)
	for _, w := range []string{"adam", "lbfgs", "lm", "later segment"} {
		if where[w] == 0 {
			t.Errorf("no kill landed in %s: %v", w, where)
		}
	}
}

// TestLagrangianSaveLoad: a SolveLagrangian Solution round-trips through
// Save and LoadLagrangian to the same bits; Load refuses it and
// LoadLagrangian refuses a Hamiltonian model; a version-2 model file (no
// formulation) still reads as Hamiltonian.
func TestLagrangianSaveLoad(t *testing.T) {
	lp := lagOscillator()
	lp.T0, lp.T = 1, 5
	sol, err := SolveLagrangian(lp, &Settings{Points: 30, Hidden: []int{8, 8}, Epochs: 200, Segments: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := sol.Save(&buf); err != nil {
		t.Fatal(err)
	}
	saved := buf.String()
	if !strings.Contains(saved, `"formulation":"lagrangian"`) || !strings.Contains(saved, fmt.Sprintf(`"version":%d`, modelVersion)) {
		t.Errorf("model file does not record the formulation and version %d", modelVersion)
	}
	got, err := LoadLagrangian(strings.NewReader(saved), lp)
	if err != nil {
		t.Fatal(err)
	}
	ts := []float64{1, 1.1, 2.9, 3, 3.01, 5}
	if !slices.Equal(sol.Trajectory(ts).RawMatrix().Data, got.Trajectory(ts).RawMatrix().Data) ||
		!slices.Equal(sol.Velocity(ts).RawMatrix().Data, got.Velocity(ts).RawMatrix().Data) ||
		!slices.Equal(sol.Residual(ts), got.Residual(ts)) || !slices.Equal(sol.Energy(ts), got.Energy(ts)) {
		t.Error("loaded Lagrangian model evaluates differently")
	}
	if _, err := Load(strings.NewReader(saved), lp.Problem()); !errors.Is(err, ErrModel) {
		t.Errorf("Load of a Lagrangian model: %v, want ErrModel", err)
	}
	// A Hamiltonian model, and the same as a version-2 file.
	hp := Problem{H: oscillatorH, Z0: []float64{1.3, 1}, T: 3}
	hsol, err := Solve(hp, &Settings{Points: 30, Hidden: []int{8, 8}, Epochs: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := hsol.Save(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadLagrangian(bytes.NewReader(buf.Bytes()), LagrangianProblem{V: oscillatorV, Q0: []float64{1.3}, V0: []float64{1}, T: 3}); !errors.Is(err, ErrModel) {
		t.Errorf("LoadLagrangian of a Hamiltonian model: %v, want ErrModel", err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "formulation")
	m["version"] = 2
	b, _ := json.Marshal(m)
	v2, ok := withChecksum(string(b))
	if !ok {
		t.Fatal("cannot rewrite the model as version 2")
	}
	old, err := Load(strings.NewReader(v2), hp)
	if err != nil {
		t.Fatalf("version 2 file: %v", err)
	}
	if !slices.Equal(hsol.Trajectory(ts).RawMatrix().Data, old.Trajectory(ts).RawMatrix().Data) {
		t.Error("version 2 file evaluates differently")
	}
	for name, data := range map[string]string{
		"v2 with a formulation": strings.Replace(v2, `"version":2`, `"version":2,"formulation":"hamiltonian"`, 1),
		"v3 without":            strings.Replace(v2, `"version":2`, fmt.Sprintf(`"version":%d`, modelVersion), 1),
		"unknown formulation":   strings.Replace(saved, `"formulation":"lagrangian"`, `"formulation":"newtonian"`, 1),
	} {
		if fixed, ok := withChecksum(data); ok {
			data = fixed
		}
		if _, err := Load(strings.NewReader(data), hp); !errors.Is(err, ErrModel) || strings.Contains(err.Error(), "checksum") {
			t.Errorf("%s: Load error %v, want ErrModel (not the checksum)", name, err)
		}
	}
}

// TestLagrangianSolutionInPhaseSpace: a SolveLagrangian Solution is one of
// H = p²/2 + V: At gives (q, q̇), Velocity (q̇, q̈), Energy the closed-form H,
// Residual |q̈ + ∇V|, and Analyze runs on it.
func TestLagrangianSolutionInPhaseSpace(t *testing.T) {
	lp := lagOscillator()
	lp.T = 3
	sol, err := SolveLagrangian(lp, &Settings{Points: 40, Hidden: []int{10, 10}, Epochs: 500, Energy: 1, LM: 30, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sol.Formulation() != "lagrangian" {
		t.Errorf("Formulation() = %q", sol.Formulation())
	}
	ts := []float64{0, 0.4, 1.7, 2.2, 3}
	z, v := sol.Trajectory(ts), sol.Velocity(ts)
	energy, res := sol.Energy(ts), sol.Residual(ts)
	for i := range ts {
		x, p := z.At(i, 0), z.At(i, 1)
		if v.At(i, 0) != p {
			t.Errorf("t=%v: dq/dt %v, p %v: want equal", ts[i], v.At(i, 0), p)
		}
		if e := p*p/2 + x*x/2 + x*x*x*x/4; math.Abs(energy[i]-e) > 1e-14 {
			t.Errorf("t=%v: Energy %v, H %v", ts[i], energy[i], e)
		}
		if r := math.Abs(v.At(i, 1) + x + x*x*x); math.Abs(res[i]-r) > 1e-13 {
			t.Errorf("t=%v: Residual %v, |q̈ + V'| %v", ts[i], res[i], r)
		}
	}
	rep, err := sol.Analyze(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !(rep.EllMax > 0) || !isFinite(rep.EllMax) {
		t.Errorf("Analyze: ℓ_max = %v", rep.EllMax)
	}
}

// TestSolveLagrangianContextStops: a cancellation returns within one epoch
// with what was trained and an error wrapping context.Canceled.
func TestSolveLagrangianContextStops(t *testing.T) {
	lp := lagOscillator()
	sol, err := SolveLagrangianContext(newCountdown(50), lp, &Settings{Points: 20, Hidden: []int{6}, Epochs: 1000, Seed: 1})
	if !errors.Is(err, context.Canceled) || sol == nil {
		t.Fatalf("SolveLagrangianContext: %v, %v", sol, err)
	}
	if sol.EpochsRun < 1 || sol.EpochsRun > 60 {
		t.Errorf("stopped after %d epochs, want about 50", sol.EpochsRun)
	}
	if z := sol.At(0); !slices.Equal(z, []float64{1.3, 1}) {
		t.Errorf("At(T0) = %v", z)
	}
}

// TestSolveLagrangianBadInput: invalid problems and potentials give typed
// errors, never a panic.
func TestSolveLagrangianBadInput(t *testing.T) {
	ok := lagOscillator()
	set := &Settings{Points: 10, Hidden: []int{4}, Epochs: 2}
	other := gorgonia.NewGraph()
	for name, c := range map[string]struct {
		lp   LagrangianProblem
		s    *Settings
		want error
	}{
		"nil V":          {LagrangianProblem{Q0: []float64{1}, V0: []float64{0}, T: 1}, set, ErrLagrangian},
		"no Q0":          {LagrangianProblem{V: oscillatorV, T: 1}, set, ErrProblem},
		"V0 short":       {LagrangianProblem{V: oscillatorV, Q0: []float64{1, 2}, V0: []float64{0}, T: 1}, set, ErrProblem},
		"NaN Q0":         {LagrangianProblem{V: oscillatorV, Q0: []float64{math.NaN()}, V0: []float64{0}, T: 1}, set, ErrProblem},
		"empty interval": {LagrangianProblem{V: oscillatorV, Q0: []float64{1}, V0: []float64{0}, T0: 1, T: 1}, set, ErrProblem},
		"V fails": {LagrangianProblem{V: func([]*gorgonia.Node) (*gorgonia.Node, error) { return nil, errors.New("no") },
			Q0: []float64{1}, V0: []float64{0}, T: 1}, set, ErrLagrangian},
		"V nil node": {LagrangianProblem{V: func([]*gorgonia.Node) (*gorgonia.Node, error) { return nil, nil },
			Q0: []float64{1}, V0: []float64{0}, T: 1}, set, ErrLagrangian},
		"V other graph": {LagrangianProblem{V: func([]*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.NewScalar(other, gorgonia.Float64), nil
		}, Q0: []float64{1}, V0: []float64{0}, T: 1}, set, ErrLagrangian},
		"V wrong coordinate": {LagrangianProblem{V: func(q []*gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Square(q[3]) },
			Q0: []float64{1}, V0: []float64{0}, T: 1}, set, ErrLagrangian},
		"V infinite": {LagrangianProblem{V: func(q []*gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Log(q[0]) },
			Q0: []float64{0}, V0: []float64{0}, T: 1}, set, ErrHamiltonian},
		"scalar V with energy": {LagrangianProblem{V: pendulumScalarV, Q0: []float64{1}, V0: []float64{0}, T: 1},
			&Settings{Points: 10, Hidden: []int{4}, Epochs: 2, Energy: 1}, ErrHamiltonian},
		"CUDA":         {ok, &Settings{Device: CUDA}, ErrSettings},
		"bad settings": {ok, &Settings{Points: 1}, ErrSettings},
	} {
		_, err := SolveLagrangian(c.lp, c.s)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", name, err, c.want)
		}
	}
	// A scalar V trains without the energy term.
	if _, err := SolveLagrangian(LagrangianProblem{V: pendulumScalarV, Q0: []float64{1}, V0: []float64{0}, T: 1}, set); err != nil {
		t.Errorf("scalar V: %v", err)
	}
}
