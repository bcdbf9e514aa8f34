package hnnsolve

import (
	"fmt"
	"math"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Hamiltonian builds H from phase-space coordinates as a gorgonia expression.
//
// q[i] and p[i] are nodes of one graph holding one value per time point
// (length-K float64 vectors). The result holds H at each point (a length-K
// vector) or the sum of H over the points (a scalar). Only operations of
// gorgonia that implement gorgonia.SDOp may be used (Add, Sub, HadamardProd,
// HadamardDiv, Pow, Square, Cube, Sqrt, Sin, Cos, Exp, Log, Neg, Sum,
// and float64 constants); hnnsolve differentiates the expression itself to
// obtain ∇H for Hamilton's equations ż = J ∇H(z) (Eq. 3 of the paper).
//
// An H that returns its sum over the points cannot give H at each point
// during training, so it cannot be used with the energy regulariser
// (Settings.Energy > 0, Eq. 8).
type Hamiltonian func(q, p []*gorgonia.Node) (*gorgonia.Node, error)

// hamiltonianGraph is H and its derivatives built into a graph on the
// coordinate nodes q, p (length-k vectors each).
type hamiltonianGraph struct {
	h      *gorgonia.Node   // H per point (length k) or summed (scalar)
	scalar bool             // h is the sum over the points
	grad   []*gorgonia.Node // ∂H/∂z_i per point, i = 0..D-1 (length-k vectors)
}

// buildHamiltonian calls the user's H on the coordinate nodes z (q then p,
// each a length-k vector of graph g), checks what it returned and derives
// ∇H symbolically. Panics from gorgonia are turned into errors.
func buildHamiltonian(g *gorgonia.ExprGraph, h Hamiltonian, z []*gorgonia.Node, k int) (hg *hamiltonianGraph, err error) {
	defer recoverGorgonia(&err, ErrHamiltonian)
	d := len(z) / 2
	out, err := h(z[:d:d], z[d:])
	if err != nil {
		return nil, fmt.Errorf("%w: H returned an error: %w", ErrHamiltonian, err)
	}
	if out == nil {
		return nil, fmt.Errorf("%w: H returned a nil node", ErrHamiltonian)
	}
	if out.Graph() != g {
		return nil, fmt.Errorf("%w: H returned a node of another graph (build H only from q, p and constants)", ErrHamiltonian)
	}
	if out.Dtype() != tensor.Float64 {
		return nil, fmt.Errorf("%w: H has dtype %v, want float64", ErrHamiltonian, out.Dtype())
	}
	hg = &hamiltonianGraph{h: out}
	shape := out.Shape()
	switch {
	case out.IsScalar() || shape.TotalSize() == 1 && k != 1:
		hg.scalar = true
	case shape.TotalSize() == k && (shape.IsVector() || shape.Dims() == 1):
	default:
		return nil, fmt.Errorf("%w: H has shape %v, want (%d) (one value per point) or a scalar", ErrHamiltonian, shape, k)
	}
	if out.IsScalar() {
		hg.scalar = true
	}
	hg.grad, err = symGrad(g, out, z, k)
	if err != nil {
		return nil, err
	}
	return hg, nil
}

// symGrad returns ∂(Σ_points y)/∂x_i for each x_i of xs, built as new nodes of
// g by a reverse walk from y that calls each op's own SymDiff. Unlike
// gorgonia.Grad it leaves the nodes' cached derivatives alone, so the result
// can itself be differentiated by gorgonia.Grad (or by symGrad again). Since
// every op in H acts point by point, the result at a point is the derivative
// of y at that point. An x_i that y does not depend on gets zeros.
func symGrad(g *gorgonia.ExprGraph, y *gorgonia.Node, xs []*gorgonia.Node, k int) ([]*gorgonia.Node, error) {
	isLeaf := make(map[*gorgonia.Node]int, len(xs))
	for i, x := range xs {
		isLeaf[x] = i
	}
	// depends[n]: n depends on some x; topo: post-order of the nodes that do.
	depends := map[*gorgonia.Node]bool{}
	var topo []*gorgonia.Node
	var visit func(n *gorgonia.Node) bool
	visit = func(n *gorgonia.Node) bool {
		if v, ok := depends[n]; ok {
			return v
		}
		if _, ok := isLeaf[n]; ok {
			depends[n] = true
			return true
		}
		dep := false
		for _, c := range children(g, n) {
			if visit(c) {
				dep = true
			}
		}
		depends[n] = dep
		if dep {
			topo = append(topo, n)
		}
		return dep
	}
	visit(y)

	seed, err := onesLike(g, y)
	if err != nil {
		return nil, err
	}
	grads := map[*gorgonia.Node][]*gorgonia.Node{y: {seed}}
	leafGrad := make([]*gorgonia.Node, len(xs))
	for i := len(topo) - 1; i >= 0; i-- {
		n := topo[i]
		gn, err := sumNodes(grads[n])
		if err != nil {
			return nil, err
		}
		if gn == nil {
			continue
		}
		op, ok := n.Op().(gorgonia.SDOp)
		if !ok || n.Op() == nil {
			return nil, fmt.Errorf("%w: operation %v in H cannot be differentiated", ErrHamiltonian, n.Op())
		}
		cs := children(g, n)
		cg, err := op.SymDiff(cs, n, gn)
		if err != nil {
			return nil, fmt.Errorf("%w: differentiating %v: %w", ErrHamiltonian, n.Op(), err)
		}
		wrt := op.DiffWRT(len(cs))
		for j, c := range cs {
			if !depends[c] {
				continue
			}
			if j < len(wrt) && !wrt[j] {
				// A shape or count input (Repeat's, Sum's): a constant to calculus.
				continue
			}
			if j >= len(wrt) || j >= len(cg) || cg[j] == nil {
				return nil, fmt.Errorf("%w: operation %v in H is not differentiable in its input %d", ErrHamiltonian, n.Op(), j)
			}
			if li, ok := isLeaf[c]; ok {
				leafGrad[li] = appendGrad(leafGrad[li], cg[j])
				continue
			}
			grads[c] = append(grads[c], cg[j])
		}
	}
	// The leaves may also appear directly as y.
	if li, ok := isLeaf[y]; ok {
		leafGrad[li] = seed
	}
	for i, lg := range leafGrad {
		if lg == nil {
			leafGrad[i] = gorgonia.NewConstant(tensor.New(tensor.WithShape(k), tensor.WithBacking(make([]float64, k))), gorgonia.In(g))
			continue
		}
		if err := checkVector(lg, k); err != nil {
			return nil, err
		}
	}
	return leafGrad, nil
}

// appendGrad accumulates a gradient term onto an existing sum.
func appendGrad(sum, term *gorgonia.Node) *gorgonia.Node {
	if sum == nil {
		return term
	}
	return gorgonia.Must(gorgonia.Add(sum, term))
}

func sumNodes(ns []*gorgonia.Node) (*gorgonia.Node, error) {
	var s *gorgonia.Node
	for _, n := range ns {
		if s == nil {
			s = n
			continue
		}
		var err error
		if s, err = gorgonia.Add(s, n); err != nil {
			return nil, fmt.Errorf("%w: summing gradient terms: %w", ErrHamiltonian, err)
		}
	}
	return s, nil
}

// children returns the inputs of n in order.
func children(g *gorgonia.ExprGraph, n *gorgonia.Node) []*gorgonia.Node {
	it := g.From(n.ID())
	if it == nil {
		return nil
	}
	cs := make([]*gorgonia.Node, 0, it.Len())
	for it.Next() {
		cs = append(cs, it.Node().(*gorgonia.Node))
	}
	return cs
}

// onesLike is the seed ∂y/∂y: a scalar 1 or a vector of ones, in g.
func onesLike(g *gorgonia.ExprGraph, y *gorgonia.Node) (*gorgonia.Node, error) {
	if y.IsScalar() {
		return gorgonia.NewConstant(1.0, gorgonia.In(g)), nil
	}
	ones := make([]float64, y.Shape().TotalSize())
	for i := range ones {
		ones[i] = 1
	}
	return gorgonia.NewConstant(tensor.New(tensor.WithShape(y.Shape().Clone()...), tensor.WithBacking(ones)), gorgonia.In(g)), nil
}

// checkVector makes sure a derivative came out as a length-k vector: a
// scalar derivative means H treats the point values as a whole (for
// instance a product of sums), which is not a Hamiltonian per point.
func checkVector(n *gorgonia.Node, k int) error {
	if n.Shape().TotalSize() != k || n.Dtype() != tensor.Float64 {
		return fmt.Errorf("%w: ∂H/∂z has shape %v, want (%d): H must act point by point", ErrHamiltonian, n.Shape(), k)
	}
	return nil
}

// recoverGorgonia turns a panic raised inside gorgonia (its Must helpers,
// shape checks) into an error wrapping kind.
func recoverGorgonia(err *error, kind error) {
	if r := recover(); r != nil {
		if e, ok := r.(error); ok {
			*err = fmt.Errorf("%w: %w", kind, e)
			return
		}
		*err = fmt.Errorf("%w: %v", kind, r)
	}
}

// hamiltonianEvaluator evaluates H, ∇H and optionally D²H at batches of
// phase-space points, outside training.
type hamiltonianEvaluator struct {
	d, batch int
	g        *gorgonia.ExprGraph
	z        []*gorgonia.Node
	theta    []*gorgonia.Node // a parametrised H's θ_j, len-batch vectors; none for a Hamiltonian
	hg       *hamiltonianGraph
	hess     [][]*gorgonia.Node // hess[i][j] = ∂²H/∂z_i∂z_j, nil unless requested
	prog     *program
	outs     []*gorgonia.Node
	zData    [][]float64 // the coordinate inputs' data
}

// newHamiltonianEvaluator builds the evaluation graph. A scalar H is
// evaluated one point at a time (batch 1), where the sum is the value.
func newHamiltonianEvaluator(h Hamiltonian, dim int, batch int, hessian bool) (ev *hamiltonianEvaluator, err error) {
	if h == nil {
		return nil, fmt.Errorf("%w: H is nil", ErrHamiltonian)
	}
	return newParamEvaluator(func(q, p, _ []*gorgonia.Node) (*gorgonia.Node, error) { return h(q, p) }, dim, 0, batch, hessian)
}

// newParamEvaluator builds the evaluation graph of a parametrised H with m
// parameters θ: the rows given to eval are then (z, θ), len dim+m, and the
// derivatives are taken in z alone.
func newParamEvaluator(h ParamHamiltonian, dim, m int, batch int, hessian bool) (ev *hamiltonianEvaluator, err error) {
	if h == nil {
		return nil, fmt.Errorf("%w: H is nil", ErrHamiltonian)
	}
	defer recoverGorgonia(&err, ErrHamiltonian)
	graphMu.Lock()
	defer graphMu.Unlock()
	for {
		ev = &hamiltonianEvaluator{d: dim / 2, batch: batch, g: gorgonia.NewGraph()}
		ev.z = make([]*gorgonia.Node, dim)
		for i := range ev.z {
			ev.z[i] = gorgonia.NewVector(ev.g, tensor.Float64, gorgonia.WithShape(batch), gorgonia.WithName(coordName(i, dim)),
				gorgonia.WithValue(tensor.New(tensor.WithShape(batch), tensor.WithBacking(make([]float64, batch)))))
		}
		ev.theta = newThetaInputs(ev.g, m, batch)
		withTheta := func(q, p []*gorgonia.Node) (*gorgonia.Node, error) { return h(q, p, ev.theta) }
		if ev.hg, err = buildHamiltonian(ev.g, withTheta, ev.z, batch); err != nil {
			return nil, err
		}
		if !ev.hg.scalar || batch == 1 {
			break
		}
		batch = 1
	}
	ev.outs = append([]*gorgonia.Node{ev.hg.h}, ev.hg.grad...)
	if hessian {
		ev.hess = make([][]*gorgonia.Node, dim)
		for i, gi := range ev.hg.grad {
			if ev.hess[i], err = symGrad(ev.g, gi, ev.z, ev.batch); err != nil {
				return nil, err
			}
			ev.outs = append(ev.outs, ev.hess[i]...)
		}
	}
	if ev.prog, err = compile(ev.g, append(append(ev.outs, ev.z...), ev.theta...)...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHamiltonian, err)
	}
	for _, zn := range append(slices.Clip(ev.z), ev.theta...) {
		ev.zData = append(ev.zData, ev.prog.value(zn))
	}
	return ev, nil
}

