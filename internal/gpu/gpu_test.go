package gpu_test

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"hnnsolve/internal/gpu"
	"hnnsolve/internal/gpu/hostgpu"
	"hnnsolve/internal/pointwise"
)

// hostOrSkip is the host emulation, or a skip where there is no C compiler.
func hostOrSkip(t testing.TB) *hostgpu.Device {
	t.Helper()
	d, err := hostgpu.Open()
	if errors.Is(err, hostgpu.ErrNoCompiler) {
		t.Skipf("%v: the kernels cannot be compiled here (CI has gcc)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// harmonic is H = (q² + p²)/2 as a per-point program: H, ∇H, D²H.
func harmonic(t testing.TB) *pointwise.Program {
	b := pointwise.NewBuilder(2)
	q, p := b.Input(0), b.Input(1)
	half := b.Const(0.5)
	h := b.Mul(half, b.Add(b.Unary(pointwise.OpSquare, q), b.Unary(pointwise.OpSquare, p)))
	one, zero := b.Const(1), b.Const(0)
	prog, err := b.Program(h, q, p, one, zero, zero, one)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func TestKernels(t *testing.T) {
	ks, err := gpu.Kernels()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"hnn_layer1":    "iiipipipiiipipipipi",
		"hnn_act_layer": "iiiipipi",
		"hnn_point":     "iipipipiddpi",
		"hnn_act_back":  "iiiipipipi",
		"hnn_book":      "ipipiipdd",
		"hnn_adam":      "iiipppppipipiddd",
		"hnn_init_aug":  "iiiipi",
		"hnn_normals":   "iiipip",
	}
	for _, k := range ks {
		if w, ok := want[k.Name]; !ok || w != k.Params {
			t.Errorf("kernel %s: parameters %q, want %q", k.Name, k.Params, w)
		}
		delete(want, k.Name)
	}
	for n := range want {
		t.Errorf("kernel %s missing", n)
	}
}

// TestPhiloxKnownAnswers: Random123's known-answer vectors for philox4x32_10.
func TestPhiloxKnownAnswers(t *testing.T) {
	for _, c := range []struct {
		ctr    [4]uint32
		k0, k1 uint32
		want   [4]uint32
	}{
		{[4]uint32{}, 0, 0, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0)}, ^uint32(0), ^uint32(0), [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, 0xa4093822, 0x299f31d0, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	} {
		if got := gpu.Philox(c.ctr, c.k0, c.k1); got != c.want {
			t.Errorf("philox(%08x, %08x %08x) = %08x, want %08x", c.ctr, c.k0, c.k1, got, c.want)
		}
	}
}

// TestNormals: the kernels' generator, compiled for the host, gives the Go
// reference's ε (within the math library's last bits), and ε has mean 0
// and variance 1.
func TestNormals(t *testing.T) {
	dev := hostOrSkip(t)
	src, err := gpu.Source(harmonic(t))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := gpu.Kernels()
	if err != nil {
		t.Fatal(err)
	}
	const nets, k, ns = 3, 20000, 8
	s, err := dev.Open(src, ks, nets*ns+nets*k)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	keys := [][2]uint32{{1, 2}, {0xdeadbeef, 0xfeedface}, {0, 0}}
	netc := make([]float64, nets*ns)
	for i, kk := range keys {
		netc[i*ns+gpu.NCSeedLo], netc[i*ns+gpu.NCSeedHi] = float64(kk[0]), float64(kk[1])
	}
	if err := s.CopyIn(gpu.Span{Off: 0, Len: len(netc)}, netc); err != nil {
		t.Fatal(err)
	}
	out := gpu.Span{Off: nets * ns, Len: nets * k}
	const epoch = 12345
	if err := s.Launch("hnn_normals", nets*k, int64(nets), int64(k), int64(epoch), gpu.Span{Off: 0, Len: len(netc)}, int64(ns), out); err != nil {
		t.Fatal(err)
	}
	eps := make([]float64, nets*k)
	if err := s.CopyOut(eps, out); err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, kk := range keys {
		var sum, sum2 float64
		for n := range k {
			x := eps[i*k+n]
			want := gpu.Normal(uint64(kk[0])|uint64(kk[1])<<32, epoch, n)
			if d := math.Abs(x - want); d > 1e-15*math.Max(1, math.Abs(want)) {
				t.Fatalf("key %x, point %d: ε = %v, reference %v", kk, n, x, want)
			} else {
				worst = math.Max(worst, d)
			}
			sum += x
			sum2 += x * x
		}
		mean, variance := sum/k, sum2/k-(sum/k)*(sum/k)
		// Standard errors: 1/√k = 0.007 for the mean, √(2/k) = 0.01 for the variance.
		if math.Abs(mean) > 0.035 || math.Abs(variance-1) > 0.05 {
			t.Errorf("key %x: mean %v, variance %v of %d draws", kk, mean, variance, k)
		}
	}
	t.Logf("largest difference to the Go reference: %g", worst)
}

// cudaMock lets the CUDA branch of the source compile as host C++, so that
// a syntax error in it shows here and not first on the GPU.
const cudaMock = `#include <math.h>
#include <string.h>
struct hnn_dim3 { unsigned x, y, z; };
static hnn_dim3 threadIdx, blockIdx, blockDim, gridDim;
#define __device__
#define __global__
#define __forceinline__ inline
#define __restrict__ __restrict
static inline double __longlong_as_double(long long v) { double d; memcpy(&d, &v, sizeof d); return d; }
static inline long long __double_as_longlong(double d) { long long v; memcpy(&v, &d, sizeof v); return v; }
`

// TestCUDABranchCompiles compiles the engine's source and the bundle
// evaluator's as CUDA C++ would see them (__CUDACC__ defined, CUDA's
// qualifiers mocked), syntax only.
func TestCUDABranchCompiles(t *testing.T) {
	cxx := ""
	for _, n := range []string{"c++", "g++", "clang++"} {
		if p, err := exec.LookPath(n); err == nil {
			cxx = p
			break
		}
	}
	if cxx == "" {
		t.Skip("no host C++ compiler")
	}
	src, err := gpu.Source(harmonic(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(src, "HNN_KERNEL void hnn_adam(") {
		t.Fatal("the source lacks the kernels")
	}
	for name, src := range map[string]string{"engine": src, "bundle": gpu.BundleSource()} {
		file := filepath.Join(t.TempDir(), name+".cpp")
		if err := os.WriteFile(file, []byte(cudaMock+src), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(cxx, "-std=c++17", "-fsyntax-only", "-Wall", "-Wno-unknown-pragmas", "-Wno-unused-function",
			"-Werror", "-D__CUDACC__", file).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
}
