// Package cuda is hnnsolve's binding to an NVIDIA GPU: the CUDA driver API,
// NVRTC (run-time compilation of CUDA C++) and cuBLAS, loaded at run time
// with github.com/ebitengine/purego, so that it needs neither cgo nor CUDA
// headers to build (CGO_ENABLED=0 works) and the binary runs, or fails with
// an error, on any machine.
//
// The binding is compiled with the build tag gpu (go build -tags gpu). In a
// build without it the same API exists, but Open returns an error wrapping
// ErrUnavailable that says the build lacks the tag.
//
// Use: Open loads the libraries and makes device 0's primary context
// current; Alloc, CopyIn, CopyOut, Copy, Zero and Free manage float64 device
// memory (Buffer); Compile turns CUDA C++ source into a Module whose
// Functions Launch runs; Dgemm and DgemmStridedBatched are cuBLAS's
// products; Capture records a sequence of launches and products into a CUDA
// Graph that Graph.Launch replays with one call. All work goes, in order,
// into the Device's one stream; Synchronize waits for it, and CopyIn and
// CopyOut synchronize themselves.
//
//	d, err := cuda.Open()
//	if err != nil { ... } // errors.Is(err, cuda.ErrUnavailable): no usable GPU here
//	defer d.Close()
//	m, err := d.Compile(src, "h.cu")
//	f, err := m.Function("h")
//	x, err := d.Alloc(n)
//	err = d.CopyIn(x, host)
//	err = d.Launch(f, cuda.Dim{X: (k + 255) / 256}, cuda.Dim{X: 256}, x, y, k)
//	err = d.CopyOut(host, y)
//
// A Device is not safe for concurrent use: call it from one goroutine at a
// time. Each call makes the Device's context current on the calling OS
// thread (CUDA's current context is per thread) and holds the thread
// (runtime.LockOSThread) until it returns, so goroutines may move between
// threads between calls.
//
// Every error the package returns is an *Error; nothing panics out of it.
// Failures inside Open wrap ErrUnavailable (no library, no symbol, no
// driver, no device); later failures wrap ErrFailed.
//
// Libraries are searched in this order: the directories listed in
// $HNNSOLVE_CUDA_LIB (colon-separated), the plain sonames (which the dynamic
// loader looks up in LD_LIBRARY_PATH, the ldconfig cache and the system
// directories), then $CUDA_HOME and $CUDA_PATH, /usr/local/cuda*/lib64,
// /usr/local/cuda*/targets/*/lib, the distributions' library directories
// and the lib directories of pip's nvidia-* wheels. The versions tried are
// libcuda.so.1; libnvrtc.so.13, .12, .11.2 (with libnvrtc-builtins from the
// same directory); libcublas.so.13, .12, .11 (after libcublasLt of the same
// version and directory).
package cuda

import (
	"errors"
	"fmt"
	"strings"
)

// LibraryEnv names the environment variable whose colon-separated
// directories are searched first for the CUDA libraries.
const LibraryEnv = "HNNSOLVE_CUDA_LIB"

// The kinds of Error, for errors.Is.
var (
	// ErrUnavailable: there is no usable GPU here. Open could not load a
	// library or one of its symbols, the driver failed to start, or there
	// is no device; or the build lacks the gpu tag.
	ErrUnavailable = errors.New("cuda: GPU unavailable")
	// ErrFailed: a call on an open Device failed: the driver, NVRTC or
	// cuBLAS returned an error (out of memory, a compile error, a fault in
	// a kernel), or an argument was wrong (a buffer too small, an argument
	// type a kernel cannot take).
	ErrFailed = errors.New("cuda: GPU call failed")
)

// Error is what every failure of the package returns. It wraps
// ErrUnavailable or ErrFailed.
type Error struct {
	// Op is what failed: a library's loading ("load libcuda"), a C
	// function (cuInit, nvrtcCompileProgram, cublasDgemm_v2) or a method
	// of this package (Launch, CopyIn).
	Op string
	// Code is the result code the library returned (CUresult, nvrtcResult,
	// cublasStatus_t), 0 if there was none.
	Code int
	// Name is the code's name as the library gives it (cuGetErrorName:
	// CUDA_ERROR_NO_DEVICE; nvrtcGetErrorString; cublasGetStatusName), or
	// empty.
	Name string
	// Detail says more: the library's description of the code, the files
	// and directories searched, the missing symbols, NVRTC's compile log.
	Detail string

	kind error
}

func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString("cuda: ")
	sb.WriteString(e.Op)
	switch {
	case e.Name != "" && e.Code != 0:
		fmt.Fprintf(&sb, ": %s (%d)", e.Name, e.Code)
	case e.Name != "":
		fmt.Fprintf(&sb, ": %s", e.Name)
	case e.Code != 0:
		fmt.Fprintf(&sb, ": error %d", e.Code)
	}
	if e.Detail != "" {
		sb.WriteString(": ")
		sb.WriteString(e.Detail)
	}
	return sb.String()
}

// Unwrap returns ErrUnavailable or ErrFailed.
func (e *Error) Unwrap() error {
	if e.kind == nil {
		return ErrFailed
	}
	return e.kind
}

func unavailable(op, detail string) *Error {
	return &Error{Op: op, Detail: detail, kind: ErrUnavailable}
}

func failed(op, detail string) *Error { return &Error{Op: op, Detail: detail, kind: ErrFailed} }

// Buffer is a range of device memory holding float64s, from Alloc or a
// Slice of it. It is a plain value: copying it does not copy the memory.
// The zero Buffer has length 0.
type Buffer struct {
	ptr uint64
	n   int
}

// Len is the number of float64s in b.
func (b Buffer) Len() int { return b.n }

// Ptr is b's device address (a CUdeviceptr), for kernel arguments built by
// hand; Launch takes a Buffer directly.
func (b Buffer) Ptr() uint64 { return b.ptr }

// Slice is b[i:j]. Out of range (not 0 <= i <= j <= b.Len()) it is the zero
// Buffer, which every method rejects as too small.
func (b Buffer) Slice(i, j int) Buffer {
	if i < 0 || j < i || j > b.n {
		return Buffer{}
	}
	return Buffer{ptr: b.ptr + uint64(i)*8, n: j - i}
}

// Dim is a grid or block size for Launch; a zero field means 1.
type Dim struct{ X, Y, Z int }

// Info describes an open Device.
type Info struct {
	Name              string            // the device's name, as cuDeviceGetName gives it
	Major, Minor      int               // compute capability
	Multiprocessors   int               // number of SMs
	MemoryBytes       uint64            // total device memory
	DriverVersion     int               // cuDriverGetVersion: 13000 is CUDA 13.0
	NVRTCVersion      string            // major.minor
	CublasVersion     int               // cublasGetVersion, 0 if unknown
	Libraries         map[string]string // "libcuda", "libnvrtc", "libcublas" (and their companions): the files loaded
	LibrarySearchDirs []string          // the directories searched after the sonames
}
