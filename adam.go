package hnnsolve

import "math"

// adam is the Adam optimiser (Kingma & Ba) in PyTorch's formulation, over
// the network's parameter slices, updated in place.
type adam struct {
	params     [][]float64
	m, v       [][]float64
	lr, b1, b2 float64
	eps        float64
	pow1, pow2 float64 // β1^t, β2^t
}

func newAdam(params [][]float64, lr, b1, b2 float64) *adam {
	a := &adam{params: params, lr: lr, b1: b1, b2: b2, eps: 1e-8, pow1: 1, pow2: 1}
	for _, p := range params {
		a.m = append(a.m, make([]float64, len(p)))
		a.v = append(a.v, make([]float64, len(p)))
	}
	return a
}

func (a *adam) step(grads [][]float64) {
	a.pow1 *= a.b1
	a.pow2 *= a.b2
	stepSize := a.lr / (1 - a.pow1)
	sqrtBC2 := math.Sqrt(1 - a.pow2)
	for i, p := range a.params {
		g, m, v := grads[i], a.m[i], a.v[i]
		for j := range p {
			m[j] = a.b1*m[j] + (1-a.b1)*g[j]
			v[j] = a.b2*v[j] + (1-a.b2)*g[j]*g[j]
			p[j] -= stepSize * m[j] / (math.Sqrt(v[j])/sqrtBC2 + a.eps)
		}
	}
}
