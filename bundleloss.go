package hnnsolve

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
)

// bundleLoss is the loss of Eq. 7-8 for a bundle's segment k (see
// SolveBundle): the loss graph of Solve (buildLoss) with the start states
// S_k(z0_n, θ_n), the parameters θ_n and the energies H(z0_n; θ_n) as
// inputs, one per point, in place of Z0 and E0, and the network fed
// x_n = (τ_n, u_k(S_k, θ_n)). Each setTimes draws the points' members anew,
// uniformly in the training box (the boxes and a margin, see
// DefaultBundleMargin), and computes their start states through the
// segments already trained.
type bundleLoss struct {
	*lossGraph
	b          *Bundle
	sg         bundleSegment // the segment trained
	nn         *network      // its network
	t0         float64
	rng        *rand.Rand
	ev         *hamiltonianEvaluator // H(z0; θ), for λ > 0
	chain      *bundleEvaluator      // the trained segments, for S_k
	x          []float64             // the network's input rows (τ, u)
	start      [][]float64           // S_k per coordinate, the program's inputs
	theta      [][]float64           // θ_j per parameter
	e0         []float64             // H(z0; θ) per point
	members    [][]float64           // the points' (z0, θ): views of memberData's rows, for the H evaluator
	memberData []float64             // k × (2d + m), for the chain
	zs         []float64             // k × dim: S_k
	starts     []float64             // k: the times t_k of the start states
	err        error                 // of the latest setTimes
}

var _ lossEvaluator = (*bundleLoss)(nil)

// newBundleLoss builds the loss of the segment sg, the next of b's chain,
// at k points.
func newBundleLoss(b *Bundle, sg bundleSegment, k int, lambda float64, rng *rand.Rand) (bl *bundleLoss, err error) {
	p := b.problem
	dim, m := p.dim(), p.params()
	net, t0 := sg.net, sg.t0
	bl = &bundleLoss{b: b, sg: sg, nn: net, t0: t0, rng: rng, chain: newBundleEvaluator(b, b.segs, k),
		zs: make([]float64, k*dim), starts: make([]float64, k), memberData: make([]float64, k*(dim+m))}
	for range k {
		bl.members = append(bl.members, bl.memberData[len(bl.members)*(dim+m):][:dim+m])
	}
	for i := range bl.starts {
		bl.starts[i] = t0
	}
	if lambda > 0 {
		if bl.ev, err = newParamEvaluator(p.H, dim, m, min(k, 256), false); err != nil {
			return nil, err
		}
	}
	defer recoverGorgonia(&err, ErrHamiltonian)
	graphMu.Lock()
	defer graphMu.Unlock()
	g := gorgonia.NewGraph()
	start := make([]*gorgonia.Node, dim)
	for i := range start {
		start[i] = newVectorInput(g, k, fmt.Sprintf("s%d", i))
	}
	theta := newThetaInputs(g, m, k)
	e0 := newVectorInput(g, k, "e0")
	h := func(q, pp []*gorgonia.Node) (*gorgonia.Node, error) { return p.H(q, pp, theta) }
	if bl.lossGraph, err = buildLoss(g, h, start, e0, net, k, lambda, true, true); err != nil {
		return nil, err
	}
	bl.x = bl.prog.value(bl.net.t)
	for _, s := range start {
		bl.start = append(bl.start, bl.prog.value(s))
	}
	for _, th := range theta {
		bl.theta = append(bl.theta, bl.prog.value(th)) // nil where H ignores θ_j
	}
	bl.e0 = bl.prog.value(e0)
	return bl, nil
}

// setTimes implements lossEvaluator: the points' times are ts, relative
// to t0 (the trainer's τ), each with a member drawn anew.
func (bl *bundleLoss) setTimes(ts []float64, param Param, t0 float64) {
	b := bl.b
	p := b.problem
	dim, n := p.dim(), len(b.mid)
	in := 1 + n
	fb, dfb := bl.prog.value(bl.f), bl.prog.value(bl.df)
	for i, t := range ts {
		b.drawMember(bl.members[i], bl.rng)
		bl.x[i*in] = t - t0
		fb[i], dfb[i] = param.eval(t, t0)
	}
	bl.err = nil
	if len(bl.chain.segs) > 0 {
		bl.chain.states(bl.starts, bl.memberData, bl.zs)
	} else {
		for i, row := range bl.members {
			copy(bl.zs[i*dim:(i+1)*dim], row[:dim])
		}
	}
	for i, row := range bl.members {
		bl.sg.inputs(bl.x[i*in+1:(i+1)*in], bl.zs[i*dim:(i+1)*dim], row[dim:])
	}
	for c, s := range bl.start {
		for i := range s {
			s[i] = bl.zs[i*dim+c]
		}
	}
	for j, th := range bl.theta {
		for i := range th {
			th[i] = bl.members[i][dim+j]
		}
	}
	if bl.ev != nil {
		bl.err = bl.ev.eval(bl.members, bl.e0, nil, nil)
	}
}

// run implements lossEvaluator.
func (bl *bundleLoss) run() (float64, error) {
	if bl.err != nil {
		return 0, bl.err
	}
	return bl.lossGraph.run()
}

// newBundleLM returns the Levenberg-Marquardt problem (levenberg.go) of
// the loss bl at its latest points, whose times are ts (relative to the
// segment's start): each residual row has its point's own network inputs,
// start state, parameters and energy.
func newBundleLM(b *Bundle, bl *bundleLoss, ts []float64) (*lmProblem, error) {
	p, set := b.problem, b.settings
	dim, m := p.dim(), p.params()
	ev, err := newParamEvaluator(p.H, dim, m, 64, true)
	if err != nil {
		return nil, err
	}
	lp := newLMProblem(bl.nn, ev, ts, make([]float64, dim), 0, set.Param, set.Energy, 0)
	n, in := len(b.mid), 1+len(b.mid)
	for i := range ts {
		lp.pts[i].u = bl.x[i*in+1 : i*in+1+n]
		lp.zs[i] = append(lp.zs[i], bl.members[i][dim:]...) // (z, θ) for the evaluator
		lp.z0s = append(lp.z0s, bl.zs[i*dim:(i+1)*dim])
	}
	if set.Energy > 0 {
		lp.e0s = bl.e0
	}
	return lp, nil
}
