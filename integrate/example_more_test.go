package integrate_test

import (
	"fmt"
	"log"
	"math"

	"hnnsolve/integrate"
)

// SolveODE integrates any first-order system y' = f(t, y) by DOP853, here
// the damped oscillator y” + 0.2 y' + y = 0 from y = 1, y' = 0, whose
// solution is y = e^(-t/10) (cos ωt + sin(ωt)/(10ω)), ω = √0.99.
func ExampleSolveODE() {
	f := func(dst []float64, _ float64, y []float64) {
		dst[0], dst[1] = y[1], -y[0]-0.2*y[1]
	}
	ts := []float64{0, 1, 5, 10}
	tr, err := integrate.SolveODE(f, []float64{1, 0}, ts, nil)
	if err != nil {
		log.Fatal(err)
	}
	w := math.Sqrt(0.99)
	maxErr := 0.0
	for i, t := range ts {
		exact := math.Exp(-t/10) * (math.Cos(w*t) + math.Sin(w*t)/(10*w))
		maxErr = math.Max(maxErr, math.Abs(tr.Z.At(i, 0)-exact))
		fmt.Printf("y(%2g) = %+.8f\n", t, tr.Z.At(i, 0))
	}
	fmt.Println("error < 1e-10:", maxErr < 1e-10)
	// Output:
	// y( 0) = +1.00000000
	// y( 1) = +0.56897189
	// y( 5) = +0.09855067
	// y(10) = -0.33685168
	// error < 1e-10: true
}

// A Stepper takes single steps of a fixed-step method without allocating.
// Störmer-Verlet is of second order: halving the step divides the error at
// t = 1 by 4.
func ExampleNewStepper() {
	sys := oscillator{}
	z0 := []float64{1.3, 1.0}
	ref, err := integrate.Adaptive(sys, z0, []float64{0, 1}, nil)
	if err != nil {
		log.Fatal(err)
	}
	st, err := integrate.NewStepper(sys, integrate.StormerVerlet)
	if err != nil {
		log.Fatal(err)
	}
	errAt1 := func(n int) float64 {
		z := append([]float64(nil), z0...)
		for range n {
			if err := st.Step(z, z, 1/float64(n)); err != nil {
				log.Fatal(err)
			}
		}
		return math.Hypot(z[0]-ref.Z.At(1, 0), z[1]-ref.Z.At(1, 1))
	}
	e100, e200 := errAt1(100), errAt1(200)
	fmt.Printf("%v, order %d: error ratio for h and h/2 = %.2f\n", st.Method(), st.Method().Order(), e100/e200)

	_, err = integrate.NewStepper(nonSeparable{}, integrate.StormerVerlet)
	fmt.Println(err)
	// Output:
	// StormerVerlet, order 2: error ratio for h and h/2 = 4.00
	// integrate: StormerVerlet for a integrate_test.nonSeparable: method needs a Separable system
}

// nonSeparable is an integrate.System without DT and DV.
type nonSeparable struct{}

func (nonSeparable) Dim() int                   { return 2 }
func (nonSeparable) Energy(z []float64) float64 { return (1 + z[0]*z[0]) * z[1] * z[1] / 2 }
func (nonSeparable) Gradient(dst, z []float64) {
	dst[0], dst[1] = z[0]*z[1]*z[1], (1+z[0]*z[0])*z[1]
}
