package hnnsolve

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"hnnsolve/internal/asm"
)

// sinPaths are sinActivation (the assembly kernel where the CPU has it) and
// its pure-Go fallback.
var sinPaths = []struct {
	name string
	f    func(a, da, h, d1, dh []float64)
}{
	{"sinActivation", sinActivation},
	{"sinActivationGo", sinActivationGo},
}

// sinSpecial are values sinActivation must return exactly as math.Sincos.
var sinSpecial = []float64{0, math.Copysign(0, -1), 1e-300, 1 << 20, 2e20, math.Inf(1), math.Inf(-1), math.NaN()}

func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

// checkSinActivation runs f on a and a random da, in slices with guard
// elements after them, and checks: h and d1 within 4.5e-16 of math.Sincos
// (exact at the sinSpecial values), dh = d1·da exactly and the guards
// untouched. It returns the largest error.
func checkSinActivation(t *testing.T, name string, f func(a, da, h, d1, dh []float64), a []float64, rng *rand.Rand) float64 {
	t.Helper()
	const guard = 8
	n := len(a)
	buf := make([]float64, 4*(n+guard))
	for i := range buf {
		buf[i] = -7
	}
	da, h, d1, dh := buf[:n], buf[n+guard:2*n+guard], buf[2*(n+guard):3*n+2*guard], buf[3*(n+guard):4*n+3*guard]
	for i := range da {
		da[i] = 2*rng.Float64() - 1
	}
	f(a, da, h, d1, dh)
	var maxErr float64
	for i, x := range a {
		ws, wc := math.Sincos(x)
		special := false
		for _, v := range sinSpecial {
			special = special || sameFloat(x, v)
		}
		if special {
			if !sameFloat(h[i], ws) || !sameFloat(d1[i], wc) {
				t.Fatalf("%s: n=%d: sin, cos a[%d]=%v = %v, %v; math.Sincos %v, %v", name, n, i, x, h[i], d1[i], ws, wc)
			}
		} else {
			d := math.Max(math.Abs(h[i]-ws), math.Abs(d1[i]-wc))
			if !(d <= 4.5e-16) {
				t.Fatalf("%s: n=%d: sin, cos a[%d]=%v = %v, %v; math.Sincos %v, %v", name, n, i, x, h[i], d1[i], ws, wc)
			}
			maxErr = math.Max(maxErr, d)
		}
		if !sameFloat(dh[i], d1[i]*da[i]) {
			t.Fatalf("%s: n=%d: dh[%d] = %v, want d1·da = %v", name, n, i, dh[i], d1[i]*da[i])
		}
	}
	for _, s := range [][]float64{buf[n : n+guard], buf[2*n+guard : 2*n+2*guard], buf[3*n+2*guard : 3*n+3*guard], buf[4*n+3*guard:]} {
		for _, v := range s {
			if v != -7 {
				t.Fatalf("%s: n=%d: wrote past the end", name, n)
			}
		}
	}
	return maxErr
}

// TestSinActivation: within 2 ulp of 1 (4.5e-16 absolute) of math.Sincos,
// as TestSincos, over the range activations reach and near the quadrant
// boundaries, and dh = d1·da exactly.
func TestSinActivation(t *testing.T) {
	var bounds []float64
	for k := -1000; k <= 1000; k++ {
		for _, e := range []float64{-1e-9, 0, 1e-9} {
			bounds = append(bounds, float64(k)*math.Pi/4+e)
		}
	}
	t.Logf("vector kernel: %v", asm.HasFMA)
	for _, p := range sinPaths {
		rng := rand.New(rand.NewPCG(1, 1))
		for _, c := range []struct {
			n     int
			width float64
		}{{1000000, 400}, {100000, 1e5}} {
			a := make([]float64, c.n)
			for i := range a {
				a[i] = c.width * (rng.Float64() - 0.5)
			}
			e := checkSinActivation(t, p.name, p.f, a, rng)
			t.Logf("%s: |x| < %v: max error %.3g", p.name, c.width/2, e)
		}
		e := checkSinActivation(t, p.name, p.f, bounds, rng)
		t.Logf("%s: kπ/4: max error %.3g", p.name, e)
	}
}

