package hnnsolve

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ParamHamiltonian builds a Hamiltonian H(q, p, θ) that depends on m
// scalar parameters θ, as a gorgonia expression. q[i], p[i] and theta[j]
// are length-K vectors of one graph, one value per point, as for
// Hamiltonian: in a bundle each point has its own θ. The rules of
// Hamiltonian apply; H is differentiated in q and p only.
type ParamHamiltonian func(q, p, theta []*gorgonia.Node) (*gorgonia.Node, error)

// BundleProblem is a family of initial value problems ż = J ∇H(z; θ)
// (Eq. 3) on [T0, T], one for each member: an initial state z0 in the box
// [Z0Min, Z0Max] and parameters θ in the box [ThetaMin, ThetaMax]. A
// bundle of them is solved by one network (Flamant, Protopapas and Sondak,
// solution bundles; the paper's ref. [6]).
type BundleProblem struct {
	// H is the parametrised Hamiltonian.
	H ParamHamiltonian
	// Z0Min and Z0Max bound the initial states, coordinate by coordinate:
	// len 2d, d >= 1, Z0Min[i] <= Z0Max[i]. A coordinate with
	// Z0Min[i] = Z0Max[i] is fixed.
	Z0Min, Z0Max []float64
	// ThetaMin and ThetaMax bound θ likewise (both empty: H has no
	// parameters).
	ThetaMin, ThetaMax []float64
	// T0 and T bound the time interval, T > T0.
	T0, T float64
}

// dim is the phase-space dimension 2d; params is m, the length of θ.
func (p BundleProblem) dim() int    { return len(p.Z0Min) }
func (p BundleProblem) params() int { return len(p.ThetaMin) }

// validate checks the BundleProblem.
func (p BundleProblem) validate() error {
	if p.H == nil {
		return fmt.Errorf("%w: H is nil", ErrHamiltonian)
	}
	if len(p.Z0Min) == 0 || len(p.Z0Min)%2 != 0 {
		return fmt.Errorf("%w: Z0Min has length %d, want 2d with d >= 1", ErrProblem, len(p.Z0Min))
	}
	if err := checkInterval(p.T0, p.T); err != nil {
		return err
	}
	if err := checkBox("Z0", p.Z0Min, p.Z0Max); err != nil {
		return err
	}
	return checkBox("Theta", p.ThetaMin, p.ThetaMax)
}

// checkBox checks the box [lo, hi]: equal lengths, finite, not reversed.
func checkBox(name string, lo, hi []float64) error {
	if len(lo) != len(hi) {
		return fmt.Errorf("%w: %sMin has %d entries and %sMax %d", ErrProblem, name, len(lo), name, len(hi))
	}
	for i := range lo {
		if !isFinite(lo[i]) || !isFinite(hi[i]) {
			return fmt.Errorf("%w: %s box [%v, %v] in coordinate %d is not finite", ErrProblem, name, lo[i], hi[i], i)
		}
		if !(lo[i] <= hi[i]) {
			return fmt.Errorf("%w: %s box [%v, %v] in coordinate %d is reversed, want %sMin <= %sMax", ErrProblem, name, lo[i], hi[i], i, name, name)
		}
		if math.IsInf(hi[i]-lo[i], 0) {
			return fmt.Errorf("%w: %s box [%v, %v] in coordinate %d is wider than the largest float64", ErrProblem, name, lo[i], hi[i], i)
		}
	}
	return nil
}

