package hnnsolve

// A formulation is how one network becomes a trial solution in phase space
// and which loss trains it: the Hamiltonian one of Eq. 6-8 (Solve) or the
// Lagrangian one of Eq. 11-12 (SolveLagrangian). The driver (driver.go),
// the engine (trainer.go), the refinement stages and the Solution work
// through it, so each formulation keeps its own loss and trial solution
// and shares everything else: chaining, retries, Adam, L-BFGS,
// Levenberg-Marquardt, checkpoints, the error analysis and the model file.
//
// Whatever the formulation, the Solution holds a phase-space trajectory
// ẑ(t) = (q̂, p̂) of the Problem's Hamiltonian, so At, Trajectory, Velocity,
// Energy, Residual and Analyze need nothing formulation-specific beyond
// state.
type formulation interface {
	// kind names the formulation in model files and checkpoints.
	kind() string
	// outputs is the number of network outputs for phase-space dimension dim.
	outputs(dim int) int
	// newLoss builds the training loss of the segment problem sp at k
	// settable times, with its gradient when withGrad; fused selects the
	// fused network Op (training) over the plain graph (the reference).
	newLoss(sp Problem, net *network, k int, lambda, e0 float64, withGrad, fused bool) (lossEvaluator, error)
	// newLM builds the sum-of-squares loss of sp at the fixed input times
	// ts (τ = t - T0 of the segment) for Levenberg-Marquardt.
	newLM(sp Problem, net *network, ts []float64, param Param, lambda, e0 float64) (lmModel, error)
	// state computes ẑ(t) and dẑ/dt (either may be nil) of the segment that
	// starts at t0 from z0 with network net.
	state(net *network, param Param, t, t0 float64, z0, z, dz []float64, w *pointWork)
}

// lossEvaluator is a training loss at K times that are set before each
// evaluation, with its gradient: what the Adam engine and L-BFGS use.
// lossGraph (Eq. 7-8) and lagrangianLoss (Eq. 12) implement it.
type lossEvaluator interface {
	// setTimes sets the times ts (len K) and the parametric functions for
	// a trial solution started at t0; the network sees τ = t - t0.
	setTimes(ts []float64, param Param, t0 float64)
	// run evaluates the loss and, when built with gradients, ∂L/∂θ.
	run() (float64, error)
	// gradients returns ∂L/∂θ of the latest run in the network's
	// parameter order; the slices are the evaluator's own.
	gradients() ([][]float64, error)
}

// lmModel is the loss at fixed times as a sum of squares |r(θ)|², for
// Levenberg-Marquardt (levenberg.go).
type lmModel interface {
	// network is the network whose parameters θ are refined.
	network() *network
	// size returns the number of residuals and of parameters.
	size() (rows, params int)
	// residuals fills r (len rows) at the network's current weights and
	// returns |r|².
	residuals(r []float64) (float64, error)
	// jacobian fills jac (rows × params, row-major) at the state of the
	// latest residuals call.
	jacobian(jac []float64)
}

// residualForm is implemented by the formulations whose equations are not
// Hamilton's for the Problem's H (general Lagrangians, whose Problem holds
// the energy function in place of H): Solution.Residual takes their
// residual, and Analyze, which needs Hamilton's equations, refuses them.
type residualForm interface {
	// residuals returns the residual vectors along s at ts, row-major,
	// 2d per time.
	residuals(s *Solution, ts []float64) ([]float64, error)
}

// segmentChecker is implemented by the formulations that check each
// trained segment (a general Lagrangian's velocity Hessian must be regular
// along it); the driver stops the chain at the first failure.
type segmentChecker interface {
	checkSegment(seg *Solution) error
}

// pointWork is the work space of one evaluation of a trial solution.
type pointWork struct {
	n, dn, ddn []float64 // network outputs and their first two time derivatives
	buf        []float64 // layer work space
}

func newPointWork(dim, maxWidth int) *pointWork {
	return &pointWork{n: make([]float64, dim), dn: make([]float64, dim), ddn: make([]float64, dim), buf: make([]float64, 6*maxWidth)}
}

// hamiltonianForm is the paper's Hamiltonian network: ẑ = z0 + f(τ) N(τ)
// (Eq. 6, 9) with the loss of Eq. 7-8.
type hamiltonianForm struct{}

var _ formulation = hamiltonianForm{}

func (hamiltonianForm) kind() string        { return "hamiltonian" }
func (hamiltonianForm) outputs(dim int) int { return dim }

func (hamiltonianForm) newLoss(sp Problem, net *network, k int, lambda, e0 float64, withGrad, fused bool) (lossEvaluator, error) {
	return buildLossGraph(sp.H, sp.Z0, net, k, lambda, e0, withGrad, fused)
}

func (hamiltonianForm) newLM(sp Problem, net *network, ts []float64, param Param, lambda, e0 float64) (lmModel, error) {
	ev, err := newHamiltonianEvaluator(sp.H, len(sp.Z0), 64, true)
	if err != nil {
		return nil, err
	}
	return newLMProblem(net, ev, ts, sp.Z0, 0, param, lambda, e0), nil
}

// state computes ẑ(t) and dẑ/dt = f'(t) N + f(t) dN/dt.
func (hamiltonianForm) state(net *network, param Param, t, t0 float64, z0, z, dz []float64, w *pointWork) {
	n, dn := w.n, w.dn
	net.forward(t-t0, n, dn, w.buf) // the network's input is τ = t - t0
	f, df := param.eval(t, t0)
	for i, z0 := range z0 {
		if z != nil {
			z[i] = z0 + f*n[i]
		}
		if dz != nil {
			dz[i] = df*n[i] + f*dn[i]
		}
	}
}

// formulationByKind returns the formulation a model file or checkpoint
// names ("" in files before formulations were recorded: Hamiltonian).
func formulationByKind(kind string) (formulation, bool) {
	switch kind {
	case "", "hamiltonian":
		return hamiltonianForm{}, true
	case "lagrangian":
		return lagrangianForm{}, true
	case "euler-lagrange":
		return eulerLagrangeForm{}, true
	}
	return nil, false
}
