package hnnsolve

import (
	"errors"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// loadSavedBundle loads the bundle saved in file for the problem p.
func loadSavedBundle(t testing.TB, file string, p BundleProblem) *Bundle {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := LoadBundle(f, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loadOscillatorBundle is the saved oscillator bundle of the target.
func loadOscillatorBundle(t testing.TB) *Bundle {
	t.Helper()
	return loadSavedBundle(t, bundleBenchFile, oscillatorBundleProblem())
}

// TestBundleDeviceMatchesCPU: the GPU's bundle evaluator (internal/gpu,
// here in the host emulation: the same CUDA C compiled by the host's C
// compiler) gives the CPU's states to 1e-12 relative, for the 16-segment
// oscillator bundle at T, inside a segment and at T0, over several calls
// with a short last one. The two differ only in the sine (the C library's
// against the AVX2 kernel) and the order of the sums.
func TestBundleDeviceMatchesCPU(t *testing.T) {
	dev := hostGPU(t)
	b := loadOscillatorBundle(t)
	p := b.Problem()
	const n = 100
	rows := bundleMembers(p, n, 7)
	z0, _ := memberMatrices(p, rows)
	for _, tm := range []float64{p.T, 0.37 * p.T, p.T0} {
		want, err := b.AtMembers(tm, z0, nil)
		if err != nil {
			t.Fatal(err)
		}
		checked, err := b.memberRows(z0, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.atMembersOn(dev, tm, checked, 37)
		if err != nil {
			t.Fatal(err)
		}
		worst := statesRelDiff(got, want)
		if worst > 1e-12 {
			t.Errorf("t = %v: device and CPU differ by %.3g relative", tm, worst)
		}
		t.Logf("t = %.4g: device against CPU %.2g relative", tm, worst)
	}
}

// TestBundleDeviceUnavailable: Bundle.Device CUDA where the GPU engine
// cannot run (a build without -tags gpu, or no GPU) is an ErrDevice error,
// never a silent fall-back to the CPU; an unknown device is ErrSettings.
func TestBundleDeviceUnavailable(t *testing.T) {
	b := loadOscillatorBundle(t)
	z0 := mat.NewDense(1, 2, []float64{1.2, 0.7})
	b.Device = 7
	if _, err := b.AtMembers(1, z0, nil); !errors.Is(err, ErrSettings) {
		t.Errorf("Device(7): %v, want ErrSettings", err)
	}
	b.Device = CUDA
	if CUDA.Available() == nil {
		t.Skip("a GPU engine is available here (-tags gpu with a GPU, or HNNSOLVE_GPU=host)")
	}
	if z, err := b.AtMembers(1, z0, nil); !errors.Is(err, ErrDevice) || z != nil {
		t.Fatalf("Device CUDA: %v, %v; want an ErrDevice error", z, err)
	}
}

// statesRelDiff is the largest |got - want| / (1 + |want|) over two
// members × coordinates matrices of states.
func statesRelDiff(got, want *mat.Dense) float64 {
	worst := 0.0
	r, c := want.Dims()
	for i := range r {
		for j := range c {
			w := want.At(i, j)
			worst = math.Max(worst, math.Abs(got.At(i, j)-w)/(1+math.Abs(w)))
		}
	}
	return worst
}
