package hnnsolve

import (
	"errors"
	"math"
	"slices"
	"testing"

	"hnnsolve/integrate"
)

// Issue 12's Hénon-Heiles bundle. The issue's family, z0 within ±0.05 of
// (0.3, −0.3, 0.3, 0.15) and θ in [0.8, 1.2] on [0, 6π], holds members
// that escape the potential well and blow up within the interval, so no
// solver meets a bound on the error there. The bundle solves the restated
// family of hhBundleTargetProblem, θ in [0.8, 0.9], whose every member, and
// every member of its training box (the preset's BundleMargin), is bounded.
//
// Boundedness. V(q; θ) = (x² + y²)/2 + θ (x² y − y³/3) = V(θq; 1)/θ², so
// the saddles of V(·; θ) are those of Eq. 26, (0, 1), (±√3/2, −1/2),
// divided by θ, all at the escape energy 1/(6θ²); the level set
// V = 1/(6θ²) holds the three lines through them, and the triangle they
// bound, θy > −1/2 and θy < 1 − √3 θ|x|, is the well. A member with
// H(z0; θ) < 1/(6θ²) whose q0 lies in the triangle stays in the compact
// set {V <= H(z0; θ)} ∩ triangle for all time.

// hhEnergy is H(z; θ) of henonHeilesThetaH.
func hhEnergy(z []float64, th float64) float64 {
	x, y, px, py := z[0], z[1], z[2], z[3]
	return (px*px+py*py)/2 + (x*x+y*y)/2 + th*(x*x*y-y*y*y/3)
}

// hhEscapeEnergy is the saddle energy of H(·; θ), 1/(6θ²).
func hhEscapeEnergy(th float64) float64 { return 1 / (6 * th * th) }

// hhInWell reports whether θq lies inside the triangle of the saddles.
func hhInWell(z []float64, th float64) bool {
	x, y := th*z[0], th*z[1]
	return y > -0.5 && y < 1-math.Sqrt(3)*math.Abs(x)
}

// hhField is Hamilton's equations of henonHeilesThetaH at θ, in closed
// form (henonHeilesThetaGrad's, without its allocation, so that DOP853
// is timed fairly in BenchmarkBundleStateAtT).
func hhField(theta []float64) func([]float64, float64, []float64) {
	th := theta[0]
	return func(dst []float64, _ float64, z []float64) {
		x, y, px, py := z[0], z[1], z[2], z[3]
		dst[0], dst[1], dst[2], dst[3] = px, py, -(x + th*2*x*y), -(y + th*(x*x-y*y))
	}
}

// hhVariational is hhField with its variational equations, y = (z, Φ)
// with Φ row-major, Φ(0) = I and Φ' = J D²H(z; θ) Φ: Φ(t) = dz(t)/dz0.
// D²H has the q block [[1 + 2θy, 2θx], [2θx, 1 − 2θy]] and the identity
// as its p block, so (J D²H Φ) has rows Φ_px, Φ_py, −(D²_q Φ_q).
func hhVariational(theta []float64) func([]float64, float64, []float64) {
	th, f := theta[0], hhField(theta)
	return func(dst []float64, t float64, y []float64) {
		f(dst[:4], t, y[:4])
		x, yy := y[0], y[1]
		a, b, d := 1+2*th*yy, 2*th*x, 1-2*th*yy
		phi, dphi := y[4:], dst[4:]
		for c := range 4 {
			fx, fy, fpx, fpy := phi[c], phi[4+c], phi[8+c], phi[12+c]
			dphi[c], dphi[4+c] = fpx, fpy
			dphi[8+c], dphi[12+c] = -(a*fx + b*fy), -(b*fx + d*fy)
		}
	}
}

// hhJacobianError returns the largest relative error, in the Frobenius
// norm, of the bundle's dz(T)/dz0 against hhVariational by DOP853 over
// the members.
func hhJacobianError(t *testing.T, b *Bundle, members [][]float64) float64 {
	t.Helper()
	p := b.problem
	worst := 0.0
	for _, row := range members {
		y0 := append(append([]float64{}, row[:4]...), make([]float64, 16)...)
		for i := range 4 {
			y0[4+5*i] = 1
		}
		ref, err := integrate.SolveODE(hhVariational(row[4:]), y0, []float64{p.T0, p.T}, nil)
		if err != nil {
			t.Fatal(err)
		}
		jz, _, err := b.Jacobian(p.T, row[:4], row[4:])
		if err != nil {
			t.Fatal(err)
		}
		diff, norm := 0.0, 0.0
		for i := range 4 {
			for c := range 4 {
				want := ref.Z.At(1, 4+4*i+c)
				diff += (jz.At(i, c) - want) * (jz.At(i, c) - want)
				norm += want * want
			}
		}
		worst = math.Max(worst, math.Sqrt(diff/norm))
	}
	return worst
}

