package gpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// cublasRef is cuBLAS's column-major strided-batched Dgemm on x, as its
// documentation defines it, with alpha 1 and beta 0.
func cublasRef(x []float64, g cublasGemm, batch int) {
	at := func(s Span, stride, ld, bt, i, j int) int { return s.Off + bt*stride + i + j*ld }
	for bt := range batch {
		for i := range g.m {
			for j := range g.n {
				s := 0.0
				for l := range g.k {
					ai, aj := i, l
					if g.transA {
						ai, aj = l, i
					}
					bi, bj := l, j
					if g.transB {
						bi, bj = j, l
					}
					s += x[at(g.a, g.sa, g.lda, bt, ai, aj)] * x[at(g.b, g.sb, g.ldb, bt, bi, bj)]
				}
				x[at(g.c, g.sc, g.ldc, bt, i, j)] = s
			}
		}
	}
}

// rowMajorRef is Gemm's row-major definition, alpha 1 and beta 0.
func rowMajorRef(x []float64, g *Gemm) {
	for bt := range g.Batch {
		for i := range g.M {
			for j := range g.N {
				s := 0.0
				for l := range g.K {
					ai := g.A.Off + bt*g.StrideA + i*g.LDA + l
					if g.TransA {
						ai = g.A.Off + bt*g.StrideA + l*g.LDA + i
					}
					bi := g.B.Off + bt*g.StrideB + l*g.LDB + j
					if g.TransB {
						bi = g.B.Off + bt*g.StrideB + j*g.LDB + l
					}
					s += x[ai] * x[bi]
				}
				x[g.C.Off+bt*g.StrideC+i*g.LDC+j] = s
			}
		}
	}
}

// TestColMajor: the mapping of the engine's row-major products onto
// cuBLAS's column-major Dgemm computes the same products, for every
// transposition, padded rows and batches (checked against cuBLAS's
// definition, without a GPU).
func TestColMajor(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, batch := range []int{1, 3} {
				m, n, k := 5, 7, 4
				ar, ac := m, k
				if ta {
					ar, ac = k, m
				}
				br, bc := k, n
				if tb {
					br, bc = n, k
				}
				lda, ldb, ldc := ac+2, bc+1, n+3
				sa, sb, sc := ar*lda+1, br*ldb+2, m*ldc+3
				g := &Gemm{TransA: ta, TransB: tb, M: m, N: n, K: k, Alpha: 1,
					A: Span{0, batch * sa}, LDA: lda, StrideA: sa,
					B: Span{batch * sa, batch * sb}, LDB: ldb, StrideB: sb,
					C: Span{batch * (sa + sb), batch * sc}, LDC: ldc, StrideC: sc, Batch: batch}
				if err := g.Check(); err != nil {
					t.Fatal(err)
				}
				x := make([]float64, batch*(sa+sb+sc))
				for i := range x {
					x[i] = rng.NormFloat64()
				}
				y := append([]float64(nil), x...)
				rowMajorRef(x, g)
				cublasRef(y, colMajor(g), batch)
				for i := range x {
					if math.Abs(x[i]-y[i]) > 1e-13 {
						t.Fatalf("transA %v, transB %v, batch %d: entry %d: row-major %v, via cuBLAS's form %v", ta, tb, batch, i, x[i], y[i])
					}
				}
			}
		}
	}
}