// eval computes H (and ∇H, D²H when wanted) at the rows of zs (the rows
// (z, θ) for a parametrised H).
// energy[k] = H(z_k); grad[k*D+i] = ∂H/∂z_i; hess[(k*D+i)*D+j] = ∂²H/∂z_i∂z_j.
// Any of the outputs may be nil.
func (ev *hamiltonianEvaluator) eval(zs [][]float64, energy, grad, hess []float64) (err error) {
	defer recoverGorgonia(&err, ErrHamiltonian)
	dim := 2 * ev.d
	for start := 0; start < len(zs); start += ev.batch {
		n := min(ev.batch, len(zs)-start)
		for i, buf := range ev.zData {
			for k := range ev.batch {
				if k < n {
					buf[k] = zs[start+k][i]
				} else {
					buf[k] = zs[start][i] // pad with a valid point
				}
			}
		}
		if err := ev.prog.run(); err != nil {
			return fmt.Errorf("%w: evaluating H: %w", ErrHamiltonian, err)
		}
		if energy != nil {
			hv := ev.prog.value(ev.outs[0])
			for k := range n {
				energy[start+k] = hv[k%len(hv)]
			}
		}
		if grad != nil {
			for i := range dim {
				gv := ev.prog.value(ev.outs[1+i])
				for k := range n {
					grad[(start+k)*dim+i] = gv[k]
				}
			}
		}
		if hess != nil && ev.hess != nil {
			for i := range dim {
				for j := range dim {
					hv := ev.prog.value(ev.outs[1+dim+i*dim+j])
					for k := range n {
						hess[((start+k)*dim+i)*dim+j] = hv[k]
					}
				}
			}
		}
	}
	return nil
}

