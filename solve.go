package hnnsolve

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Problem is an initial value problem for Hamilton's equations
// ż = J ∇H(z) (Eq. 3) on [T0, T] with z(T0) = Z0.
type Problem struct {
	// H is the Hamiltonian as a gorgonia expression.
	H Hamiltonian
	// Z0 is the initial state (q_1..q_d, p_1..p_d), len 2d, d >= 1.
	Z0 []float64
	// T0 and T bound the time interval, T > T0.
	T0, T float64
}

// Settings configures the network and its training. Zero fields take the
// paper's defaults (Sec. III.A).
type Settings struct {
	// Points is K, the number of collocation times (200).
	Points int
	// Hidden are the hidden layer widths ({50, 50}).
	Hidden []int
	// Activation of the hidden layers (Sin).
	Activation Activation
	// Param is the parametric function f of Eq. 6 (Exponential, Eq. 9).
	Param Param
	// Epochs is the number of Adam steps (50000).
	Epochs int
	// LearnRate is Adam's step size (8e-3).
	LearnRate float64
	// LearnRateFinal, if > 0, makes the step size decay geometrically from
	// LearnRate at the first epoch to LearnRateFinal at the last:
	// η_e = η_0 (η_final/η_0)^(e/(Epochs-1)). Zero keeps it constant, as
	// the paper does. A decay lets Adam settle into the minimum that a
	// constant step of 8e-3 only circles (see the package documentation).
	LearnRateFinal float64
	// Beta1, Beta2 are Adam's decay rates; the authors' code uses
	// (0.999, 0.9999), the default here.
	Beta1, Beta2 float64
	// Energy is λ of the energy regulariser, Eq. 8 (0: none).
	Energy float64
	// Perturb is the standard deviation of the Gaussian perturbation of the
	// equally spaced times, drawn anew every epoch. Zero takes three grid
	// spacings of a segment, 3 (T-T0)/(Segments (K-1)), which is the paper's
	// 0.06π for the oscillator and 0.18π for Hénon-Heiles; a negative value
	// keeps the times fixed.
	Perturb float64
	// Seed makes training deterministic: the same Seed gives the same weights.
	Seed int64
	// TargetLoss stops training as soon as the loss falls below it (0: never).
	// Reaching it, or TargetError, ends the training of that network: the
	// L-BFGS and LM stages are then skipped (the Adam stage's Status says so).
	TargetLoss float64
	// TargetError, if > 0, stops training as soon as the error figure chosen
	// by TargetCheck (default TargetEq18, the integrated Eq. 18; see
	// errorbound.go) falls below it, checked every CheckEvery epochs
	// (DefaultCheckEvery) on 10×Points+1 equally spaced times. The weights
	// that met the target are kept; Solution.Target records the checks.
	TargetError float64
	TargetCheck TargetCheck
	CheckEvery  int
	// LBFGS is the number of L-BFGS iterations (gonum/optimize, strong Wolfe
	// line search) run after Adam on RefinePoints fixed times (0: none, the
	// paper's setup). Adam's noisy steps stall near a loss of 1e-6; L-BFGS
	// takes the same network one to two orders lower (see the README).
	LBFGS int
	// LM is the number of Levenberg-Marquardt (Gauss-Newton) steps run after
	// Adam (and L-BFGS) on RefinePoints fixed times (0: none). The loss is a
	// sum of squares, so Gauss-Newton applies; on this badly conditioned
	// problem it reaches losses that Adam and L-BFGS do not (see levenberg.go).
	LM int
	// RefinePoints is the number of fixed times for L-BFGS and
	// Levenberg-Marquardt, the midpoints of equal cells of the interval
	// (4×Points).
	RefinePoints int
	// Segments splits [T0, T] into that many equal segments, each solved by
	// its own network from the end state of the one before (time-domain
	// chaining; 1, the default, is the paper's single network). Each segment
	// trains with all the settings above (Points per segment).
	Segments int
	// Retries retrains a segment (or the single network) from a new random
	// initialisation, at most Retries times (0: never), and keeps the try
	// with the lowest final loss. A RetryLoss > 0 stops the retries as soon
	// as a try ends at or below it; with RetryLoss = 0 every retry runs.
	// Training from one initialisation sometimes ends in a poor local
	// minimum, and in a chain one poor segment spoils every later one.
	Retries   int
	RetryLoss float64
	// Device is where the training epochs run (CPU).
	Device Device
	// Progress, if not nil, is called every ProgressEvery epochs (100) and
	// at the end of training.
	Progress      func(Progress)
	ProgressEvery int
}

