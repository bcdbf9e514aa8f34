//go:build gpu

package hnnsolve

import (
	"fmt"
	"math/rand/v2"

	"hnnsolve/internal/cuda"
	"hnnsolve/internal/engine"
)

// openDevice checks that training can run on d: for CUDA, that the driver,
// NVRTC and cuBLAS load and a GPU answers.
func openDevice(d Device) error {
	if d == CPU {
		return nil
	}
	dev, err := cuda.Open()
	if err != nil {
		return fmt.Errorf("%w: %v: %w", ErrDevice, d, err)
	}
	info := dev.Info()
	if err := dev.Close(); err != nil {
		return fmt.Errorf("%w: %v: %w", ErrDevice, d, err)
	}
	// The device works; the epoch kernels that would train on it are not
	// part of this version (issue 11), so say so rather than train on the
	// CPU behind the caller's back.
	return fmt.Errorf("%w: %v: found %+v, but this version has no GPU training engine yet; use Device: CPU", ErrDevice, d, info)
}

// newDeviceTrainer returns the GPU engine for the segment Solution sol; not
// reached yet, since openDevice refuses CUDA until the engine exists.
func newDeviceTrainer(sol *Solution, _ *network, _ *rand.Rand, _ int) (engine.Trainer, error) {
	return nil, openDevice(sol.settings.Device)
}
