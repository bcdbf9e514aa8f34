package integrate_test

import (
	"fmt"
	"log"
	"math"

	"hnnsolve/integrate"
)

// oscillator is the nonlinear oscillator of the paper,
// H = p²/2 + x²/2 + x⁴/4, with z = (x, p).
type oscillator struct{}

func (oscillator) Dim() int { return 2 }
func (oscillator) Energy(z []float64) float64 {
	x, p := z[0], z[1]
	return p*p/2 + x*x/2 + x*x*x*x/4
}
func (oscillator) Gradient(dst, z []float64) { dst[0] = z[0] + z[0]*z[0]*z[0]; dst[1] = z[1] }

// DT and DV make the oscillator Separable, as the explicit symplectic
// methods need.
func (oscillator) DT(dst, p []float64) { dst[0] = p[0] }
func (oscillator) DV(dst, x []float64) { dst[0] = x[0] + x[0]*x[0]*x[0] }

func Example() {
	sys := oscillator{}
	z0 := []float64{1.3, 1.0}
	t1 := 4 * math.Pi

	// Reference solution by DOP853 at the default tolerances (1e-12).
	ref, err := integrate.Adaptive(sys, z0, []float64{0, t1}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("DOP853:  x(4π) = %.6f, p(4π) = %.6f\n", ref.Z.At(1, 0), ref.Z.At(1, 1))

	// Symplectic Euler (Eq. 4, 5) and Störmer–Verlet with 2000 steps.
	for _, m := range []integrate.Method{integrate.SymplecticEuler, integrate.StormerVerlet} {
		tr, err := integrate.Fixed(sys, m, z0, 0, t1, 2000)
		if err != nil {
			log.Fatal(err)
		}
		last := tr.Z.RawRowView(2000)
		dx := math.Abs(last[0] - ref.Z.At(1, 0))
		fmt.Printf("%-15v error in x(4π) ≈ %.1e, energy %.4f (H0 = %.4f)\n", m, dx, sys.Energy(last), sys.Energy(z0))
	}
	// Output:
	// DOP853:  x(4π) = 1.146286, p(4π) = -1.393132
	// SymplecticEuler error in x(4π) ≈ 1.4e-02, energy 2.0817 (H0 = 2.0590)
	// StormerVerlet   error in x(4π) ≈ 1.0e-04, energy 2.0590 (H0 = 2.0590)
}
