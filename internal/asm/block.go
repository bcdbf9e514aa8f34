// Package asm holds the inner loops of hnnsolve's network that are worth
// writing in assembly (AVX2 and FMA, where the CPU has them): the
// register-blocked matrix-product kernel and the sine activation. It is a
// package of its own because Go assembly cannot be in a package using cgo,
// as hnnsolve does with -tags openblas. Without the assembly (another CPU or
// architecture, or -tags purego) Block4x8 runs its Go version and
// SinActivation does nothing, leaving the work to the caller's Go loop.
package asm

import "unsafe"

// Block4x8Go is the portable Block4x8: for each of nb blocks j side by side,
//
//	C[r, 8j+q] (+)= Σ_{l<kk} A(r, l) B[l, 8j+q],  r < 4, q < 8,
//
// with A(r, l) = a[r*rs + l*ks], B[l, q] = b[l*ldb + q], C[r, q] = c[r*ldc + q],
// adding to C if accumulate and overwriting it otherwise.
func Block4x8Go(kk int, a *float64, rs, ks int, b *float64, ldb int, accumulate bool, c *float64, ldc, nb int) {
	if nb <= 0 {
		return
	}
	as := unsafe.Slice(a, 3*rs+(kk-1)*ks+1)
	bs := unsafe.Slice(b, (kk-1)*ldb+8*nb)
	cs := unsafe.Slice(c, 3*ldc+8*nb)
	for j := range nb {
		for r := range 4 {
			var acc [8]float64
			for l := range kk {
				x := as[r*rs+l*ks]
				bl := bs[l*ldb+8*j : l*ldb+8*j+8]
				for q := range acc {
					acc[q] += x * bl[q]
				}
			}
			ci := cs[r*ldc+8*j : r*ldc+8*j+8]
			for q := range acc {
				if accumulate {
					ci[q] += acc[q]
				} else {
					ci[q] = acc[q]
				}
			}
		}
	}
}