// Progress reports the state of training to Settings.Progress.
type Progress struct {
	Epoch, Epochs int     // epochs done, epochs planned
	Loss          float64 // loss of the latest epoch
	MinLoss       float64 // lowest loss so far
	Elapsed       time.Duration
	Problem       int // index of the problem in SolveBatch (0 in Solve)
}

// DefaultSettings returns the paper's settings for the nonlinear
// oscillator (Sec. III.A).
func DefaultSettings() Settings {
	return Settings{
		Points: 200, Hidden: []int{50, 50}, Activation: Sin, Param: Exponential,
		Epochs: 50000, LearnRate: 8e-3, Beta1: 0.999, Beta2: 0.9999, Segments: 1, ProgressEvery: 100,
	}
}

// resolve fills zero fields with defaults and checks every field.
func (s *Settings) resolve(p Problem) (Settings, error) {
	r := DefaultSettings()
	if s != nil {
		def := r
		r = *s
		if r.Points == 0 {
			r.Points = def.Points
		}
		if r.Hidden == nil {
			r.Hidden = def.Hidden
		}
		if r.Epochs == 0 {
			r.Epochs = def.Epochs
		}
		if r.LearnRate == 0 {
			r.LearnRate = def.LearnRate
		}
		if r.Beta1 == 0 {
			r.Beta1 = def.Beta1
		}
		if r.Beta2 == 0 {
			r.Beta2 = def.Beta2
		}
		if r.Segments == 0 {
			r.Segments = def.Segments
		}
		if r.ProgressEvery == 0 {
			r.ProgressEvery = def.ProgressEvery
		}
	}
	if r.RefinePoints == 0 {
		r.RefinePoints = 4 * r.Points
	}
	r.Hidden = slices.Clone(r.Hidden)
	bad := func(format string, args ...any) (Settings, error) {
		return Settings{}, fmt.Errorf("%w: "+format, append([]any{ErrSettings}, args...)...)
	}
	switch {
	case r.Points < 2:
		return bad("Points = %d, want >= 2", r.Points)
	case len(r.Hidden) == 0:
		return bad("Hidden is empty, want at least one hidden layer")
	case r.Epochs < 1:
		return bad("Epochs = %d, want >= 1", r.Epochs)
	case r.Segments < 1:
		return bad("Segments = %d, want >= 1", r.Segments)
	case r.Segments > 1 && r.TargetError > 0:
		return bad("TargetError is checked on the whole interval and cannot stop a chain of Segments")
	case r.LBFGS < 0:
		return bad("LBFGS = %d, want >= 0", r.LBFGS)
	case r.Retries < 0:
		return bad("Retries = %d, want >= 0", r.Retries)
	case r.LM < 0:
		return bad("LM = %d, want >= 0", r.LM)
	case r.RefinePoints < 2:
		return bad("RefinePoints = %d, want >= 2", r.RefinePoints)
	case r.ProgressEvery < 1:
		return bad("ProgressEvery = %d, want >= 1", r.ProgressEvery)
	case !r.Activation.valid():
		return bad("unknown %v", r.Activation)
	case !r.Param.valid():
		return bad("unknown %v", r.Param)
	case !r.Device.valid():
		return bad("unknown %v", r.Device)
	}
	for i, w := range r.Hidden {
		if w < 1 {
			return bad("Hidden[%d] = %d, want >= 1", i, w)
		}
	}
	for _, f := range []struct {
		name string
		v    float64
		ok   bool
	}{
		{"LearnRate", r.LearnRate, r.LearnRate > 0},
		{"LearnRateFinal", r.LearnRateFinal, r.LearnRateFinal >= 0},
		{"Beta1", r.Beta1, r.Beta1 > 0 && r.Beta1 < 1},
		{"Beta2", r.Beta2, r.Beta2 > 0 && r.Beta2 < 1},
		{"Energy", r.Energy, r.Energy >= 0},
		{"Perturb", r.Perturb, true},
		{"TargetLoss", r.TargetLoss, r.TargetLoss >= 0},
		{"RetryLoss", r.RetryLoss, r.RetryLoss >= 0},
	} {
		if !isFinite(f.v) || !f.ok {
			return bad("%s = %v is out of range", f.name, f.v)
		}
	}
	if err := r.resolveTarget(); err != nil {
		return Settings{}, err
	}
	if r.Perturb == 0 {
		// Three grid spacings of a segment (the whole interval without
		// chaining).
		r.Perturb = 3 * (p.T - p.T0) / float64(r.Segments) / float64(r.Points-1)
	}
	return r, nil
}

