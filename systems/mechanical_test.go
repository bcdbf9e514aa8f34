package systems

import (
	"math"
	"math/rand/v2"
	"testing"

	"hnnsolve"
)

// TestPotentialsMatchHamiltonians: for each Mechanical system, the
// Hamiltonian built from its potential, |p|²/2 + V, has the system's ∇H
// and D²H at random points.
func TestPotentialsMatchHamiltonians(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sys := range []System{NewNonlinearOscillator(), HarmonicOscillator{Omega: 1.7}, HenonHeiles{}} {
		h := sys.(Mechanical).Potential().Hamiltonian()
		for range 5 {
			z := make([]float64, sys.Dim())
			for i := range z {
				z[i] = 2*rng.Float64() - 1
			}
			got, err := hnnsolve.GradH(h, z)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float64, len(z))
			sys.Gradient(want, z)
			for i := range z {
				if math.Abs(got[i]-want[i]) > 1e-14 {
					t.Errorf("%s at %v: ∇H[%d] = %v from the potential, %v from the system", sys.Name(), z, i, got[i], want[i])
				}
			}
			gotH, err := hnnsolve.HessianH(h, z)
			if err != nil {
				t.Fatal(err)
			}
			wantH := make([]float64, len(z)*len(z))
			sys.Hessian(wantH, z)
			for i := range wantH {
				if math.Abs(gotH[i]-wantH[i]) > 1e-14 {
					t.Errorf("%s at %v: D²H[%d] = %v from the potential, %v from the system", sys.Name(), z, i, gotH[i], wantH[i])
				}
			}
		}
	}
}