func coordName(i, dim int) string {
	d := dim / 2
	if i < d {
		return fmt.Sprintf("q%d", i)
	}
	return fmt.Sprintf("p%d", i-d)
}

// GradH returns ∇H(z) = (∂H/∂q, ∂H/∂p), derived automatically from the
// expression h, at the phase-space point z = (q_1..q_d, p_1..p_d). A
// non-finite derivative (H singular at z) is an error wrapping
// ErrHamiltonian.
func GradH(h Hamiltonian, z []float64) ([]float64, error) {
	if err := checkState(z); err != nil {
		return nil, err
	}
	ev, err := newHamiltonianEvaluator(h, len(z), 1, false)
	if err != nil {
		return nil, err
	}
	grad := make([]float64, len(z))
	if err := ev.eval([][]float64{z}, nil, grad, nil); err != nil {
		return nil, err
	}
	if err := checkDerivative("∂H/∂", grad, len(z), z); err != nil {
		return nil, err
	}
	return grad, nil
}

// checkDerivative reports the first non-finite entry of ∇H or D²H at z (H
// singular there) as an ErrHamiltonian.
func checkDerivative(what string, v []float64, dim int, z []float64) error {
	for i, x := range v {
		if !isFinite(x) {
			name := what + coordName(i, dim)
			if len(v) > dim {
				name = what + coordName(i/dim, dim) + "∂" + coordName(i%dim, dim)
			}
			return fmt.Errorf("%w: %s = %v at z = %v (H is singular there)", ErrHamiltonian, name, x, z)
		}
	}
	return nil
}

// HessianH returns the Hessian D²H(z) (row-major, len(z)×len(z)), derived
// automatically from the expression h by differentiating ∇H once more. A
// non-finite entry is an error wrapping ErrHamiltonian, as for GradH.
func HessianH(h Hamiltonian, z []float64) ([]float64, error) {
	if err := checkState(z); err != nil {
		return nil, err
	}
	ev, err := newHamiltonianEvaluator(h, len(z), 1, true)
	if err != nil {
		return nil, err
	}
	hess := make([]float64, len(z)*len(z))
	if err := ev.eval([][]float64{z}, nil, nil, hess); err != nil {
		return nil, err
	}
	if err := checkDerivative("∂²H/∂", hess, len(z), z); err != nil {
		return nil, err
	}
	return hess, nil
}

// checkState checks a phase-space point: even, non-zero length, finite.
func checkState(z []float64) error {
	if len(z) == 0 || len(z)%2 != 0 {
		return fmt.Errorf("%w: state has length %d, want 2d with d >= 1", ErrProblem, len(z))
	}
	for i, v := range z {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: state component %d is %v", ErrProblem, i, v)
		}
	}
	return nil
}
