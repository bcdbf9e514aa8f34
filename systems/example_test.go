package systems_test

import (
	"fmt"
	"log"
	"math"

	"hnnsolve"
	"hnnsolve/integrate"
	"hnnsolve/systems"
)

// Each system comes in two forms: a gorgonia expression for the network
// solver and closed forms for the classical integrators. Here the Kepler
// problem: the expression's ∇H (derived by hnnsolve) equals the closed
// form, and DOP853 on the closed form follows Kepler's exact orbit and
// keeps the angular momentum.
func Example() {
	fmt.Println(systems.Names())
	sys, err := systems.Lookup("kepler")
	if err != nil {
		log.Fatal(err)
	}
	z0 := sys.Z0()
	grad := make([]float64, sys.Dim())
	sys.Gradient(grad, z0)
	auto, err := hnnsolve.GradH(sys.Hamiltonian(), z0)
	if err != nil {
		log.Fatal(err)
	}
	same := true
	for i := range grad {
		same = same && math.Abs(auto[i]-grad[i]) <= 1e-12
	}
	fmt.Printf("%s: H(z0) = %.4f, ∇H from the expression = closed form: %v\n", sys.Name(), sys.Energy(z0), same)

	kepler := sys.(systems.Kepler)
	t1 := kepler.Period()
	tr, err := integrate.Adaptive(sys, z0, []float64{0, t1 / 3, t1}, nil)
	if err != nil {
		log.Fatal(err)
	}
	maxErr := 0.0
	for i, t := range tr.T {
		for j, v := range kepler.Exact(t) {
			maxErr = math.Max(maxErr, math.Abs(tr.Z.At(i, j)-v))
		}
	}
	l0, l1 := sys.Invariants(z0)[0], sys.Invariants(tr.Z.RawRowView(2))[0]
	fmt.Printf("DOP853 against the exact orbit over one period: error < 1e-9: %v\n", maxErr < 1e-9)
	fmt.Printf("%s %.6f, kept to 1e-10: %v\n", sys.InvariantNames()[0], l0, math.Abs(l1-l0) < 1e-10)
	// Output:
	// [double-pendulum fpu harmonic henon-heiles kepler nonseparable oscillator pendulum]
	// kepler: H(z0) = -0.5000, ∇H from the expression = closed form: true
	// DOP853 against the exact orbit over one period: error < 1e-9: true
	// angular momentum 0.866025, kept to 1e-10: true
}

// Lookup returns a system by name with its default parameters; the
// systems the paper solves also give the paper's experiment (PaperCase).
func ExampleLookup() {
	sys, err := systems.Lookup("Henon-Heiles")
	if err != nil {
		log.Fatal(err)
	}
	pc := sys.(systems.PaperCase)
	t0, t1 := pc.PaperInterval()
	fmt.Printf("%s: d = %d, z0 = %v, [%g, %.4f] = [0, 6π], K = %d\n", sys.Name(), sys.Dim()/2, pc.PaperZ0(), t0, t1, pc.PaperPoints())

	_, err = systems.Lookup("lorenz")
	fmt.Println(err)
	// Output:
	// henon-heiles: d = 2, z0 = [0.3 -0.3 0.3 0.15], [0, 18.8496] = [0, 6π], K = 100
	// systems: unknown system "lorenz" (known: double-pendulum, fpu, harmonic, henon-heiles, kepler, nonseparable, oscillator, pendulum)
}
