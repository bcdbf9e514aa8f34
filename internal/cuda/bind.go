//go:build gpu

package cuda

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The C functions, as Go function values that purego fills in. C ABI
// mapping (linux, 64-bit): CUresult, nvrtcResult, cublasStatus_t (enums),
// CUdevice and int -> int32; unsigned int -> uint32; size_t, CUdeviceptr
// and unsigned long long -> uint64; long long -> int64; opaque handles
// (CUcontext, CUstream, CUmodule, CUfunction, CUgraph, CUgraphExec,
// nvrtcProgram, cublasHandle_t) -> uintptr; T* -> *T or unsafe.Pointer;
// const char* arguments -> string (purego passes a NUL-terminated copy);
// a const char* result -> string (copied).
//
// The driver's versioned names are the ABI symbols the macros of cuda.h
// resolve to (cuMemAlloc -> cuMemAlloc_v2 …); cuCtxCreate, which changed in
// CUDA 13, is avoided by using the primary context.

// sym names the C function for fn; optional ones may be missing (fn stays nil).
type sym struct {
	fn       any
	name     string
	optional bool
}

// bind looks every symbol up with Dlsym first (purego.RegisterLibFunc
// would panic on a missing one) and reports all the missing required ones
// in one error wrapping ErrUnavailable.
func bind(h uintptr, lib string, syms []sym) (err error) {
	defer func() {
		if r := recover(); r != nil { // purego rejected a signature: a bug here, reported, not raised
			err = unavailable("bind "+lib, fmt.Sprint(r))
		}
	}()
	var missing []string
	for _, s := range syms {
		if p, err := purego.Dlsym(h, s.name); err == nil && p != 0 {
			purego.RegisterFunc(s.fn, p)
		} else if !s.optional {
			missing = append(missing, s.name)
		}
	}
	if len(missing) > 0 {
		return unavailable("bind "+lib, "missing symbols "+strings.Join(missing, ", "))
	}
	return nil
}

// driverAPI is the part of the CUDA driver API the package uses.
type driverAPI struct {
	Init                             func(flags uint32) int32
	DriverGetVersion                 func(v *int32) int32
	DeviceGetCount                   func(n *int32) int32
	DeviceGet                        func(dev *int32, ordinal int32) int32
	DeviceGetName                    func(name *byte, n int32, dev int32) int32
	DeviceGetAttribute               func(v *int32, attr int32, dev int32) int32
	DeviceTotalMem                   func(bytes *uint64, dev int32) int32
	PrimaryCtxRetain                 func(ctx *uintptr, dev int32) int32
	PrimaryCtxRelease                func(dev int32) int32
	CtxSetCurrent                    func(ctx uintptr) int32
	StreamCreate                     func(s *uintptr, flags uint32) int32
	StreamDestroy, StreamSynchronize func(s uintptr) int32
	MemAlloc                         func(p *uint64, size uint64) int32
	MemFree                          func(p uint64) int32
	MemcpyHtoDAsync                  func(dst uint64, src unsafe.Pointer, size uint64, s uintptr) int32
	MemcpyDtoHAsync                  func(dst unsafe.Pointer, src uint64, size uint64, s uintptr) int32
	MemcpyDtoDAsync                  func(dst, src uint64, size uint64, s uintptr) int32
	MemsetD32Async                   func(dst uint64, v uint32, n uint64, s uintptr) int32
	ModuleLoadData                   func(m *uintptr, image unsafe.Pointer) int32
	ModuleUnload                     func(m uintptr) int32
	ModuleGetFunction                func(f *uintptr, m uintptr, name string) int32
	LaunchKernel                     func(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, s uintptr, params, extra unsafe.Pointer) int32
	StreamBeginCapture               func(s uintptr, mode int32) int32
	StreamEndCapture                 func(s uintptr, g *uintptr) int32
	GraphInstantiateWithFlags        func(e *uintptr, g uintptr, flags uint64) int32
	GraphLaunch                      func(e, s uintptr) int32
	GraphExecDestroy, GraphDestroy   func(h uintptr) int32
	GetErrorName, GetErrorString     func(r int32, s **byte) int32
}

