//go:build amd64 && !purego

package asm

// SinActivation sets h = sin a, d1 = cos a and dh = d1⊙da elementwise, four
// lanes at a time, on the blocks a[i:i+4], i = 0, 4, …, while i+4 ≤ len(a)
// and all the block's lanes have |x| < 2^20, and returns the number of
// elements done (0 where !HasFMA). It reduces x by π/2 and evaluates fdlibm's
// kernels as hnnsolve's sincos, within 2 ulp of math.Sincos. da, h, d1 and
// dh must be at least as long as a.
func SinActivation(a, da, h, d1, dh []float64) int {
	if !HasFMA {
		return 0
	}
	return sinActivationFMA(a, da, h, d1, dh)
}

//go:noescape
func sinActivationFMA(a, da, h, d1, dh []float64) int

// SinValues sets dst = sin x elementwise, four lanes at a time, on the
// blocks x[i:i+4], i = 0, 4, …, while i+4 <= len(x) and all the block's
// lanes have |x| < 2^20, and returns the number of elements done (0 where
// !HasFMA). It is the value alone, for evaluation: one reduction by π and
// one odd polynomial, about half SinActivation's work, within 2 ulp of
// math.Sin (tested). dst must be at least as long as x.
func SinValues(x, dst []float64) int {
	if !HasFMA {
		return 0
	}
	return sinValuesFMA(x, dst)
}

//go:noescape
func sinValuesFMA(x, dst []float64) int
