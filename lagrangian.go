package hnnsolve

import (
	"context"
	"fmt"
	"io"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Potential builds the potential energy V(q) as a gorgonia expression, for
// the Lagrangian L = |q̇|²/2 - V(q) of SolveLagrangian (unit masses).
//
// q[i] are nodes of one graph holding one value per time point (length-K
// float64 vectors); the result holds V at each point (a length-K vector) or
// the sum of V over the points (a scalar, which cannot be used with the
// energy regulariser). The operations allowed are those of Hamiltonian:
// hnnsolve differentiates the expression itself to obtain ∇V.
type Potential func(q []*gorgonia.Node) (*gorgonia.Node, error)

// Hamiltonian returns H(q, p) = |p|²/2 + V(q), the Hamiltonian of the
// Lagrangian |q̇|²/2 - V(q): the Problem that SolveLagrangian solves in
// phase space, with p = q̇.
func (v Potential) Hamiltonian() Hamiltonian {
	if v == nil {
		return nil
	}
	return func(q, p []*gorgonia.Node) (h *gorgonia.Node, err error) {
		defer recoverGorgonia(&err, ErrLagrangian)
		pot, err := v(q)
		if err != nil {
			return nil, fmt.Errorf("%w: V returned an error: %w", ErrLagrangian, err)
		}
		if pot == nil {
			return nil, fmt.Errorf("%w: V returned a nil node", ErrLagrangian)
		}
		if len(q) > 0 && pot.Graph() != q[0].Graph() {
			return nil, fmt.Errorf("%w: V returned a node of another graph (build V only from q and constants)", ErrLagrangian)
		}
		if pot.Dtype() != tensor.Float64 {
			return nil, fmt.Errorf("%w: V has dtype %v, want float64", ErrLagrangian, pot.Dtype())
		}
		var kin *gorgonia.Node
		for _, pi := range p {
			kin = appendGrad(kin, gorgonia.Must(gorgonia.Square(pi)))
		}
		kin = gorgonia.Must(gorgonia.HadamardProd(gorgonia.NewConstant(0.5), kin))
		if pot.IsScalar() || pot.Shape().TotalSize() == 1 && kin.Shape().TotalSize() != 1 {
			kin = gorgonia.Must(gorgonia.Sum(kin))
			if !pot.IsScalar() {
				pot = gorgonia.Must(gorgonia.Sum(pot))
			}
		}
		return gorgonia.Add(kin, pot)
	}
}

// LagrangianProblem is an initial value problem for the Euler-Lagrange
// equations d/dt(∂L/∂q̇) - ∂L/∂q = 0 on [T0, T] with q(T0) = Q0 and
// q̇(T0) = V0: of L = |q̇|²/2 - V(q), q̈ = -∇V(q), given V, or of a general
// L(q, q̇). Exactly one of V and L is set.
type LagrangianProblem struct {
	// V is the potential as a gorgonia expression (L = |q̇|²/2 - V).
	V Potential
	// L is a general Lagrangian as a gorgonia expression, instead of V.
	L Lagrangian
	// Q0 and V0 are the initial positions and velocities, len d >= 1 each.
	Q0, V0 []float64
	// T0 and T bound the time interval, T > T0.
	T0, T float64
}

// Problem returns the same initial value problem in phase space, Z0 =
// (Q0, V0), with H = |p|²/2 + V for a potential; for a general L, "H" is
// the energy function E(q, q̇) = q̇·∂L/∂q̇ - L, the conserved quantity that
// Solution.Energy reports (not a Hamiltonian in canonical coordinates).
// Its checks are those of Problem.
func (lp LagrangianProblem) Problem() Problem {
	h := lp.V.Hamiltonian()
	if lp.L != nil {
		h = lp.L.energy()
	}
	return Problem{H: h, Z0: append(slices.Clone(lp.Q0), lp.V0...), T0: lp.T0, T: lp.T}
}

// form returns the formulation of lp.
func (lp LagrangianProblem) form() formulation {
	if lp.L != nil {
		return eulerLagrangeForm{L: lp.L}
	}
	return lagrangianForm{}
}

// validate checks the parts a Problem does not: V or L and the lengths.
func (lp LagrangianProblem) validate() (Problem, error) {
	switch {
	case lp.V == nil && lp.L == nil:
		return Problem{}, fmt.Errorf("%w: V and L are nil, want one of them", ErrLagrangian)
	case lp.V != nil && lp.L != nil:
		return Problem{}, fmt.Errorf("%w: both V and L are set, want one of them", ErrLagrangian)
	}
	if len(lp.Q0) == 0 || len(lp.Q0) != len(lp.V0) {
		return Problem{}, fmt.Errorf("%w: Q0 has %d values and V0 %d, want the same d >= 1", ErrProblem, len(lp.Q0), len(lp.V0))
	}
	p := lp.Problem()
	if err := p.validate(); err != nil {
		return Problem{}, err
	}
	return p, nil
}

// SolveLagrangian trains a Lagrangian network (Sec. II.A, Eq. 11-12): one
// network N(τ) with d outputs whose trial solution
//
//	q̂(t) = Q0 + f1(τ) V0 + f2(τ) N(τ),  τ = t - T0,
//
// with f1 = 1 - e^-τ and f2 = f1² (Param Exponential; f1 = τ, f2 = τ² for
// Linear) holds both initial conditions exactly, trained to minimise
//
//	L = 1/K Σ_n |q̈(t_n) + ∇V(q̂(t_n))|² + λ/K Σ_n (H(q̂_n, q̇_n) - E0)²   (Eq. 12, 8)
//
// where q̈ comes from forward-mode differentiation to second order through
// the network and ∇V from the expression. Settings are those of Solve and
// mean the same: Adam over perturbed times, L-BFGS and
// Levenberg-Marquardt refinement, chaining (segment k starts from q̂ and
// q̇ at the end of segment k-1), retries, the energy term (λ = Energy),
// TargetLoss, TargetError and checkpoints (ResumeLagrangian). Training
// runs on the CPU (Device must be CPU).
//
// The result is an ordinary Solution in phase space, z = (q, p) with
// p = q̇, of the Problem lp.Problem() (H = |p|²/2 + V): At and Trajectory
// give (q̂, q̇), Velocity (q̇, q̈), Energy H, Residual |ż - J∇H| =
// |q̈ + ∇V| (the first d components vanish by construction), and Analyze
// and Save work as for Solve (LoadLagrangian reads the model back).
//
// With a general Lagrangian (lp.L instead of lp.V) the residual is the
// Euler-Lagrange equation
//
//	R = d/dt(∂L/∂q̇) - ∂L/∂q = (∂²L/∂q̇∂q̇) q̈ + (∂²L/∂q̇∂q) q̇ - ∂L/∂q,
//
// with the second derivatives of L from the expression, and the energy of
// the energy term is E = q̇·∂L/∂q̇ - L. ∂²L/∂q̇∂q̇ must be regular at
// (Q0, V0) and along every trained segment (checked on 4K+1 times): a
// singular one is an error wrapping ErrLagrangian, not a NaN. The Solution
// then holds (q, q̇) ("H" is E, so Energy is the energy function), Residual
// is |R|, and Analyze and TargetError, which need Hamilton's equations, are
// not available.
//
// The paper notes that this network costs about twice the Hamiltonian one
// per epoch, for the second-order tangent; see the README for the ratio
// measured here.
func SolveLagrangian(lp LagrangianProblem, s *Settings) (*Solution, error) {
	return SolveLagrangianContext(context.Background(), lp, s)
}

// SolveLagrangianContext is SolveLagrangian, stopped by ctx as
// SolveContext is.
func SolveLagrangianContext(ctx context.Context, lp LagrangianProblem, s *Settings) (sol *Solution, err error) {
	defer recoverGorgonia(&err, ErrLagrangian)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hnnsolve: not started: %w", err)
	}
	p, set, err := lp.prepare(s)
	if err != nil {
		return nil, err
	}
	e0, ev, err := p.energyAt()
	if err != nil {
		return nil, err
	}
	return newRun(ctx, p, lp.form(), set, e0, ev).solve()
}

