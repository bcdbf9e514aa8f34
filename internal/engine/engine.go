// Package engine is the boundary between hnnsolve's training driver and the
// machinery that runs the training epochs: the CPU's fused network and
// executor (the default), and the GPU engine. The driver in package
// hnnsolve owns the method (stages, chaining, retries, the error checks);
// an engine owns the arithmetic of an epoch and where it runs. Nothing here
// depends on gorgonia.
//
// One epoch e, the paper's training step (Sec. II.A), is: perturb the K
// collocation times τ_n = n (T-T0)/(K-1) + ε_n (ε ~ N(0, Perturb²),
// reflected into [0, T-T0]); evaluate the loss of Eq. 7-8 and its gradient
// at the current weights θ_e; record the loss; keep θ_e if e >= KeepFrom
// and its loss is the lowest kept so far; take one Adam step to θ_{e+1}.
package engine

import (
	"context"
	"math"
)

// Adam holds the optimiser's settings: PyTorch's Adam with the step size
// decaying geometrically from LearnRate at epoch 0 to LearnRateFinal at
// epoch Epochs-1 when LearnRateFinal > 0.
type Adam struct {
	LearnRate, LearnRateFinal float64
	Beta1, Beta2              float64
	Epochs                    int
}

// Rate returns the step size of the given epoch.
func (a Adam) Rate(epoch int) float64 {
	if a.LearnRateFinal > 0 && a.Epochs > 1 {
		return a.LearnRate * math.Pow(a.LearnRateFinal/a.LearnRate, float64(epoch)/float64(a.Epochs-1))
	}
	return a.LearnRate
}

// Trainer runs Adam epochs of one network. The driver calls Run in chunks
// (between progress reports and error checks) and reads the weights between
// chunks; an engine on a device need not return to the host within a chunk.
type Trainer interface {
	// Run trains epochs [from, to) and stores each epoch's loss in
	// losses[e]. It stops after the first epoch whose loss is below
	// targetLoss (> 0), without taking that epoch's step, and keeps its
	// weights if they are the lowest kept; it returns the epoch after the
	// last one done (to, unless it stopped). A non-finite loss stops it
	// with an error wrapping the epoch and the loss. When ctx is done it
	// stops after the epoch in progress, step taken (training can go on
	// from the epoch it returns), and returns ctx.Err().
	Run(ctx context.Context, from, to int, targetLoss float64, losses []float64) (int, error)
	// Kept returns the kept epoch, -1 before any.
	Kept() int
	// Weights copies the current weights θ into dst, in the network's
	// parameter order; with kept, those of the kept epoch, or, when none
	// was kept yet, those of the epoch a stop by ctx ended (the last loss
	// stored).
	Weights(dst [][]float64, kept bool)
}
