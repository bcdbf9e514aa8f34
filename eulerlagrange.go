package hnnsolve

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Lagrangian builds a general Lagrangian L(q, q̇) as a gorgonia expression,
// for LagrangianProblem.L: q[i] and v[i] are the coordinates and the
// velocities q̇_i, nodes of one graph holding one value per time point
// (length-K float64 vectors), and the result holds L at each point (a
// length-K vector). The operations allowed are those of Hamiltonian:
// hnnsolve differentiates the expression itself, up to three times (the
// Euler-Lagrange residual needs its second derivatives, and
// Levenberg-Marquardt their derivatives).
//
// L must not depend on t, and its velocity Hessian ∂²L/∂q̇∂q̇ must be
// regular along the motion, so that the Euler-Lagrange equations determine
// q̈; a singular one is reported as an error wrapping ErrLagrangian.
type Lagrangian func(q, v []*gorgonia.Node) (*gorgonia.Node, error)

// elGraph is a general Lagrangian and its derivatives built on the nodes q,
// v (and q̈, acc) of a graph:
//
//	R_i = Σ_j M_ij q̈_j + Σ_j C_ij q̇_j - ∂L/∂q_i,  M = ∂²L/∂q̇∂q̇, C = ∂²L/∂q̇∂q,
//
// the Euler-Lagrange residual d/dt(∂L/∂q̇) - ∂L/∂q, and the energy function
// E = q̇·∂L/∂q̇ - L, conserved by the motion.
type elGraph struct {
	l      *gorgonia.Node
	gv     []*gorgonia.Node   // ∂L/∂q̇_i
	m      [][]*gorgonia.Node // M_ij
	res    []*gorgonia.Node   // R_i (nil without acc)
	energy *gorgonia.Node
}

// callLagrangian calls L on q, v (length-k vectors of g) and checks what
// it returned. Panics from gorgonia and from L are errors.
func callLagrangian(g *gorgonia.ExprGraph, L Lagrangian, q, v []*gorgonia.Node, k int) (out *gorgonia.Node, err error) {
	defer recoverGorgonia(&err, ErrLagrangian)
	if out, err = L(q, v); err != nil {
		return nil, fmt.Errorf("%w: L returned an error: %w", ErrLagrangian, err)
	}
	switch {
	case out == nil:
		return nil, fmt.Errorf("%w: L returned a nil node", ErrLagrangian)
	case out.Graph() != g:
		return nil, fmt.Errorf("%w: L returned a node of another graph (build L only from q, v and constants)", ErrLagrangian)
	case out.Dtype() != tensor.Float64:
		return nil, fmt.Errorf("%w: L has dtype %v, want float64", ErrLagrangian, out.Dtype())
	case out.IsScalar() || out.Shape().TotalSize() != k:
		return nil, fmt.Errorf("%w: L has shape %v, want (%d): one value per point", ErrLagrangian, out.Shape(), k)
	}
	return out, nil
}

// buildEL builds L, its first derivatives and the energy on q, v (length-k
// vectors of g), and with second its velocity Hessian M and, given acc,
// the Euler-Lagrange residual.
func buildEL(g *gorgonia.ExprGraph, L Lagrangian, q, v, acc []*gorgonia.Node, k int, second bool) (eg *elGraph, err error) {
	defer recoverGorgonia(&err, ErrLagrangian)
	d := len(q)
	eg = &elGraph{}
	if eg.l, err = callLagrangian(g, L, q, v, k); err != nil {
		return nil, err
	}
	qv := append(append([]*gorgonia.Node{}, q...), v...)
	grad, err := symGrad(g, eg.l, qv, k)
	if err != nil {
		return nil, wrapLagrangian(err)
	}
	gq := grad[:d]
	eg.gv = grad[d:]
	var e *gorgonia.Node
	for i := range d {
		e = appendGrad(e, gorgonia.Must(gorgonia.HadamardProd(v[i], eg.gv[i])))
	}
	eg.energy = gorgonia.Must(gorgonia.Sub(e, eg.l))
	if !second {
		return eg, nil
	}
	eg.m = make([][]*gorgonia.Node, d)
	var cs [][]*gorgonia.Node
	for i := range d {
		second, err := symGrad(g, eg.gv[i], qv, k)
		if err != nil {
			return nil, wrapLagrangian(err)
		}
		cs = append(cs, second[:d])
		eg.m[i] = second[d:]
	}
	if acc == nil {
		return eg, nil
	}
	eg.res = make([]*gorgonia.Node, d)
	for i := range d {
		var r *gorgonia.Node
		for j := range d {
			r = appendGrad(r, gorgonia.Must(gorgonia.HadamardProd(eg.m[i][j], acc[j])))
			r = appendGrad(r, gorgonia.Must(gorgonia.HadamardProd(cs[i][j], v[j])))
		}
		eg.res[i] = gorgonia.Must(gorgonia.Sub(r, gq[i]))
	}
	return eg, nil
}