func (d *driverAPI) syms() []sym {
	return []sym{
		{fn: &d.Init, name: "cuInit"}, {fn: &d.DriverGetVersion, name: "cuDriverGetVersion"},
		{fn: &d.DeviceGetCount, name: "cuDeviceGetCount"}, {fn: &d.DeviceGet, name: "cuDeviceGet"},
		{fn: &d.DeviceGetName, name: "cuDeviceGetName"}, {fn: &d.DeviceGetAttribute, name: "cuDeviceGetAttribute"},
		{fn: &d.DeviceTotalMem, name: "cuDeviceTotalMem_v2"},
		{fn: &d.PrimaryCtxRetain, name: "cuDevicePrimaryCtxRetain"}, {fn: &d.PrimaryCtxRelease, name: "cuDevicePrimaryCtxRelease_v2"},
		{fn: &d.CtxSetCurrent, name: "cuCtxSetCurrent"},
		{fn: &d.StreamCreate, name: "cuStreamCreate"}, {fn: &d.StreamDestroy, name: "cuStreamDestroy_v2"},
		{fn: &d.StreamSynchronize, name: "cuStreamSynchronize"},
		{fn: &d.MemAlloc, name: "cuMemAlloc_v2"}, {fn: &d.MemFree, name: "cuMemFree_v2"},
		{fn: &d.MemcpyHtoDAsync, name: "cuMemcpyHtoDAsync_v2"}, {fn: &d.MemcpyDtoHAsync, name: "cuMemcpyDtoHAsync_v2"},
		{fn: &d.MemcpyDtoDAsync, name: "cuMemcpyDtoDAsync_v2"}, {fn: &d.MemsetD32Async, name: "cuMemsetD32Async"},
		{fn: &d.ModuleLoadData, name: "cuModuleLoadData"}, {fn: &d.ModuleUnload, name: "cuModuleUnload"},
		{fn: &d.ModuleGetFunction, name: "cuModuleGetFunction"}, {fn: &d.LaunchKernel, name: "cuLaunchKernel"},
		{fn: &d.StreamBeginCapture, name: "cuStreamBeginCapture_v2"}, {fn: &d.StreamEndCapture, name: "cuStreamEndCapture"},
		{fn: &d.GraphInstantiateWithFlags, name: "cuGraphInstantiateWithFlags"}, {fn: &d.GraphLaunch, name: "cuGraphLaunch"},
		{fn: &d.GraphExecDestroy, name: "cuGraphExecDestroy"}, {fn: &d.GraphDestroy, name: "cuGraphDestroy"},
		{fn: &d.GetErrorName, name: "cuGetErrorName", optional: true},
		{fn: &d.GetErrorString, name: "cuGetErrorString", optional: true},
	}
}

// check turns a CUresult into nil or an *Error of kind, with the driver's
// name and description of the code.
func (d *driverAPI) check(op string, r int32, kind error) error {
	if r == 0 {
		return nil
	}
	e := &Error{Op: op, Code: int(r), kind: kind}
	var p *byte
	if d.GetErrorName != nil && d.GetErrorName(r, &p) == 0 {
		e.Name = cstr(p)
	}
	if d.GetErrorString != nil && d.GetErrorString(r, &p) == 0 {
		e.Detail = cstr(p)
	}
	return e
}

// nvrtcAPI is NVRTC.
type nvrtcAPI struct {
	Version                                     func(major, minor *int32) int32
	CreateProgram                               func(prog *uintptr, src, name string, nHeaders int32, headers, includeNames unsafe.Pointer) int32
	CompileProgram                              func(prog uintptr, nOpts int32, opts unsafe.Pointer) int32
	GetProgramLogSize, GetPTXSize, GetCUBINSize func(prog uintptr, size *uint64) int32
	GetProgramLog, GetPTX, GetCUBIN             func(prog uintptr, buf *byte) int32
	DestroyProgram                              func(prog *uintptr) int32
	GetErrorString                              func(r int32) string
}