// minRelativeLength is the shortest interval, relative to its distance from
// 0, that Solve accepts: times are then resolved to 2^-52/2^-33 ≈ 2e-6 of the
// interval's length or better.
const minRelativeLength = 0x1p-33

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// validate checks the Problem.
func (p Problem) validate() error {
	if p.H == nil {
		return fmt.Errorf("%w: H is nil", ErrHamiltonian)
	}
	if err := checkState(p.Z0); err != nil {
		return fmt.Errorf("Z0: %w", err)
	}
	if !isFinite(p.T0) || !isFinite(p.T) {
		return fmt.Errorf("%w: interval [%v, %v] is not finite", ErrProblem, p.T0, p.T)
	}
	if !(p.T > p.T0) {
		return fmt.Errorf("%w: interval [%v, %v] is empty or reversed, want T > T0", ErrProblem, p.T0, p.T)
	}
	length := p.T - p.T0
	if math.IsInf(length, 0) {
		return fmt.Errorf("%w: interval [%v, %v] is longer than the largest float64", ErrProblem, p.T0, p.T)
	}
	// The network sees τ = t - T0; times in [T0, T] carry a rounding error of
	// ulp(max |t|), which must stay far below the interval's length.
	if span := math.Max(math.Abs(p.T0), math.Abs(p.T)); length < minRelativeLength*span {
		return fmt.Errorf("%w: interval [%v, %v] is too short for where it lies: float64 times resolve only %.2g of its length",
			ErrProblem, p.T0, p.T, (math.Nextafter(span, math.Inf(1))-span)/length)
	}
	return nil
}

// energyAt evaluates H at Z0 and checks it is finite.
func (p Problem) energyAt() (float64, *hamiltonianEvaluator, error) {
	ev, err := newHamiltonianEvaluator(p.H, len(p.Z0), 64, false)
	if err != nil {
		return 0, nil, err
	}
	e := make([]float64, 1)
	if err := ev.eval([][]float64{p.Z0}, e, nil, nil); err != nil {
		return 0, nil, err
	}
	if !isFinite(e[0]) {
		return 0, nil, fmt.Errorf("%w: H(Z0) = %v is not finite", ErrHamiltonian, e[0])
	}
	return e[0], ev, nil
}

// Solve trains a Hamiltonian network (Fig. 1) whose trial solution
// ẑ(t) = Z0 + f(t) N(t) (Eq. 6) satisfies Hamilton's equations on [T0, T],
// by minimising the loss of Eq. 7-8 with Adam over K collocation times that
// are perturbed at random every epoch. No data from any solver is used.
// The weights with the lowest loss over the last 20% of the epochs (and at
// least the last epoch) are kept, as in the authors' code. s == nil takes
// all defaults.
//
// The network's input is the time since the start of its interval,
// τ = t - T0 (the paper takes t0 = 0), and each segment of a chain sees the
// time since its own start: training does not depend on where the interval
// lies, and a problem shifted in time gives the same network.
func Solve(p Problem, s *Settings) (*Solution, error) {
	return SolveContext(context.Background(), p, s)
}

