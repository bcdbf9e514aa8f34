package hnnsolve

import (
	"hnnsolve/internal/asm"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	gonumlapack "gonum.org/v1/gonum/lapack/gonum"
	"gonum.org/v1/gonum/lapack/lapack64"
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
// beta 0 or 1. Where the CPU has AVX2 and FMA, products with at least 4 rows
// and 8 columns go to the register-blocked assembly kernel (asm.Block4x8);
// elsewhere those with 8 columns or more go to gonum's vector loops (SSE2
// assembly on amd64), a row of C at a time; thinner ones (hidden layers
// narrower than 8) to plain loops.
func serialGemm(tA blas.Transpose, m, n, kk int, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	// A(i, l) = a[i*rs + l*ks].
	rs, ks := lda, 1
	if tA == blas.Trans {
		rs, ks = 1, lda
	}
	if asm.HasFMA && m >= 4 && n >= 8 && kk > 0 {
		blockedGemm(m, n, kk, a, rs, ks, b, ldb, beta != 0, c, ldc)
		return
	}
	if beta == 0 {
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
	}
	if n >= 8 {
		axpyGemm(m, n, kk, a, rs, ks, b, ldb, c, ldc)
		return
	}
	thinGemm(m, n, kk, a, rs, ks, b, ldb, c, ldc)
}

// axpyGemm adds A B to C as rows of C plus multiples of rows of B, with
// A(i, l) = a[i*rs + l*ks], ks = 1 or rs = 1: in A's row order when A is
// read by rows, in B's row order when by columns.
func axpyGemm(m, n, kk int, a []float64, rs, ks int, b []float64, ldb int, c []float64, ldc int) {
	if ks == 1 {
		for i := range m {
			ci := c[i*ldc : i*ldc+n]
			for l, x := range a[i*rs : i*rs+kk] {
				floats.AddScaled(ci, x, b[l*ldb:l*ldb+n])
			}
		}
		return
	}
	for l := range kk {
		bl := b[l*ldb : l*ldb+n]
		for i, x := range a[l*ks : l*ks+m] {
			floats.AddScaled(c[i*ldc:i*ldc+n], x, bl)
		}
	}
}

// thinGemm adds A B to C a pair of C's columns at a time, with the pair's
// two sums in registers, for products too thin for the 4×8 blocks.
// A(i, l) = a[i*rs + l*ks] with ks = 1 or rs = 1. Read by rows
// (ks = 1), each row's pair is a pair of dot products; by columns, A's row
// l updates all of C's rows at once.
func thinGemm(m, n, kk int, a []float64, rs, ks int, b []float64, ldb int, c []float64, ldc int) {
	for j := 0; j < n; j += 2 {
		pair := j+1 < n
		if ks == 1 {
			for i := range m {
				ai := a[i*rs : i*rs+kk]
				var s0, s1 float64
				for l, x := range ai {
					s0 += x * b[l*ldb+j]
					if pair {
						s1 += x * b[l*ldb+j+1]
					}
				}
				c[i*ldc+j] += s0
				if pair {
					c[i*ldc+j+1] += s1
				}
			}
			continue
		}
		for l := range kk {
			al := a[l*ks : l*ks+m]
			b0 := b[l*ldb+j]
			if !pair {
				for i, x := range al {
					c[i*ldc+j] += x * b0
				}
				continue
			}
			b1 := b[l*ldb+j+1]
			for i, x := range al {
				ci := c[i*ldc+j : i*ldc+j+2]
				ci[0] += x * b0
				ci[1] += x * b1
			}
		}
	}
}

// blockedGemm sets C = A B, or adds A B to C if accumulate, with m >= 4,
// n >= 8, kk >= 1, in 4×8 blocks over slices of kc terms, so that a block's
// panels of A and B stay in the L1 cache. An edge block that does not fit
// is computed whole, shifted back inside the matrix, into a scratch block,
// and only its new part goes to C.
func blockedGemm(m, n, kk int, a []float64, rs, ks int, b []float64, ldb int, accumulate bool, c []float64, ldc int) {
	const kc = 128
	var scratch [4 * 8]float64
	for l0 := 0; l0 < kk; l0 += kc {
		nl := min(kc, kk-l0)
		add := accumulate || l0 > 0
		for i0 := 0; i0 < m; i0 += 4 {
			i := min(i0, m-4)
			ap := &a[i*rs+l0*ks]
			j0 := 0
			if i == i0 {
				// the whole blocks of this row of blocks, in one call
				nb := n / 8
				asm.Block4x8(nl, ap, rs, ks, &b[l0*ldb], ldb, add, &c[i*ldc], ldc, nb)
				j0 = 8 * nb
			}
			for ; j0 < n; j0 += 8 {
				j := min(j0, n-8)
				bp := &b[l0*ldb+j]
				if i == i0 && j == j0 {
					asm.Block4x8(nl, ap, rs, ks, bp, ldb, add, &c[i*ldc+j], ldc, 1)
					continue
				}
				asm.Block4x8(nl, ap, rs, ks, bp, ldb, false, &scratch[0], 8, 1)
				for r := i0 - i; r < 4; r++ {
					ci := c[(i+r)*ldc+j : (i+r)*ldc+j+8]
					for q := j0 - j; q < 8; q++ {
						if add {
							ci[q] += scratch[r*8+q]
						} else {
							ci[q] = scratch[r*8+q]
						}
					}
				}
			}
		}
	}
}

// syrkUpper sets the upper triangle of C (p×p, row-major) to AᵀA for A
// (r×p, row-major): the Levenberg-Marquardt normal matrix JᵀJ, its
// costliest product (r p²/2 multiply-adds a step). OpenBLAS's Dsyrk does
// it with -tags openblas. Otherwise, where the CPU has the 4×8 assembly
// kernel, A is packed a slice of syrkSlice rows at a time into strips of
// 8 columns, each strip's rows contiguous, so that the kernel reads both
// panels sequentially from cache (A read in place, with its rows p apart,
// ran the kernel at a seventh of its speed); C's strips C[i:i+4, i:p] are
// summed into a padded scratch over the slices and the upper triangle
// copied out. Without the kernel it is serialGemm on C's strips. s holds
// the scratch between calls (nil: allocate).
func syrkUpper(p, r int, a, c []float64, s *syrkScratch) {
	if BLAS != "gonum" {
		blas64.Implementation().Dsyrk(blas.Upper, blas.Trans, p, r, 1, a, p, 0, c, p)
		return
	}
	if !asm.HasFMA {
		for i := 0; i < p; i += 4 {
			m := min(4, p-i)
			serialGemm(blas.Trans, m, p-i, r, a[i:], p, a[i:], p, 0, c[i*p+i:], p)
		}
		return
	}
	cp, pp := syrkPacked(p, r, a, p, s)
	for i := range p {
		copy(c[i*p+i:i*p+p], cp[i*pp+i:i*pp+p])
	}
}

// syrkPacked is syrkUpper's product for A (r×p, row stride lda) by the
// kernel: it returns the padded scratch holding AᵀA in the upper triangle,
// with its row stride pp.
func syrkPacked(p, r int, a []float64, lda int, s *syrkScratch) (c []float64, pp int) {
	if s == nil {
		s = new(syrkScratch)
	}
	pp = (p + 7) &^ 7 // columns padded to whole strips
	pack, cp := s.buffers(pp)
	for l0 := 0; l0 < r; l0 += syrkSlice {
		kc := min(syrkSlice, r-l0)
		// pack[jb][l][q] = A[l0+l, 8jb+q], zero in the padding
		for jb := 0; jb < pp/8; jb++ {
			strip := pack[jb*kc*8 : (jb+1)*kc*8]
			n := min(8, p-8*jb)
			for l := range kc {
				row := a[(l0+l)*lda+8*jb : (l0+l)*lda+8*jb+n]
				copy(strip[l*8:], row)
				clear(strip[l*8+n : l*8+8])
			}
		}
		add := l0 > 0
		for i := 0; i < p; i += 4 {
			ib := i / 8
			ap := &pack[ib*kc*8+i%8]
			for jb := ib; jb < pp/8; jb++ {
				asm.Block4x8(kc, ap, 1, 8, &pack[jb*kc*8], 8, add, &cp[i*pp+8*jb], pp, 1)
			}
		}
	}
	return cp, pp
}

// potrfUpper factors the symmetric positive definite A (n×n, row-major,
// upper triangle) in place as UᵀU, as LAPACK's Dpotrf with Uplo = Upper,
// and reports whether A is positive definite. It is the blocked
// right-looking algorithm with the trailing update A₂₂ -= U₁₂ᵀU₁₂, nearly
// all of its n³/3 multiply-adds, done by syrkPacked: gonum's Dpotrf does
// that update in vector loops, and took a quarter of a Levenberg-Marquardt
// step after the faster JᵀJ. OpenBLAS's Dpotrf does it with -tags openblas,
// and gonum's where the CPU lacks the kernel.
func potrfUpper(n int, a []float64, s *syrkScratch) bool {
	if BLAS != "gonum" || !asm.HasFMA {
		_, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: n, Stride: n, Data: a})
		return ok
	}
	const nb = 32
	var impl gonumlapack.Implementation
	bl := blas64.Implementation()
	for k := 0; k < n; k += nb {
		kb := min(nb, n-k)
		if !impl.Dpotf2(blas.Upper, kb, a[k*n+k:], n) {
			return false
		}
		m := n - k - kb
		if m == 0 {
			break
		}
		a12 := a[k*n+k+kb:]
		bl.Dtrsm(blas.Left, blas.Upper, blas.Trans, blas.NonUnit, kb, m, 1, a[k*n+k:], n, a12, n)
		cp, pp := syrkPacked(m, kb, a12, n, s)
		for i := range m {
			row, sub := a[(k+kb+i)*n+k+kb:(k+kb+i)*n+n], cp[i*pp:i*pp+m]
			for j := i; j < m; j++ {
				row[j] -= sub[j]
			}
		}
	}
	return true
}

// syrkSlice rows of A are packed at a time: 128 rows of 456 columns are
// 467 KB, inside a 512 KB or larger L2 cache.
const syrkSlice = 128

// syrkScratch is syrkUpper's packed slice of A and padded C.
type syrkScratch struct{ pack, c []float64 }

func (s *syrkScratch) buffers(pp int) (pack, c []float64) {
	// C's rows are padded to whole 4-row blocks as well.
	if n := syrkSlice * pp; len(s.pack) < n {
		s.pack = make([]float64, n)
	}
	if n := (pp + 4) * pp; len(s.c) < n {
		s.c = make([]float64, n)
	}
	return s.pack, s.c
}
