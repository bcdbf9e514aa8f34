package hnnsolve

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// trainer holds what one Adam epoch needs, allocated once.
type trainer struct {
	lg          *lossGraph
	opt         *adam
	rng         *rand.Rand
	grid, ts    []float64
	perturb     float64
	t0, t1      float64
	param       Param
	lr0, lrLast float64
	epochs      int
}

func newTrainer(lg *lossGraph, net *network, set Settings, t0, t1 float64, rng *rand.Rand) *trainer {
	k := set.Points
	tr := &trainer{
		lg: lg, rng: rng, perturb: set.Perturb, t0: t0, t1: t1, param: set.Param,
		grid: make([]float64, k), ts: make([]float64, k),
		opt: newAdam(net.params, set.LearnRate, set.Beta1, set.Beta2),
		lr0: set.LearnRate, lrLast: set.LearnRateFinal, epochs: set.Epochs,
	}
	// The times are kept as τ = t - t0 on [0, t1 - t0], the network's own
	// input, so that training does not depend on where the interval lies.
	for i := range tr.grid {
		tr.grid[i] = (t1 - t0) * float64(i) / float64(k-1)
	}
	return tr
}

// loss perturbs the collocation times and evaluates the loss at the
// current weights, accumulating its gradient.
func (tr *trainer) loss() (float64, error) {
	perturbTimes(tr.ts, tr.grid, tr.perturb, 0, tr.t1-tr.t0, tr.rng)
	tr.lg.setTimes(tr.ts, tr.param, 0)
	return tr.lg.run()
}

// step takes the Adam step of the given epoch with the gradient of the
// latest loss.
func (tr *trainer) step(epoch int) error {
	if tr.lrLast > 0 && tr.epochs > 1 {
		tr.opt.lr = tr.lr0 * math.Pow(tr.lrLast/tr.lr0, float64(epoch)/float64(tr.epochs-1))
	}
	grads, err := tr.lg.gradients()
	if err != nil {
		return fmt.Errorf("hnnsolve: epoch %d: %w", epoch, err)
	}
	tr.opt.step(grads)
	return nil
}