// Bundle is a trained solution bundle: one network per segment of [T0, T]
// whose trial solution
//
//	ẑ(t; z0, θ) = S_k + f(τ) N_k(τ, u_k(S_k, θ)),  τ = t - t_k,  t in [t_k, t_{k+1}]
//
// solves every member of the BundleProblem, with S_0 = z0 and
// S_k = ẑ(t_k; z0, θ), the end state of the segment before (time-domain
// chaining): every member holds its initial state exactly (Eq. 6) and is
// continuous at the segment boundaries. Each network sees the member
// through its own start state: u_k maps (S_k, θ) affinely to about
// [-1, 1], from the box of initial states and parameters for k = 0 and
// from the range the start states S_k take over the box for k > 0 (a
// fixed coordinate to 0). So each network learns the flow over one short
// segment from where the segment starts, which stays as simple along the
// chain as at its start, instead of the flow from t = T0, which the
// dynamics shears as t grows. Its methods are safe for concurrent use.
//
// The methods refuse a member outside the boxes or a time outside
// [T0, T] with an error wrapping ErrProblem, unless Extrapolate is set:
// the network's formula is then evaluated there, without any accuracy.
type Bundle struct {
	// Extrapolate lets the methods evaluate members outside the boxes and
	// times outside [T0, T].
	Extrapolate bool
	// Device is where AtMembers evaluates: CPU (the default), or CUDA in
	// a build with -tags gpu on a machine with a GPU (else AtMembers
	// returns an error wrapping ErrDevice). Training is on the CPU.
	Device Device
	// EpochsRun is the number of Adam epochs trained, all segments.
	EpochsRun int
	// TrainTime is the wall time of training, all stages and segments.
	TrainTime time.Duration
	// Stages records each optimisation stage of each segment.
	Stages []Stage

	problem  BundleProblem
	settings Settings
	segs     []bundleSegment
	loss     []float64
	// the affine map of the training box to [-1, 1], segment 0's input
	// map, and the training box (see DefaultBundleMargin)
	mid, scale       []float64
	trainLo, trainHi []float64
}

// bundleSegment is one network of the chain, the interval it solves and
// its input map: u_i = (v_i - mid_i) scale_i for v = (S, θ).
type bundleSegment struct {
	t0, t1     float64
	net        *network
	mid, scale []float64
}

// inputs writes u(s, θ) into u.
func (sg *bundleSegment) inputs(u, s, theta []float64) {
	d := len(s)
	for i, v := range s {
		u[i] = (v - sg.mid[i]) * sg.scale[i]
	}
	for j, v := range theta {
		u[d+j] = (v - sg.mid[d+j]) * sg.scale[d+j]
	}
}

// Problem returns the problem that was solved.
func (b *Bundle) Problem() BundleProblem {
	p := b.problem
	p.Z0Min, p.Z0Max = slices.Clone(p.Z0Min), slices.Clone(p.Z0Max)
	p.ThetaMin, p.ThetaMax = slices.Clone(p.ThetaMin), slices.Clone(p.ThetaMax)
	return p
}

// Settings returns the settings used, defaults filled in.
func (b *Bundle) Settings() Settings {
	r := b.settings
	r.Hidden = slices.Clone(r.Hidden)
	return r
}

// Loss returns the Adam loss of every epoch trained, segment after segment.
func (b *Bundle) Loss() []float64 { return slices.Clone(b.loss) }

// Segments returns the boundaries of the chained segments, T0 = b[0] <
// ... < b[len-1] = T (nil for a zero Bundle).
func (b *Bundle) Segments() []float64 {
	if len(b.segs) == 0 {
		return nil
	}
	s := []float64{b.segs[0].t0}
	for _, sg := range b.segs {
		s = append(s, sg.t1)
	}
	return s
}

// DefaultBundleMargin is Settings.BundleMargin's default: the boxes are
// widened on each side by this fraction of their width for training, so
// that the points drawn surround every member of the box, whose error
// would otherwise be largest on its faces and corners, where the fit is
// constrained from one side only.
const DefaultBundleMargin = 0.1

// margin is the bundle's Settings.BundleMargin, resolved.
func (b *Bundle) margin() float64 {
	if b.settings.BundleMargin == 0 {
		return DefaultBundleMargin
	}
	return b.settings.BundleMargin
}

