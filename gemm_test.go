package hnnsolve

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// TestGemm: gemm (serialGemm in the pure-Go build, OpenBLAS with the tag)
// agrees with a plain triple loop to 1e-14 relative per term, for A and
// op(A) = Aᵀ, beta 0 and 1, at shapes below, at and across the 4×8 block
// edges, with leading dimensions larger than the rows.
func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	rnd := func(n int) []float64 { return uniformSlice(rng, n) }
	for _, m := range []int{1, 3, 4, 5, 9, 50, 103} {
		for _, n := range []int{1, 2, 7, 8, 9, 17, 50} {
			for _, kk := range []int{1, 2, 5, 50, 400} {
				for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
					for _, beta := range []float64{0, 1} {
						name := fmt.Sprintf("m=%d,n=%d,k=%d,%c,beta=%v", m, n, kk, tA, beta)
						lda := kk + 1
						if tA == blas.Trans {
							lda = m + 2
						}
						rowsA := m
						if tA == blas.Trans {
							rowsA = kk
						}
						ldb, ldc := n+3, n+1
						a, b, c := rnd(rowsA*lda), rnd(kk*ldb), rnd(m*ldc)
						want := append([]float64(nil), c...)
						for i := range m {
							for j := range n {
								s := beta * want[i*ldc+j]
								for l := range kk {
									var ail float64
									if tA == blas.Trans {
										ail = a[l*lda+i]
									} else {
										ail = a[i*lda+l]
									}
									s += ail * b[l*ldb+j]
								}
								want[i*ldc+j] = s
							}
						}
						for impl, run := range map[string]func(){
							"gemm":       func() { gemm(tA, m, n, kk, a, lda, b, ldb, beta, c, ldc) },
							"serialGemm": func() { serialGemm(tA, m, n, kk, a, lda, b, ldb, beta, c, ldc) },
						} {
							c0 := append([]float64(nil), c...)
							run()
							for i := range c {
								row, col := i/ldc, i%ldc
								if row >= m || col >= n {
									if c[i] != c0[i] {
										t.Fatalf("%s %s: wrote outside C at %d", impl, name, i)
									}
									continue
								}
								if d := math.Abs(c[i] - want[i]); d > 1e-14*float64(kk+1) {
									t.Fatalf("%s %s: C[%d,%d] = %v, want %v", impl, name, row, col, c[i], want[i])
								}
							}
							copy(c, c0)
						}
					}
				}
			}
		}
	}
}

