package hnnsolve

import "hnnsolve/internal/engine"

// newTrainer returns the engine that trains the network net of the segment
// Solution sol with Adam on Settings.Device: the CPU engine on the loss
// evaluator lg; for a member of a SolveBatch on a device, its slot of the
// batch's engine (batchgpu.go); or the device's own engine for this
// network (newDeviceTrainer, in device_*.go). A device's engine starts from
// net's weights and writes the kept ones back through Weights.
func (r *run) newTrainer(sol *Solution, lg lossEvaluator, net *network, keepFrom int) (engine.Trainer, error) {
	set, p := sol.settings, sol.problem
	switch {
	case set.Device == CPU:
		return newCPUTrainer(lg, net, set, p.T0, p.T, r.rng, keepFrom), nil
	case r.member != nil:
		return r.member.trainer(sol, net, r.rng, keepFrom)
	}
	return newDeviceTrainer(sol, net, r.rng, keepFrom)
}
