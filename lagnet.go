package hnnsolve

import (
	"fmt"

	"gorgonia.org/gorgonia"
)

// The network to second order in time, for the Lagrangian formulation
// (Eq. 11-12), whose loss needs q̈ exactly. Forward-mode tangents carried
// through each layer, from h = τ, ḣ = 1, ḧ = 0:
//
//	a = h W + b,  ȧ = ḣ W,  ä = ḧ W
//	h' = σ(a),  ḣ' = σ'(a) ȧ,  ḧ' = σ''(a) ȧ² + σ'(a) ä
//
// and N, Ṅ, N̈ from the last hidden layer by the linear output layer.

// derivs returns σ”(a) and σ”'(a) from y = σ(a) and d1 = σ'(a), so that no
// transcendental function is evaluated twice.
func (a Activation) derivs(y, d1 float64) (d2, d3 float64) {
	switch a {
	case Tanh: // σ' = 1 - y², σ'' = -2yσ', σ''' = -2σ'² + 4y²σ'
		return -2 * y * d1, -2*d1*d1 + 4*y*y*d1
	case Sigmoid: // σ' = y(1-y), σ'' = σ'(1-2y), σ''' = σ''(1-2y) - 2σ'²
		d2 = d1 * (1 - 2*y)
		return d2, d2*(1-2*y) - 2*d1*d1
	}
	return -y, -d1 // sin: σ'' = -sin, σ''' = -cos
}

// forward2 computes N(τ), dN/dτ and d²N/dτ² at one input time τ. buf must
// hold 6*maxWidth values.
func (n *network) forward2(tau float64, out, dout, ddout, buf []float64) {
	w := n.maxWidth()
	h, dh, ddh := buf[:w], buf[w:2*w], buf[2*w:3*w]
	a, da, dda := buf[3*w:4*w], buf[4*w:5*w], buf[5*w:6*w]
	h[0], dh[0], ddh[0] = tau, 1, 0
	last := len(n.widths) - 2
	for l := 0; l <= last; l++ {
		in, outW := n.widths[l], n.widths[l+1]
		W, b := n.params[2*l], n.params[2*l+1]
		for j := range outW {
			a[j], da[j], dda[j] = b[j], 0, 0
		}
		for i := range in {
			hi, dhi, ddhi := h[i], dh[i], ddh[i]
			row := W[i*outW : (i+1)*outW]
			for j, wij := range row {
				a[j] += hi * wij
				da[j] += dhi * wij
				dda[j] += ddhi * wij
			}
		}
		if l == last {
			copy(out, a[:outW])
			copy(dout, da[:outW])
			copy(ddout, dda[:outW])
			return
		}
		for j := range outW {
			y, d1 := n.act.eval(a[j])
			d2, _ := n.act.derivs(y, d1)
			h[j], dh[j], ddh[j] = y, d1*da[j], d2*da[j]*da[j]+d1*dda[j]
		}
	}
}

// columns2 returns N_i, dN_i/dτ and d²N_i/dτ² of a second-order network
// graph as length-k vectors.
func (ng *netGraph) columns2(i int) (n, dn, ddn *gorgonia.Node, err error) {
	if ng.fused2 != nil {
		d := ng.fused2.dim
		if n, err = columnOf(ng.out, i); err != nil {
			return
		}
		if dn, err = columnOf(ng.out, d+i); err != nil {
			return
		}
		ddn, err = columnOf(ng.out, 2*d+i)
		return
	}
	if n, err = columnOf(ng.out, i); err != nil {
		return
	}
	if dn, err = columnOf(ng.dout, i); err != nil {
		return
	}
	ddn, err = columnOf(ng.ddout, i)
	return
}

// buildNetGraph2 builds the network to second order on k times into g: as
// one fused Op (netop2.go), or as plain gorgonia nodes, the reference.
func buildNetGraph2(g *gorgonia.ExprGraph, n *network, k int, fused bool) (*netGraph, error) {
	ng := newNetInputs(g, n, k)
	if fused {
		ng.fused2 = newFusedNet2(n, k)
		return ng, ng.applyFused(ng.fused2)
	}
	onesCol := onesColumn(k)

	// The first layer's ä is 0 (ḧ_0 = 0): it is left out (dd nil) until a
	// layer has one.
	h, dh := ng.t, onesCol
	var ddh *gorgonia.Node
	last := len(n.widths) - 2
	for l := 0; l <= last; l++ {
		W, b := ng.params[2*l], ng.params[2*l+1]
		hw, err := gorgonia.Mul(h, W)
		if err != nil {
			return nil, err
		}
		a, err := gorgonia.BroadcastAdd(hw, b, nil, []byte{0})
		if err != nil {
			return nil, err
		}
		da, err := gorgonia.Mul(dh, W)
		if err != nil {
			return nil, err
		}
		var dda *gorgonia.Node
		if ddh != nil {
			if dda, err = gorgonia.Mul(ddh, W); err != nil {
				return nil, err
			}
		}
		if l == last {
			if dda == nil {
				// A network without hidden layers is never built; keep the
				// shape right all the same.
				if dda, err = gorgonia.HadamardProd(da, gorgonia.NewConstant(0.0)); err != nil {
					return nil, err
				}
			}
			ng.out, ng.dout, ng.ddout = a, da, dda
			return ng, nil
		}
		y, dy, err := activationNodes(n.act, a)
		if err != nil {
			return nil, err
		}
		d2, err := activationSecond(n.act, y, dy)
		if err != nil {
			return nil, err
		}
		ndh, err := gorgonia.HadamardProd(dy, da)
		if err != nil {
			return nil, err
		}
		// ḧ' = σ''(a) ȧ² + σ'(a) ä
		da2, err := gorgonia.Square(da)
		if err != nil {
			return nil, err
		}
		nddh, err := gorgonia.HadamardProd(d2, da2)
		if err != nil {
			return nil, err
		}
		if dda != nil {
			t2, err := gorgonia.HadamardProd(dy, dda)
			if err != nil {
				return nil, err
			}
			if nddh, err = gorgonia.Add(nddh, t2); err != nil {
				return nil, err
			}
		}
		h, dh, ddh = y, ndh, nddh
	}
	return ng, nil
}

// activationSecond returns σ”(a) as a graph node from y = σ(a) and
// dy = σ'(a).
func activationSecond(act Activation, y, dy *gorgonia.Node) (*gorgonia.Node, error) {
	switch act {
	case Sin:
		return gorgonia.Neg(y)
	case Tanh: // -2 y σ'
		yd, err := gorgonia.HadamardProd(y, dy)
		if err != nil {
			return nil, err
		}
		return gorgonia.HadamardProd(gorgonia.NewConstant(-2.0), yd)
	case Sigmoid: // σ'(1 - 2y)
		y2, err := gorgonia.HadamardProd(gorgonia.NewConstant(2.0), y)
		if err != nil {
			return nil, err
		}
		s, err := gorgonia.Sub(gorgonia.NewConstant(1.0), y2)
		if err != nil {
			return nil, err
		}
		return gorgonia.HadamardProd(dy, s)
	}
	return nil, fmt.Errorf("hnnsolve: unknown %v", act)
}
