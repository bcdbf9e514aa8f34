package hnnsolve

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// run is one training run of Solve or Resume: the chain being built, the
// random source that every stage draws from, and where training stands,
// which is what a checkpoint saves (checkpoint.go).
type run struct {
	ctx    context.Context
	p      Problem
	form   formulation
	set    Settings
	pcg    *rand.PCG
	rng    *rand.Rand
	chain  *Solution
	resume *ckState // the checkpoint continued from, consumed as training reaches its point

	// Where training stands.
	segment int
	start   []float64 // the current segment's initial state
	try     int
	acc     *tryAcc

	// The TargetError recipe (recipe.go): its way of stopping LM.
	lmStop lmStop
}

// tryAcc accumulates the tries of one segment (Settings.Retries).
type tryAcc struct {
	best     *Solution
	bestLoss float64
	stages   []Stage
	losses   []float64
	epochs   int
	time     time.Duration
}

// Training phases of one try, in order: a checkpoint names the phase about
// to start (or, for Adam, in progress).
const (
	phaseTry   = "try" // before the network is initialised
	phaseAdam  = "adam"
	phaseLBFGS = "lbfgs"
	phaseLM    = "lm"
)

var phaseOrder = map[string]int{phaseTry: 0, phaseAdam: 1, phaseLBFGS: 2, phaseLM: 3}

func newRun(ctx context.Context, p Problem, form formulation, set Settings, e0 float64, ev *hamiltonianEvaluator) *run {
	pcg := rand.NewPCG(uint64(set.Seed), 0x9e3779b97f4a7c15)
	return &run{
		ctx: ctx, p: p, form: form, set: set, pcg: pcg, rng: rand.New(pcg),
		chain: &Solution{
			problem:  Problem{H: p.H, Z0: slices.Clone(p.Z0), T0: p.T0, T: p.T},
			settings: set,
			form:     form,
			e0:       e0,
			eval:     ev,
		},
	}
}

