//go:build amd64 && !purego

package asm

import (
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestKernel: SinActivation runs (HasFMA) where the CPU has AVX2 and FMA, is
// within 4.5e-16 of math.Sincos, and stops at the tail and before a block
// holding a lane outside |x| < 2^20.
func TestKernel(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		if HasFMA {
			t.Fatal("HasFMA without AVX2 and FMA")
		}
		t.Skip("no AVX2 and FMA")
	}
	if !HasFMA {
		t.Fatal("HasFMA false with AVX2 and FMA")
	}
	const n = 23
	for _, c := range []struct {
		bad  int // index of a bad lane, or -1
		v    float64
		want int
	}{
		{-1, 0, 20},
		{0, math.NaN(), 0},
		{9, math.Inf(-1), 8},
		{15, 1 << 20, 12},
		{19, -3e20, 16},
		{21, math.NaN(), 20},
	} {
		a, da, h, d1, dh := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range a {
			a[i], da[i] = 0.37*float64(i*i)-50, float64(i)
		}
		if c.bad >= 0 {
			a[c.bad] = c.v
		}
		got := SinActivation(a, da, h, d1, dh)
		if got != c.want {
			t.Fatalf("bad lane %d: SinActivation did %d, want %d", c.bad, got, c.want)
		}
		for i := range a {
			s, co := h[i], d1[i]
			if i >= got {
				if s != 0 || co != 0 || dh[i] != 0 {
					t.Fatalf("bad lane %d: SinActivation wrote a[%d]", c.bad, i)
				}
				continue
			}
			ws, wc := math.Sincos(a[i])
			if math.Abs(s-ws) > 4.5e-16 || math.Abs(co-wc) > 4.5e-16 || dh[i] != co*da[i] {
				t.Fatalf("SinActivation: a[%d]=%v: %v, %v, %v; want %v, %v, %v", i, a[i], s, co, dh[i], ws, wc, wc*da[i])
			}
		}
	}
}

// TestSinValues: SinValues is within 2 ulp of math.Sin (measured: 1), or
// 2^-80·|x| near multiples of π, over
// the range trained networks reach and beyond, keeps sin ±0 = ±0, and stops
// at the tail and before a block holding a lane outside |x| < 2^20.
func TestSinValues(t *testing.T) {
	if !HasFMA {
		t.Skip("no AVX2 and FMA")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 1 << 16
	x, dst := make([]float64, n), make([]float64, n)
	for _, scale := range []float64{1e-3, 1, 4, 100, 1e4, 1 << 19} {
		for i := range x {
			x[i] = scale * (2*rng.Float64() - 1)
		}
		x[0], x[1], x[2], x[3] = 0, math.Copysign(0, -1), math.Pi/2, -math.Pi
		if got := SinValues(x, dst); got != n {
			t.Fatalf("scale %g: did %d of %d", scale, got, n)
		}
		worst := 0.0
		for i, v := range x {
			want := math.Sin(v)
			ulp := math.Nextafter(math.Abs(want), math.Inf(1)) - math.Abs(want)
			if want == 0 {
				if dst[i] != 0 || math.Signbit(dst[i]) != math.Signbit(want) {
					t.Fatalf("sin(%v) = %v, want %v", v, dst[i], want)
				}
				continue
			}
			// Near a multiple of π the two-part reduction loses relative
			// precision (as fdlibm's first step does): there the error is
			// held to 2^-80·|x|, absolute, instead.
			if e := math.Abs(dst[i] - want); e > 0x1p-80*math.Abs(v) {
				worst = math.Max(worst, e/ulp)
			}
		}
		if worst > 2 {
			t.Errorf("scale %g: %.2f ulp from math.Sin", scale, worst)
		}
		t.Logf("scale %g: within %.2f ulp of math.Sin", scale, worst)
	}
	const m = 23
	for _, c := range []struct {
		bad  int
		v    float64
		want int
	}{{-1, 0, 20}, {0, math.NaN(), 0}, {9, math.Inf(-1), 8}, {15, 1 << 20, 12}, {19, -3e20, 16}, {21, math.NaN(), 20}} {
		x, dst := make([]float64, m), make([]float64, m)
		for i := range x {
			x[i] = 0.37*float64(i*i) - 50
		}
		if c.bad >= 0 {
			x[c.bad] = c.v
		}
		got := SinValues(x, dst)
		if got != c.want {
			t.Fatalf("bad lane %d: did %d, want %d", c.bad, got, c.want)
		}
		for i := got; i < m; i++ {
			if dst[i] != 0 {
				t.Fatalf("bad lane %d: wrote dst[%d]", c.bad, i)
			}
		}
	}
}

// BenchmarkSin compares SinValues with SinActivation (sine, cosine and
// tangent) on 8192 values in the range of trained networks' units.
func BenchmarkSin(b *testing.B) {
	const n = 8192
	a, da, h, d1, dh := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range a {
		a[i] = 8 * math.Sin(float64(i))
	}
	b.Run("values", func(b *testing.B) {
		for b.Loop() {
			SinValues(a, h)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/value")
	})
	b.Run("activation", func(b *testing.B) {
		for b.Loop() {
			SinActivation(a, da, h, d1, dh)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/value")
	})
}