// newInputMap sets the training box, the boxes widened by the margin, and
// its affine map to [-1, 1], u = (v - mid) scale: segment 0's input map.
func (b *Bundle) newInputMap() {
	p := b.problem
	margin := b.margin()
	lo, hi := append(slices.Clone(p.Z0Min), p.ThetaMin...), append(slices.Clone(p.Z0Max), p.ThetaMax...)
	b.mid, b.scale = make([]float64, len(lo)), make([]float64, len(lo))
	b.trainLo, b.trainHi = make([]float64, len(lo)), make([]float64, len(lo))
	for i := range lo {
		w := hi[i] - lo[i]
		b.trainLo[i], b.trainHi[i] = lo[i]-margin*w, hi[i]+margin*w
		b.mid[i] = lo[i] + w/2
		if w > 0 {
			b.scale[i] = 2 / ((1 + 2*margin) * w)
		}
	}
}

// drawMember writes a member drawn uniformly from the training box into row.
func (b *Bundle) drawMember(row []float64, rng *rand.Rand) {
	for c := range row {
		row[c] = b.trainLo[c] + (b.trainHi[c]-b.trainLo[c])*rng.Float64()
	}
}

// SolveBundle trains a solution bundle for p: networks N_k(τ, S_k, θ) whose
// trial solutions (see Bundle) satisfy Hamilton's equations for every
// member, by minimising the loss of Eq. 7 (and Eq. 8 with each member's own
// E0 = H(z0; θ) when Settings.Energy > 0),
//
//	L = 1/K Σ_n |ż(t_n; z0_n, θ_n) - J ∇H(ẑ_n; θ_n)|² + λ/K Σ_n (H(ẑ_n; θ_n) - H(z0_n; θ_n))²,
//
// over K points whose times are perturbed as in Solve and whose members
// (z0_n, θ_n) are drawn uniformly from the boxes widened on each side by
// BundleMargin (10% of their width by default, so that the fit holds as
// well on the boxes' faces as inside), all anew every epoch.
// The stages are Solve's: Adam (Epochs, LearnRate, LearnRateFinal, Beta1,
// Beta2, Perturb), then L-BFGS and Levenberg-Marquardt on RefinePoints
// fixed points (midpoint times, members drawn once), segment by segment
// (Segments): segment k is trained with the earlier segments fixed, on the
// start states S_k they give. Points, Hidden, Activation, Param, Seed,
// TargetLoss and Progress mean what they mean for Solve (Progress.Problem
// is the segment being trained). TargetError,
// Retries, Checkpoint and a Device other than CPU are not supported for
// bundles (an error wrapping ErrSettings). s == nil takes Solve's defaults.
func SolveBundle(p BundleProblem, s *Settings) (*Bundle, error) {
	return SolveBundleContext(context.Background(), p, s)
}

// SolveBundleContext is SolveBundle, stopped by ctx: on cancellation it
// returns an error wrapping ctx.Err() and no Bundle.
func SolveBundleContext(ctx context.Context, p BundleProblem, s *Settings) (b *Bundle, err error) {
	defer recoverGorgonia(&err, ErrHamiltonian)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hnnsolve: not started: %w", err)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	set, err := s.resolve(Problem{T0: p.T0, T: p.T})
	if err != nil {
		return nil, err
	}
	switch {
	case set.TargetError > 0:
		return nil, fmt.Errorf("%w: TargetError is not supported for bundles", ErrSettings)
	case set.Retries > 0:
		return nil, fmt.Errorf("%w: Retries is not supported for bundles", ErrSettings)
	case set.Checkpoint.Path != "":
		return nil, fmt.Errorf("%w: Checkpoint is not supported for bundles", ErrSettings)
	case set.Device != CPU:
		return nil, fmt.Errorf("%w: bundles train on the CPU only, not %v", ErrSettings, set.Device)
	}
	b = &Bundle{problem: p.cloned(), settings: set}
	b.settings.BundleMargin = b.margin() // saved with the bundle
	b.newInputMap()
	if err := b.checkEnergy(); err != nil {
		return nil, err
	}
	pcg := rand.NewPCG(uint64(set.Seed), 0x9e3779b97f4a7c15)
	rng := rand.New(pcg)
	start := time.Now()
	for k := range set.Segments {
		t0 := p.T0 + (p.T-p.T0)*float64(k)/float64(set.Segments)
		t1 := p.T0 + (p.T-p.T0)*float64(k+1)/float64(set.Segments)
		if k == set.Segments-1 {
			t1 = p.T
		}
		if err := b.trainSegment(ctx, k, t0, t1, rng); err != nil {
			if set.Segments > 1 {
				return nil, fmt.Errorf("segment %d [%v, %v]: %w", k, t0, t1, err)
			}
			return nil, err
		}
	}
	b.TrainTime = time.Since(start)
	return b, nil
}

