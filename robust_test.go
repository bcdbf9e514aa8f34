package hnnsolve

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
)

// inverseQH = p²/2 + 1/q: ∂H/∂q = -1/q² and ∂²H/∂q² = 2/q³ are infinite at q = 0.
func inverseQH(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
	kin := gorgonia.Must(gorgonia.Mul(mustC(0.5), gorgonia.Must(gorgonia.Square(p[0]))))
	return gorgonia.Add(kin, gorgonia.Must(gorgonia.HadamardDiv(mustC(1), q[0])))
}

// TestDerivativesAtSingularPoint: GradH and HessianH report a singular H
// as an error instead of returning ±Inf with a nil error.
func TestDerivativesAtSingularPoint(t *testing.T) {
	if g, err := GradH(inverseQH, []float64{0, 1}); !errors.Is(err, ErrHamiltonian) {
		t.Errorf("GradH at q = 0: %v, %v; want ErrHamiltonian", g, err)
	}
	if h, err := HessianH(inverseQH, []float64{0, 1}); !errors.Is(err, ErrHamiltonian) {
		t.Errorf("HessianH at q = 0: %v, %v; want ErrHamiltonian", h, err)
	}
	// Away from the singularity the closed forms hold.
	g, err := GradH(inverseQH, []float64{2, 3})
	if err != nil || g[0] != -0.25 || g[1] != 3 {
		t.Errorf("GradH(2, 3) = %v, %v; want [-0.25 3]", g, err)
	}
	h, err := HessianH(inverseQH, []float64{2, 3})
	if err != nil || h[0] != 0.25 || h[1] != 0 || h[2] != 0 || h[3] != 1 {
		t.Errorf("HessianH(2, 3) = %v, %v; want [0.25 0 0 1]", h, err)
	}
}

// TestZeroValues: a zero Solution and a zero Report do not panic.
func TestZeroValues(t *testing.T) {
	var s Solution
	if z := s.At(1); z != nil {
		t.Errorf("zero Solution: At = %v, want nil", z)
	}
	if _, err := s.StateAt(1); !errors.Is(err, ErrProblem) {
		t.Errorf("zero Solution: StateAt error %v, want ErrProblem", err)
	}
	if r, c := s.Trajectory([]float64{1, 2}).Dims(); r != 0 || c != 0 {
		t.Errorf("zero Solution: Trajectory is %d×%d, want empty", r, c)
	}
	if r, c := s.Velocity([]float64{1}).Dims(); r != 0 || c != 0 {
		t.Errorf("zero Solution: Velocity is %d×%d, want empty", r, c)
	}
	if e, r := s.Energy([]float64{1}), s.Residual([]float64{1}); e != nil || r != nil {
		t.Errorf("zero Solution: Energy %v, Residual %v, want nil", e, r)
	}
	if b := s.Segments(); b != nil {
		t.Errorf("zero Solution: Segments %v, want nil", b)
	}
	if _, err := s.Analyze(nil); !errors.Is(err, ErrAnalysis) {
		t.Errorf("zero Solution: Analyze error %v, want ErrAnalysis", err)
	}
	if err := s.Save(&bytes.Buffer{}); !errors.Is(err, ErrModel) {
		t.Errorf("zero Solution: Save error %v, want ErrModel", err)
	}
	if out := (&Report{}).String(); !strings.Contains(out, "grid: none") {
		t.Errorf("zero Report prints %q", out)
	}
}

// TestNaNContract: the slice-returning evaluations give NaN exactly in the
// entries of a non-finite time and the true values elsewhere; StateAt
// refuses times outside [T0, T].
func TestNaNContract(t *testing.T) {
	p := oscillatorProblem()
	sol, err := Solve(p, &Settings{Points: 10, Hidden: []int{4}, Epochs: 3})
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	ts := []float64{nan, 1, math.Inf(1)}
	e, r := sol.Energy(ts), sol.Residual(ts)
	z := sol.Trajectory(ts)
	for _, k := range []int{0, 2} {
		if !math.IsNaN(e[k]) || !math.IsNaN(r[k]) || !math.IsNaN(z.At(k, 0)) || !math.IsNaN(z.At(k, 1)) {
			t.Errorf("t = %v: energy %v, residual %v, state %v, want NaN", ts[k], e[k], r[k], z.RawRowView(k))
		}
	}
	if one := sol.Energy([]float64{1}); e[1] != one[0] || math.IsNaN(e[1]) {
		t.Errorf("energy at t = 1 is %v beside NaN times, %v alone", e[1], one[0])
	}
	for _, tt := range []float64{nan, p.T0 - 1e-9, p.T + 1e-9, math.Inf(-1)} {
		if _, err := sol.StateAt(tt); !errors.Is(err, ErrProblem) {
			t.Errorf("StateAt(%v): error %v, want ErrProblem", tt, err)
		}
	}
	for _, tt := range []float64{p.T0, 1, p.T} {
		if z, err := sol.StateAt(tt); err != nil || z[0] != sol.At(tt)[0] {
			t.Errorf("StateAt(%v) = %v, %v; want At's %v", tt, z, err, sol.At(tt))
		}
	}
}

// TestRetriesWithoutRetryLoss: with RetryLoss = 0 every retry runs and the
// try with the lowest final loss is kept: on fixed times the returned
// network's loss, recomputed from the closed-form ∇H, is the lowest of the
// tries' final losses.
func TestRetriesWithoutRetryLoss(t *testing.T) {
	set := quickSettings()
	set.Epochs, set.Retries, set.Perturb = 50, 2, -1
	sol, err := Solve(oscillatorProblem(), set)
	if err != nil {
		t.Fatal(err)
	}
	if len(sol.Stages) != 3 || sol.EpochsRun != 150 {
		t.Fatalf("%d stages, %d epochs run; want 3 tries of 50 epochs", len(sol.Stages), sol.EpochsRun)
	}
	best, worst := math.Inf(1), 0.0
	for _, st := range sol.Stages {
		best, worst = math.Min(best, st.LossAfter), math.Max(worst, st.LossAfter)
	}
	loss := oscillatorFixedLoss(sol, set.Points)
	if math.Abs(loss-best) > 1e-12*best || best == worst {
		t.Errorf("returned network's loss %v; tries ended between %v and %v", loss, best, worst)
	}
}

// TestChainSettingsReportSegmentPerturb: Settings() after chaining reports
// the perturbation each segment trained with, three of its grid spacings.
func TestChainSettingsReportSegmentPerturb(t *testing.T) {
	set := quickSettings()
	set.Epochs, set.Segments = 20, 4
	sol, err := Solve(oscillatorProblem(), set)
	if err != nil {
		t.Fatal(err)
	}
	p := oscillatorProblem()
	want := 3 * (p.T - p.T0) / 4 / float64(set.Points-1)
	if got := sol.Settings().Perturb; math.Abs(got-want) > 1e-15*want {
		t.Errorf("Perturb %v, want %v (3 spacings of a segment's grid)", got, want)
	}
}
