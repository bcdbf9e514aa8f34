package hnnsolve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/optimize"
)

// Stage records one optimisation stage of training.
type Stage struct {
	Segment    int     // which segment of the chain (0 without chaining)
	Try        int     // which try at that segment (Settings.Retries)
	Name       string  // "adam", "lbfgs" or "lm"
	Iterations int     // epochs (Adam) or major iterations (L-BFGS)
	Evals      int     // loss and gradient evaluations
	LossBefore float64 // loss on the stage's own points before it
	LossAfter  float64 // and after it
	Status     string  // why the stage ended
}

// lbfgsObjective is the loss of Eq. 7-8 at fixed times as a function of the
// flattened weights, for gonum/optimize. Func and Grad at the same x share
// one evaluation of the graph.
type lbfgsObjective struct {
	lg    lossEvaluator
	net   *network
	lastX []float64
	loss  float64
	grad  []float64
	evals int
	err   error
}

func (o *lbfgsObjective) eval(x []float64) {
	if o.lastX != nil && slices.Equal(x, o.lastX) {
		return
	}
	off := 0
	for _, p := range o.net.params {
		copy(p, x[off:off+len(p)])
		off += len(p)
	}
	o.evals++
	loss, err := o.lg.run()
	if err == nil && !isFinite(loss) {
		err = &DivergedError{Epoch: -1, Loss: loss}
	}
	grads, gerr := o.lg.gradients()
	if err == nil {
		err = gerr
	}
	if err != nil {
		// Report an infinite loss so the line search backs off; remember why.
		o.err = err
		o.loss = math.Inf(1)
		clear(o.grad)
		o.lastX = append(o.lastX[:0], x...)
		return
	}
	off = 0
	for _, g := range grads {
		copy(o.grad[off:], g)
		off += len(g)
	}
	o.loss = loss
	o.lastX = append(o.lastX[:0], x...)
}

// refineLBFGS minimises the loss at the fixed times ts with L-BFGS (gonum,
// More-Thuente line search, which satisfies the strong Wolfe conditions)
// from the network's current weights, for at most iters major iterations,
// and leaves the best weights found in the network.
// On cancellation by ctx it keeps the best weights found and returns the
// stage with ctx's error.
func refineLBFGS(ctx context.Context, lg lossEvaluator, net *network, ts []float64, param Param, t0 float64, iters int) (Stage, error) {
	lg.setTimes(ts, param, t0)
	o := &lbfgsObjective{lg: lg, net: net, grad: make([]float64, net.numParams())}
	x0 := make([]float64, 0, net.numParams())
	for _, p := range net.params {
		x0 = append(x0, p...)
	}
	o.eval(x0)
	if o.err != nil {
		return Stage{}, o.err
	}
	st := Stage{Name: "lbfgs", LossBefore: o.loss}
	prob := optimize.Problem{
		Func: func(x []float64) float64 { o.eval(x); return o.loss },
		Grad: func(g, x []float64) { o.eval(x); copy(g, o.grad) },
	}
	settings := &optimize.Settings{
		MajorIterations:   iters,
		GradientThreshold: 1e-12,
		Converger:         &optimize.FunctionConverge{Absolute: 0, Relative: 1e-13, Iterations: 50},
		Recorder:          ctxRecorder{ctx},
	}
	res, err := optimize.Minimize(prob, x0, settings, &optimize.LBFGS{Store: 30, Linesearcher: &optimize.MoreThuente{}})
	if res == nil && ctx.Err() != nil {
		// Stopped before the first iteration: the weights are x0's.
		st.LossAfter, st.Evals, st.Status = st.LossBefore, o.evals, "stopped: "+ctx.Err().Error()
		return st, ctx.Err()
	}
	if res == nil {
		return Stage{}, fmt.Errorf("hnnsolve: L-BFGS: %w", err)
	}
	// Minimize returns the best location it visited.
	best := res.X
	if res.F > st.LossBefore || !isFinite(res.F) {
		best = x0
	}
	o.lastX = nil
	o.eval(best)
	st.LossAfter = o.loss
	st.Iterations = res.Stats.MajorIterations
	st.Evals = o.evals
	st.Status = res.Status.String()
	if cerr := ctx.Err(); cerr != nil {
		st.Status = "stopped: " + cerr.Error()
		return st, cerr
	}
	if err != nil && !errors.Is(err, optimize.ErrLinesearcherFailure) && !errors.Is(err, optimize.ErrNoProgress) {
		st.Status += ": " + err.Error()
	}
	return st, nil
}

// ctxRecorder stops gonum's optimisation when its context is done: a
// Recorder's error ends Minimize after the operation in progress.
type ctxRecorder struct{ ctx context.Context }

func (r ctxRecorder) Init() error { return r.ctx.Err() }
func (r ctxRecorder) Record(*optimize.Location, optimize.Operation, *optimize.Stats) error {
	return r.ctx.Err()
}
