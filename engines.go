package hnnsolve

import (
	"math/rand/v2"

	"hnnsolve/internal/engine"
)

// newTrainer returns the engine that trains the network net of the segment
// Solution sol with Adam on Settings.Device: the CPU engine on the loss
// evaluator lg, or the device's own (newDeviceTrainer, in device_*.go), which
// starts from net's weights and writes the kept ones back through Weights.
func (sol *Solution) newTrainer(lg lossEvaluator, net *network, rng *rand.Rand, keepFrom int) (engine.Trainer, error) {
	set, p := sol.settings, sol.problem
	if set.Device == CPU {
		return newCPUTrainer(lg, net, set, p.T0, p.T, rng, keepFrom), nil
	}
	return newDeviceTrainer(sol, net, rng, keepFrom)
}
