package hnnsolve_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"hnnsolve"
)

// harmonic is H = p²/2 + q²/2, whose solution from (q0, p0) is
// q = q0 cos t + p0 sin t, p = p0 cos t - q0 sin t.
func harmonic() hnnsolve.Hamiltonian {
	H, err := hnnsolve.ParseHamiltonian("p^2/2 + q^2/2")
	if err != nil {
		panic(err)
	}
	return H
}

func harmonicExact(z0 []float64, t float64) []float64 {
	s, c := math.Sincos(t)
	return []float64{z0[0]*c + z0[1]*s, z0[1]*c - z0[0]*s}
}

// uniform returns n equally spaced times on [t0, t1].
func uniform(t0, t1 float64, n int) []float64 {
	ts := make([]float64, n)
	for i := range ts {
		ts[i] = t0 + (t1-t0)*float64(i)/float64(n-1)
	}
	return ts
}

// maxError is the largest |ẑ_i(t) - z_i(t)| of sol against the harmonic
// oscillator's closed form on ts.
func maxError(sol *hnnsolve.Solution, ts []float64) float64 {
	z, m := sol.Trajectory(ts), 0.0
	for i, t := range ts {
		for j, v := range harmonicExact(sol.Problem().Z0, t) {
			m = math.Max(m, math.Abs(z.At(i, j)-v))
		}
	}
	return m
}

