//go:build !amd64 || purego

package asm

// HasFMA: the CPU runs the AVX2 and FMA assembly kernels.
const HasFMA = false

// Block4x8 is Block4x8Go.
func Block4x8(kk int, a *float64, rs, ks int, b *float64, ldb int, accumulate bool, c *float64, ldc, nb int) {
	Block4x8Go(kk, a, rs, ks, b, ldb, accumulate, c, ldc, nb)
}