// prepare validates lp and resolves s for it.
func (lp LagrangianProblem) prepare(s *Settings) (Problem, Settings, error) {
	p, err := lp.validate()
	if err != nil {
		return Problem{}, Settings{}, err
	}
	set, err := s.resolve(p)
	if err != nil {
		return Problem{}, Settings{}, err
	}
	if set.Device != CPU {
		return Problem{}, Settings{}, fmt.Errorf("%w: the Lagrangian formulation trains on the CPU only, not on %v", ErrSettings, set.Device)
	}
	if f, ok := lp.form().(eulerLagrangeForm); ok {
		if set.TargetError > 0 {
			return Problem{}, Settings{}, fmt.Errorf("%w: TargetError needs the error analysis, which a general Lagrangian has not", ErrSettings)
		}
		if err := f.checkInitial(p.Z0, p.T0); err != nil {
			return Problem{}, Settings{}, err
		}
	}
	return p, set, nil
}

// ResumeLagrangian continues a SolveLagrangian run from a checkpoint, as
// Resume does for Solve.
func ResumeLagrangian(r io.Reader, lp LagrangianProblem, s *Settings) (*Solution, error) {
	return ResumeLagrangianContext(context.Background(), r, lp, s)
}

// ResumeLagrangianContext is ResumeLagrangian, stopped by ctx.
func ResumeLagrangianContext(ctx context.Context, r io.Reader, lp LagrangianProblem, s *Settings) (sol *Solution, err error) {
	defer recoverGorgonia(&err, ErrLagrangian)
	p, set, err := lp.prepare(s)
	if err != nil {
		return nil, err
	}
	return resume(ctx, r, p, lp.form(), set)
}

