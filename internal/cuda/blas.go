//go:build gpu

package cuda

import (
	"fmt"
	"math"
)

// Dgemm queues cuBLAS's C = alpha·op(A)·op(B) + beta·C, in cuBLAS's
// column-major convention: op(A) is m×k, op(B) is k×n, C is m×n; element
// (i, j) of a matrix X with leading dimension ldx is X[i + j·ldx]; op(X) is
// Xᵀ when transX. So A is stored m×k (k×m if transA) with lda >= its row
// count, and likewise B and C. alpha and beta are read at the call (a Graph
// keeps the values it was captured with). When beta is 0, C need not be
// initialised.
//
// A row-major product maps onto it by transposing everything: row-major
// X[r×c] with row stride ldx is the column-major c×r matrix Xᵀ with the
// same ldx, so the row-major C[m×n] = op(A)·op(B) is the column-major
// Cᵀ = op(B)ᵀ·op(A)ᵀ:
//
//	Dgemm(transB, transA, n, m, k, alpha, B, ldb, A, lda, beta, C, ldc)
//
// with lda, ldb, ldc the row-major row strides (A's is k, or m if transA;
// B's n, or k if transB; C's n when packed).
//
// The sizes are checked against the Buffers' lengths, so a product cannot
// read or write outside them.
func (d *Device) Dgemm(transA, transB bool, m, n, k int, alpha float64, a Buffer, lda int, b Buffer, ldb int,
	beta float64, c Buffer, ldc int) error {
	if err := gemmCheck("Dgemm", transA, transB, m, n, k, a, lda, 0, b, ldb, 0, c, ldc, 0, 1); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	if err := d.enter("Dgemm"); err != nil {
		return err
	}
	defer d.leave()
	return d.bl.check("cublasDgemm_v2", d.bl.Dgemm(d.blas, op(transA), op(transB), int32(m), int32(n), int32(k),
		&alpha, a.ptr, int32(lda), b.ptr, int32(ldb), &beta, c.ptr, int32(ldc)), ErrFailed)
}

// DgemmStridedBatched queues batch products as Dgemm's, C_i = alpha·op(A_i)·
// op(B_i) + beta·C_i for i < batch, where A_i starts strideA float64s after
// A_{i-1} in a (and so on for B and C), in one cuBLAS call.
func (d *Device) DgemmStridedBatched(transA, transB bool, m, n, k int, alpha float64, a Buffer, lda, strideA int,
	b Buffer, ldb, strideB int, beta float64, c Buffer, ldc, strideC int, batch int) error {
	if err := gemmCheck("DgemmStridedBatched", transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch); err != nil {
		return err
	}
	if m == 0 || n == 0 || batch == 0 {
		return nil
	}
	if err := d.enter("DgemmStridedBatched"); err != nil {
		return err
	}
	defer d.leave()
	return d.bl.check("cublasDgemmStridedBatched", d.bl.DgemmStridedBatched(d.blas, op(transA), op(transB),
		int32(m), int32(n), int32(k), &alpha, a.ptr, int32(lda), int64(strideA), b.ptr, int32(ldb), int64(strideB),
		&beta, c.ptr, int32(ldc), int64(strideC), int32(batch)), ErrFailed)
}

// op is CUBLAS_OP_N (0) or CUBLAS_OP_T (1).
func op(trans bool) int32 {
	if trans {
		return 1
	}
	return 0
}

// gemmCheck checks the sizes: every dimension a non-negative int32, every
// leading dimension at least its matrix's row count (and 1), and each
// matrix, over the batch, inside its Buffer.
func gemmCheck(name string, transA, transB bool, m, n, k int, a Buffer, lda, strideA int, b Buffer, ldb, strideB int,
	c Buffer, ldc, strideC int, batch int) error {
	bad := func(format string, args ...any) error { return failed(name, fmt.Sprintf(format, args...)) }
	for _, v := range []int{m, n, k, lda, ldb, ldc, batch} {
		if v < 0 || v > math.MaxInt32 {
			return bad("m, n, k, lda, ldb, ldc, batch = %d, %d, %d, %d, %d, %d, %d: want each in [0, 2^31)", m, n, k, lda, ldb, ldc, batch)
		}
	}
	if m == 0 || n == 0 || batch == 0 {
		return nil
	}
	aRows, aCols := m, k
	if transA {
		aRows, aCols = k, m
	}
	bRows, bCols := k, n
	if transB {
		bRows, bCols = n, k
	}
	for _, x := range []struct {
		what           string
		buf            Buffer
		rows, cols, ld int
		stride         int
	}{{"A", a, aRows, aCols, lda, strideA}, {"B", b, bRows, bCols, ldb, strideB}, {"C", c, m, n, ldc, strideC}} {
		if x.ld < max(1, x.rows) {
			return bad("ld%s = %d, want >= max(1, %d)", x.what, x.ld, x.rows)
		}
		if x.rows == 0 || x.cols == 0 { // k = 0: A and B are empty, C = beta·C
			continue
		}
		if x.stride < 0 {
			return bad("stride%s = %d, want >= 0", x.what, x.stride)
		}
		one := x.ld*(x.cols-1) + x.rows // float64s one matrix spans (< 2^62 for int32 sizes)
		if one > x.buf.n || batch > 1 && x.stride > (x.buf.n-one)/(batch-1) {
			return bad("%s (%d×%d, ld %d, stride %d, batch %d) does not fit its Buffer of %d float64s",
				x.what, x.rows, x.cols, x.ld, x.stride, batch, x.buf.n)
		}
	}
	return nil
}
