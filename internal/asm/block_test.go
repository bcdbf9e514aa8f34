package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBlock4x8: the assembly kernel (where the CPU runs it) and the portable
// one both agree with a plain triple loop, for A read by rows (NN) and by
// columns (TN), one block or three side by side, to 1e-14 relative: they
// differ only in the order of the sums and in FMA's single rounding.
func TestBlock4x8(t *testing.T) {
	if !HasFMA {
		t.Log("no AVX2+FMA: testing the portable kernel only")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, kk := range []int{1, 2, 3, 7, 50, 129} {
		for _, tc := range []struct {
			trans bool
			nb    int
		}{{false, 1}, {true, 1}, {false, 3}, {true, 3}} {
			trans, nb := tc.trans, tc.nb
			lda, ldb, ldc := kk+3, 8*nb+3, 8*nb+5
			rs, ks := lda, 1
			rows := 4
			if trans {
				lda = 6
				rs, ks = 1, lda
				rows = kk
			}
			a := random(rng, rows*lda)
			b := random(rng, kk*ldb)
			c0 := random(rng, 4*ldc)
			prod := make([]float64, len(c0))
			for r := range 4 {
				for q := range 8 * nb {
					for l := range kk {
						prod[r*ldc+q] += a[r*rs+l*ks] * b[l*ldb+q]
					}
				}
			}
			for name, kern := range map[string]func(int, *float64, int, int, *float64, int, bool, *float64, int, int){
				"Block4x8": Block4x8, "Block4x8Go": Block4x8Go,
			} {
				for _, accumulate := range []bool{false, true} {
					c := append([]float64(nil), c0...)
					kern(kk, &a[0], rs, ks, &b[0], ldb, accumulate, &c[0], ldc, nb)
					for i := range c {
						if i%ldc >= 8*nb {
							if c[i] != c0[i] {
								t.Fatalf("%s kk=%d trans=%v nb=%d: wrote outside the blocks at %d", name, kk, trans, nb, i)
							}
							continue
						}
						want := prod[i]
						if accumulate {
							want += c0[i]
						}
						if d := math.Abs(c[i] - want); d > 1e-14*float64(kk)*(1+math.Abs(want)) {
							t.Fatalf("%s kk=%d trans=%v nb=%d accumulate=%v: c[%d] = %v, want %v", name, kk, trans, nb, accumulate, i, c[i], want)
						}
					}
				}
			}
		}
	}
}

func random(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = 2*rng.Float64() - 1
	}
	return x
}

func BenchmarkBlock4x8(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const kk = 50
	a, bm, c := random(rng, 4*kk), random(rng, kk*8), make([]float64, 32)
	for name, kern := range map[string]func(int, *float64, int, int, *float64, int, bool, *float64, int, int){
		"asm": Block4x8, "go": Block4x8Go,
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				kern(kk, &a[0], kk, 1, &bm[0], 8, true, &c[0], 8, 1)
			}
			b.ReportMetric(float64(2*4*8*kk)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
