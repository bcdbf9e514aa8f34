package hnnsolve

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lossGraph is the training loss of Eq. 7-8 as one gorgonia graph:
//
//	L = 1/K Σ_n |ℓ_n|² + λ/K Σ_n (H(ẑ_n) - E0)²,  ℓ_n = dẑ/dt(t_n) - J ∇H(ẑ_n)  (Eq. 13-15)
//
// with ẑ = Z0 + f(t) N(t) (Eq. 6), dẑ/dt = f'(t) N + f(t) dN/dt from the
// network's forward tangent, and ∇H derived from the user's expression.
// The times t and f(t), f'(t) are inputs, set each epoch.
type lossGraph struct {
	g       *gorgonia.ExprGraph
	k       int
	net     *netGraph
	f, df   *gorgonia.Node // f(t_n), f'(t_n): length-K inputs
	z, dz   []*gorgonia.Node
	hg      *hamiltonianGraph
	loss    *gorgonia.Node
	grads   []*gorgonia.Node // ∂L/∂θ, nil without gradients
	prog    *program
	gradBuf [][]float64
}

func newVectorInput(g *gorgonia.ExprGraph, k int, name string) *gorgonia.Node {
	return gorgonia.NewVector(g, tensor.Float64, gorgonia.WithShape(k), gorgonia.WithName(name),
		gorgonia.WithValue(tensor.New(tensor.WithShape(k), tensor.WithBacking(make([]float64, k)))))
}

// buildLossGraph builds the loss for k points and, when withGrad, its
// gradient with respect to every network parameter; fused selects the fused
// network Op (the training path) over the plain graph (the reference).
func buildLossGraph(h Hamiltonian, z0 []float64, net *network, k int, lambda, e0 float64, withGrad, fused bool) (lg *lossGraph, err error) {
	defer recoverGorgonia(&err, ErrHamiltonian)
	graphMu.Lock()
	defer graphMu.Unlock()
	g := gorgonia.NewGraph()
	start := make([]*gorgonia.Node, len(z0))
	for i, v := range z0 {
		start[i] = gorgonia.NewConstant(v)
	}
	return buildLoss(g, h, start, gorgonia.NewConstant(e0), net, k, lambda, withGrad, fused)
}

// buildLoss builds the loss of Eq. 7-8 into g for k points of the trial
// solution ẑ_i = start_i + f N_i, whose energy should be e0: start and e0
// are the scalar constants Z0 and H(Z0) of a Problem, or, for a bundle
// (bundleloss.go), inputs holding each point's own start state and energy.
// The caller holds graphMu.
func buildLoss(g *gorgonia.ExprGraph, h Hamiltonian, start []*gorgonia.Node, e0 *gorgonia.Node, net *network, k int, lambda float64, withGrad, fused bool) (lg *lossGraph, err error) {
	lg = &lossGraph{g: g, k: k}
	if lg.net, err = buildNetGraph(g, net, k, fused); err != nil {
		return nil, fmt.Errorf("hnnsolve: building the network graph: %w", err)
	}
	lg.f, lg.df = newVectorInput(g, k, "f"), newVectorInput(g, k, "df")
	dim := len(start)
	lg.z, lg.dz = make([]*gorgonia.Node, dim), make([]*gorgonia.Node, dim)
	for i := range dim {
		ni, dni, err := lg.net.columns(i)
		if err != nil {
			return nil, fmt.Errorf("hnnsolve: building the trial solution: %w", err)
		}
		fn := gorgonia.Must(gorgonia.HadamardProd(lg.f, ni))
		lg.z[i] = gorgonia.Must(gorgonia.Add(fn, start[i]))
		lg.dz[i] = gorgonia.Must(gorgonia.Add(gorgonia.Must(gorgonia.HadamardProd(lg.df, ni)), gorgonia.Must(gorgonia.HadamardProd(lg.f, dni))))
	}
	if lg.hg, err = buildHamiltonian(g, h, lg.z, k); err != nil {
		return nil, err
	}
	d := dim / 2
	var sum *gorgonia.Node
	for i := range dim {
		// ℓ = ż - J∇H: q̇_i - ∂H/∂p_i and ṗ_i + ∂H/∂q_i.
		var r *gorgonia.Node
		if i < d {
			r = gorgonia.Must(gorgonia.Sub(lg.dz[i], lg.hg.grad[d+i]))
		} else {
			r = gorgonia.Must(gorgonia.Add(lg.dz[i], lg.hg.grad[i-d]))
		}
		s := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(r))))
		sum = appendGrad(sum, s)
	}
	if lambda > 0 {
		if lg.hg.scalar {
			return nil, fmt.Errorf("%w: the energy regulariser (Eq. 8) needs H at each point, but H returned a scalar", ErrHamiltonian)
		}
		dev := gorgonia.Must(gorgonia.Sub(lg.hg.h, e0))
		reg := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(dev))))
		sum = gorgonia.Must(gorgonia.Add(sum, gorgonia.Must(gorgonia.Mul(gorgonia.NewConstant(lambda), reg))))
	}
	lg.loss = gorgonia.Must(gorgonia.Mul(sum, gorgonia.NewConstant(1/float64(k))))
	outputs := []*gorgonia.Node{lg.loss}
	if withGrad {
		if lg.grads, err = gorgonia.Grad(lg.loss, lg.net.params...); err != nil {
			return nil, fmt.Errorf("hnnsolve: differentiating the loss: %w", err)
		}
		outputs = append(outputs, lg.grads...)
	}
	if lg.prog, err = compile(g, outputs...); err != nil {
		return nil, fmt.Errorf("hnnsolve: compiling the loss: %w", err)
	}
	return lg, nil
}

// setTimes writes the collocation times and f, f' into the input nodes.
// The network's input is τ = t - t0, the time since the start of its
// interval (the paper's t0 = 0), so that a problem gives the same network
// wherever its interval lies.
func (lg *lossGraph) setTimes(ts []float64, param Param, t0 float64) {
	tb, fb, dfb := lg.prog.value(lg.net.t), lg.prog.value(lg.f), lg.prog.value(lg.df)
	for i, t := range ts {
		tb[i] = t - t0
		fb[i], dfb[i] = param.eval(t, t0)
	}
}

// run evaluates the loss and, when built with gradients, ∂L/∂θ.
func (lg *lossGraph) run() (float64, error) {
	if err := lg.prog.run(); err != nil {
		return 0, err
	}
	return lg.prog.value(lg.loss)[0], nil
}

// gradients returns ∂L/∂θ of the latest run, in the network's parameter
// order. The slices belong to the program: read them before the next run.
func (lg *lossGraph) gradients() ([][]float64, error) {
	if lg.grads == nil {
		return nil, fmt.Errorf("hnnsolve: loss built without gradients")
	}
	if lg.gradBuf == nil {
		lg.gradBuf = make([][]float64, len(lg.grads))
		for i, g := range lg.grads {
			if len(lg.prog.value(g)) != lg.net.params[i].Shape().TotalSize() {
				return nil, fmt.Errorf("hnnsolve: gradient of %s has the wrong size", lg.net.params[i].Name())
			}
		}
	}
	out := lg.gradBuf
	for i, g := range lg.grads {
		out[i] = lg.prog.value(g)
	}
	return out, nil
}