// SolveContext is Solve, stopped by ctx: on cancellation or deadline it
// returns within one epoch (or one refinement step) with what was trained
// and an error wrapping ctx.Err(). That Solution holds every finished
// segment and the current one with its kept weights (the current weights,
// whose loss was the last recorded, when no epoch was kept yet); its
// Problem ends at the end of the last segment it holds, and its Settings
// count those segments.
func SolveContext(ctx context.Context, p Problem, s *Settings) (sol *Solution, err error) {
	defer recoverGorgonia(&err, ErrHamiltonian)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hnnsolve: not started: %w", err)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	set, err := s.resolve(p)
	if err != nil {
		return nil, err
	}
	if err := openDevice(set.Device); err != nil {
		return nil, err
	}
	e0, ev, err := p.energyAt()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(set.Seed), 0x9e3779b97f4a7c15))
	sol = &Solution{
		problem:  Problem{H: p.H, Z0: slices.Clone(p.Z0), T0: p.T0, T: p.T},
		settings: set,
		e0:       e0,
		eval:     ev,
	}
	// Time-domain chaining: segment i starts from the end state of segment
	// i-1, which its trial solution then holds exactly (Eq. 6); its error
	// enters the next segment as an initial error, carried by the flow of
	// the linearised Eq. 18.
	z := slices.Clone(p.Z0)
	for i := range set.Segments {
		t0 := p.T0 + (p.T-p.T0)*float64(i)/float64(set.Segments)
		t1 := p.T0 + (p.T-p.T0)*float64(i+1)/float64(set.Segments)
		if i == set.Segments-1 {
			t1 = p.T
		}
		seg, err := sol.trainSegment(ctx, Problem{H: p.H, Z0: z, T0: t0, T: t1}, i, rng)
		if err != nil && ctx.Err() != nil && len(sol.segs) > 0 {
			// Stopped: keep what was trained, up to the last segment held.
			sol.problem.T = sol.segs[len(sol.segs)-1].t1
			sol.settings.Segments = len(sol.segs)
			return sol, fmt.Errorf("hnnsolve: stopped in segment %d of %d: %w", i, set.Segments, err)
		}
		if err != nil {
			if set.Segments > 1 {
				return nil, fmt.Errorf("segment %d [%v, %v]: %w", i, t0, t1, err)
			}
			return nil, err
		}
		z = seg.At(t1)
		if err := checkState(z); err != nil {
			return nil, fmt.Errorf("%w: end state of segment %d: %w", ErrDiverged, i, err)
		}
	}
	return sol, nil
}

// train runs Adam on the loss graph and leaves the kept weights in the network.
// trainSegment trains one network on the segment problem sp (the whole
// interval without chaining) and appends it to sol. It returns a Solution
// of that segment alone.
// On cancellation it appends the best network trained so far (a finished
// try or the interrupted one) and returns the error.
func (sol *Solution) trainSegment(ctx context.Context, sp Problem, index int, rng *rand.Rand) (*Solution, error) {
	set := sol.settings
	// The energy term (Eq. 8) pins H to E0 = H(Z0) of the whole problem in
	// every segment: the true solution keeps E0, so the term also pulls the
	// chain back from the energy error a segment inherits, which would
	// otherwise grow into a phase error (measured on the oscillator over
	// [0, 20π]: 2.9e-5 against 3.8e-4 with each segment's own H(z_k)).
	e0 := sol.e0
	var best *Solution
	bestLoss := math.Inf(1)
	var stages []Stage
	var losses []float64
	epochs, trainTime := 0, time.Duration(0)
	var stopped error
	for try := 0; try <= set.Retries && stopped == nil; try++ {
		cand, err := sol.fitSegment(ctx, sp, set, e0, rng)
		if err != nil && (cand == nil || ctx.Err() == nil) {
			return nil, err
		}
		stopped = err
		l := finalLoss(cand)
		for i := range cand.Stages {
			cand.Stages[i].Try = try
		}
		stages, losses = append(stages, cand.Stages...), append(losses, cand.loss...)
		epochs, trainTime = epochs+cand.EpochsRun, trainTime+cand.TrainTime
		if best == nil || l < bestLoss {
			best, bestLoss = cand, l
		}
		if set.RetryLoss > 0 && l <= set.RetryLoss {
			break
		}
	}
	seg := best
	seg.Stages, seg.loss, seg.EpochsRun, seg.TrainTime = stages, losses, epochs, trainTime
	sol.appendSegment(seg, index)
	return seg, stopped
}

