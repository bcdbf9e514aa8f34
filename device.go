package hnnsolve

import "fmt"

// Device selects where the work runs: the training epochs (Settings.Device)
// or a bundle's batched evaluation (Bundle.Device).
type Device int

const (
	// CPU runs training on the host, one network per goroutine: the default.
	CPU Device = iota
	// CUDA runs the training epochs on an NVIDIA GPU through the CUDA
	// driver, NVRTC and cuBLAS, loaded at run time (no cgo). It needs a
	// build with -tags gpu and a machine with a GPU and its driver; without
	// either, Solve returns an error wrapping ErrDevice.
	CUDA
)

func (d Device) String() string {
	switch d {
	case CPU:
		return "cpu"
	case CUDA:
		return "cuda"
	}
	return fmt.Sprintf("Device(%d)", int(d))
}

// ParseDevice is the inverse of Device.String.
func ParseDevice(s string) (Device, error) {
	for _, d := range []Device{CPU, CUDA} {
		if d.String() == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown device %q (want cpu or cuda)", ErrSettings, s)
}

func (d Device) valid() bool { return d == CPU || d == CUDA }

// Available returns nil when training can run on d in this build and on
// this machine, or else an error wrapping ErrDevice that says why not (the
// build has no GPU engine; which library was not found; the driver's
// error). Solve checks the same before training.
func (d Device) Available() error {
	if !d.valid() {
		return fmt.Errorf("%w: unknown %v", ErrSettings, d)
	}
	return openDevice(d)
}