// BenchmarkGemm: the fused network's three products per hidden layer at
// K = 2000, width 128 (2K = 4000 stacked rows), in GFLOP/s.
func BenchmarkGemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	rnd := func(n int) []float64 { return uniformSlice(rng, n) }
	const rows, w = 4000, 128
	h, g, c := rnd(rows*w), rnd(rows*w), make([]float64, rows*w)
	W, gW := rnd(w*w), make([]float64, w*w)
	for _, c := range []struct {
		name string
		run  func()
	}{
		{"forward NN 4000x128x128", func() { gemm(blas.NoTrans, rows, w, w, h, w, W, w, 0, c, w) }},
		{"weights TN 128x128x4000", func() { gemm(blas.Trans, w, w, rows, h, w, g, w, 0, gW, w) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.run()
			}
			b.ReportMetric(2*rows*w*w*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// uniformSlice is n numbers uniform on [-1, 1).
func uniformSlice(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = 2*rng.Float64() - 1
	}
	return x
}

// TestSyrkUpper: syrkUpper's upper triangle is gonum's Dsyrk to 1e-14
// relative, for sizes around the 4×8 blocks' edges (p of 1 to 13, and a
// Levenberg-Marquardt-like 37×301).
func TestSyrkUpper(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, sz := range [][2]int{{1, 5}, {3, 2}, {4, 9}, {7, 16}, {8, 3}, {9, 40}, {13, 129}, {37, 301}, {50, 260}, {453, 130}} {
		p, r := sz[0], sz[1]
		a := make([]float64, r*p)
		for i := range a {
			a[i] = 2*rng.Float64() - 1
		}
		got, want := make([]float64, p*p), make([]float64, p*p)
		for i := range got {
			got[i] = math.NaN() // every upper entry must be written
		}
		syrkUpper(p, r, a, got, nil)
		blas64.Implementation().Dsyrk(blas.Upper, blas.Trans, p, r, 1, a, p, 0, want, p)
		for i := range p {
			for j := i; j < p; j++ {
				if d := math.Abs(got[i*p+j] - want[i*p+j]); !(d <= 1e-14*float64(r)) {
					t.Fatalf("p=%d r=%d: C[%d,%d] = %v, want %v", p, r, i, j, got[i*p+j], want[i*p+j])
				}
			}
		}
	}
}

// TestPotrfUpper: potrfUpper's factor is LAPACK's (gonum's Dpotrf) to
// 1e-12 relative on matrices spanning several 32-column blocks, and it
// reports a matrix that is not positive definite.
func TestPotrfUpper(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 3, 8, 63, 64, 65, 130, 452} {
		r := n + 20
		g := make([]float64, r*n)
		for i := range g {
			g[i] = 2*rng.Float64() - 1
		}
		a := make([]float64, n*n)
		syrkUpper(n, r, g, a, nil)
		want := slices.Clone(a)
		if _, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: n, Stride: n, Data: want}); !ok {
			t.Fatalf("n=%d: LAPACK finds AᵀA not positive definite", n)
		}
		if !potrfUpper(n, a, nil) {
			t.Fatalf("n=%d: potrfUpper finds AᵀA not positive definite", n)
		}
		for i := range n {
			for j := i; j < n; j++ {
				if d := math.Abs(a[i*n+j] - want[i*n+j]); !(d <= 1e-12*math.Abs(want[i*n+i])) {
					t.Fatalf("n=%d: U[%d,%d] = %v, want %v", n, i, j, a[i*n+j], want[i*n+j])
				}
			}
		}
		// Indefinite: a negative entry deep on the diagonal (past the first block).
		a = make([]float64, n*n)
		for i := range n {
			a[i*n+i] = 1
		}
		a[(n-1)*n+n-1] = -1
		if potrfUpper(n, a, nil) {
			t.Errorf("n=%d: potrfUpper factored an indefinite matrix", n)
		}
	}
}

// BenchmarkLMProducts: a Levenberg-Marquardt step's normal matrix JᵀJ and
// its Cholesky factor at the Hénon-Heiles bundle's size (5000 residuals,
// 452 parameters), against gonum's Dsyrk and Dpotrf, in GFLOP/s.
func BenchmarkLMProducts(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 12))
	const r, p = 5000, 452
	jac, jtj := uniformSlice(rng, r*p), make([]float64, p*p)
	var s syrkScratch
	syrkUpper(p, r, jac, jtj, &s)
	work := make([]float64, p*p)
	syrkFlops, potrfFlops := float64(r)*p*(p+1), p*p*p/3.0
	for _, c := range []struct {
		name  string
		flops float64
		run   func()
	}{
		{"JᵀJ", syrkFlops, func() { syrkUpper(p, r, jac, work, &s) }},
		{"JᵀJ/gonum", syrkFlops, func() {
			blas64.Implementation().Dsyrk(blas.Upper, blas.Trans, p, r, 1, jac, p, 0, work, p)
		}},
		{"Cholesky", potrfFlops, func() {
			copy(work, jtj)
			if !potrfUpper(p, work, &s) {
				b.Fatal("JᵀJ not positive definite")
			}
		}},
		{"Cholesky/gonum", potrfFlops, func() {
			copy(work, jtj)
			if _, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: p, Stride: p, Data: work}); !ok {
				b.Fatal("JᵀJ not positive definite")
			}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.run()
			}
			b.ReportMetric(c.flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
