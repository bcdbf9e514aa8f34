package hnnsolve_test

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"

	"hnnsolve"
)

// The nonlinear oscillator of the paper (Eq. 23), H = p²/2 + x²/2 + x⁴/4,
// written as a gorgonia expression and solved on [0, 4π] from (1.3, 1.0).
// A short training keeps the example fast (the paper trains 5e4 epochs, for
// errors near 1e-3); the energy regulariser (Eq. 8, λ = 1) and a decaying
// step size help a short run.
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
	problem := hnnsolve.Problem{H: H, Z0: []float64{1.3, 1.0}, T0: 0, T: 4 * math.Pi}
	sol, err := hnnsolve.Solve(problem, &hnnsolve.Settings{Epochs: 3000, LearnRateFinal: 1e-4, Energy: 1, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("z(0) =", sol.At(0))
	fmt.Printf("E0 = %.4f\n", sol.E0())
	loss := sol.Loss()
	fmt.Println("loss fell 10-fold:", loss[len(loss)-1] < loss[0]/10)
	drift := 0.0
	for _, e := range sol.Energy([]float64{1, 2, 4, 8, 12}) {
		drift = math.Max(drift, math.Abs(e-sol.E0()))
	}
	fmt.Printf("max |H - E0| = %.1f\n", drift)
	// Output:
	// z(0) = [1.3 1]
	// E0 = 2.0590
	// loss fell 10-fold: true
	// max |H - E0| = 0.2
}