// wrapLagrangian marks an error from differentiating L (symGrad reports
// ErrHamiltonian) as one of L.
func wrapLagrangian(err error) error {
	return fmt.Errorf("%w: differentiating L: %w", ErrLagrangian, err)
}

// energy returns the energy function E(q, q̇) = q̇·∂L/∂q̇ - L as a
// Hamiltonian-shaped expression of (q, p = q̇): the Problem of a general
// Lagrangian, whose Energy it is (it is not a Hamiltonian in canonical
// coordinates).
func (L Lagrangian) energy() Hamiltonian {
	if L == nil {
		return nil
	}
	return func(q, v []*gorgonia.Node) (*gorgonia.Node, error) {
		if len(q) == 0 || q[0] == nil {
			return nil, fmt.Errorf("%w: no coordinates", ErrLagrangian)
		}
		g, k := q[0].Graph(), q[0].Shape().TotalSize()
		eg, err := buildEL(g, L, q, v, nil, k, false)
		if err != nil {
			return nil, err
		}
		return eg.energy, nil
	}
}

// lagrangianResidual is the residual builder of a general Lagrangian for
// the loss (lagloss.go).
func lagrangianResidual(L Lagrangian) residualBuilder {
	return func(g *gorgonia.ExprGraph, q, v, acc []*gorgonia.Node, k int) ([]*gorgonia.Node, *gorgonia.Node, bool, error) {
		eg, err := buildEL(g, L, q, v, acc, k, true)
		if err != nil {
			return nil, nil, false, err
		}
		return eg.res, eg.energy, false, nil
	}
}

// elEvaluator evaluates, at batches of points (q, q̇, q̈), the
// Euler-Lagrange residual R and its derivatives with respect to (q, q̇, q̈),
// the energy E and its derivatives with respect to (q, q̇), and the velocity
// Hessian M: the point model of Levenberg-Marquardt (secondOrderModel),
// Solution.Residual's residual and the regularity check.
type elEvaluator struct {
	d, batch int
	prog     *program
	in       [][]float64 // the inputs' data: q, q̇, q̈
	res      []*gorgonia.Node
	jres     [][]*gorgonia.Node // ∂R_i/∂(q, q̇, q̈)
	energy   *gorgonia.Node
	jen      []*gorgonia.Node // ∂E/∂(q, q̇)
	m        [][]*gorgonia.Node
}

var _ secondOrderModel = (*elEvaluator)(nil)

func newELEvaluator(L Lagrangian, d, batch int, derivatives bool) (ev *elEvaluator, err error) {
	defer recoverGorgonia(&err, ErrLagrangian)
	graphMu.Lock()
	defer graphMu.Unlock()
	g := gorgonia.NewGraph()
	ev = &elEvaluator{d: d, batch: batch}
	nodes := make([]*gorgonia.Node, 3*d)
	for i := range nodes {
		nodes[i] = gorgonia.NewVector(g, tensor.Float64, gorgonia.WithShape(batch), gorgonia.WithName(fmt.Sprintf("x%d", i)),
			gorgonia.WithValue(tensor.New(tensor.WithShape(batch), tensor.WithBacking(make([]float64, batch)))))
	}
	q, v, acc := nodes[:d], nodes[d:2*d], nodes[2*d:]
	eg, err := buildEL(g, L, q, v, acc, batch, true)
	if err != nil {
		return nil, err
	}
	ev.res, ev.energy, ev.m = eg.res, eg.energy, eg.m
	outs := append(append([]*gorgonia.Node{ev.energy}, ev.res...), nodes...)
	for _, row := range ev.m {
		outs = append(outs, row...)
	}
	if derivatives {
		for _, r := range ev.res {
			jr, err := symGrad(g, r, nodes, batch)
			if err != nil {
				return nil, wrapLagrangian(err)
			}
			ev.jres = append(ev.jres, jr)
			outs = append(outs, jr...)
		}
		if ev.jen, err = symGrad(g, ev.energy, nodes[:2*d], batch); err != nil {
			return nil, wrapLagrangian(err)
		}
		outs = append(outs, ev.jen...)
	}
	if ev.prog, err = compile(g, outs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLagrangian, err)
	}
	for _, n := range nodes {
		ev.in = append(ev.in, ev.prog.value(n))
	}
	return ev, nil
}

