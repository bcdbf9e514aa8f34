package gpu_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"hnnsolve/internal/gpu"
)

// chainReference is the bundle chain of cfg for one member, in plain Go:
// S_{j+1} = S_j + FEnd_j N_j(Length_j, u_j), then S_k + fTau N_k(τ, u_k).
func chainReference(cfg gpu.BundleConfig, k int, tau, fTau float64, member []float64) []float64 {
	dim := cfg.Dim
	S := append([]float64(nil), member[:dim]...)
	for j := 0; j <= k; j++ {
		sg := cfg.Segments[j]
		t, f := sg.Length, sg.FEnd
		if j == k {
			t, f = tau, fTau
		}
		x := []float64{t}
		for c, v := range append(append([]float64(nil), S...), member[dim:]...) {
			x = append(x, (v-sg.Mid[c])*sg.Scale[c])
		}
		for l := 1; l < len(sg.Widths); l++ {
			in, w := sg.Widths[l-1], sg.Widths[l]
			W, b := sg.Params[2*l-2], sg.Params[2*l-1]
			y := make([]float64, w)
			for u := range w {
				a := b[u]
				for i := range in {
					a += x[i] * W[i*w+u]
				}
				y[u] = a
				if l < len(sg.Widths)-1 {
					y[u] = math.Sin(a)
				}
			}
			x = y
		}
		for c := range dim {
			S[c] += f * x[c]
		}
	}
	return S
}

// TestBundleEvaluator: the bundle evaluator's chain (host emulation: the
// same CUDA C, the products in Go) agrees with chainReference to 1e-13
// relative for a chain of three random segments, with and without θ, in
// every segment, and at a member count that is no multiple of anything.
func TestBundleEvaluator(t *testing.T) {
	dev := hostOrSkip(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range []int{0, 1} {
		const dim, members = 4, 37
		n := dim + m
		cfg := gpu.BundleConfig{Dim: dim, Act: gpu.Sin, Members: members}
		for range 3 {
			ws := []int{1 + n, 6, 5, dim}
			sg := gpu.BundleSegment{Widths: ws, Length: 0.3 + rng.Float64(), Mid: make([]float64, n), Scale: make([]float64, n)}
			sg.FEnd = -math.Expm1(-sg.Length)
			for l := 1; l < len(ws); l++ {
				W, b := make([]float64, ws[l-1]*ws[l]), make([]float64, ws[l])
				for i := range W {
					W[i] = 0.5 * rng.NormFloat64()
				}
				for i := range b {
					b[i] = 0.1 * rng.NormFloat64()
				}
				sg.Params = append(sg.Params, W, b)
			}
			for c := range n {
				sg.Mid[c], sg.Scale[c] = 0.2*rng.NormFloat64(), 1+rng.Float64()
			}
			cfg.Segments = append(cfg.Segments, sg)
		}
		ev, err := gpu.NewBundleEvaluator(dev, cfg)
		if err != nil {
			t.Fatal(err)
		}
		members0 := make([]float64, members*n)
		for i := range members0 {
			members0[i] = rng.Float64()
		}
		z := make([]float64, members*dim)
		for k := range cfg.Segments {
			tau := 0.7 * cfg.Segments[k].Length
			fTau := -math.Expm1(-tau)
			if err := ev.States(k, tau, fTau, members0, z); err != nil {
				t.Fatal(err)
			}
			for i := range members {
				want := chainReference(cfg, k, tau, fTau, members0[i*n:(i+1)*n])
				for c := range dim {
					if got := z[i*dim+c]; math.Abs(got-want[c]) > 1e-13*(1+math.Abs(want[c])) {
						t.Fatalf("m=%d segment %d member %d: z[%d] = %v, want %v", m, k, i, c, got, want[c])
					}
				}
			}
		}
		if err := ev.States(3, 0, 0, members0, z); err == nil {
			t.Error("segment 3 of 3: no error")
		}
		if err := ev.States(0, 0, 0, members0[1:], z); err == nil {
			t.Error("short members: no error")
		}
		if err := ev.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