// Save writes a trained Solution as JSON and Load reads it back for the
// same Problem: the weights round-trip exactly, so the reloaded network
// gives the same trajectory to the last bit. A model is refused for a
// different problem.
func ExampleLoad() {
	H, err := hnnsolve.ParseHamiltonian("p^2/2 + x^2/2 + x^4/4", "x", "p")
	if err != nil {
		fmt.Println(err)
		return
	}
	problem := hnnsolve.Problem{H: H, Z0: []float64{1.3, 1}, T: 2}
	sol, err := hnnsolve.Solve(problem, &hnnsolve.Settings{Points: 20, Hidden: []int{8}, Epochs: 300, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	var file bytes.Buffer
	if err := sol.Save(&file); err != nil {
		fmt.Println(err)
		return
	}
	loaded, err := hnnsolve.Load(bytes.NewReader(file.Bytes()), problem)
	if err != nil {
		fmt.Println(err)
		return
	}
	ts := uniform(0, 2, 101)
	fmt.Println("trajectory identical:", mat.Equal(sol.Trajectory(ts), loaded.Trajectory(ts)))
	fmt.Println("velocity identical:", mat.Equal(sol.Velocity(ts), loaded.Velocity(ts)))
	fmt.Println("loss history identical:", slices.Equal(sol.Loss(), loaded.Loss()), len(loaded.Loss()))

	_, err = hnnsolve.Load(bytes.NewReader(file.Bytes()), hnnsolve.Problem{H: H, Z0: []float64{1, 0}, T: 2})
	fmt.Println("other Z0 refused:", errors.Is(err, hnnsolve.ErrModel))
	// Output:
	// trajectory identical: true
	// velocity identical: true
	// loss history identical: true 300
	// other Z0 refused: true
}

// The error analysis of Sec. II.B needs no reference solution: integrating
// Eq. 18 along the network's own residual predicts its error. For a
// quadratic H, as here, Eq. 18 is exact, so the estimate matches the true
// error, computed below from the closed form, to the accuracy of the
// integration. D²H is the identity, so σ_min = 1.
func ExampleSolution_Analyze() {
	T := 2 * math.Pi
	sol, err := hnnsolve.Solve(hnnsolve.Problem{H: harmonic(), Z0: []float64{1, 0}, T: T},
		&hnnsolve.Settings{Points: 40, Hidden: []int{16, 16}, Epochs: 2000, Beta1: 0.9, Beta2: 0.999, LearnRateFinal: 1e-4, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	ts := uniform(0, T, 401)
	rep, err := sol.Analyze(&hnnsolve.AnalysisSettings{Grid: ts})
	if err != nil {
		fmt.Println(err)
		return
	}
	z, trueMax := sol.Trajectory(ts), 0.0
	for i, t := range ts {
		e := harmonicExact([]float64{1, 0}, t)
		trueMax = math.Max(trueMax, math.Hypot(z.At(i, 0)-e[0], z.At(i, 1)-e[1]))
	}
	fmt.Printf("σ_min = %.3f\n", rep.SigmaMinMin)
	fmt.Printf("Eq. 18 estimate / true max |δz| = %.4f\n", rep.EstimateEq18Max/trueMax)
	fmt.Println("error is small but not zero:", trueMax > 1e-6 && trueMax < 1e-1)
	// Output:
	// σ_min = 1.000
	// Eq. 18 estimate / true max |δz| = 1.0000
	// error is small but not zero: true
}

// SolveBatch trains one network per problem, the problems sharing one
// Hamiltonian, on all cores; each result is the one Solve gives alone.
func ExampleSolveBatch() {
	H := harmonic()
	var problems []hnnsolve.Problem
	for _, z0 := range [][]float64{{1, 0}, {0, 1}, {-0.5, 0.5}} {
		problems = append(problems, hnnsolve.Problem{H: H, Z0: z0, T: math.Pi})
	}
	set := &hnnsolve.Settings{Points: 30, Hidden: []int{8, 8}, Epochs: 1000, Beta1: 0.9, Beta2: 0.999,
		LearnRateFinal: 1e-4, LM: 100, RefinePoints: 60, Seed: 1}
	sols, err := hnnsolve.SolveBatch(problems, set)
	if err != nil {
		fmt.Println(err)
		return
	}
	ts := uniform(0, math.Pi, 201)
	for i, sol := range sols {
		fmt.Printf("problem %d, z0 = %v: max error < 1e-4: %v\n", i, sol.Problem().Z0, maxError(sol, ts) < 1e-4)
	}
	alone, err := hnnsolve.Solve(problems[2], set)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("problem 2 as Solve alone gives it:", mat.Equal(alone.Trajectory(ts), sols[2].Trajectory(ts)))
	// Output:
	// problem 0, z0 = [1 0]: max error < 1e-4: true
	// problem 1, z0 = [0 1]: max error < 1e-4: true
	// problem 2, z0 = [-0.5 0.5]: max error < 1e-4: true
	// problem 2 as Solve alone gives it: true
}

// StateAt evaluates the solution inside the trained interval and refuses
// times outside it, where At would extrapolate the network.
func ExampleSolution_StateAt() {
	sol, err := hnnsolve.Solve(hnnsolve.Problem{H: harmonic(), Z0: []float64{1, 0}, T: 2},
		&hnnsolve.Settings{Points: 20, Hidden: []int{8, 8}, Epochs: 1000, Beta1: 0.9, Beta2: 0.999,
			LearnRateFinal: 1e-4, LM: 100, RefinePoints: 40, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	z, err := sol.StateAt(math.Pi / 2) // exact: (cos t, -sin t) = (0, -1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("|q(π/2)| < 1e-4: %v, p(π/2) = %.4f\n", math.Abs(z[0]) < 1e-4, z[1])
	_, err = sol.StateAt(3)
	fmt.Println(err)
	fmt.Println(errors.Is(err, hnnsolve.ErrProblem))
	// Output:
	// |q(π/2)| < 1e-4: true, p(π/2) = -1.0000
	// hnnsolve: invalid problem: t = 3 is outside the trained interval [0, 2]
	// true
}

// GradH derives ∇H from the expression: for the paper's oscillator,
// H = p²/2 + x²/2 + x⁴/4, ∇H = (x + x³, p).
func ExampleGradH() {
	H, err := hnnsolve.ParseHamiltonian("p^2/2 + x^2/2 + x^4/4", "x", "p")
	if err != nil {
		fmt.Println(err)
		return
	}
	grad, err := hnnsolve.GradH(H, []float64{1.3, -0.4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("∇H(1.3, -0.4) = (%.6f, %.6f), closed form (%.6f, %.6f)\n", grad[0], grad[1], 1.3+1.3*1.3*1.3, -0.4)

	_, err = hnnsolve.GradH(H, []float64{1, math.NaN()})
	fmt.Println(errors.Is(err, hnnsolve.ErrProblem))
	// Output:
	// ∇H(1.3, -0.4) = (3.497000, -0.400000), closed form (3.497000, -0.400000)
	// true
}

// HessianH differentiates once more: for the Hénon-Heiles system (Eq. 26),
// D²H is row-major over (x, y, px, py), with the coupling 2x in the (x, y)
// entries.
func ExampleHessianH() {
	H, err := hnnsolve.ParseHamiltonian("(px^2+py^2)/2 + (x^2+y^2)/2 + x^2*y - y^3/3", "x", "y", "px", "py")
	if err != nil {
		fmt.Println(err)
		return
	}
	x, y := 0.3, -0.2
	hess, err := hnnsolve.HessianH(H, []float64{x, y, 0.1, 0.4})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range 4 {
		fmt.Printf("%6.2f\n", hess[4*i:4*i+4])
	}
	fmt.Printf("closed form: 1+2y = %.2f, 2x = %.2f, 1-2y = %.2f\n", 1+2*y, 2*x, 1-2*y)
	// Output:
	// [  0.60   0.60   0.00   0.00]
	// [  0.60   1.40   0.00   0.00]
	// [  0.00   0.00   1.00   0.00]
	// [  0.00   0.00   0.00   1.00]
	// closed form: 1+2y = 0.60, 2x = 0.60, 1-2y = 1.40
}
