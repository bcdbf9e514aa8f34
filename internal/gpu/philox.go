package gpu

import "math"

// The generator of the times' perturbations, in Go: the reference for the
// kernels' hnn_philox, hnn_normal and hnn_time (kernels.cu), which compute
// the same numbers up to the last bits of the math libraries' log and cos.

// philox is Philox4x32-10 (Random123's philox4x32_R, R = 10) of the counter
// c under the key (k0, k1).
func philox(c [4]uint32, k0, k1 uint32) [4]uint32 {
	for r := range 10 {
		if r > 0 {
			k0 += 0x9E3779B9
			k1 += 0xBB67AE85
		}
		p0 := uint64(0xD2511F53) * uint64(c[0])
		p1 := uint64(0xCD9E8D57) * uint64(c[2])
		c = [4]uint32{uint32(p1>>32) ^ c[1] ^ k0, uint32(p1), uint32(p0>>32) ^ c[3] ^ k1, uint32(p0)}
	}
	return c
}

// Normal is the perturbation ε ~ N(0, 1) of point n at epoch e of the
// network with the given seed: Philox4x32-10 of the counter (e, n, "HNNS",
// 0) keyed by the seed's halves, two 53-bit uniforms u1 in (0, 1] and u2 in
// [0, 1), and Box-Muller's sqrt(-2 ln u1) cos(2π u2).
func Normal(seed uint64, e, n int) float64 {
	c := philox([4]uint32{uint32(e), uint32(n), 0x484E4E53, 0}, uint32(seed), uint32(seed>>32))
	x1 := uint64(c[0])<<32 | uint64(c[1])
	x2 := uint64(c[2])<<32 | uint64(c[3])
	u1 := float64(x1>>11+1) * 0x1p-53
	u2 := float64(x2>>11) * 0x1p-53
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(6.283185307179586*u2)
}

// Times sets ts to the K = len(ts) collocation times of epoch e: the grid
// length·n/(K-1) plus sigma·Normal, reflected into [0, length] at most 8
// times and then clamped, as hnnsolve's perturbTimes; sigma < 0 keeps the
// grid.
func Times(ts []float64, length, sigma float64, seed uint64, e int) {
	k := len(ts)
	for n := range ts {
		t := length * float64(n) / float64(k-1)
		if sigma >= 0 {
			t = t + sigma*Normal(seed, e, n)
			for range 8 {
				if t < 0 {
					t = -t
				} else if t > length {
					t = 2*length - t
				} else {
					break
				}
			}
			t = min(max(t, 0), length)
		}
		ts[n] = t
	}
}
