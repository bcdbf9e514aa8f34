package hnnsolve

import (
	"hnnsolve/internal/asm"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// gemm computes C = op(A) B + beta C (row-major), beta 0 or 1. OpenBLAS
// does it with -tags openblas; otherwise serialGemm, since gonum's Dgemm
// starts goroutines and allocates on every call, and at these sizes one
// thread per network is the better use of the cores.
func gemm(tA blas.Transpose, m, n, kk int, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if BLAS == "gonum" {
		serialGemm(tA, m, n, kk, a, lda, b, ldb, beta, c, ldc)
		return
	}
	blas64.Implementation().Dgemm(tA, blas.NoTrans, m, n, kk, 1, a, lda, b, ldb, beta, c, ldc)
}

// serialGemm is a single-threaded, allocation-free C = op(A) B + beta C,
// beta 0 or 1. Products with at least 4 rows and 8 columns go to a
// register-blocked kernel (asm.Block4x8: AVX2 and FMA assembly where the CPU
// has them); the thin ones (a dimension of D, the phase-space size) to
// plain loops, where a kernel call would cost more than it does.
func serialGemm(tA blas.Transpose, m, n, kk int, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if beta == 0 {
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
	}
	if m == 0 || n == 0 || kk == 0 {
		return
	}
	// A(i, l) = a[i*rs + l*ks].
	rs, ks := lda, 1
	if tA == blas.Trans {
		rs, ks = 1, lda
	}
	if m >= 4 && n >= 8 {
		blockedGemm(m, n, kk, a, rs, ks, b, ldb, c, ldc)
		return
	}
	for l := range kk {
		bl := b[l*ldb : l*ldb+n]
		for i := range m {
			ail := a[i*rs+l*ks]
			ci := c[i*ldc : i*ldc+n]
			for j, v := range bl {
				ci[j] += ail * v
			}
		}
	}
}

// blockedGemm adds A B to C, m >= 4, n >= 8, in 4×8 blocks. An edge block
// that does not fit is computed whole, shifted back inside the matrix,
// into a scratch block, and only its new part is added to C.
func blockedGemm(m, n, kk int, a []float64, rs, ks int, b []float64, ldb int, c []float64, ldc int) {
	var scratch [4 * 8]float64
	for i0 := 0; i0 < m; i0 += 4 {
		i := min(i0, m-4)
		for j0 := 0; j0 < n; j0 += 8 {
			j := min(j0, n-8)
			if i == i0 && j == j0 {
				asm.Block4x8(kk, &a[i*rs], rs, ks, &b[j], ldb, &c[i*ldc+j], ldc)
				continue
			}
			scratch = [4 * 8]float64{}
			asm.Block4x8(kk, &a[i*rs], rs, ks, &b[j], ldb, &scratch[0], 8)
			for r := i0 - i; r < 4; r++ {
				ci := c[(i+r)*ldc+j : (i+r)*ldc+j+8]
				for q := j0 - j; q < 8; q++ {
					ci[q] += scratch[r*8+q]
				}
			}
		}
	}
}
