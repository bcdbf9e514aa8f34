package hnnsolve

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
)

// lagrangianLoss is the training loss of the Lagrangian formulation
// (Eq. 11-12) as one gorgonia graph, for L = |q̇|²/2 - V(q):
//
//	L = 1/K Σ_n |q̈(t_n) + ∇V(q(t_n))|² + λ/K Σ_n (H(q_n, q̇_n) - E0)²
//
// with the trial solution q = q0 + f1(τ) v0 + f2(τ) N(τ) (Eq. 11), whose
// derivatives come from the network's second-order tangent:
//
//	q̇ = f1' v0 + f2' N + f2 Ṅ,  q̈ = f1'' v0 + f2'' N + 2 f2' Ṅ + f2 N̈.
//
// ∇V and H = |p|²/2 + V are those of the problem's Hamiltonian, built from
// V (Potential.Hamiltonian), at z = (q, q̇): ∂H/∂q = ∇V. The gradient with
// respect to the weights is gorgonia's reverse mode through all of it. The
// six parametric values per time are inputs, set with the times.
type lagrangianLoss struct {
	lossGraph
	fs [6]*gorgonia.Node // f1, f1', f1'', f2, f2', f2'' at each time
}

var _ lossEvaluator = (*lagrangianLoss)(nil)

// buildLagrangianLoss builds the loss for k points of the problem with
// Hamiltonian h = |p|²/2 + V and initial state z0 = (q0, v0); withGrad and
// fused as for buildLossGraph.
func buildLagrangianLoss(h Hamiltonian, z0 []float64, net *network, k int, lambda, e0 float64, withGrad, fused bool) (*lagrangianLoss, error) {
	return buildSecondOrderLoss(potentialResidual(h), z0, net, k, lambda, e0, withGrad, fused)
}

// residualBuilder builds, on the trial solution's nodes q, q̇, q̈ (length-k
// vectors of g), the equations' residuals (one per coordinate) and the
// energy per point (scalar: the energy is summed over the points, and the
// energy term cannot be used).
type residualBuilder func(g *gorgonia.ExprGraph, q, v, acc []*gorgonia.Node, k int) (res []*gorgonia.Node, energy *gorgonia.Node, scalar bool, err error)

// potentialResidual is Eq. 12's residual q̈ + ∇V(q), with ∇V = ∂H/∂q of
// h = |p|²/2 + V at (q, q̇), and the energy H.
func potentialResidual(h Hamiltonian) residualBuilder {
	return func(g *gorgonia.ExprGraph, q, v, acc []*gorgonia.Node, k int) ([]*gorgonia.Node, *gorgonia.Node, bool, error) {
		hg, err := buildHamiltonian(g, h, append(append([]*gorgonia.Node{}, q...), v...), k)
		if err != nil {
			return nil, nil, false, err
		}
		res := make([]*gorgonia.Node, len(q))
		for i := range q {
			res[i] = gorgonia.Must(gorgonia.Add(acc[i], hg.grad[i]))
		}
		return res, hg.h, hg.scalar, nil
	}
}