func (p BundleProblem) cloned() BundleProblem {
	p.Z0Min, p.Z0Max = slices.Clone(p.Z0Min), slices.Clone(p.Z0Max)
	p.ThetaMin, p.ThetaMax = slices.Clone(p.ThetaMin), slices.Clone(p.ThetaMax)
	return p
}

// checkEnergy evaluates H at the training box's centre and corners (at
// most 64 of them) and checks it and ∇H are finite there: an H that fails
// or is singular in the box is refused before training.
func (b *Bundle) checkEnergy() error {
	p := b.problem
	dim, m := p.dim(), p.params()
	ev, err := newParamEvaluator(p.H, dim, m, 64, false)
	if err != nil {
		return err
	}
	n := dim + m
	var rows [][]float64
	rows = append(rows, slices.Clone(b.mid))
	for c := 0; c < 1<<min(n, 6); c++ {
		row := make([]float64, n)
		for i := range row {
			row[i] = b.mid[i]
			if i < 6 && b.scale[i] != 0 {
				row[i] += float64(2*(c>>i&1)-1) / b.scale[i]
			}
		}
		rows = append(rows, row)
	}
	e, g := make([]float64, len(rows)), make([]float64, len(rows)*dim)
	if err := ev.eval(rows, e, g, nil); err != nil {
		return err
	}
	for i, row := range rows {
		if !isFinite(e[i]) {
			return fmt.Errorf("%w: H(z0; θ) = %v at (z0, θ) = %v in the box is not finite", ErrHamiltonian, e[i], row)
		}
		if err := checkDerivative("∂H/∂", g[i*dim:(i+1)*dim], dim, row[:dim]); err != nil {
			return err
		}
	}
	return nil
}

// trainSegment trains the network of segment k on [t0, t1] and appends it.
func (b *Bundle) trainSegment(ctx context.Context, k int, t0, t1 float64, rng *rand.Rand) error {
	set, p := b.settings, b.problem
	dim, m := p.dim(), p.params()
	net := newWideNetwork(1+dim+m, set.Hidden, dim, set.Activation)
	net.init(rng)
	sg := bundleSegment{t0: t0, t1: t1, net: net}
	sg.mid, sg.scale = b.startMap(rng)
	lg, err := newBundleLoss(b, sg, set.Points, set.Energy, rng)
	if err != nil {
		return err
	}
	keepFrom := set.Epochs - max(set.Epochs/5, 1)
	tr := newCPUTrainer(lg, net, set, t0, t1, rng, keepFrom)
	losses := make([]float64, set.Epochs)
	start := time.Now()
	epoch, early := 0, false
	for epoch < set.Epochs {
		next := min(epoch+set.ProgressEvery, set.Epochs)
		end, err := tr.Run(ctx, epoch, next, set.TargetLoss, losses)
		if err != nil {
			return err
		}
		epoch = end
		if set.Progress != nil {
			set.Progress(Progress{Epoch: epoch, Epochs: set.Epochs, Loss: losses[epoch-1], MinLoss: slices.Min(losses[:epoch]), Elapsed: time.Since(start), Problem: k})
		}
		if end < next {
			early = true
			break
		}
	}
	kept := tr.Kept()
	tr.Weights(net.params, true)
	b.loss = append(b.loss, losses[:epoch]...)
	b.EpochsRun += epoch
	b.Stages = append(b.Stages, Stage{Segment: k, Name: "adam", Iterations: epoch, Evals: epoch,
		LossBefore: losses[0], LossAfter: losses[max(kept, 0)], Status: adamStatus(early, set.LBFGS+set.LM > 0)})
	b.segs = append(b.segs, sg)
	if early {
		return nil
	}
	return b.refineSegment(ctx, k, rng)
}