// run evaluates the batch of points pts[start:start+n] (padded with the
// first) and calls read for each of them.
func (ev *elEvaluator) run(pts [][]float64, read func(n, k int)) error {
	for start := 0; start < len(pts); start += ev.batch {
		n := min(ev.batch, len(pts)-start)
		for i, buf := range ev.in {
			for k := range ev.batch {
				if k < n {
					buf[k] = pts[start+k][i]
				} else {
					buf[k] = pts[start][i]
				}
			}
		}
		if err := ev.prog.run(); err != nil {
			return fmt.Errorf("%w: evaluating L: %w", ErrLagrangian, err)
		}
		for k := range n {
			read(start+k, k)
		}
	}
	return nil
}

// eval implements secondOrderModel (the evaluator must have been built
// with derivatives).
func (ev *elEvaluator) eval(pts [][]float64, res, jres, energy, jen []float64) error {
	d := ev.d
	e := ev.prog.value(ev.energy)
	rs, jr, je := make([][]float64, d), make([][]float64, 3*d*d), make([][]float64, 2*d)
	for i := range d {
		rs[i] = ev.prog.value(ev.res[i])
		for j := range 3 * d {
			jr[i*3*d+j] = ev.prog.value(ev.jres[i][j])
		}
	}
	for j := range 2 * d {
		je[j] = ev.prog.value(ev.jen[j])
	}
	return ev.run(pts, func(n, k int) {
		energy[n] = e[k]
		for i := range d {
			res[n*d+i] = rs[i][k]
			for j := range 3 * d {
				jres[(n*d+i)*3*d+j] = jr[i*3*d+j][k]
			}
		}
		for j := range 2 * d {
			jen[n*2*d+j] = je[j][k]
		}
	})
}

// residualsAt evaluates R (row-major, d per point) and M (d×d per point)
// at the points.
func (ev *elEvaluator) residualsAt(pts [][]float64, res, m []float64) error {
	d := ev.d
	rs, ms := make([][]float64, d), make([][]float64, d*d)
	for i := range d {
		rs[i] = ev.prog.value(ev.res[i])
		for j := range d {
			ms[i*d+j] = ev.prog.value(ev.m[i][j])
		}
	}
	return ev.run(pts, func(n, k int) {
		for i := range d {
			if res != nil {
				res[n*d+i] = rs[i][k]
			}
			if m != nil {
				for j := range d {
					m[(n*d+i)*d+j] = ms[i*d+j][k]
				}
			}
		}
	})
}

// minRCond is the reciprocal condition number of ∂²L/∂q̇∂q̇ below which it
// is taken as singular.
const minRCond = 1e-12

// checkRegular reports the first of the d×d matrices ms (row-major, one per
// time of ts) that is not finite or is singular (reciprocal condition
// number below minRCond), as an error wrapping ErrLagrangian.
func checkRegular(ms []float64, d int, ts []float64, zs [][]float64) error {
	var lu mat.LU
	for n, t := range ts {
		m := ms[n*d*d : (n+1)*d*d]
		bad := ""
		for _, x := range m {
			if !isFinite(x) {
				bad = "not finite"
				break
			}
		}
		if bad == "" {
			lu.Factorize(mat.NewDense(d, d, append([]float64(nil), m...)))
			if rc := 1 / lu.Cond(); !(rc >= minRCond) {
				bad = fmt.Sprintf("singular (reciprocal condition number %.3g)", rc)
			}
		}
		if bad != "" {
			return fmt.Errorf("%w: ∂²L/∂q̇∂q̇ = %v is %s at t = %v, (q, q̇) = %v: the Euler-Lagrange equations do not determine q̈ there",
				ErrLagrangian, m, bad, t, zs[n][:2*d])
		}
	}
	return nil
}

