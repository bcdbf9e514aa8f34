//go:build amd64 && !purego

package asm

import "golang.org/x/sys/cpu"

// HasFMA: the CPU runs the AVX2 and FMA assembly kernels.
var HasFMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// Block4x8 is Block4x8Go, in AVX2 and FMA assembly where the CPU has them.
func Block4x8(kk int, a *float64, rs, ks int, b *float64, ldb int, accumulate bool, c *float64, ldc, nb int) {
	if HasFMA {
		block4x8FMA(kk, a, rs, ks, b, ldb, accumulate, c, ldc, nb)
		return
	}
	Block4x8Go(kk, a, rs, ks, b, ldb, accumulate, c, ldc, nb)
}

//go:noescape
func block4x8FMA(kk int, a *float64, rs, ks int, b *float64, ldb int, accumulate bool, c *float64, ldc, nb int)