// TestSinActivationSpecial: every length 0…37 with each of sinSpecial at
// each position, and with all of them in a row, which math.Sincos gives
// exactly, and the rest within tolerance.
func TestSinActivationSpecial(t *testing.T) {
	for _, p := range sinPaths {
		rng := rand.New(rand.NewPCG(1, 2))
		for n := 0; n <= 37; n++ {
			a := make([]float64, n)
			fill := func() {
				for i := range a {
					a[i] = 400 * (rng.Float64() - 0.5)
				}
			}
			fill()
			checkSinActivation(t, p.name, p.f, a, rng)
			for _, v := range sinSpecial {
				for i := range a {
					fill()
					a[i] = v
					checkSinActivation(t, p.name, p.f, a, rng)
				}
			}
			for i := range a {
				fill()
				for j, v := range sinSpecial {
					if i+j < n {
						a[i+j] = v
					}
				}
				checkSinActivation(t, p.name, p.f, a, rng)
			}
		}
	}
}

func TestSinActivationAllocs(t *testing.T) {
	n := 1003
	a, da, h, d1, dh := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range a {
		a[i] = float64(i) - 500
	}
	a[501] = math.NaN()
	if allocs := testing.AllocsPerRun(10, func() { sinActivation(a, da, h, d1, dh) }); allocs != 0 {
		t.Errorf("sinActivation allocates %v times", allocs)
	}
}

func TestSinActivationLengths(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic on unequal lengths")
		}
	}()
	s := make([]float64, 8)
	sinActivation(s, s, s, s[:7], s)
}

// BenchmarkSinActivation: the sine activation of one 2000×128 layer by the
// former loop of sincos and by sinActivation, for activations in [-4, 4],
// where the quadrant is random, and in [-0.75, 0.75], where it is always 0
// and the loop's branches predictable.
func BenchmarkSinActivation(b *testing.B) {
	const n = 2000 * 128
	for _, width := range []float64{4, 0.75} {
		rng := rand.New(rand.NewPCG(1, 3))
		a, da, h, d1, dh := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range a {
			a[i], da[i] = width*(2*rng.Float64()-1), 2*rng.Float64()-1
		}
		b.Run(fmt.Sprintf("range=%v/scalar", width), func(b *testing.B) {
			for b.Loop() {
				for i, x := range a {
					s, c := sincos(x)
					h[i], d1[i], dh[i] = s, c, c*da[i]
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
		})
		b.Run(fmt.Sprintf("range=%v/vector", width), func(b *testing.B) {
			for b.Loop() {
				sinActivation(a, da, h, d1, dh)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
		})
	}
}

// TestSinActivationInPlace: with d1 = a, as the fused network calls it, the
// results are those of separate slices, bit for bit.
func TestSinActivationInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 3, 4, 7, 8, 13, 1000} {
		a, da := make([]float64, n), make([]float64, n)
		for i := range a {
			a[i], da[i] = 400*(rng.Float64()-0.5), rng.Float64()
		}
		if n > 5 {
			a[5] = math.Inf(1) // a lane the kernel leaves to sincos
		}
		h, d1, dh := make([]float64, n), make([]float64, n), make([]float64, n)
		sinActivation(a, da, h, d1, dh)
		h2, dh2 := make([]float64, n), make([]float64, n)
		sinActivation(a, da, h2, a, dh2)
		for i := range a {
			if !sameFloat(h[i], h2[i]) || !sameFloat(d1[i], a[i]) || !sameFloat(dh[i], dh2[i]) {
				t.Fatalf("n=%d, i=%d: in place %v %v %v, separate %v %v %v", n, i, h2[i], a[i], dh2[i], h[i], d1[i], dh[i])
			}
		}
	}
}
