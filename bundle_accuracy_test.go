package hnnsolve

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"hnnsolve/integrate"
)

// Accuracy of solution bundles against DOP853 at rtol = atol = 1e-12
// (global errors ~1e-12 on these intervals, far below the 1e-3 checked).

// oscillatorField is Hamilton's equations of Eq. 23 in closed form.
func oscillatorField(dst []float64, _ float64, z []float64) {
	dst[0], dst[1] = z[1], -(z[0] + z[0]*z[0]*z[0])
}

// bundleMembers draws n members uniformly in p's boxes (rows (z0, θ)).
func bundleMembers(p BundleProblem, n int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 99))
	lo := append(append([]float64{}, p.Z0Min...), p.ThetaMin...)
	hi := append(append([]float64{}, p.Z0Max...), p.ThetaMax...)
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = make([]float64, len(lo))
		for c := range lo {
			rows[i][c] = lo[c] + (hi[c]-lo[c])*rng.Float64()
		}
	}
	return rows
}

// memberMatrices splits the members' rows (z0 then θ) into the matrices
// AtMembers takes; theta is nil when p has no parameters.
func memberMatrices(p BundleProblem, rows [][]float64) (z0, theta *mat.Dense) {
	dim, m := p.dim(), len(p.ThetaMin)
	z0 = mat.NewDense(len(rows), dim, nil)
	if m > 0 {
		theta = mat.NewDense(len(rows), m, nil)
	}
	for i, r := range rows {
		z0.SetRow(i, r[:dim])
		if m > 0 {
			theta.SetRow(i, r[dim:])
		}
	}
	return z0, theta
}

