//go:build !gpu

package hnnsolve

import (
	"fmt"
	"math/rand/v2"

	"hnnsolve/internal/engine"
	"hnnsolve/internal/gpu"
)

// openDevice checks that training can run on d.
func openDevice(d Device) error {
	if d == CPU {
		return nil
	}
	return fmt.Errorf("%w: %v: this build has no GPU engine (build with -tags gpu)", ErrDevice, d)
}

// newDeviceTrainer is never reached in this build: openDevice refuses every
// device but the CPU before training.
func newDeviceTrainer(sol *Solution, _ *network, _ *rand.Rand, _ int) (engine.Trainer, error) {
	return nil, openDevice(sol.settings.Device)
}

// newBatchEngine is never reached in this build either.
func newBatchEngine(gpu.Config) (*gpu.Engine, error) { return nil, openDevice(CUDA) }

// openBundleDevice refuses every device but the CPU, which never reaches
// it, in this build.
func openBundleDevice(d Device) (gpu.Device, error) {
	if err := d.Available(); err != nil {
		return nil, err
	}
	return nil, openDevice(d)
}