func (n *nvrtcAPI) syms() []sym {
	return []sym{
		{fn: &n.Version, name: "nvrtcVersion"}, {fn: &n.CreateProgram, name: "nvrtcCreateProgram"},
		{fn: &n.CompileProgram, name: "nvrtcCompileProgram"}, {fn: &n.GetProgramLogSize, name: "nvrtcGetProgramLogSize"},
		{fn: &n.GetProgramLog, name: "nvrtcGetProgramLog"}, {fn: &n.GetPTXSize, name: "nvrtcGetPTXSize"},
		{fn: &n.GetPTX, name: "nvrtcGetPTX"}, {fn: &n.DestroyProgram, name: "nvrtcDestroyProgram"},
		{fn: &n.GetCUBINSize, name: "nvrtcGetCUBINSize", optional: true}, // CUDA >= 11.1
		{fn: &n.GetCUBIN, name: "nvrtcGetCUBIN", optional: true},
		{fn: &n.GetErrorString, name: "nvrtcGetErrorString", optional: true},
	}
}

func (n *nvrtcAPI) check(op string, r int32) error {
	if r == 0 {
		return nil
	}
	e := &Error{Op: op, Code: int(r), kind: ErrFailed}
	if n.GetErrorString != nil {
		e.Name = n.GetErrorString(r)
	}
	return e
}

// cublasAPI is the part of cuBLAS the package uses.
type cublasAPI struct {
	Create       func(h *uintptr) int32
	Destroy      func(h uintptr) int32
	GetVersion   func(h uintptr, v *int32) int32
	SetStream    func(h, s uintptr) int32
	SetWorkspace func(h uintptr, ws uint64, size uint64) int32
	// cublasDgemm_v2(handle, transa, transb, m, n, k, *alpha, A, lda, B,
	// ldb, *beta, C, ldc): 14 arguments, 8 on the stack.
	Dgemm func(h uintptr, ta, tb, m, n, k int32, alpha *float64, a uint64, lda int32,
		b uint64, ldb int32, beta *float64, c uint64, ldc int32) int32
	// cublasDgemmStridedBatched(…, strideA, …, batchCount): 18 arguments,
	// 12 on the stack (purego takes 32 in all); the strides are long long.
	DgemmStridedBatched func(h uintptr, ta, tb, m, n, k int32, alpha *float64,
		a uint64, lda int32, strideA int64, b uint64, ldb int32, strideB int64,
		beta *float64, c uint64, ldc int32, strideC int64, batch int32) int32
	StatusName, StatusString func(r int32) string
}

func (c *cublasAPI) syms() []sym {
	return []sym{
		{fn: &c.Create, name: "cublasCreate_v2"}, {fn: &c.Destroy, name: "cublasDestroy_v2"},
		{fn: &c.SetStream, name: "cublasSetStream_v2"}, {fn: &c.Dgemm, name: "cublasDgemm_v2"},
		{fn: &c.DgemmStridedBatched, name: "cublasDgemmStridedBatched"},
		{fn: &c.GetVersion, name: "cublasGetVersion_v2", optional: true},
		{fn: &c.SetWorkspace, name: "cublasSetWorkspace_v2", optional: true}, // CUDA >= 11.?: without it cuBLAS allocates its own
		{fn: &c.StatusName, name: "cublasGetStatusName", optional: true},
		{fn: &c.StatusString, name: "cublasGetStatusString", optional: true},
	}
}

func (c *cublasAPI) check(op string, r int32, kind error) error {
	if r == 0 {
		return nil
	}
	e := &Error{Op: op, Code: int(r), kind: kind}
	if c.StatusName != nil {
		e.Name = c.StatusName(r)
	}
	if c.StatusString != nil {
		e.Detail = c.StatusString(r)
	}
	return e
}

// cstr copies a NUL-terminated C string owned by a library.
func cstr(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
