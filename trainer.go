package hnnsolve

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"hnnsolve/internal/engine"
)

// cpuTrainer is the CPU engine: a loss evaluator (the loss graph of either
// formulation, on its fused network Op, run by the program of exec.go) and
// Adam, all of an epoch's buffers allocated once. The network's parameter
// slices are its current weights.
type cpuTrainer struct {
	lg       lossEvaluator
	net      *network
	opt      *adam
	sched    engine.Adam
	rng      *rand.Rand
	grid, ts []float64
	perturb  float64
	length   float64 // T - T0: the times are τ = t - T0 in [0, length]
	param    Param
	keepFrom int
	kept     int
	keptLoss float64
	best     [][]float64
	last     [][]float64 // the weights of the epoch a stop ended (see Run)
}

var _ engine.Trainer = (*cpuTrainer)(nil)

func newCPUTrainer(lg lossEvaluator, net *network, set Settings, t0, t1 float64, rng *rand.Rand, keepFrom int) *cpuTrainer {
	k := set.Points
	tr := &cpuTrainer{
		lg: lg, net: net, rng: rng, perturb: set.Perturb, length: t1 - t0, param: set.Param,
		grid: make([]float64, k), ts: make([]float64, k),
		opt:      newAdam(net.params, set.LearnRate, set.Beta1, set.Beta2),
		sched:    engine.Adam{LearnRate: set.LearnRate, LearnRateFinal: set.LearnRateFinal, Beta1: set.Beta1, Beta2: set.Beta2, Epochs: set.Epochs},
		keepFrom: keepFrom, kept: -1, keptLoss: math.Inf(1),
	}
	// The times are kept as τ = t - t0 on [0, t1 - t0], the network's own
	// input, so that training does not depend on where the interval lies.
	for i := range tr.grid {
		tr.grid[i] = tr.length * float64(i) / float64(k-1)
	}
	for _, p := range net.params {
		tr.best = append(tr.best, make([]float64, len(p)))
	}
	return tr
}

// Run implements engine.Trainer.
func (tr *cpuTrainer) Run(ctx context.Context, from, to int, targetLoss float64, losses []float64) (int, error) {
	for epoch := from; epoch < to; epoch++ {
		loss, err := tr.loss()
		if err != nil {
			return epoch, fmt.Errorf("hnnsolve: epoch %d: %w", epoch, err)
		}
		losses[epoch] = loss
		if !isFinite(loss) {
			return epoch, &DivergedError{Epoch: epoch, Loss: loss}
		}
		stop := targetLoss > 0 && loss < targetLoss
		if (epoch >= tr.keepFrom || stop) && loss < tr.keptLoss {
			tr.kept, tr.keptLoss = epoch, loss
			for i, p := range tr.net.params {
				copy(tr.best[i], p)
			}
		}
		if stop {
			return epoch + 1, nil
		}
		if err := ctx.Err(); err != nil {
			// Keep this epoch's weights for Weights, and take the step, so
			// that training can go on from the next epoch (a checkpoint).
			if tr.last == nil {
				tr.last = cloneParams(tr.net.params)
			}
			copyParams(tr.last, tr.net.params)
			if serr := tr.step(epoch); serr != nil {
				return epoch + 1, serr
			}
			return epoch + 1, err
		}
		if err := tr.step(epoch); err != nil {
			return epoch, err
		}
	}
	return to, nil
}

// Kept implements engine.Trainer.
func (tr *cpuTrainer) Kept() int { return tr.kept }

// Weights implements engine.Trainer.
func (tr *cpuTrainer) Weights(dst [][]float64, kept bool) {
	src := tr.net.params
	switch {
	case kept && tr.kept >= 0:
		src = tr.best
	case kept && tr.last != nil:
		src = tr.last
	}
	for i := range dst {
		copy(dst[i], src[i])
	}
}

// loss perturbs the collocation times and evaluates the loss at the
// current weights, accumulating its gradient.
func (tr *cpuTrainer) loss() (float64, error) {
	perturbTimes(tr.ts, tr.grid, tr.perturb, 0, tr.length, tr.rng)
	tr.lg.setTimes(tr.ts, tr.param, 0)
	return tr.lg.run()
}

// step takes the Adam step of the given epoch with the gradient of the
// latest loss.
func (tr *cpuTrainer) step(epoch int) error {
	tr.opt.lr = tr.sched.Rate(epoch)
	grads, err := tr.lg.gradients()
	if err != nil {
		return fmt.Errorf("hnnsolve: epoch %d: %w", epoch, err)
	}
	tr.opt.step(grads)
	return nil
}