// eulerLagrangeForm is the Lagrangian network (Eq. 11) for a general
// Lagrangian L(q, q̇): the trial solution of lagrangianForm, trained on the
// Euler-Lagrange residual R = M q̈ + C q̇ - ∂L/∂q; the state z = (q, q̇).
type eulerLagrangeForm struct {
	lagrangianForm
	L Lagrangian
}

var (
	_ formulation    = eulerLagrangeForm{}
	_ residualForm   = eulerLagrangeForm{}
	_ segmentChecker = eulerLagrangeForm{}
)

func (eulerLagrangeForm) kind() string { return "euler-lagrange" }

func (f eulerLagrangeForm) newLoss(sp Problem, net *network, k int, lambda, e0 float64, withGrad, fused bool) (lossEvaluator, error) {
	return buildSecondOrderLoss(lagrangianResidual(f.L), sp.Z0, net, k, lambda, e0, withGrad, fused)
}

func (f eulerLagrangeForm) newLM(sp Problem, net *network, ts []float64, param Param, lambda, e0 float64) (lmModel, error) {
	ev, err := newELEvaluator(f.L, len(sp.Z0)/2, 64, true)
	if err != nil {
		return nil, err
	}
	return newLagrangianLM(net, ev, ts, sp.Z0, param, lambda, e0), nil
}

// secondOrderPoints evaluates (q, q̇, q̈) of s at ts.
func secondOrderPoints(s *Solution, ts []float64) [][]float64 {
	dim := s.dim()
	d := dim / 2
	z, dz := make([]float64, len(ts)*dim), make([]float64, len(ts)*dim)
	s.states(ts, z, dz)
	pts := make([][]float64, len(ts))
	for n := range ts {
		p := make([]float64, 3*d)
		copy(p, z[n*dim:(n+1)*dim])
		copy(p[dim:], dz[n*dim+d:(n+1)*dim])
		pts[n] = p
	}
	return pts
}

// residuals implements residualForm: the Euler-Lagrange residual along s,
// as (0, R) per time (the first d components, q̇ - p, vanish).
func (f eulerLagrangeForm) residuals(s *Solution, ts []float64) ([]float64, error) {
	d := s.dim() / 2
	ev, err := newELEvaluator(f.L, d, 64, false)
	if err != nil {
		return nil, err
	}
	res := make([]float64, len(ts)*d)
	if err := ev.residualsAt(secondOrderPoints(s, ts), res, nil); err != nil {
		return nil, err
	}
	out := make([]float64, len(ts)*2*d)
	for n := range ts {
		copy(out[n*2*d+d:(n+1)*2*d], res[n*d:(n+1)*d])
	}
	return out, nil
}

// checkSegment implements segmentChecker: ∂²L/∂q̇∂q̇ must be regular along
// the trained segment, on 4 K + 1 equally spaced times.
func (f eulerLagrangeForm) checkSegment(seg *Solution) error {
	p := seg.problem
	ts := uniformGrid(p.T0, p.T, 4*seg.settings.Points+1)
	return f.checkRegularAt(seg, ts)
}

func (f eulerLagrangeForm) checkRegularAt(s *Solution, ts []float64) error {
	d := s.dim() / 2
	ev, err := newELEvaluator(f.L, d, 64, false)
	if err != nil {
		return err
	}
	pts := secondOrderPoints(s, ts)
	m := make([]float64, len(ts)*d*d)
	if err := ev.residualsAt(pts, nil, m); err != nil {
		return err
	}
	return checkRegular(m, d, ts, pts)
}

// checkInitial checks that L, its energy and ∂²L/∂q̇∂q̇ are finite at
// (Q0, V0) and the latter regular there.
func (f eulerLagrangeForm) checkInitial(z0 []float64, t0 float64) error {
	d := len(z0) / 2
	ev, err := newELEvaluator(f.L, d, 1, false)
	if err != nil {
		return err
	}
	pt := append(append([]float64(nil), z0...), make([]float64, d)...)
	m := make([]float64, d*d)
	if err := ev.residualsAt([][]float64{pt}, nil, m); err != nil {
		return err
	}
	if err := checkRegular(m, d, []float64{t0}, [][]float64{pt}); err != nil {
		return err
	}
	if e := ev.prog.value(ev.energy)[0]; math.IsNaN(e) || math.IsInf(e, 0) {
		return fmt.Errorf("%w: the energy q̇·∂L/∂q̇ - L = %v at (Q0, V0) is not finite", ErrLagrangian, e)
	}
	return nil
}
