package hnnsolve_test

import (
	"fmt"
	"math"

	"hnnsolve"
	"hnnsolve/integrate"
	"hnnsolve/systems"
)

// A bundle of Hénon-Heiles problems: every initial state within ±0.05 of
// the paper's (0.3, -0.3, 0.3, 0.15) and every coupling θ in [0.8, 1.2],
// solved on [0, 1] by one network (Adam, then Levenberg-Marquardt), then
// one member checked against DOP853 and given its own error analysis.
func ExampleSolveBundle() {
	var hc systems.HenonHeilesCoupling
	z := []float64{0.3, -0.3, 0.3, 0.15}
	lo, hi := make([]float64, 4), make([]float64, 4)
	for i, v := range z {
		lo[i], hi[i] = v-0.05, v+0.05
	}
	problem := hnnsolve.BundleProblem{H: hc.ParamHamiltonian(), Z0Min: lo, Z0Max: hi,
		ThetaMin: []float64{0.8}, ThetaMax: []float64{1.2}, T: 1}
	b, err := hnnsolve.SolveBundle(problem, &hnnsolve.Settings{Points: 500, Hidden: []int{12, 12}, Epochs: 1000,
		Beta1: 0.9, Beta2: 0.999, LearnRateFinal: 1e-4, LM: 60, RefinePoints: 400, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}

	z0, theta := []float64{0.32, -0.28, 0.27, 0.17}, []float64{1.1}
	zT, err := b.At(1, z0, theta)
	if err != nil {
		fmt.Println(err)
		return
	}
	ref, err := integrate.SolveODE(func(dst []float64, _ float64, z []float64) {
		g := make([]float64, 4)
		hc.Gradient(g, z, theta[0])
		dst[0], dst[1], dst[2], dst[3] = g[2], g[3], -g[0], -g[1]
	}, z0, []float64{0, 1}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	maxErr, errNorm := 0.0, 0.0
	for i := range 4 {
		maxErr = math.Max(maxErr, math.Abs(zT[i]-ref.Z.At(1, i)))
		errNorm = math.Hypot(errNorm, zT[i]-ref.Z.At(1, i))
	}
	fmt.Println("error at t = 1 below 1e-3:", maxErr < 1e-3)

	member, err := b.Member(z0, theta) // a Solution: At, Energy, Residual, Analyze
	if err != nil {
		fmt.Println(err)
		return
	}
	report, err := member.Analyze(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	est := report.EstimateEq18Norm[len(report.EstimateEq18Norm)-1] // |δz(1)| by Eq. 18
	fmt.Println("Eq. 18 estimate within a factor 2 of the true error:", est < 2*errNorm && errNorm < 2*est)

	_, err = b.At(1, []float64{0.4, -0.3, 0.3, 0.15}, theta) // outside the box
	fmt.Println(err != nil)
	// Output:
	// error at t = 1 below 1e-3: true
	// Eq. 18 estimate within a factor 2 of the true error: true
	// true
}