// appendSegment appends the trained segment seg (a Solution of it alone) to
// the chain.
func (sol *Solution) appendSegment(seg *Solution, index int) {
	sol.segs = append(sol.segs, seg.segs[0])
	sol.loss = append(sol.loss, seg.loss...)
	sol.EpochsRun += seg.EpochsRun
	sol.BestEpoch = seg.BestEpoch
	sol.EarlyStop = seg.EarlyStop
	sol.TrainTime += seg.TrainTime
	sol.Target = seg.Target
	for _, st := range seg.Stages {
		st.Segment = index
		sol.Stages = append(sol.Stages, st)
	}
}

// fitSegment trains one network, Adam then the refinement stages, on the
// segment problem sp.
// On cancellation it returns the network as trained so far and the error.
func (sol *Solution) fitSegment(ctx context.Context, sp Problem, set Settings, e0 float64, rng *rand.Rand) (*Solution, error) {
	net := newNetwork(set.Hidden, len(sp.Z0), set.Activation)
	net.init(rng)
	seg := &Solution{
		problem: sp, settings: set, e0: e0, eval: sol.eval,
		segs: []segment{{t0: sp.T0, t1: sp.T, z0: slices.Clone(sp.Z0), net: net}},
	}
	lg, err := buildLossGraph(sp.H, sp.Z0, net, set.Points, set.Energy, e0, true, true)
	if err != nil {
		return nil, err
	}
	if err := seg.train(ctx, lg, rng); err != nil {
		if ctx.Err() != nil && len(seg.Stages) > 0 {
			return seg, err
		}
		return nil, err
	}
	if !seg.EarlyStop {
		if err := seg.refine(ctx); err != nil {
			if ctx.Err() != nil {
				return seg, err
			}
			return nil, err
		}
	}
	return seg, nil
}

// finalLoss is the loss of a trained segment after its last stage.
func finalLoss(seg *Solution) float64 {
	return seg.Stages[len(seg.Stages)-1].LossAfter
}

// train runs Adam through the engine of Settings.Device and leaves the kept
// weights in the network: the driver runs the engine in chunks between
// progress reports and TargetError checks.
func (sol *Solution) train(ctx context.Context, lg *lossGraph, rng *rand.Rand) error {
	set, net := sol.settings, sol.segs[0].net
	// The kept weights are the best of the last 20% of the epochs, and of at
	// least the last one: with Epochs < 5, Epochs/5 is 0.
	keepFrom := set.Epochs - max(set.Epochs/5, 1)
	eng, err := sol.newTrainer(lg, net, rng, keepFrom)
	if err != nil {
		return err
	}
	tc, err := newTargetChecker(sol)
	if err != nil {
		return err
	}
	var losses []float64 // grown chunk by chunk: Epochs may be far more than a run will do
	minLoss := math.Inf(1)
	start := time.Now()
	report := func(epoch int, loss float64) {
		if set.Progress != nil {
			set.Progress(Progress{Epoch: epoch, Epochs: set.Epochs, Loss: loss, MinLoss: minLoss, Elapsed: time.Since(start)})
		}
	}
	epoch, kept := 0, -1
	var stopped error
	for epoch < set.Epochs {
		if tc.due(epoch) {
			// The check sees the weights of this epoch, before its step.
			eng.Weights(net.params, false)
			if tc.check(epoch) {
				// Settings.TargetError met: keep these weights, and record
				// this epoch's loss.
				met := cloneParams(net.params)
				losses = slices.Grow(losses, 1)[:epoch+1]
				if _, err := eng.Run(ctx, epoch, epoch+1, 0, losses); err != nil && ctx.Err() == nil {
					return err
				}
				copyParams(net.params, met)
				minLoss = min(minLoss, losses[epoch])
				epoch, kept, sol.EarlyStop = epoch+1, epoch, true
				break
			}
		}
		next := min((epoch/set.ProgressEvery+1)*set.ProgressEvery, tc.next(epoch), set.Epochs)
		losses = slices.Grow(losses, next-epoch)[:next]
		end, err := eng.Run(ctx, epoch, next, set.TargetLoss, losses)
		if err != nil && ctx.Err() != nil && end > 0 {
			// Stopped: keep the kept weights, or the current ones (those
			// of the last recorded loss) if none was kept yet.
			stopped = err
			kept = eng.Kept()
			if kept < 0 {
				kept = end - 1
			} else {
				eng.Weights(net.params, true)
			}
			epoch = end
			break
		}
		if err != nil {
			return err
		}
		for _, l := range losses[epoch:end] {
			minLoss = min(minLoss, l)
		}
		epoch = end
		// Run stops at the first epoch below TargetLoss, without its step
		// (which may also be the chunk's last).
		if set.TargetLoss > 0 && losses[end-1] < set.TargetLoss {
			sol.EarlyStop = true
			break
		}
		if end%set.ProgressEvery == 0 {
			report(end, losses[end-1])
		}
	}
	if kept < 0 {
		kept = eng.Kept()
		eng.Weights(net.params, true)
	}
	sol.loss = losses[:epoch:epoch]
	sol.EpochsRun, sol.BestEpoch = epoch, kept
	sol.TrainTime = time.Since(start)
	last := sol.loss[len(sol.loss)-1]
	status := adamStatus(sol.EarlyStop, set.LBFGS+set.LM > 0)
	if stopped != nil {
		status = "stopped: " + ctx.Err().Error()
	}
	sol.Stages = append(sol.Stages, Stage{Name: "adam", Iterations: sol.EpochsRun, Evals: sol.EpochsRun,
		LossBefore: sol.loss[0], LossAfter: sol.loss[sol.BestEpoch], Status: status})
	report(sol.EpochsRun, last)
	return stopped
}