// hhBox is a box of members (z0, θ): lo and hi of length 5.
type hhBox struct{ lo, hi []float64 }

func (p BundleProblem) box() hhBox {
	return hhBox{append(append([]float64{}, p.Z0Min...), p.ThetaMin...), append(append([]float64{}, p.Z0Max...), p.ThetaMax...)}
}

// trainBox is the box the bundle of p trains with the settings s on (p's
// boxes widened by s.BundleMargin on each side).
func (p BundleProblem) trainBox(s *Settings) hhBox {
	b := &Bundle{problem: p.cloned(), settings: *s}
	b.newInputMap()
	return hhBox{b.trainLo, b.trainHi}
}

// worstCorner returns the member of the box where H(z0; θ) − 1/(6θ²) is
// largest, after checking the signs that put it there (a box with x > 0,
// y < 0, as the issue's): ∂H/∂x = x (1 + 2θy) > 0, ∂H/∂y = y + θ(x² − y²)
// < 0, ∂/∂θ (H − 1/(6θ²)) = x²y − y³/3 + 1/(3θ³) > 0 over the box, bounded
// from its ends; the momenta enter as p²/2, largest at the larger |p|.
func (bx hhBox) worstCorner(t *testing.T) []float64 {
	t.Helper()
	lo, hi := bx.lo, bx.hi
	if !(lo[0] > 0 && hi[1] < 0 && lo[4] > 0) {
		t.Fatalf("box %v: want x > 0, y < 0, θ > 0", bx)
	}
	if v := 1 + 2*hi[4]*lo[1]; v <= 0 {
		t.Fatalf("1 + 2θy >= %v, want > 0", v)
	}
	if v := hi[1] + math.Max(lo[4]*(hi[0]*hi[0]-hi[1]*hi[1]), hi[4]*(hi[0]*hi[0]-hi[1]*hi[1])); v >= 0 {
		t.Fatalf("∂H/∂y <= %v, want < 0", v)
	}
	if v := hi[0]*hi[0]*lo[1] - hi[1]*hi[1]*hi[1]/3 + 1/(3*hi[4]*hi[4]*hi[4]); v <= 0 {
		t.Fatalf("∂(H - 1/(6θ²))/∂θ >= %v, want > 0", v)
	}
	bigger := func(a, b float64) float64 {
		if math.Abs(a) > math.Abs(b) {
			return a
		}
		return b
	}
	return []float64{hi[0], lo[1], bigger(lo[2], hi[2]), bigger(lo[3], hi[3]), hi[4]}
}

// maxExcess returns the largest H(z0; θ) − 1/(6θ²) over an n⁵ grid of the
// box, and whether every grid member starts in the well.
func (bx hhBox) maxExcess(n int) (excess float64, inWell bool) {
	excess, inWell = math.Inf(-1), true
	row := make([]float64, 5)
	for idx := range int(math.Pow(float64(n), 5)) {
		k := idx
		for c := range row {
			i := k % n
			k /= n
			row[c] = bx.lo[c] + (bx.hi[c]-bx.lo[c])*float64(i)/float64(n-1)
		}
		excess = math.Max(excess, hhEnergy(row[:4], row[4])-hhEscapeEnergy(row[4]))
		inWell = inWell && hhInWell(row[:4], row[4])
	}
	return excess, inWell
}

// hhThetaBound returns the largest θ for which the member z0 has
// H(z0; θ) <= 1/(6θ²) (bisection; the difference increases with θ).
func hhThetaBound(z0 []float64) float64 {
	lo, hi := 0.5, 2.0
	for range 60 {
		m := (lo + hi) / 2
		if hhEnergy(z0, m) < hhEscapeEnergy(m) {
			lo = m
		} else {
			hi = m
		}
	}
	return lo
}

// hhBundleTargetProblem is the restated family of the Hénon-Heiles
// target: the issue's z0 box and interval, θ in [0.8, 0.9].
func hhBundleTargetProblem() BundleProblem {
	p := hhBundleProblem()
	p.ThetaMax = []float64{0.9}
	return p
}

