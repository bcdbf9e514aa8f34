//go:build !amd64 || purego

package asm

const HasFMA = false

func Block4x8(kk int, a *float64, rs, ks int, b *float64, ldb int, c *float64, ldc int) {
	Block4x8Go(kk, a, rs, ks, b, ldb, c, ldc)
}
