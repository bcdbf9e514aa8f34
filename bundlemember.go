package hnnsolve

import (
	"fmt"
	"reflect"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// bundleChunk is the number of rows the batched evaluation runs at once:
// a chunk's inputs and units fill L2, and a row of them is an odd number
// of cache lines (392 = 8·49 values), so that the rows one block of the
// layer product reads fall in different sets of L1. At 512 (64 lines,
// 4 KiB) they all fall in one set and evict each other: 15-20% slower.
const bundleChunk = 392

// checkMember checks a member (z0, θ): lengths, finite, and inside the
// boxes unless Extrapolate is set. It returns the row (z0, θ).
func (b *Bundle) checkMember(z0, theta []float64) ([]float64, error) {
	row := make([]float64, len(z0)+len(theta))
	return row, b.checkMemberInto(row, z0, theta)
}

// checkMemberInto is checkMember writing the row into row, len 2d+m.
func (b *Bundle) checkMemberInto(row, z0, theta []float64) error {
	p := b.problem
	dim := p.dim()
	if len(b.segs) == 0 {
		return fmt.Errorf("%w: the Bundle holds no network", ErrProblem)
	}
	if len(z0) != dim {
		return fmt.Errorf("%w: z0 has length %d, want %d", ErrProblem, len(z0), dim)
	}
	if len(theta) != p.params() {
		return fmt.Errorf("%w: theta has length %d, want %d", ErrProblem, len(theta), p.params())
	}
	copy(row, z0)
	copy(row[dim:], theta)
	for i, v := range row {
		name, j, lo, hi := "z0", i, p.Z0Min, p.Z0Max
		if i >= dim {
			name, j, lo, hi = "theta", i-dim, p.ThetaMin, p.ThetaMax
		}
		if !isFinite(v) {
			return fmt.Errorf("%w: %s[%d] = %v is not finite", ErrProblem, name, j, v)
		}
		if !b.Extrapolate && !(v >= lo[j] && v <= hi[j]) {
			return fmt.Errorf("%w: %s[%d] = %v is outside the trained box [%v, %v] (set Bundle.Extrapolate to evaluate it anyway)", ErrProblem, name, j, v, lo[j], hi[j])
		}
	}
	return nil
}

// checkTime checks a time: finite, and in [T0, T] unless Extrapolate.
func (b *Bundle) checkTime(t float64) error {
	p := b.problem
	if !isFinite(t) {
		return fmt.Errorf("%w: t = %v is not finite", ErrProblem, t)
	}
	if !b.Extrapolate && !(t >= p.T0 && t <= p.T) {
		return fmt.Errorf("%w: t = %v is outside the trained interval [%v, %v] (set Bundle.Extrapolate to evaluate it anyway)", ErrProblem, t, p.T0, p.T)
	}
	return nil
}

// At returns ẑ(t; z0, θ), len 2d. At(T0, z0, θ) is z0 exactly.
func (b *Bundle) At(t float64, z0, theta []float64) ([]float64, error) {
	row, err := b.checkMember(z0, theta)
	if err != nil {
		return nil, err
	}
	if err := b.checkTime(t); err != nil {
		return nil, err
	}
	z := make([]float64, b.problem.dim())
	newBundleEvaluator(b, b.segs, 1).states([]float64{t}, row, z)
	return z, nil
}

// AtMembers returns ẑ(t; z0_i, θ_i) for many members at once, row i of
// the result (n × 2d) for row i of z0 (n × 2d) and theta (n × m; nil when
// m = 0). On the CPU the members are evaluated in chunks of bundleChunk,
// one matrix product per layer for each chunk; with b.Device CUDA, on the
// GPU (-tags gpu), all of them at once.
func (b *Bundle) AtMembers(t float64, z0, theta mat.Matrix) (*mat.Dense, error) {
	if err := b.checkTime(t); err != nil {
		return nil, err
	}
	rows, err := b.memberRows(z0, theta)
	if err != nil {
		return nil, err
	}
	if b.Device != CPU {
		return b.atMembersDevice(t, rows)
	}
	ts := make([]float64, len(rows)/len(b.mid))
	for i := range ts {
		ts[i] = t
	}
	return b.evalRows(ts, rows), nil
}

// memberRows checks the members given as matrices and returns their rows,
// row-major n × (2d + m).
func (b *Bundle) memberRows(z0, theta mat.Matrix) ([]float64, error) {
	z0, theta = nilMatrix(z0), nilMatrix(theta)
	if z0 == nil {
		return nil, fmt.Errorf("%w: z0 is nil", ErrProblem)
	}
	n, c := z0.Dims()
	if c != b.problem.dim() {
		return nil, fmt.Errorf("%w: z0 has %d columns, want %d", ErrProblem, c, b.problem.dim())
	}
	m := b.problem.params()
	if theta == nil && m > 0 {
		return nil, fmt.Errorf("%w: theta is nil, want %d×%d", ErrProblem, n, m)
	}
	if theta != nil {
		if r, c := theta.Dims(); r != n || c != m {
			return nil, fmt.Errorf("%w: theta is %d×%d, want %d×%d", ErrProblem, r, c, n, m)
		}
	}
	dim := b.problem.dim()
	rows := make([]float64, n*(dim+m))
	z, th := make([]float64, dim), make([]float64, m)
	zd, _ := z0.(*mat.Dense)
	thd, _ := theta.(*mat.Dense)
	for i := range n {
		// a Dense's rows are read in place, not through mat.Row's
		// interface
		zi, thi := z, th
		if zd != nil {
			zi = zd.RawRowView(i)
		} else {
			mat.Row(z, i, z0)
		}
		if thd != nil {
			thi = thd.RawRowView(i)
		} else if m > 0 {
			mat.Row(th, i, theta)
		}
		if err := b.checkMemberInto(rows[i*(dim+m):(i+1)*(dim+m)], zi, thi); err != nil {
			return nil, fmt.Errorf("member %d: %w", i, err)
		}
	}
	return rows, nil
}

// nilMatrix returns m, or nil when m holds a nil pointer (a nil *mat.Dense
// passed for "no θ"), which mat's methods would dereference.
func nilMatrix(m mat.Matrix) mat.Matrix {
	if v := reflect.ValueOf(m); m == nil || v.Kind() == reflect.Pointer && v.IsNil() {
		return nil
	}
	return m
}

// evalRows evaluates the checked rows (row-major len(ts) × (2d + m)) at
// the times ts.
func (b *Bundle) evalRows(ts, rows []float64) *mat.Dense {
	dim := b.problem.dim()
	if len(ts) == 0 {
		return &mat.Dense{}
	}
	z := make([]float64, len(ts)*dim)
	newBundleEvaluator(b, b.segs, min(len(ts), bundleChunk)).states(ts, rows, z)
	return mat.NewDense(len(ts), dim, z)
}

// Trajectory returns ẑ(ts[i]; z0, θ) in row i (len(ts) × 2d).
func (b *Bundle) Trajectory(ts []float64, z0, theta []float64) (*mat.Dense, error) {
	row, err := b.checkMember(z0, theta)
	if err != nil {
		return nil, err
	}
	rows := make([]float64, 0, len(ts)*len(row))
	for i, t := range ts {
		if err := b.checkTime(t); err != nil {
			return nil, fmt.Errorf("ts[%d]: %w", i, err)
		}
		rows = append(rows, row...)
	}
	return b.evalRows(ts, rows), nil
}

// Jacobian returns the derivatives of ẑ(t; z0, θ) in the member,
// dz0[i][j] = ∂ẑ_i/∂z0_j (2d × 2d) and dtheta[i][j] = ∂ẑ_i/∂θ_j (2d × m;
// an empty matrix when m = 0), exact through the networks by forward-mode
// tangents in the inputs u and through the chain of start states, for
// v = (z0, θ):
//
//	∂ẑ/∂v = ∂S_k/∂v + f(τ) ∂N_k/∂u ∂u_k/∂v,  ∂S_{j+1}/∂v = ∂S_j/∂v + f(t_{j+1} - t_j) ∂N_j/∂u ∂u_j/∂v,
//	∂u_j/∂v = diag(scale_j) (∂S_j/∂v; ∂θ/∂v),
//
// with ∂S_0/∂z0 = I and ∂S_0/∂θ = 0. It approximates the flow's variational
// derivative dz(t)/dz0 as well as the bundle approximates the flow.
func (b *Bundle) Jacobian(t float64, z0, theta []float64) (dz0, dtheta *mat.Dense, err error) {
	row, err := b.checkMember(z0, theta)
	if err != nil {
		return nil, nil, err
	}
	if err := b.checkTime(t); err != nil {
		return nil, nil, err
	}
	dim, n := b.problem.dim(), len(b.mid)
	js := make([]float64, dim*n) // ∂S/∂(z0, θ), row-major dim × n
	for i := range dim {
		js[i*n+i] = 1
	}
	st, th := slices.Clone(row[:dim]), row[dim:] // S_j
	u, nv := make([]float64, n), make([]float64, dim)
	jn, du := make([]float64, dim*n), make([]float64, n*n)
	e := &bundleEvaluator{b: b, segs: b.segs}
	s := e.segmentOf(t)
	param := b.settings.Param
	for j := 0; j <= s; j++ {
		sg := &b.segs[j]
		tau := sg.t1 - sg.t0
		if j == s {
			tau = t - sg.t0
		}
		f, _ := param.eval(tau, 0)
		sg.inputs(u, st, th)
		sg.net.inputJacobian(tau, u, nv, jn)
		// ∂u/∂v: the scaled rows of ∂S/∂v, then of ∂θ/∂v = (0 I).
		clear(du)
		for c := range n {
			if c < dim {
				for v := range n {
					du[c*n+v] = sg.scale[c] * js[c*n+v]
				}
			} else {
				du[c*n+c] = sg.scale[c]
			}
		}
		// S ← S + f N, ∂S/∂v ← ∂S/∂v + f ∂N/∂u ∂u/∂v
		for i := range dim {
			st[i] += f * nv[i]
			for v := range n {
				sum := 0.0
				for c := range n {
					sum += jn[i*n+c] * du[c*n+v]
				}
				js[i*n+v] += f * sum
			}
		}
	}
	dz0 = mat.NewDense(dim, dim, nil)
	for i := range dim {
		for c := range dim {
			dz0.Set(i, c, js[i*n+c])
		}
	}
	if n == dim {
		return dz0, &mat.Dense{}, nil
	}
	dtheta = mat.NewDense(dim, n-dim, nil)
	for i := range dim {
		for c := dim; c < n; c++ {
			dtheta.Set(i, c-dim, js[i*n+c])
		}
	}
	return dz0, dtheta, nil
}

// inputJacobian computes N into out and ∂N/∂u into jac (D × len(u),
// row-major) at the input x = (τ, u) by forward-mode tangents, one per
// input u_c:
// ∂a_1/∂u_c = W_1[c+1], ∂h/∂u_c = σ'(a) ∂a/∂u_c, ∂a'/∂u_c = (∂h/∂u_c) W.
func (n *network) inputJacobian(tau float64, u, out, jac []float64) {
	nu := len(u)
	h := append([]float64{tau}, u...)
	// th[i*nu+c] = ∂h_i/∂u_c
	th := make([]float64, len(h)*nu)
	for c := range nu {
		th[(c+1)*nu+c] = 1
	}
	last := len(n.widths) - 2
	for l := 0; l <= last; l++ {
		in, w := n.widths[l], n.widths[l+1]
		W, bias := n.params[2*l], n.params[2*l+1]
		a, ta := slices.Clone(bias), make([]float64, w*nu)
		for i := range in {
			row := W[i*w : (i+1)*w]
			for j, wij := range row {
				a[j] += h[i] * wij
				for c := range nu {
					ta[j*nu+c] += th[i*nu+c] * wij
				}
			}
		}
		if l == last {
			copy(out, a)
			copy(jac, ta)
			return
		}
		for j := range w {
			y, dy := n.act.eval(a[j])
			a[j] = y
			for c := range nu {
				ta[j*nu+c] *= dy
			}
		}
		h, th = a, ta
	}
}

// Member returns the member (z0, θ) of the bundle as a Solution: a view
// on the bundle's networks with each one's input u_k(S_k, θ) fixed, whose segments start at the
// member's S_k. At, Trajectory, Velocity, Energy, Residual and Analyze work
// on it as on a Solution of Solve (its Problem's H is H( · ; θ), its E0 is
// H(z0; θ)), so Eq. 18 gives each member its own error bound. It shares
// the bundle's weights; it cannot be saved (save the Bundle).
func (b *Bundle) Member(z0, theta []float64) (sol *Solution, err error) {
	defer recoverGorgonia(&err, ErrHamiltonian)
	row, err := b.checkMember(z0, theta)
	if err != nil {
		return nil, err
	}
	dim := b.problem.dim()
	th := slices.Clone(row[dim:])
	h := b.problem.H.WithTheta(th)
	e0, ev, err := Problem{H: h, Z0: row[:dim]}.energyAt()
	if err != nil {
		return nil, err
	}
	starts := make([]float64, len(b.segs))
	rows := make([]float64, 0, len(b.segs)*len(row))
	for j, sg := range b.segs {
		starts[j], rows = sg.t0, append(rows, row...)
	}
	s := make([]float64, len(b.segs)*dim)
	newBundleEvaluator(b, b.segs, len(b.segs)).states(starts, rows, s)
	set := b.Settings()
	sol = &Solution{
		EpochsRun: b.EpochsRun, TrainTime: b.TrainTime, Stages: slices.Clone(b.Stages),
		problem:  Problem{H: h, Z0: slices.Clone(row[:dim]), T0: b.problem.T0, T: b.problem.T},
		settings: set, form: hamiltonianForm{}, e0: e0, eval: ev, loss: b.Loss(),
	}
	copy(s[:dim], row[:dim]) // S_0 = z0 exactly
	for j, sg := range b.segs {
		u := make([]float64, len(b.mid))
		sg.inputs(u, s[j*dim:(j+1)*dim], th)
		view := &network{widths: sg.net.widths, act: sg.net.act, params: sg.net.params, inputs: u}
		sol.segs = append(sol.segs, segment{t0: sg.t0, t1: sg.t1, z0: s[j*dim : (j+1)*dim], net: view})
	}
	return sol, nil
}

// WithTheta returns H( · ; θ) for the fixed parameters theta, as a
// Hamiltonian: each θ_j enters h as a constant vector of its value.
func (h ParamHamiltonian) WithTheta(theta []float64) Hamiltonian {
	theta = slices.Clone(theta)
	return func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
		if len(q) == 0 || q[0] == nil {
			return nil, fmt.Errorf("no coordinates")
		}
		shape := q[0].Shape().Clone()
		th := make([]*gorgonia.Node, len(theta))
		for j, v := range theta {
			vals := make([]float64, shape.TotalSize())
			for i := range vals {
				vals[i] = v
			}
			th[j] = gorgonia.NewConstant(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(vals)), gorgonia.In(q[0].Graph()))
		}
		return h(q, p, th)
	}
}
