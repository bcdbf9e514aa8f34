package hnnsolve_test

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"

	"hnnsolve"
)

// The Lagrangian formulation (Eq. 11-12) of the harmonic oscillator,
// L = ẋ²/2 - x²/2 from x = 1, ẋ = 0 on [0, 2π], against the exact
// x = cos t: both initial conditions hold exactly, and the Solution is one
// in phase space (x, ẋ) of H = p²/2 + x²/2. A chain of four 2×8 networks,
// Adam then Levenberg-Marquardt (a fraction of a second).
func ExampleSolveLagrangian() {
	V := func(q []*gorgonia.Node) (*gorgonia.Node, error) { // V = x²/2
		return gorgonia.HadamardProd(gorgonia.NewConstant(0.5), gorgonia.Must(gorgonia.Square(q[0])))
	}
	T := 2 * math.Pi
	sol, err := hnnsolve.SolveLagrangian(hnnsolve.LagrangianProblem{V: V, Q0: []float64{1}, V0: []float64{0}, T: T},
		&hnnsolve.Settings{Points: 40, Hidden: []int{8, 8}, Segments: 4, Epochs: 1000, Beta1: 0.9, Beta2: 0.999,
			LearnRateFinal: 1e-4, LM: 200, RefinePoints: 80, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	maxErr := 0.0
	for i := range 1001 {
		t := T * float64(i) / 1000
		z := sol.At(t)
		maxErr = math.Max(maxErr, math.Max(math.Abs(z[0]-math.Cos(t)), math.Abs(z[1]+math.Sin(t))))
	}
	fmt.Println(sol.Formulation(), sol.At(0))
	round := func(v float64) float64 { return math.Round(v*1e4)/1e4 + 0 } // + 0: no -0.0000
	fmt.Printf("x(2π) = %.4f, ẋ(2π) = %.4f\n", round(sol.At(T)[0]), round(sol.At(T)[1]))
	fmt.Println("max |ẑ - (cos t, -sin t)| < 1e-4:", maxErr < 1e-4)
	// Output:
	// lagrangian [1 0]
	// x(2π) = 1.0000, ẋ(2π) = 0.0000
	// max |ẑ - (cos t, -sin t)| < 1e-4: true
}
