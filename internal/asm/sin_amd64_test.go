//go:build amd64 && !purego

package asm

import (
	"math"
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
