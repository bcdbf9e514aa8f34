//go:build gpu

package cuda

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebitengine/purego"
)

// The tests below run Open against fake libcuda libraries built with the
// host's C compiler, which exercise, without a GPU, the loading from
// $HNNSOLVE_CUDA_LIB, the binding of every driver symbol through purego,
// the errors named from cuGetErrorName, and the release of what Open set
// up before it failed.

// fakeDriver is C for a libcuda whose every function succeeds, doing as
// little as it can: one device "Fake GPU" of compute capability 9.0.
// FAKE_CUINIT and FAKE_COUNT set cuInit's result and the device count;
// fake_balance counts retained minus released contexts plus created minus
// destroyed streams.
const fakeDriver = `#include <stdlib.h>
#include <string.h>
static int balance;
int fake_balance(void) { return balance; }
int cuInit(unsigned flags) { const char* e = getenv("FAKE_CUINIT"); (void)flags; return e ? atoi(e) : 0; }
int cuGetErrorName(int r, const char** s) { *s = r == 100 ? "CUDA_ERROR_NO_DEVICE" : "CUDA_ERROR_UNKNOWN"; return 0; }
int cuGetErrorString(int r, const char** s) { *s = r == 100 ? "no CUDA-capable device is detected" : "unknown error"; return 0; }
int cuDriverGetVersion(int* v) { *v = 13000; return 0; }
int cuDeviceGetCount(int* n) { const char* e = getenv("FAKE_COUNT"); *n = e ? atoi(e) : 1; return 0; }
int cuDeviceGet(int* d, int o) { *d = o; return 0; }
int cuDeviceGetName(char* s, int n, int d) { (void)d; strncpy(s, "Fake GPU", (size_t)n); return 0; }
int cuDeviceGetAttribute(int* v, int a, int d) { (void)d; *v = a == 75 ? 9 : a == 16 ? 132 : 0; return 0; }
int cuDeviceTotalMem_v2(unsigned long long* b, int d) { (void)d; *b = 1ULL << 30; return 0; }
int cuDevicePrimaryCtxRetain(void** c, int d) { (void)d; *c = (void*)16; balance++; return 0; }
int cuDevicePrimaryCtxRelease_v2(int d) { (void)d; balance--; return 0; }
int cuStreamCreate(void** s, unsigned f) { (void)f; *s = (void*)32; balance++; return 0; }
int cuStreamDestroy_v2(void* s) { (void)s; balance--; return 0; }
`

// buildFake compiles a fake libcuda.so.1 into a new directory: fakeDriver
// plus a function returning 0 for every other symbol of driverAPI (none of
// them missing unless drop names some), and returns the directory.
func buildFake(t *testing.T, drop ...string) string {
	t.Helper()
	cc := ""
	for _, n := range []string{"cc", "gcc", "clang"} {
		if p, err := exec.LookPath(n); err == nil {
			cc = p
			break
		}
	}
	if cc == "" {
		t.Skip("no host C compiler to build a fake libcuda")
	}
	src := fakeDriver
	for _, s := range (&driverAPI{}).syms() {
		if !strings.Contains(fakeDriver, " "+s.name+"(") {
			src += fmt.Sprintf("int %s(void) { return 0; }\n", s.name)
		}
	}
	for _, name := range drop {
		src = strings.ReplaceAll(src, " "+name+"(", " renamed_"+name+"(")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "fake.c")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// No soname: the fake must not stand in for a real libcuda.so.1 that
	// something else dlopens later.
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-o", filepath.Join(dir, "libcuda.so.1"), file).CombinedOutput(); err != nil {
		t.Fatalf("building the fake libcuda: %v\n%s", err, out)
	}
	return dir
}

// skipIfRealDriver: with a real libcuda in the process the fakes would
// meet real NVRTC and cuBLAS; those are tested by the GPU tests.
func skipIfRealDriver(t *testing.T) {
	if h, err := purego.Dlopen("libcuda.so.1", purego.RTLD_NOW|purego.RTLD_GLOBAL); err == nil && h != 0 {
		t.Skip("a real libcuda is installed; the fake-driver tests run where there is none")
	}
}

func fakeBalance(t *testing.T, dir string) int32 {
	h, err := purego.Dlopen(filepath.Join(dir, "libcuda.so.1"), purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		t.Fatal(err)
	}
	var balance func() int32
	purego.RegisterLibFunc(&balance, h, "fake_balance")
	return balance()
}

func openExpecting(t *testing.T, op string) *Error {
	t.Helper()
	d, err := Open()
	if err == nil {
		d.Close()
		t.Fatalf("Open succeeded with a fake driver")
	}
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Open: %v (%T), want an *Error wrapping ErrUnavailable", err, err)
	}
	if !strings.Contains(e.Op, op) {
		t.Fatalf("Open: %v, want it to fail at %s", err, op)
	}
	t.Logf("Open: %v", err)
	return e
}

func TestFakeDriverNoDevice(t *testing.T) {
	skipIfRealDriver(t)
	dir := buildFake(t)
	t.Setenv(LibraryEnv, dir)
	t.Setenv("FAKE_CUINIT", "100")
	e := openExpecting(t, "cuInit")
	if e.Code != 100 || e.Name != "CUDA_ERROR_NO_DEVICE" || !strings.Contains(e.Error(), "CUDA_ERROR_NO_DEVICE (100)") {
		t.Errorf("cuInit's error %+v does not carry the driver's name and code", e)
	}
	t.Setenv("FAKE_CUINIT", "0")
	t.Setenv("FAKE_COUNT", "0")
	openExpecting(t, "cuDeviceGetCount")
}

func TestFakeDriverMissingSymbols(t *testing.T) {
	skipIfRealDriver(t)
	dir := buildFake(t, "cuLaunchKernel", "cuGraphLaunch")
	t.Setenv(LibraryEnv, dir)
	e := openExpecting(t, "bind libcuda")
	if !strings.Contains(e.Detail, "cuLaunchKernel") || !strings.Contains(e.Detail, "cuGraphLaunch") {
		t.Errorf("the error %v does not name the missing symbols", e)
	}
}

// TestFakeDriverReleases: the fake driver starts, NVRTC is then not found
// (there is none here), and Open must have released the context and the
// stream it had made.
func TestFakeDriverReleases(t *testing.T) {
	skipIfRealDriver(t)
	if h, err := purego.Dlopen("libnvrtc.so.13", purego.RTLD_NOW); err == nil && h != 0 {
		t.Skip("NVRTC is installed")
	}
	dir := buildFake(t)
	t.Setenv(LibraryEnv, dir)
	e := openExpecting(t, "libnvrtc")
	if !strings.Contains(e.Detail, "libnvrtc.so.13") || !strings.Contains(e.Detail, LibraryEnv) {
		t.Errorf("the error %v does not say what was searched", e)
	}
	if b := fakeBalance(t, dir); b != 0 {
		t.Errorf("after the failed Open, %d contexts or streams are still held", b)
	}
}