// TestBundleHenonHeilesBox establishes why the Hénon-Heiles target is
// restated: members of the issue's box above the escape energy, one that
// DOP853 shows blowing up within [0, 6π], and that the restated box and
// its training box are bounded, with the largest θ that keeps them so.
func TestBundleHenonHeilesBox(t *testing.T) {
	issue := hhBundleProblem()
	if issue.ThetaMax[0] != 1.2 || issue.T != 6*math.Pi {
		t.Fatalf("hhBundleProblem is not the issue's family: %+v", issue)
	}
	// The issue's box: the worst corner is far above the escape energy,
	// and so is a good share of random members.
	corner := issue.box().worstCorner(t)
	if e, esc := hhEnergy(corner[:4], corner[4]), hhEscapeEnergy(corner[4]); e <= esc {
		t.Errorf("issue's box: corner %v has H = %.4f, escape %.4f", corner, e, esc)
	}
	over := 0
	for _, row := range bundleMembers(issue, 1000, 1) {
		if hhEnergy(row[:4], row[4]) > hhEscapeEnergy(row[4]) {
			over++
		}
	}
	t.Logf("issue's box: worst corner %v: H = %.5f against the escape energy %.5f; %d of 1000 random members above it",
		corner, hhEnergy(corner[:4], corner[4]), hhEscapeEnergy(corner[4]), over)
	if over < 50 {
		t.Errorf("%d of 1000 members of the issue's box above the escape energy, want many", over)
	}
	// A member of the issue's box that blows up: (0.35, -0.35, 0.35, 0.2),
	// θ = 1.1 leaves the well and reaches |q| > 100 before t = 17.8 < 6π;
	// DOP853 at 1e-12 cannot pass the singularity at t ≈ 17.99.
	z0, th := []float64{0.35, -0.35, 0.35, 0.2}, []float64{1.1}
	ts := []float64{0, 17.8}
	tr, err := integrate.SolveODE(hhField(th), z0, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q := math.Hypot(tr.Z.At(1, 0), tr.Z.At(1, 1)); q < 100 {
		t.Errorf("|q(17.8)| = %v, want > 100", q)
	}
	_, err = integrate.SolveODE(hhField(th), z0, denseTimes(0, 6*math.Pi, 201), nil)
	if !errors.Is(err, integrate.ErrStepSize) {
		t.Errorf("DOP853 on [0, 6π]: %v, want ErrStepSize (blow-up)", err)
	}
	t.Logf("member (%v, θ %v): |q(17.8)| = %.3g; on [0, 6π]: %v", z0, th[0], math.Hypot(tr.Z.At(1, 0), tr.Z.At(1, 1)), err)

	// The largest θmax: the worst corner of the box with z0 ± 0.05 must stay
	// below the escape energy, and so must that of the training box, with
	// the margin m, z0 ± 0.05 (1 + 2m) and θ up to θmax + m (θmax - 0.8).
	target, set := hhBundleTargetProblem(), hhBundleSettings()
	margin := (&Bundle{settings: *set}).margin()
	user := hhThetaBound(target.box().worstCorner(t)[:4])
	train := hhThetaBound(target.trainBox(set).worstCorner(t)[:4])
	limit := (train + margin*target.ThetaMin[0]) / (1 + margin)
	t.Logf("θ bound: %.4f for the box, %.4f for the training box's z0 box, so θmax <= %.4f; restated θmax %v", user, train, limit, target.ThetaMax[0])
	if target.ThetaMax[0] > limit {
		t.Errorf("θmax %v above %v: the training box holds unbounded members", target.ThetaMax[0], limit)
	}
	for _, c := range []struct {
		name string
		bx   hhBox
	}{{"restated box", target.box()}, {"its training box", target.trainBox(set)}} {
		corner := c.bx.worstCorner(t)
		excess := hhEnergy(corner[:4], corner[4]) - hhEscapeEnergy(corner[4])
		grid, inWell := c.bx.maxExcess(9)
		t.Logf("%s %v .. %v: worst corner %v, H - 1/(6θ²) = %.5f (grid 9⁵: %.5f), H/escape = %.3f",
			c.name, c.bx.lo, c.bx.hi, corner, excess, grid, hhEnergy(corner[:4], corner[4])/hhEscapeEnergy(corner[4]))
		if excess >= 0 || grid > excess+1e-15 || !inWell {
			t.Errorf("%s: H - 1/(6θ²) = %v at the worst corner, %v on the grid, all in the well %v; want < 0, the corner the largest, true",
				c.name, excess, grid, inWell)
		}
	}
}

// hhBundleFile is the Hénon-Heiles bundle of the restated target
// (hhBundleSettings), as written by "hnnsolve bundle henon-heiles".
const hhBundleFile = "testdata/bundle_henon_heiles.json"

// hhBundleSettings are the settings of the Hénon-Heiles target, the
// command's henon-heiles preset.
func hhBundleSettings() *Settings {
	return &Settings{Points: 1000, Hidden: []int{16, 16}, Epochs: 1500, LearnRate: 8e-3, LearnRateFinal: 1e-4,
		Beta1: 0.9, Beta2: 0.999, Energy: 1, Segments: 32, LM: 2400, RefinePoints: 1000, Seed: 1}
}

// loadHHBundle loads hhBundleFile for hhBundleTargetProblem and checks it
// was trained with hhBundleSettings.
func loadHHBundle(t *testing.T) *Bundle {
	t.Helper()
	b := loadSavedBundle(t, hhBundleFile, hhBundleTargetProblem())
	got, want := b.Settings(), hhBundleSettings()
	if got.Segments != want.Segments || got.LM != want.LM || got.Epochs != want.Epochs || got.Energy != want.Energy ||
		got.RefinePoints != want.RefinePoints || !slices.Equal(got.Hidden, want.Hidden) {
		t.Fatalf("%s was trained with other settings", hhBundleFile)
	}
	return b
}

// hhBundleMaxError and hhBundleJacobianError are issue 12's targets for
// the Hénon-Heiles bundle on the restated box: a max error of 1e-3 over
// 1000 members and 201 times, and a dz(T)/dz0 relative error of 1e-2. The
// bundle of hhBundleSettings meets them over the test's members with
// margins of 3x and 1.5x: 3.2e-4 and 6.4e-3 (3.4e-4 and 4.2e-3 over the
// command's). With 24 segments (the same LM) it reached 6.0e-4 but 1.57e-2,
// one member of 1000 the outlier, which is why the preset has 32.
const (
	hhBundleMaxError      = 1e-3
	hhBundleJacobianError = 1e-2
)

// TestBundleHenonHeilesSaved checks the Hénon-Heiles bundle of the
// restated target (hhBundleTargetProblem, θ in [0.8, 0.9]), trained with
// hhBundleSettings and saved in testdata, against DOP853 at rtol = atol =
// 1e-12: max error over 1000 random members and 201 times <=
// hhBundleMaxError, and dz(T)/dz0 against the variational equations
// (1000 members) <= hhBundleJacobianError. TestBundleHenonHeilesTarget
// trains it.
func TestBundleHenonHeilesSaved(t *testing.T) {
	b := loadHHBundle(t)
	p := b.Problem()
	worst := bundleMaxError(t, b, bundleMembers(p, 1000, 1), denseTimes(p.T0, p.T, 201), hhField)
	jac := hhJacobianError(t, b, bundleMembers(p, 1000, 2))
	t.Logf("max error over 1000 members × 201 times %.3g; dz(T)/dz0 relative error (1000 members) %.3g", worst, jac)
	if worst > hhBundleMaxError {
		t.Errorf("max error %.3g, want <= %g", worst, hhBundleMaxError)
	}
	if jac > hhBundleJacobianError {
		t.Errorf("dz(T)/dz0 relative error %.3g, want <= %g", jac, hhBundleJacobianError)
	}
}

// TestBundleHenonHeilesTarget trains the Hénon-Heiles bundle of the
// restated target (about 80 minutes on one core, past go test's default
// limit) and checks it as TestBundleHenonHeilesSaved checks the saved one.
// It runs only when asked:
//
//	HNNSOLVE_LONG=1 go test -run TestBundleHenonHeilesTarget -timeout 120m .
func TestBundleHenonHeilesTarget(t *testing.T) {
	p := hhBundleTargetProblem()
	trainBundleTarget(t, p, hhBundleSettings(), hhField,
		func(b *Bundle) float64 { return hhJacobianError(t, b, bundleMembers(p, 1000, 2)) }, hhBundleMaxError, hhBundleJacobianError)
}
