package hnnsolve

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeviceUnavailable: asking for CUDA where training cannot run there (a
// build without -tags gpu, or no usable GPU) is an ErrDevice error before
// any training, never a silent fall-back to the CPU.
func TestDeviceUnavailable(t *testing.T) {
	set := quickSettings()
	set.Device = CUDA
	sol, err := Solve(oscillatorProblem(), set)
	if err == nil && sol != nil {
		t.Skip("a GPU engine is available here (-tags gpu with a GPU, or HNNSOLVE_GPU=host)")
	}
	if !errors.Is(err, ErrDevice) || sol != nil {
		t.Fatalf("Device CUDA: %v, %v; want an ErrDevice error", sol, err)
	}
	t.Log(err)
	set.Device = 7
	if _, err := Solve(oscillatorProblem(), set); !errors.Is(err, ErrSettings) {
		t.Errorf("Device(7): %v, want ErrSettings", err)
	}
	// Checkpoints hold the CPU engine's Adam state: refused before training
	// on any other device.
	set.Device, set.Checkpoint.Path = CUDA, filepath.Join(t.TempDir(), "run.ckpt")
	if _, err := Solve(oscillatorProblem(), set); !errors.Is(err, ErrSettings) || !strings.Contains(err.Error(), "checkpoints need Device CPU") {
		t.Errorf("Device CUDA with a checkpoint: %v, want ErrSettings", err)
	}
	if _, err := SolveBatch([]Problem{oscillatorProblem()}, set); !errors.Is(err, ErrSettings) && !errors.Is(err, ErrDevice) {
		t.Errorf("SolveBatch, Device CUDA with a checkpoint: %v, want ErrSettings or ErrDevice", err)
	}
	for _, s := range []string{"cpu", "cuda"} {
		if d, err := ParseDevice(s); err != nil || d.String() != s {
			t.Errorf("ParseDevice(%q) = %v, %v", s, d, err)
		}
	}
	if _, err := ParseDevice("tpu"); !errors.Is(err, ErrSettings) {
		t.Errorf("ParseDevice(tpu): %v, want ErrSettings", err)
	}
}