// solve trains the chain of segments and returns it.
//
// Time-domain chaining: segment i starts from the end state of segment i-1,
// which its trial solution then holds exactly (Eq. 6); its error enters the
// next segment as an initial error, carried by the flow of the linearised
// Eq. 18.
func (r *run) solve() (*Solution, error) {
	if r.set.adaptive {
		return r.solveAdaptive()
	}
	p, set, sol := r.p, r.set, r.chain
	z, first := slices.Clone(p.Z0), 0
	if c := r.resume; c != nil {
		z, first = slices.Clone(c.Start), c.Segment
	}
	for i := first; i < set.Segments; i++ {
		t0 := p.T0 + (p.T-p.T0)*float64(i)/float64(set.Segments)
		t1 := p.T0 + (p.T-p.T0)*float64(i+1)/float64(set.Segments)
		if i == set.Segments-1 {
			t1 = p.T
		}
		seg, err := r.trainSegment(Problem{H: p.H, Z0: z, T0: t0, T: t1}, i)
		if err != nil && r.ctx.Err() != nil && len(sol.segs) > 0 {
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
		if c, ok := r.form.(segmentChecker); ok {
			if err := c.checkSegment(seg); err != nil {
				if set.Segments > 1 {
					return nil, fmt.Errorf("segment %d [%v, %v]: %w", i, t0, t1, err)
				}
				return nil, err
			}
		}
		z = seg.At(t1)
		if err := checkState(z); err != nil {
			return nil, fmt.Errorf("%w: end state of segment %d: %w", ErrDiverged, i, err)
		}
	}
	return sol, nil
}

// trainSegment trains one network on the segment problem sp (the whole
// interval without chaining), retrying as Settings.Retries asks, and
// appends the best try to the chain. It returns a Solution of that segment
// alone. On cancellation it appends the best network trained so far (a
// finished try or the interrupted one) and returns the error.
func (r *run) trainSegment(sp Problem, index int) (*Solution, error) {
	set := r.set
	acc, first := &tryAcc{bestLoss: math.Inf(1)}, 0
	if c := r.resume; c != nil {
		var err error
		if acc, err = c.Tries.restore(r, sp); err != nil {
			return nil, err
		}
		first = c.Try
	}
	r.segment, r.start, r.acc = index, sp.Z0, acc
	var stopped error
	for try := first; try <= set.Retries && stopped == nil; try++ {
		r.try = try
		cand, err := r.fitSegment(sp)
		if err != nil && (cand == nil || r.ctx.Err() == nil) {
			return nil, err
		}
		stopped = err
		l := finalLoss(cand)
		for i := range cand.Stages {
			cand.Stages[i].Try = try
		}
		acc.stages, acc.losses = append(acc.stages, cand.Stages...), append(acc.losses, cand.loss...)
		acc.epochs, acc.time = acc.epochs+cand.EpochsRun, acc.time+cand.TrainTime
		if acc.best == nil || l < acc.bestLoss {
			acc.best, acc.bestLoss = cand, l
		}
		if set.RetryLoss > 0 && l <= set.RetryLoss {
			break
		}
	}
	seg := acc.best
	seg.Stages, seg.loss, seg.EpochsRun, seg.TrainTime = acc.stages, acc.losses, acc.epochs, acc.time
	r.chain.appendSegment(seg, index)
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

// newSegmentSolution returns the Solution of one try on the segment
// problem sp with the network net.
func (r *run) newSegmentSolution(sp Problem, net *network) *Solution {
	return &Solution{
		problem: sp, settings: r.set, form: r.form, e0: r.chain.e0, eval: r.chain.eval,
		segs: []segment{{t0: sp.T0, t1: sp.T, z0: slices.Clone(sp.Z0), net: net}},
	}
}

// fitSegment trains one network, Adam then the refinement stages, on the
// segment problem sp. On cancellation it returns the network as trained so
// far and the error.
func (r *run) fitSegment(sp Problem) (*Solution, error) {
	set := r.set
	c := r.resume
	r.resume = nil // what follows this point runs afresh
	var seg *Solution
	var resumeAdam *ckAdam
	phase := phaseAdam
	if c != nil && c.Phase != phaseTry {
		var err error
		if seg, err = c.Cand.restore(r, sp); err != nil {
			return nil, err
		}
		phase, resumeAdam = c.Phase, c.Adam
	} else {
		if err := r.save(phaseTry, nil, nil); err != nil {
			return nil, err
		}
		net := newNetwork(set.Hidden, r.form.outputs(len(sp.Z0)), set.Activation)
		net.init(r.rng)
		seg = r.newSegmentSolution(sp, net)
	}
	if phase == phaseAdam {
		lg, err := r.form.newLoss(sp, seg.segs[0].net, set.Points, set.Energy, seg.e0, true, true)
		if err != nil {
			return nil, err
		}
		if err := r.train(seg, lg, resumeAdam); err != nil {
			if r.ctx.Err() != nil && len(seg.Stages) > 0 {
				return seg, err
			}
			return nil, err
		}
	}
	if !seg.EarlyStop {
		if err := r.refine(seg, phase); err != nil {
			if r.ctx.Err() != nil {
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

// train runs Adam on the segment Solution sol through the engine of
// Settings.Device and leaves the kept weights in its network: the driver
// runs the engine in chunks between progress reports, TargetError checks
// and checkpoints. With a (not nil) it continues from that checkpoint.
func (r *run) train(sol *Solution, lg lossEvaluator, a *ckAdam) error {
	ctx, set, net := r.ctx, r.set, sol.segs[0].net
	// The kept weights are the best of the last 20% of the epochs, and of at
	// least the last one: with Epochs < 5, Epochs/5 is 0.
	keepFrom := set.Epochs - max(set.Epochs/5, 1)
	eng, err := sol.newTrainer(lg, net, r.rng, keepFrom)
	if err != nil {
		return err
	}
	tc, err := newTargetChecker(sol)
	if err != nil {
		return err
	}
	var losses []float64 // grown chunk by chunk: Epochs may be far more than a run will do
	minLoss := math.Inf(1)
	epoch, kept := 0, -1
	var spent time.Duration
	if a != nil {
		if epoch, losses, minLoss, spent, err = a.restore(eng, net, tc); err != nil {
			return err
		}
	}
	start := time.Now()
	report := func(epoch int, loss float64) {
		if set.Progress != nil {
			set.Progress(Progress{Epoch: epoch, Epochs: set.Epochs, Loss: loss, MinLoss: minLoss, Elapsed: spent + time.Since(start)})
		}
	}
	every := set.Checkpoint.Every
	var stopped error
	for epoch < set.Epochs {
		if set.Checkpoint.Path != "" && epoch > 0 && epoch%every == 0 {
			eng.Weights(net.params, false)
			state, err := newCkAdam(eng, net, tc, epoch, losses, minLoss, spent+time.Since(start))
			if err == nil {
				err = r.save(phaseAdam, sol, state)
			}
			if err != nil {
				return err
			}
		}
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
		if set.Checkpoint.Path != "" {
			next = min(next, (epoch/every+1)*every)
		}
		losses = slices.Grow(losses, next-epoch)[:next]
		end, err := eng.Run(ctx, epoch, next, set.TargetLoss, losses)
		if err != nil && ctx.Err() != nil && end > 0 {
			// Stopped: a final checkpoint where training stands, then the
			// kept weights, or those of the last recorded loss if none was
			// kept yet.
			stopped = err
			for _, l := range losses[epoch:end] {
				minLoss = min(minLoss, l)
			}
			epoch = end
			if set.Checkpoint.Path != "" {
				eng.Weights(net.params, false)
				state, err := newCkAdam(eng, net, tc, epoch, losses, minLoss, spent+time.Since(start))
				if err == nil {
					err = r.save(phaseAdam, sol, state)
				}
				if err != nil {
					return err
				}
			}
			if kept = eng.Kept(); kept < 0 {
				kept = end - 1
			}
			eng.Weights(net.params, true)
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
	sol.TrainTime = spent + time.Since(start)
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
// ask for on the segment Solution sol, from the given phase on, on
// RefinePoints fixed times: the midpoints of equal cells of the interval,
// so no time is reused from Adam's grid. A checkpoint is written as each
// stage starts (a stage interrupted is done again from its start).
func (r *run) refine(sol *Solution, from string) error {
	ctx, set, p, net := r.ctx, r.set, sol.problem, sol.segs[0].net
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
	if set.LBFGS > 0 && phaseOrder[from] <= phaseOrder[phaseLBFGS] {
		if err := r.save(phaseLBFGS, sol, nil); err != nil {
			return err
		}
		lg, err := r.form.newLoss(p, net, set.RefinePoints, set.Energy, sol.e0, true, true)
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
		if err := r.save(phaseLM, sol, nil); err != nil {
			return err
		}
		lp, err := r.form.newLM(p, net, ts, set.Param, set.Energy, sol.e0)
		if err != nil {
			return err
		}
		st, err := refineLM(ctx, lp, set.LM, r.lmStop)
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
