//go:build gpu

package cuda

import (
	"crypto/sha256"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// Module is device code compiled by Compile and loaded on a Device. Its
// kernels are found by name with Function; Close unloads it.
type Module struct {
	d *Device
	h uintptr
}

// Function is a kernel of a Module, for Launch.
type Function struct {
	m    *Module
	h    uintptr
	name string
}

// compileOptions are given to NVRTC for every source, after the
// architecture: --fmad=false keeps every a*b+c a rounded product and a
// rounded sum, as the CPU computes them (code that wants a fused
// multiply-add calls fma(), which the option leaves alone). No other
// option is needed: the pointwise package's code qualifies each of its
// functions itself (so -default-device is not used).
var compileOptions = []string{"--fmad=false"}

// images caches compiled device code per source, architecture and options:
// NVRTC takes a quarter of a second or more for a small kernel.
var images struct {
	sync.Mutex
	m map[[32]byte][]byte
}

// Compile compiles CUDA C++ source with NVRTC for the device's compute
// capability (a CUBIN for sm_XY; PTX for compute_XY, which the driver
// compiles, where NVRTC cannot make that CUBIN) and loads it. name is the
// source's file name in NVRTC's messages. Kernels must be declared
// extern "C" to be found by their names. Compiled code is cached in memory
// for the life of the process, so compiling the same source again only
// loads it. A compile error returns an *Error whose Detail is NVRTC's log.
func (d *Device) Compile(src, name string) (*Module, error) {
	if err := d.enter("Compile"); err != nil {
		return nil, err
	}
	defer d.leave()
	if err := d.notCapturing("Compile"); err != nil {
		return nil, err
	}
	if name == "" {
		name = "hnnsolve.cu"
	}
	key := sha256.Sum256([]byte(d.arch + "\x00" + strings.Join(compileOptions, " ") + "\x00" + src))
	images.Lock()
	img, ok := images.m[key]
	images.Unlock()
	if !ok {
		var err error
		if img, err = d.compile(src, name); err != nil {
			return nil, err
		}
		images.Lock()
		if images.m == nil {
			images.m = map[[32]byte][]byte{}
		}
		images.m[key] = img
		images.Unlock()
	}
	var pin runtime.Pinner
	pin.Pin(&img[0])
	defer pin.Unpin()
	var h uintptr
	if err := d.drv.check("cuModuleLoadData("+name+")", d.drv.ModuleLoadData(&h, unsafe.Pointer(&img[0])), ErrFailed); err != nil {
		return nil, err
	}
	return &Module{d: d, h: h}, nil
}

// compile runs NVRTC: a CUBIN for sm_<arch>, or PTX for compute_<arch>
// where this NVRTC has no CUBIN output or rejects the architecture (it is
// older than the device).
func (d *Device) compile(src, name string) ([]byte, error) {
	if d.nv.GetCUBIN != nil && d.nv.GetCUBINSize != nil {
		img, err := d.nvrtc(src, name, "sm_"+d.arch)
		if e, ok := err.(*Error); !ok || e.Code != nvrtcErrorInvalidOption {
			return img, err
		}
	}
	return d.nvrtc(src, name, "compute_"+d.arch)
}

// nvrtcErrorInvalidOption is NVRTC_ERROR_INVALID_OPTION, which an unknown
// --gpu-architecture gives.
const nvrtcErrorInvalidOption = 5

// nvrtc compiles src for arch ("sm_90": CUBIN; "compute_90": PTX, which
// NVRTC NUL-terminates as cuModuleLoadData wants).
func (d *Device) nvrtc(src, name, arch string) ([]byte, error) {
	nv := d.nv
	var prog uintptr
	if err := nv.check("nvrtcCreateProgram", nv.CreateProgram(&prog, src, name, 0, nil, nil)); err != nil {
		return nil, err
	}
	defer nv.DestroyProgram(&prog)
	// The options are a C array of char*: Go memory holding Go pointers,
	// so the strings and the array are pinned while NVRTC reads them.
	var pin runtime.Pinner
	defer pin.Unpin()
	opts := append([]string{"--gpu-architecture=" + arch}, compileOptions...)
	copts := make([]*byte, len(opts))
	for i, o := range opts {
		b := append([]byte(o), 0)
		pin.Pin(&b[0])
		copts[i] = &b[0]
	}
	pin.Pin(&copts[0])
	r := nv.CompileProgram(prog, int32(len(copts)), unsafe.Pointer(&copts[0]))
	if r != 0 {
		e := nv.check("nvrtcCompileProgram", r).(*Error)
		e.Detail = fmt.Sprintf("%s for %s with %s; log:\n%s", name, arch, strings.Join(opts, " "), programLog(nv, prog))
		return nil, e
	}
	getSize, get, what := nv.GetPTXSize, nv.GetPTX, "PTX"
	if strings.HasPrefix(arch, "sm_") {
		getSize, get, what = nv.GetCUBINSize, nv.GetCUBIN, "CUBIN"
	}
	var size uint64
	if err := nv.check("nvrtcGet"+what+"Size", getSize(prog, &size)); err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, failed("nvrtcGet"+what+"Size", "empty "+what)
	}
	img := make([]byte, size)
	if err := nv.check("nvrtcGet"+what, get(prog, &img[0])); err != nil {
		return nil, err
	}
	return img, nil
}