// bundleMaxError returns the largest |ẑ - z| over the members and the
// times, z by DOP853 on field(θ).
func bundleMaxError(t *testing.T, b *Bundle, members [][]float64, ts []float64, field func(theta []float64) func([]float64, float64, []float64)) float64 {
	t.Helper()
	dim := b.problem.dim()
	worst := 0.0
	for _, row := range members {
		ref, err := integrate.SolveODE(field(row[dim:]), row[:dim], ts, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Trajectory(ts, row[:dim], row[dim:])
		if err != nil {
			t.Fatal(err)
		}
		for i := range ts {
			for c := range dim {
				worst = math.Max(worst, math.Abs(got.At(i, c)-ref.Z.At(i, c)))
			}
		}
	}
	return worst
}

func denseTimes(t0, t1 float64, n int) []float64 {
	ts := make([]float64, n)
	for i := range ts {
		ts[i] = t0 + (t1-t0)*float64(i)/float64(n-1)
	}
	return ts
}

// oscillatorBundleMaxError is issue 12's target for the oscillator bundle
// over 1000 members. The bundle of oscillatorBundleSettings meets it with
// a margin of 3x: its max error is 3.37e-4 over both the command's 1000
// members (p99 2.9e-4) and the tests' (bundleMembers, seed 1), so
// differences between builds (the vectorised sine and matrix kernels
// against -tags purego) are far inside it.
const oscillatorBundleMaxError = 1e-3

func oscillatorBundleProblem() BundleProblem {
	return BundleProblem{H: oscillatorBundleH, Z0Min: []float64{1, 0.5}, Z0Max: []float64{1.5, 1}, T: 4 * math.Pi}
}

// oscillatorBundleSettings are the settings of the oscillator target.
// Levenberg-Marquardt runs 1600 steps per segment: at 300 (with 16
// segments) every segment's loss was still falling by about 2.5x per 150
// steps, and the bundle missed the target (1.0017e-3). Run longer, it
// converges far enough for 12 segments of π/3 (3.37e-4), fewer forward
// passes per evaluation than 16 (3.58e-4 with LM 800).
func oscillatorBundleSettings() *Settings {
	return &Settings{Points: 1000, Hidden: []int{16, 16}, Epochs: 1500, LearnRate: 8e-3, LearnRateFinal: 1e-4,
		Beta1: 0.9, Beta2: 0.999, Energy: 1, Segments: 12, LM: 1600, RefinePoints: 1000, Seed: 1}
}

// oscillatorVariational is Hamilton's equations of Eq. 23 with their
// variational equations, y = (z, Φ) with Φ(0) = I and Φ' = J D²H(z) Φ,
// D²H = diag(1 + 3x², 1): Φ(t) = dz(t)/dz0.
func oscillatorVariational(dst []float64, _ float64, y []float64) {
	x, p := y[0], y[1]
	dst[0], dst[1] = p, -(x + x*x*x)
	k := 1 + 3*x*x
	for c := range 2 { // column c of Φ: (Φ0c, Φ1c) at y[2+c], y[4+c]
		f0, f1 := y[2+c], y[4+c]
		dst[2+c], dst[4+c] = f1, -k*f0
	}
}

// checkJacobian compares dz(T)/dz0 of the bundle with the variational
// equations integrated by DOP853 for n random members and returns the
// largest relative error in the Frobenius norm.
func checkJacobian(t *testing.T, b *Bundle, n int) float64 {
	t.Helper()
	p := b.problem
	worst := 0.0
	for _, row := range bundleMembers(p, n, 2) {
		y0 := []float64{row[0], row[1], 1, 0, 0, 1}
		ref, err := integrate.SolveODE(oscillatorVariational, y0, []float64{p.T0, p.T}, nil)
		if err != nil {
			t.Fatal(err)
		}
		jz, _, err := b.Jacobian(p.T, row[:2], nil)
		if err != nil {
			t.Fatal(err)
		}
		diff, norm := 0.0, 0.0
		for i := range 2 {
			for c := range 2 {
				want := ref.Z.At(1, 2+2*i+c)
				diff += (jz.At(i, c) - want) * (jz.At(i, c) - want)
				norm += want * want
			}
		}
		worst = math.Max(worst, math.Sqrt(diff/norm))
	}
	return worst
}

// TestBundleOscillatorShort is the fast variant of the oscillator target:
// the same box on [0, π/2] in two segments, trained in seconds, checked
// against DOP853 on 200 members to the target's 1e-3, and dz(T)/dz0
// against the variational equations to the target's 1e-2.
func TestBundleOscillatorShort(t *testing.T) {
	p := oscillatorBundleProblem()
	p.T = math.Pi / 2
	s := oscillatorBundleSettings()
	s.Segments, s.Epochs, s.LM, s.RefinePoints = 2, 1000, 250, 500
	start := time.Now()
	b, err := SolveBundle(p, s)
	if err != nil {
		t.Fatal(err)
	}
	train := time.Since(start)
	worst := bundleMaxError(t, b, bundleMembers(p, 200, 1), denseTimes(p.T0, p.T, 51), func([]float64) func([]float64, float64, []float64) { return oscillatorField })
	jac := checkJacobian(t, b, 50)
	t.Logf("training %v; max error %.3g; dz(T)/dz0 relative error %.3g", train, worst, jac)
	if worst > 1e-3 {
		t.Errorf("max error %.3g, want <= 1e-3", worst)
	}
	if jac > 1e-2 {
		t.Errorf("dz(T)/dz0 relative error %.3g, want <= 1e-2", jac)
	}
}

// TestBundleOscillatorSaved checks the oscillator bundle of the target,
// trained with oscillatorBundleSettings by "hnnsolve bundle oscillator"
// and saved in testdata, against DOP853 as TestBundleOscillatorTarget
// does, without the training: max error over 1000 random members and 201
// times <= oscillatorBundleMaxError, the target's 1e-3 (met: 3.4e-4 on
// these members), and dz(T)/dz0 against the variational equations <= 1e-2
// (the target; met: 1.1e-3 on these members).
func TestBundleOscillatorSaved(t *testing.T) {
	f, err := os.Open(bundleBenchFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := oscillatorBundleProblem()
	b, err := LoadBundle(f, p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Settings(), oscillatorBundleSettings(); got.Segments != want.Segments || got.LM != want.LM || got.Epochs != want.Epochs || got.Energy != want.Energy {
		t.Fatalf("%s was trained with other settings", bundleBenchFile)
	}
	worst := bundleMaxError(t, b, bundleMembers(p, 1000, 1), denseTimes(p.T0, p.T, 201), func([]float64) func([]float64, float64, []float64) { return oscillatorField })
	jac := checkJacobian(t, b, 1000)
	t.Logf("max error over 1000 members × 201 times %.3g; dz(T)/dz0 relative error (1000 members) %.3g", worst, jac)
	if worst > oscillatorBundleMaxError {
		t.Errorf("max error %.3g, want <= %g", worst, oscillatorBundleMaxError)
	}
	if jac > 1e-2 {
		t.Errorf("dz(T)/dz0 relative error %.3g, want <= 1e-2", jac)
	}
}

// TestBundleOscillatorTarget trains the oscillator bundle over
// z0 in [1, 1.5] × [0.5, 1] on [0, 4π] (about 12 minutes of CPU on one
// core, over go test's default 10-minute limit) and checks the largest error over 1000 random members
// and 201 times against DOP853 to oscillatorBundleMaxError, issue 12's
// target of 1e-3 (met: 3.37e-4, a margin of 3x), and dz(T)/dz0 to the
// target's 1e-2 (met: 1.05e-3). It runs only when asked:
//
//	HNNSOLVE_LONG=1 go test -run TestBundleOscillatorTarget -timeout 60m .
//
// TestBundleOscillatorSaved checks the bundle it produces (saved in
// testdata) in every run, and TestBundleOscillatorShort trains a shorter
// bundle.
func TestBundleOscillatorTarget(t *testing.T) {
	trainBundleTarget(t, oscillatorBundleProblem(), oscillatorBundleSettings(),
		func([]float64) func([]float64, float64, []float64) { return oscillatorField },
		func(b *Bundle) float64 { return checkJacobian(t, b, 1000) }, oscillatorBundleMaxError, 1e-2)
}

// trainBundleTarget trains the bundle of p with set, only when
// HNNSOLVE_LONG is set (the targets take many minutes), and checks its
// largest error over 1000 random members and 201 times against DOP853 on
// field to maxErr and its dz(T)/dz0 relative error, by jacobianError, to
// maxJac.
func trainBundleTarget(t *testing.T, p BundleProblem, set *Settings, field func(theta []float64) func([]float64, float64, []float64),
	jacobianError func(*Bundle) float64, maxErr, maxJac float64) {
	if os.Getenv("HNNSOLVE_LONG") == "" {
		t.Skip("trains a bundle for many minutes: set HNNSOLVE_LONG=1")
	}
	start := time.Now()
	b, err := SolveBundle(p, set)
	if err != nil {
		t.Fatal(err)
	}
	train := time.Since(start)
	for _, st := range b.Stages {
		t.Logf("segment %d %s: %d iterations, loss %.3g -> %.3g (%s)", st.Segment, st.Name, st.Iterations, st.LossBefore, st.LossAfter, st.Status)
	}
	worst := bundleMaxError(t, b, bundleMembers(p, 1000, 1), denseTimes(p.T0, p.T, 201), field)
	jac := jacobianError(b)
	t.Logf("training %v; max error over 1000 members × 201 times %.3g; dz(T)/dz0 relative error (1000 members) %.3g", train, worst, jac)
	if worst > maxErr {
		t.Errorf("max error %.3g, want <= %g", worst, maxErr)
	}
	if jac > maxJac {
		t.Errorf("dz(T)/dz0 relative error %.3g, want <= %g", jac, maxJac)
	}
}