func cloneParams(ps [][]float64) [][]float64 {
	out := make([][]float64, len(ps))
	for i, p := range ps {
		out[i] = slices.Clone(p)
	}
	return out
}

func copyParams(dst, src [][]float64) {
	for i := range dst {
		copy(dst[i], src[i])
	}
}

func adamStatus(early, refine bool) string {
	switch {
	case early && refine:
		return "target reached; L-BFGS and LM skipped"
	case early:
		return "target reached"
	}
	return "epochs done"
}

// refine runs the L-BFGS and Levenberg-Marquardt stages that the settings
// ask for, on RefinePoints fixed times: the midpoints of equal cells of the
// interval, so no time is reused from Adam's grid.
func (sol *Solution) refine(ctx context.Context) error {
	set, p, net := sol.settings, sol.problem, sol.segs[0].net
	if set.LBFGS == 0 && set.LM == 0 {
		return nil
	}
	// Times as τ = t - T0, the network's input (see trainer).
	ts := make([]float64, set.RefinePoints)
	for i := range ts {
		ts[i] = (p.T - p.T0) * (float64(i) + 0.5) / float64(len(ts))
	}
	start := time.Now()
	defer func() { sol.TrainTime += time.Since(start) }()
	if set.LBFGS > 0 {
		lg, err := buildLossGraph(p.H, p.Z0, net, set.RefinePoints, set.Energy, sol.e0, true, true)
		if err != nil {
			return err
		}
		st, err := refineLBFGS(ctx, lg, net, ts, set.Param, 0, set.LBFGS)
		if err != nil && ctx.Err() == nil {
			return err
		}
		sol.Stages = append(sol.Stages, st)
		if err != nil {
			return err
		}
	}
	if set.LM > 0 {
		ev, err := newHamiltonianEvaluator(p.H, len(p.Z0), 64, true)
		if err != nil {
			return err
		}
		lp := newLMProblem(net, ev, ts, p.Z0, 0, set.Param, set.Energy, sol.e0)
		st, err := refineLM(ctx, lp, set.LM)
		if err != nil && ctx.Err() == nil {
			return err
		}
		sol.Stages = append(sol.Stages, st)
		if err != nil {
			return err
		}
	}
	return nil
}

// perturbTimes sets ts = grid + ε, ε ~ N(0, sigma²), reflected at the ends so
// every time stays in [t0, t1]. sigma < 0 keeps the grid.
func perturbTimes(ts, grid []float64, sigma, t0, t1 float64, rng *rand.Rand) {
	if sigma < 0 {
		copy(ts, grid)
		return
	}
	for i, g := range grid {
		t := g + sigma*rng.NormFloat64()
		for range 8 {
			if t < t0 {
				t = 2*t0 - t
			} else if t > t1 {
				t = 2*t1 - t
			} else {
				break
			}
		}
		ts[i] = min(max(t, t0), t1)
	}
}