// buildSecondOrderLoss builds the loss of the Lagrangian trial solution
// (Eq. 11) for k points with the residuals of res: mean |res|² plus λ times
// the mean squared deviation of the energy from e0.
func buildSecondOrderLoss(res residualBuilder, z0 []float64, net *network, k int, lambda, e0 float64, withGrad, fused bool) (ll *lagrangianLoss, err error) {
	defer recoverGorgonia(&err, ErrHamiltonian)
	graphMu.Lock()
	defer graphMu.Unlock()
	g := gorgonia.NewGraph()
	ll = &lagrangianLoss{lossGraph: lossGraph{g: g, k: k}}
	d := len(z0) / 2
	if len(z0) != 2*d || d < 1 || net.widths[len(net.widths)-1] != d {
		return nil, fmt.Errorf("hnnsolve: Lagrangian loss: %d initial values for a network of %d outputs", len(z0), net.widths[len(net.widths)-1])
	}
	if ll.net, err = buildNetGraph2(g, net, k, fused); err != nil {
		return nil, fmt.Errorf("hnnsolve: building the network graph: %w", err)
	}
	for i, name := range []string{"f1", "df1", "ddf1", "f2", "df2", "ddf2"} {
		ll.fs[i] = newVectorInput(g, k, name)
	}
	f1, df1, ddf1, f2, df2, ddf2 := ll.fs[0], ll.fs[1], ll.fs[2], ll.fs[3], ll.fs[4], ll.fs[5]
	mul := func(a, b *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.HadamardProd(a, b)) }
	add := func(a, b *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.Add(a, b)) }
	scale := func(c float64, a *gorgonia.Node) *gorgonia.Node {
		return gorgonia.Must(gorgonia.HadamardProd(gorgonia.NewConstant(c), a))
	}
	q, v, acc := make([]*gorgonia.Node, d), make([]*gorgonia.Node, d), make([]*gorgonia.Node, d)
	for i := range d {
		n, dn, ddn, err := ll.net.columns2(i)
		if err != nil {
			return nil, fmt.Errorf("hnnsolve: building the trial solution: %w", err)
		}
		q0, v0 := z0[i], z0[d+i]
		q[i] = add(add(mul(f2, n), scale(v0, f1)), gorgonia.NewConstant(q0))
		v[i] = add(add(mul(df2, n), mul(f2, dn)), scale(v0, df1))
		acc[i] = add(add(add(mul(ddf2, n), scale(2, mul(df2, dn))), mul(f2, ddn)), scale(v0, ddf1))
	}
	ll.z = append(append([]*gorgonia.Node{}, q...), v...)
	ll.dz = append(append([]*gorgonia.Node{}, v...), acc...)
	rs, energy, scalar, err := res(g, q, v, acc, k)
	if err != nil {
		return nil, err
	}
	var sum *gorgonia.Node
	for _, r := range rs {
		// Eq. 12: q̈_i + ∂V/∂q_i (or the Euler-Lagrange residual)
		sum = appendGrad(sum, gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(r)))))
	}
	if lambda > 0 {
		if scalar {
			return nil, fmt.Errorf("%w: the energy regulariser (Eq. 8) needs V at each point, but V returned a scalar", ErrHamiltonian)
		}
		dev := gorgonia.Must(gorgonia.Sub(energy, gorgonia.NewConstant(e0)))
		reg := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(dev))))
		sum = add(sum, gorgonia.Must(gorgonia.Mul(gorgonia.NewConstant(lambda), reg)))
	}
	ll.loss = gorgonia.Must(gorgonia.Mul(sum, gorgonia.NewConstant(1/float64(k))))
	outputs := []*gorgonia.Node{ll.loss}
	if withGrad {
		if ll.grads, err = gorgonia.Grad(ll.loss, ll.net.params...); err != nil {
			return nil, fmt.Errorf("hnnsolve: differentiating the loss: %w", err)
		}
		outputs = append(outputs, ll.grads...)
	}
	if ll.prog, err = compile(g, outputs...); err != nil {
		return nil, fmt.Errorf("hnnsolve: compiling the loss: %w", err)
	}
	return ll, nil
}

// setTimes writes the network's input times τ = t - t0 and the parametric
// functions of Eq. 11 into the input nodes.
func (ll *lagrangianLoss) setTimes(ts []float64, param Param, t0 float64) {
	tb := ll.prog.value(ll.net.t)
	var fb [6][]float64
	for i, n := range ll.fs {
		fb[i] = ll.prog.value(n)
	}
	for i, t := range ts {
		tb[i] = t - t0
		pf := param.eval2(t, t0)
		for j, b := range fb {
			if b != nil { // nil: not needed by the outputs (f1' without the energy term)
				b[i] = pf[j]
			}
		}
	}
}

// eval2 returns the parametric functions of the Lagrangian trial solution
// (Eq. 11) started at t0 and their first two derivatives at t:
// f1, f1', f1”, f2, f2', f2”. f1(t0) = 0, f1'(t0) = 1 and
// f2(t0) = f2'(t0) = 0, so q(t0) = q0 and q̇(t0) = v0 exactly whatever the
// network. Exponential: f1 = 1 - e^-τ, f2 = f1² (the paper's choice);
// Linear: f1 = τ, f2 = τ² (Lagaris et al.'s).
func (p Param) eval2(t, t0 float64) [6]float64 {
	tau := t - t0
	if p == Linear {
		return [6]float64{tau, 1, 0, tau * tau, 2 * tau, 2}
	}
	e := math.Exp(-tau)
	f1 := -math.Expm1(-tau)
	return [6]float64{f1, e, -e, f1 * f1, 2 * f1 * e, 2 * e * (e - f1)}
}
