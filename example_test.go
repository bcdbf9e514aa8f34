package hnnsolve_test

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"

	"hnnsolve"
	"hnnsolve/integrate"
)

// The nonlinear oscillator of the paper (Eq. 23), H = p²/2 + x²/2 + x⁴/4,
// written as a gorgonia expression and solved on [0, 4π] from (1.3, 1.0),
// then checked against an independent reference: DOP853 at a tolerance of
// 1e-12 on ẋ = p, ṗ = -(x + x³). The settings are the library's accurate
// recipe at a small size (a chain of eight 2×8 networks, Adam then
// Levenberg-Marquardt, energy term λ = 1; about a second), not the paper's
// single 2×50 network, whose 5e4 epochs reach errors near 1e-2.
func ExampleSolve() {
	H := func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
		x, v := q[0], p[0]
		half := gorgonia.NewConstant(0.5)
		kinetic := gorgonia.Must(gorgonia.HadamardProd(half, gorgonia.Must(gorgonia.Square(v))))
		x2 := gorgonia.Must(gorgonia.Square(x))
		potential := gorgonia.Must(gorgonia.Add(
			gorgonia.Must(gorgonia.HadamardProd(half, x2)),
			gorgonia.Must(gorgonia.HadamardProd(gorgonia.NewConstant(0.25), gorgonia.Must(gorgonia.Square(x2)))),
		))
		return gorgonia.Add(kinetic, potential)
	}
	T := 4 * math.Pi
	problem := hnnsolve.Problem{H: H, Z0: []float64{1.3, 1.0}, T0: 0, T: T}
	sol, err := hnnsolve.Solve(problem, &hnnsolve.Settings{
		Points: 50, Hidden: []int{8, 8}, Segments: 8, Epochs: 2000, Beta1: 0.9, Beta2: 0.999,
		LearnRateFinal: 1e-4, Energy: 1, LM: 200, RefinePoints: 100, Seed: 1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	ts := make([]float64, 1001)
	for i := range ts {
		ts[i] = T * float64(i) / float64(len(ts)-1)
	}
	ref, err := integrate.SolveODE(func(dst []float64, _ float64, z []float64) {
		dst[0], dst[1] = z[1], -(z[0] + z[0]*z[0]*z[0])
	}, problem.Z0, ts, &integrate.AdaptiveSettings{RTol: 1e-12, ATol: 1e-12})
	if err != nil {
		fmt.Println(err)
		return
	}
	z, energy := sol.Trajectory(ts), sol.Energy(ts)
	maxErr, maxDrift := 0.0, 0.0
	for i := range ts {
		maxErr = math.Max(maxErr, math.Max(math.Abs(z.At(i, 0)-ref.Z.At(i, 0)), math.Abs(z.At(i, 1)-ref.Z.At(i, 1))))
		maxDrift = math.Max(maxDrift, math.Abs(energy[i]-sol.E0()))
	}
	last := len(ts) - 1
	fmt.Printf("network   z(4π) = (%.3f, %.3f)\n", z.At(last, 0), z.At(last, 1))
	fmt.Printf("reference z(4π) = (%.3f, %.3f)\n", ref.Z.At(last, 0), ref.Z.At(last, 1))
	fmt.Println("max |ẑ - z| < 1e-4:", maxErr < 1e-4)
	fmt.Println("max |H(ẑ) - E0| < 1e-4:", maxDrift < 1e-4)
	// Output:
	// network   z(4π) = (1.146, -1.393)
	// reference z(4π) = (1.146, -1.393)
	// max |ẑ - z| < 1e-4: true
	// max |H(ẑ) - E0| < 1e-4: true
}
