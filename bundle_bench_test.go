package hnnsolve

import (
	"math"
	"testing"

	"hnnsolve/integrate"
)

// bundleBenchFile is the oscillator bundle of the target
// (oscillatorBundleSettings, 12 segments of 2×16), as written by
// "hnnsolve bundle oscillator" (see the README).
const bundleBenchFile = "testdata/bundle_oscillator.json"

// BenchmarkBundleStateAtT measures the state at t = T of 10^5 members of
// each saved bundle (the oscillator's and Hénon-Heiles'): "bundle" in one
// batched AtMembers call, "dop853" member by member at the loosest
// tolerance (1e-3, 5e-4, 2.5e-4, ..., halving) whose largest error at T
// over the first 200 members is at most the bundle's. Both run on one
// goroutine; ns/member is the figure to compare, B/member the bundle's
// memory at evaluation.
func BenchmarkBundleStateAtT(b *testing.B) {
	for _, c := range []struct {
		name, file string
		p          BundleProblem
		field      func(theta []float64) func([]float64, float64, []float64)
	}{
		{"oscillator", bundleBenchFile, oscillatorBundleProblem(),
			func([]float64) func([]float64, float64, []float64) { return oscillatorField }},
		{"henon-heiles", hhBundleFile, hhBundleTargetProblem(), hhField},
	} {
		b.Run(c.name, func(b *testing.B) { benchBundleStateAtT(b, c.file, c.p, c.field) })
	}
}

func benchBundleStateAtT(b *testing.B, file string, p BundleProblem, field func(theta []float64) func([]float64, float64, []float64)) {
	bun := loadSavedBundle(b, file, p)
	const n = 100000
	dim := p.dim()
	rows := bundleMembers(p, n, 3)
	z0, theta := memberMatrices(p, rows)
	// The tolerance of DOP853 that matches the bundle's accuracy at T.
	zT, err := bun.AtMembers(p.T, z0, theta)
	if err != nil {
		b.Fatal(err)
	}
	const check = 200
	refs := make([][]float64, check)
	bundleErr := 0.0
	ts := []float64{p.T0, p.T}
	for i := range check {
		ref, err := integrate.SolveODE(field(rows[i][dim:]), rows[i][:dim], ts, nil)
		if err != nil {
			b.Fatal(err)
		}
		refs[i] = ref.Z.RawRowView(1)
		for c := range dim {
			bundleErr = math.Max(bundleErr, math.Abs(zT.At(i, c)-refs[i][c]))
		}
	}
	var tol, tolErr float64
	for tol = 1e-3; tol > 1e-12; tol /= 2 {
		tolErr = 0
		s := &integrate.AdaptiveSettings{RTol: tol, ATol: tol}
		for i := range check {
			got, err := integrate.SolveODE(field(rows[i][dim:]), rows[i][:dim], ts, s)
			if err != nil {
				b.Fatal(err)
			}
			for c := range dim {
				tolErr = math.Max(tolErr, math.Abs(got.Z.At(1, c)-refs[i][c]))
			}
		}
		if tolErr <= bundleErr {
			break
		}
	}
	b.Logf("bundle: max error at T over %d members %.3g; DOP853 at rtol = atol = %g: %.3g", check, bundleErr, tol, tolErr)
	b.Run("bundle", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bun.AtMembers(p.T, z0, theta); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/member")
	})
	b.Run("dop853", func(b *testing.B) {
		s := &integrate.AdaptiveSettings{RTol: tol, ATol: tol}
		fields := make([]func([]float64, float64, []float64), n)
		for i, r := range rows {
			fields[i] = field(r[dim:])
		}
		b.ReportAllocs()
		for b.Loop() {
			for i, r := range rows {
				if _, err := integrate.SolveODE(fields[i], r[:dim], ts, s); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/member")
	})
}