func programLog(nv *nvrtcAPI, prog uintptr) string {
	var size uint64
	if nv.GetProgramLogSize(prog, &size) != 0 || size <= 1 {
		return "(empty)"
	}
	buf := make([]byte, size)
	if nv.GetProgramLog(prog, &buf[0]) != 0 {
		return "(unreadable)"
	}
	return strings.TrimSpace(strings.TrimRight(string(buf), "\x00"))
}

// Function finds the kernel called name (declared extern "C").
func (m *Module) Function(name string) (*Function, error) {
	if m == nil || m.h == 0 {
		return nil, failed("Function", "the Module is closed")
	}
	if err := m.d.enter("Function"); err != nil {
		return nil, err
	}
	defer m.d.leave()
	var f uintptr
	if err := m.d.drv.check("cuModuleGetFunction("+name+")", m.d.drv.ModuleGetFunction(&f, m.h, name), ErrFailed); err != nil {
		return nil, err
	}
	return &Function{m: m, h: f, name: name}, nil
}

// Close unloads the module. Its Functions become invalid, and so do the
// Graphs that captured them: close those first. Closing twice does
// nothing.
func (m *Module) Close() error {
	if m == nil || m.h == 0 {
		return nil
	}
	if err := m.d.enter("Module.Close"); err != nil {
		return err
	}
	defer m.d.leave()
	err := m.d.drv.check("cuModuleUnload", m.d.drv.ModuleUnload(m.h), ErrFailed)
	m.h = 0
	return err
}

// Launch queues f on a grid of blocks of threads (Dim's zero fields mean 1)
// with these arguments, in the kernel's order. An argument is a Buffer (its
// device address), an int (passed as a C int: it must fit in int32),
// int32, uint32, int64, uint64, float64 or float32. Errors of the kernel
// itself show at the next Synchronize or copy.
func (d *Device) Launch(f *Function, grid, block Dim, args ...any) error {
	return d.LaunchShared(f, grid, block, 0, args...)
}

// LaunchShared is Launch with sharedBytes of dynamic shared memory per
// block (extern __shared__ arrays).
func (d *Device) LaunchShared(f *Function, grid, block Dim, sharedBytes int, args ...any) error {
	if f == nil || f.m == nil || f.m.h == 0 {
		return failed("Launch", "nil Function, or its Module is closed")
	}
	if f.m.d != d {
		return failed("Launch "+f.name, "the Function belongs to another Device")
	}
	if len(args) > maxArgs {
		return failed("Launch "+f.name, fmt.Sprintf("%d arguments, at most %d", len(args), maxArgs))
	}
	g, gok := dims(grid)
	b, bok := dims(block)
	if !gok || !bok || sharedBytes < 0 || sharedBytes > math.MaxUint32 {
		return failed("Launch "+f.name, fmt.Sprintf("grid %+v, block %+v, %d shared bytes: want sizes in [1, 2^32)", grid, block, sharedBytes))
	}
	if err := d.enter("Launch"); err != nil {
		return err
	}
	defer d.leave()
	p := d.params
	for i, a := range args {
		v, ok := argBits(a)
		if !ok {
			return failed("Launch "+f.name, fmt.Sprintf("argument %d is %T %v: want a Buffer, int (fitting a C int), int32, uint32, int64, uint64, float64 or float32", i, a, a))
		}
		p.vals[i] = v
	}
	var params unsafe.Pointer
	if len(args) > 0 {
		params = unsafe.Pointer(&p.ptrs[0])
	}
	return d.drv.check("cuLaunchKernel("+f.name+")", d.drv.LaunchKernel(f.h, g[0], g[1], g[2], b[0], b[1], b[2],
		uint32(sharedBytes), d.stream, params, nil), ErrFailed)
}

func dims(x Dim) ([3]uint32, bool) {
	var out [3]uint32
	for i, v := range [3]int{x.X, x.Y, x.Z} {
		if v == 0 {
			v = 1
		}
		if v < 1 || v > math.MaxUint32 {
			return out, false
		}
		out[i] = uint32(v)
	}
	return out, true
}

// argBits is a kernel argument's bytes, little-endian in a 64-bit slot (the
// driver reads as many as the parameter's type has).
func argBits(a any) (uint64, bool) {
	switch v := a.(type) {
	case Buffer:
		return v.ptr, true
	case int:
		if v < math.MinInt32 || v > math.MaxInt32 {
			return 0, false
		}
		return uint64(uint32(int32(v))), true
	case int32:
		return uint64(uint32(v)), true
	case uint32:
		return uint64(v), true
	case int64:
		return uint64(v), true
	case uint64:
		return v, true
	case float64:
		return math.Float64bits(v), true
	case float32:
		return uint64(math.Float32bits(v)), true
	}
	return 0, false
}