// startMapMembers is the number of random members whose start states
// give the range of the next segment's input map.
const startMapMembers = 4096

// startMap returns the input map of the segment that continues b's chain:
// the boxes' own for the first; for a later one, the range of the start
// states S_k over startMapMembers members drawn from the training box,
// widened by 10% on each side, since the sample's range falls short of the
// image of the box.
func (b *Bundle) startMap(rng *rand.Rand) (mid, scale []float64) {
	mid, scale = slices.Clone(b.mid), slices.Clone(b.scale)
	if len(b.segs) == 0 {
		return mid, scale
	}
	p := b.problem
	dim := p.dim()
	n := len(b.mid)
	rows := make([]float64, startMapMembers*n)
	ts := make([]float64, startMapMembers)
	for i := range ts {
		b.drawMember(rows[i*n:(i+1)*n], rng)
		ts[i] = b.segs[len(b.segs)-1].t1
	}
	s := make([]float64, startMapMembers*dim)
	newBundleEvaluator(b, b.segs, bundleChunk).states(ts, rows, s)
	for c := range dim {
		smin, smax := math.Inf(1), math.Inf(-1)
		for i := range ts {
			smin, smax = math.Min(smin, s[i*dim+c]), math.Max(smax, s[i*dim+c])
		}
		mid[c], scale[c] = smin+(smax-smin)/2, 0
		if w := 1.2 * (smax - smin); w > 0 {
			scale[c] = 2 / w
		}
	}
	return mid, scale
}

// refineSegment runs the L-BFGS and Levenberg-Marquardt stages on the
// last segment, at RefinePoints fixed points: the midpoints of equal cells
// of the segment's interval, each with a member drawn once.
func (b *Bundle) refineSegment(ctx context.Context, k int, rng *rand.Rand) error {
	set := b.settings
	if set.LBFGS == 0 && set.LM == 0 {
		return nil
	}
	sg := b.segs[k]
	ts := make([]float64, set.RefinePoints)
	for i := range ts {
		ts[i] = (sg.t1 - sg.t0) * (float64(i) + 0.5) / float64(len(ts))
	}
	b.segs = b.segs[:k] // the chain before the segment gives its start states
	lg, err := newBundleLoss(b, sg, set.RefinePoints, set.Energy, rng)
	b.segs = append(b.segs, sg)
	if err != nil {
		return err
	}
	lg.setTimes(ts, set.Param, 0) // draws the members, once
	if err := lg.err; err != nil {
		return err
	}
	if set.LBFGS > 0 {
		st, err := refineLBFGS(ctx, lg, sg.net, ts, set.Param, 0, set.LBFGS)
		if err != nil {
			return err
		}
		st.Segment = k
		b.Stages = append(b.Stages, st)
	}
	if set.LM > 0 {
		lp, err := newBundleLM(b, lg, ts)
		if err != nil {
			return err
		}
		st, err := refineLM(ctx, lp, set.LM, lmStop{})
		if err != nil {
			return err
		}
		st.Segment = k
		b.Stages = append(b.Stages, st)
	}
	return nil
}

// newThetaInputs returns the m parameter inputs θ_j of a parametrised H in
// g, length-k vectors.
func newThetaInputs(g *gorgonia.ExprGraph, m, k int) []*gorgonia.Node {
	theta := make([]*gorgonia.Node, m)
	for j := range theta {
		theta[j] = gorgonia.NewVector(g, tensor.Float64, gorgonia.WithShape(k), gorgonia.WithName(fmt.Sprintf("theta%d", j)),
			gorgonia.WithValue(tensor.New(tensor.WithShape(k), tensor.WithBacking(make([]float64, k)))))
	}
	return theta
}
