package hnnsolve

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// chainLossDirect is Eq. 7-8 for chainH (any number of masses), computed
// from the network's own forward pass and the closed-form ∇H, independently
// of any graph: ∂H/∂p_i = p_i, ∂H/∂q_i = F(d_i) - F(d_{i+1}) with bonds
// d_0 = q_0, d_i = q_i - q_{i-1}, F(x) = x + x³.
func chainLossDirect(net *network, z0, ts []float64, lambda, e0 float64) float64 {
	dim := len(z0)
	d := dim / 2
	n, dn, buf := make([]float64, dim), make([]float64, dim), make([]float64, 4*net.maxWidth())
	z, dz := make([]float64, dim), make([]float64, dim)
	F := func(x float64) float64 { return x + x*x*x }
	bond := func(i int) float64 {
		if i == 0 {
			return z[0]
		}
		return z[i] - z[i-1]
	}
	sum := 0.0
	for _, t := range ts {
		net.forward(t, n, dn, buf)
		f, df := Exponential.eval(t, 0)
		for i := range dim {
			z[i], dz[i] = z0[i]+f*n[i], df*n[i]+f*dn[i]
		}
		h := 0.0
		for i := range d {
			dqH := F(bond(i))
			if i+1 < d {
				dqH -= F(bond(i + 1))
			}
			p := z[d+i]
			rq, rp := dz[i]-p, dz[d+i]+dqH
			sum += rq*rq + rp*rp
			b := bond(i)
			h += p*p/2 + b*b/2 + b*b*b*b/4
		}
		sum += lambda * (h - e0) * (h - e0)
	}
	return sum / float64(len(ts))
}

// TestLossHighDimension: the loss graph, fused and plain, agrees with the
// direct evaluation, and its gradient with central differences of the
// direct loss, at phase-space dimensions D = 2, 130, 258 and 514. Column
// offsets of 256 and more once made gorgonia merge distinct columns of the
// network's output (its Slice hashes only the offset's low byte): at
// D = 130 the loss was off by ~1e-2 and the gradient by 10x.
func TestLossHighDimension(t *testing.T) {
	for _, dim := range []int{2, 130, 258, 514} {
		for _, fused := range []bool{true, false} {
			t.Run(fmt.Sprintf("D=%d/fused=%v", dim, fused), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(dim), 5))
				z0 := make([]float64, dim)
				for i := range z0 {
					z0[i] = 0.3 * (2*rng.Float64() - 1)
				}
				net := newNetwork([]int{7}, dim, Sin)
				net.init(rng)
				const k, lambda = 5, 0.7
				e0 := energyOf(t, chainH, z0)
				lg, err := buildLossGraph(chainH, z0, net, k, lambda, e0, true, fused)
				if err != nil {
					t.Fatal(err)
				}
				ts := make([]float64, k)
				for i := range ts {
					ts[i] = 3 * rng.Float64()
				}
				lg.setTimes(ts, Exponential, 0)
				got, err := lg.run()
				if err != nil {
					t.Fatal(err)
				}
				// Sums of a few thousand O(1) terms: 1e-13 leaves room for
				// rounding, while a merged column changes the loss by 1e-3
				// or more.
				want := chainLossDirect(net, z0, ts, lambda, e0)
				if math.Abs(got-want) > 1e-13*want {
					t.Fatalf("loss %.16g, direct evaluation %.16g", got, want)
				}
				grads, err := lg.gradients()
				if err != nil {
					t.Fatal(err)
				}
				// Directional derivative along a random v: g·v against a
				// central difference of the direct loss, O(h²) ~ 1e-10
				// relative at h = 1e-5.
				v := make([][]float64, len(net.params))
				gv := 0.0
				for i, p := range net.params {
					v[i] = make([]float64, len(p))
					for j := range p {
						v[i][j] = 2*rng.Float64() - 1
						gv += grads[i][j] * v[i][j]
					}
				}
				const h = 1e-5
				shift := func(s float64) {
					for i, p := range net.params {
						for j := range p {
							p[j] += s * v[i][j]
						}
					}
				}
				shift(h)
				lp := chainLossDirect(net, z0, ts, lambda, e0)
				shift(-2 * h)
				lm := chainLossDirect(net, z0, ts, lambda, e0)
				shift(h)
				fd := (lp - lm) / (2 * h)
				if math.Abs(gv-fd) > 1e-6*math.Abs(fd) {
					t.Errorf("∇L·v = %.12g, central difference %.12g", gv, fd)
				}
			})
		}
	}
}
