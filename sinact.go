package hnnsolve

import (
	"math"

	"hnnsolve/internal/asm"
)

// sinActivation sets h = sin a, d1 = cos a and dh = d1⊙da elementwise: the
// sine activation σ(a), its derivative σ'(a) and the tangent σ'(a)·da. The
// values are sincos's, within 2 ulp of math.Sincos and identical to it
// beyond |a| = 2^20 and for NaN and Inf. The slices must have equal lengths;
// d1 may be a itself (each a[i] is read before d1[i] is written).
func sinActivation(a, da, h, d1, dh []float64) {
	n := len(a)
	if len(da) != n || len(h) != n || len(d1) != n || len(dh) != n {
		panic("hnnsolve: slice length mismatch")
	}
	if !asm.HasFMA {
		sinActivationGo(a, da, h, d1, dh)
		return
	}
	for i := 0; i < n; {
		// The kernel stops before the tail (fewer than 4 left) or before a
		// block of 4 holding a lane it does not handle; sincos does those.
		i += asm.SinActivation(a[i:], da[i:], h[i:], d1[i:], dh[i:])
		for end := min(i+4, n); i < end; i++ {
			s, c := sincos(a[i])
			h[i], d1[i], dh[i] = s, c, c*da[i]
		}
	}
}

// sinActivationGo is sinActivation by sincos alone.
func sinActivationGo(a, da, h, d1, dh []float64) {
	da, h, d1, dh = da[:len(a)], h[:len(a)], d1[:len(a)], dh[:len(a)]
	for i, x := range a {
		s, c := sincos(x)
		h[i], d1[i], dh[i] = s, c, c*da[i]
	}
}

// sinValues sets h = sin a elementwise: the value alone, for evaluation
// without tangents, by the kernel's one reduction by π and one polynomial
// where the CPU has AVX2 and FMA (within 2 ulp of math.Sin, tested), by
// math.Sin elsewhere and for the lanes the kernel leaves.
func sinValues(a, h []float64) {
	n := len(a)
	h = h[:n]
	if !asm.HasFMA {
		for i, x := range a {
			h[i] = math.Sin(x)
		}
		return
	}
	for i := 0; i < n; {
		i += asm.SinValues(a[i:], h[i:])
		for end := min(i+4, n); i < end; i++ {
			h[i] = math.Sin(a[i])
		}
	}
}