// LoadLagrangian reads a model written by Save from a SolveLagrangian
// Solution, for the problem it was trained for, with the checks of Load.
func LoadLagrangian(r io.Reader, lp LagrangianProblem) (sol *Solution, err error) {
	defer recoverGorgonia(&err, ErrModel)
	p, err := lp.validate()
	if err != nil {
		return nil, err
	}
	return load(r, p, lp.form())
}

// lagrangianForm is the Lagrangian network of Eq. 11-12 for
// L = |q̇|²/2 - V(q): d network outputs, the state z = (q, q̇).
type lagrangianForm struct{}

var _ formulation = lagrangianForm{}

func (lagrangianForm) kind() string        { return "lagrangian" }
func (lagrangianForm) outputs(dim int) int { return dim / 2 }

func (lagrangianForm) newLoss(sp Problem, net *network, k int, lambda, e0 float64, withGrad, fused bool) (lossEvaluator, error) {
	return buildLagrangianLoss(sp.H, sp.Z0, net, k, lambda, e0, withGrad, fused)
}

func (lagrangianForm) newLM(sp Problem, net *network, ts []float64, param Param, lambda, e0 float64) (lmModel, error) {
	ev, err := newHamiltonianEvaluator(sp.H, len(sp.Z0), 64, true)
	if err != nil {
		return nil, err
	}
	return newLagrangianLM(net, newPotentialModel(ev, len(sp.Z0)/2), ts, sp.Z0, param, lambda, e0), nil
}

// state computes ẑ = (q̂, q̇) and dẑ/dt = (q̇, q̈) from Eq. 11.
func (lagrangianForm) state(net *network, param Param, t, t0 float64, z0, z, dz []float64, w *pointWork) {
	d := len(z0) / 2
	n, dn, ddn := w.n[:d], w.dn[:d], w.ddn[:d]
	net.forward2(t-t0, n, dn, ddn, w.buf)
	pf := param.eval2(t, t0)
	f1, df1, ddf1, f2, df2, ddf2 := pf[0], pf[1], pf[2], pf[3], pf[4], pf[5]
	for i := range d {
		q0, v0 := z0[i], z0[d+i]
		v := df1*v0 + df2*n[i] + f2*dn[i]
		if z != nil {
			z[i] = q0 + f1*v0 + f2*n[i]
			z[d+i] = v
		}
		if dz != nil {
			dz[i] = v
			dz[d+i] = ddf1*v0 + ddf2*n[i] + 2*df2*dn[i] + f2*ddn[i]
		}
	}
}
