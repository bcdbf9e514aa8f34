package hnnsolve

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSincos: within 2 ulp of 1 (4.5e-16 absolute) of math.Sincos over the
// range activations reach and near the quadrant boundaries, and identical
// (bitwise) at ±0 and outside it.
func TestSincos(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	check := func(x float64) {
		s, c := sincos(x)
		ws, wc := math.Sincos(x)
		if d := math.Max(math.Abs(s-ws), math.Abs(c-wc)); d > 4.5e-16 {
			t.Fatalf("sincos(%v) = %v, %v; math.Sincos %v, %v", x, s, c, ws, wc)
		}
	}
	for range 1000000 {
		check(400 * (rng.Float64() - 0.5))
	}
	for range 100000 {
		check(1e5 * (rng.Float64() - 0.5))
	}
	for k := -1000; k <= 1000; k++ {
		for _, e := range []float64{-1e-9, 0, 1e-9} {
			check(float64(k)*math.Pi/4 + e)
		}
	}
	for _, x := range []float64{0, math.Copysign(0, -1), 1e-300, 2e20, math.Inf(1), math.NaN()} {
		s, c := sincos(x)
		ws, wc := math.Sincos(x)
		if !sameFloat(s, ws) || !sameFloat(c, wc) { // bitwise: sin -0 = -0
			t.Errorf("sincos(%v) = %v, %v; want %v, %v", x, s, c, ws, wc)
		}
	}
}
