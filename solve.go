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
	// TargetError, if > 0, asks for that error. Alone, that is with
	// Segments, Epochs, LBFGS, LM and Retries all zero, it drives the whole
	// recipe (recipe.go): a chain of small networks whose segment lengths,
	// stage lengths and retries are chosen and adapted so that the
	// integrated Eq. 18 estimate over [T0, T] meets it; Solution.Recipe
	// records the decisions, and a target not met gives an error wrapping
	// ErrTarget with the best Solution. The other fields given still
	// apply (Points, Hidden, Energy, Seed, ...). With any of those five
	// fields set, it only stops the training of the single network as soon
	// as the error figure chosen by TargetCheck (default TargetEq18, the
	// integrated Eq. 18; see errorbound.go) falls below it, checked every
	// CheckEvery epochs (DefaultCheckEvery) on 10×Points+1 equally spaced
	// times. The weights that met the target are kept; Solution.Target
	// records the checks.
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
	// BundleMargin is for SolveBundle only: the members drawn for training
	// fill the boxes widened on each side by this fraction of their width
	// (0: DefaultBundleMargin), so that every member of the boxes, on their
	// faces too, is surrounded by training points. At most 1.
	BundleMargin float64
	// Device is where the training epochs run (CPU).
	Device Device
	// Checkpoint, if its Path is set, writes the training state as it goes,
	// for Resume (see Checkpoint).
	Checkpoint Checkpoint
	// Progress, if not nil, is called every ProgressEvery epochs (100) and
	// at the end of training.
	Progress      func(Progress)
	ProgressEvery int

	// adaptive: TargetError drives the recipe (set by resolve).
	adaptive bool
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
	if s != nil && s.isAdaptive() {
		return s.resolveAdaptive(p)
	}
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
	case !(r.BundleMargin >= 0 && r.BundleMargin <= 1):
		return bad("BundleMargin = %v, want 0 to 1", r.BundleMargin)
	case r.ProgressEvery < 1:
		return bad("ProgressEvery = %d, want >= 1", r.ProgressEvery)
	case !r.Activation.valid():
		return bad("unknown %v", r.Activation)
	case !r.Param.valid():
		return bad("unknown %v", r.Param)
	case !r.Device.valid():
		return bad("unknown %v", r.Device)
	case r.Device != CPU && r.Checkpoint.Path != "":
		// The device's Adam state stays on the device.
		return bad("checkpoints need Device CPU, not %v", r.Device)
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
	switch {
	case r.Checkpoint.Every < 0:
		return bad("Checkpoint.Every = %d, want >= 1 (or 0 for 1000)", r.Checkpoint.Every)
	case r.Checkpoint.Every == 0:
		r.Checkpoint.Every = 1000
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
	return checkInterval(p.T0, p.T)
}

// checkInterval checks the time interval [t0, t1] of a problem.
func checkInterval(t0, t1 float64) error {
	if !isFinite(t0) || !isFinite(t1) {
		return fmt.Errorf("%w: interval [%v, %v] is not finite", ErrProblem, t0, t1)
	}
	if !(t1 > t0) {
		return fmt.Errorf("%w: interval [%v, %v] is empty or reversed, want T > T0", ErrProblem, t0, t1)
	}
	length := t1 - t0
	if math.IsInf(length, 0) {
		return fmt.Errorf("%w: interval [%v, %v] is longer than the largest float64", ErrProblem, t0, t1)
	}
	// The network sees τ = t - T0; times in [T0, T] carry a rounding error of
	// ulp(max |t|), which must stay far below the interval's length.
	if span := math.Max(math.Abs(t0), math.Abs(t1)); length < minRelativeLength*span {
		return fmt.Errorf("%w: interval [%v, %v] is too short for where it lies: float64 times resolve only %.2g of its length",
			ErrProblem, t0, t1, (math.Nextafter(span, math.Inf(1))-span)/length)
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
func SolveContext(ctx context.Context, p Problem, s *Settings) (*Solution, error) {
	return solve(ctx, p, s, nil)
}

// solve is SolveContext, for a member of a SolveBatch on a device when
// member is not nil (SolveBatch has then checked the device).
func solve(ctx context.Context, p Problem, s *Settings, member *batchMember) (sol *Solution, err error) {
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
	if member == nil {
		if err := openDevice(set.Device); err != nil {
			return nil, err
		}
	}
	e0, ev, err := p.energyAt()
	if err != nil {
		return nil, err
	}
	r := newRun(ctx, p, hamiltonianForm{}, set, e0, ev)
	r.member = member
	return r.solve()
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

// isAdaptive reports whether TargetError alone is to drive the recipe.
func (s *Settings) isAdaptive() bool {
	return s.TargetError > 0 && s.Segments == 0 && s.Epochs == 0 && s.LBFGS == 0 && s.LM == 0 && s.Retries == 0
}
