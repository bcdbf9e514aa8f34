//go:build gpu

package hnnsolve

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sync"

	"hnnsolve/internal/engine"
	"hnnsolve/internal/gpu"
	"hnnsolve/internal/gpu/hostgpu"
)

// emulateEnv names the environment variable that, set to "host", makes
// Device CUDA run the GPU engine's kernels on the host instead
// (internal/gpu/hostgpu: the same CUDA C compiled by the host's C
// compiler), for testing the gpu build's whole path without a GPU. It is
// slow and meant for tests only.
const emulateEnv = "HNNSOLVE_GPU"

// gpuDevice is the process's GPU, opened once on first use and shared by
// every training (internal/gpu.CUDA serialises their calls); it stays open
// for the life of the process.
var gpuDevice struct {
	sync.Mutex
	dev gpu.Device
}

// openGPU returns the shared device, opening it if need be. A failure is
// not remembered: the next call tries again.
func openGPU() (gpu.Device, error) {
	gpuDevice.Lock()
	defer gpuDevice.Unlock()
	if gpuDevice.dev != nil {
		return gpuDevice.dev, nil
	}
	if os.Getenv(emulateEnv) == "host" {
		d, err := hostgpu.Open()
		if err != nil {
			return nil, err
		}
		gpuDevice.dev = d
		return d, nil
	}
	d, err := gpu.OpenCUDA()
	if err != nil {
		return nil, err
	}
	gpuDevice.dev = d
	return d, nil
}

// openDevice checks that training can run on d: for CUDA, that the driver,
// NVRTC and cuBLAS load and a GPU answers (the device is then kept open
// for the trainings).
func openDevice(d Device) error {
	if d == CPU {
		return nil
	}
	if _, err := openGPU(); err != nil {
		return fmt.Errorf("%w: %v: %w", ErrDevice, d, err)
	}
	return nil
}

// newDeviceTrainer returns the GPU engine (internal/gpu) for the network
// net of the segment Solution sol: its problem (Z0, T0, T), settings and
// E0, net's widths, activation and initial weights, a seed for the times'
// perturbations drawn from rng, and keepFrom. Every failure of the device
// wraps ErrDevice.
func newDeviceTrainer(sol *Solution, net *network, rng *rand.Rand, keepFrom int) (engine.Trainer, error) {
	dev, err := openGPU()
	if err != nil {
		return nil, fmt.Errorf("%w: %v: %w", ErrDevice, sol.settings.Device, err)
	}
	return newGPUTrainer(dev, sol, net, rng, keepFrom)
}

// newBatchEngine builds the engine of a SolveBatch on the process's GPU.
func newBatchEngine(cfg gpu.Config) (*gpu.Engine, error) {
	dev, err := openGPU()
	if err != nil {
		return nil, fmt.Errorf("%w: %v: %w", ErrDevice, CUDA, err)
	}
	return gpu.New(dev, cfg)
}

// openBundleDevice returns the GPU (or its host emulation) for a bundle's
// evaluation on d (Bundle.Device), or an error wrapping ErrDevice.
func openBundleDevice(d Device) (gpu.Device, error) {
	if err := d.Available(); err != nil {
		return nil, err
	}
	dev, err := openGPU()
	if err != nil {
		return nil, fmt.Errorf("%w: %v: %w", ErrDevice, d, err)
	}
	return dev, nil
}
