//go:build gpu

package cuda

import (
	"fmt"
	"math"
	"runtime"
	"unsafe"
)

// Device is an open GPU (device 0) with its primary context, one stream into
// which all its work goes in order, NVRTC and a cuBLAS handle bound to that
// stream. Make one with Open and release it with Close. It is not safe for
// concurrent use.
type Device struct {
	drv    *driverAPI
	nv     *nvrtcAPI
	bl     *cublasAPI
	dev    int32
	ctx    uintptr
	stream uintptr
	blas   uintptr
	ws     uint64 // cuBLAS workspace, 0 if cuBLAS manages its own
	info   Info
	arch   string // "90" for compute capability 9.0

	// params is the parameter block of cuLaunchKernel, pinned for the
	// Device's life: ptrs[i] points at vals[i].
	params *launchParams
	pin    runtime.Pinner

	capturing bool
	closed    bool
}

// maxArgs is the most kernel arguments Launch takes.
const maxArgs = 64

type launchParams struct {
	vals [maxArgs]uint64
	ptrs [maxArgs]unsafe.Pointer
}

// The driver's constants used here.
const (
	attrMultiprocessors    = 16 // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
	attrComputeCapMajor    = 75 // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
	attrComputeCapMinor    = 76
	streamNonBlocking      = 1        // CU_STREAM_NON_BLOCKING: no implicit sync with the legacy NULL stream
	captureModeThreadLocal = 1        // CU_STREAM_CAPTURE_MODE_THREAD_LOCAL
	cublasWorkspaceBytes   = 32 << 20 // what cuBLAS recommends for Hopper
)

// Open loads the driver, NVRTC and cuBLAS, starts the driver and makes
// device 0's primary context current. Any failure returns an *Error
// wrapping ErrUnavailable that says which library or symbol was not found,
// or which driver call failed with which error name and code; what was set
// up is released again.
func Open() (dev *Device, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d := &Device{drv: &driverAPI{}, nv: &nvrtcAPI{}, bl: &cublasAPI{},
		info: Info{Libraries: map[string]string{}, LibrarySearchDirs: searchDirs()}}
	defer func() {
		if err != nil {
			d.release()
		}
	}()
	dirs := d.info.LibrarySearchDirs
	cu, err := load(libCUDA, dirs)
	if err != nil {
		return nil, err
	}
	d.addFiles(cu)
	if err := bind(cu.handle, "libcuda", d.drv.syms()); err != nil {
		return nil, err
	}
	drv := d.drv
	if err := drv.check("cuInit", drv.Init(0), ErrUnavailable); err != nil {
		return nil, err
	}
	var v, count int32
	if err := drv.check("cuDriverGetVersion", drv.DriverGetVersion(&v), ErrUnavailable); err != nil {
		return nil, err
	}
	d.info.DriverVersion = int(v)
	if err := drv.check("cuDeviceGetCount", drv.DeviceGetCount(&count), ErrUnavailable); err != nil {
		return nil, err
	}
	if count < 1 {
		return nil, unavailable("cuDeviceGetCount", "the driver sees no CUDA device")
	}
	if err := drv.check("cuDeviceGet(0)", drv.DeviceGet(&d.dev, 0), ErrUnavailable); err != nil {
		return nil, err
	}
	var name [256]byte
	if err := drv.check("cuDeviceGetName", drv.DeviceGetName(&name[0], int32(len(name)), d.dev), ErrUnavailable); err != nil {
		return nil, err
	}
	d.info.Name = cstr(&name[0])
	for _, a := range []struct {
		attr int32
		dst  *int
	}{{attrComputeCapMajor, &d.info.Major}, {attrComputeCapMinor, &d.info.Minor}, {attrMultiprocessors, &d.info.Multiprocessors}} {
		var x int32
		if err := drv.check(fmt.Sprintf("cuDeviceGetAttribute(%d)", a.attr), drv.DeviceGetAttribute(&x, a.attr, d.dev), ErrUnavailable); err != nil {
			return nil, err
		}
		*a.dst = int(x)
	}
	d.arch = fmt.Sprintf("%d%d", d.info.Major, d.info.Minor)
	if err := drv.check("cuDeviceTotalMem_v2", drv.DeviceTotalMem(&d.info.MemoryBytes, d.dev), ErrUnavailable); err != nil {
		return nil, err
	}
	var ctx uintptr
	if err := drv.check("cuDevicePrimaryCtxRetain", drv.PrimaryCtxRetain(&ctx, d.dev), ErrUnavailable); err != nil {
		return nil, err
	}
	d.ctx = ctx
	if err := drv.check("cuCtxSetCurrent", drv.CtxSetCurrent(d.ctx), ErrUnavailable); err != nil {
		return nil, err
	}
	if err := drv.check("cuStreamCreate", drv.StreamCreate(&d.stream, streamNonBlocking), ErrUnavailable); err != nil {
		return nil, err
	}

	nv, err := load(libNVRTC, dirs)
	if err != nil {
		return nil, err
	}
	d.addFiles(nv)
	if err := bind(nv.handle, "libnvrtc", d.nv.syms()); err != nil {
		return nil, err
	}
	var major, minor int32
	if r := d.nv.Version(&major, &minor); r != 0 {
		e := d.nv.check("nvrtcVersion", r).(*Error)
		e.kind = ErrUnavailable
		return nil, e
	}
	d.info.NVRTCVersion = fmt.Sprintf("%d.%d", major, minor)

	bl, err := load(libCublas, dirs)
	if err != nil {
		return nil, err
	}
	d.addFiles(bl)
	if err := bind(bl.handle, "libcublas", d.bl.syms()); err != nil {
		return nil, err
	}
	if err := d.bl.check("cublasCreate_v2", d.bl.Create(&d.blas), ErrUnavailable); err != nil {
		return nil, err
	}
	if err := d.bl.check("cublasSetStream_v2", d.bl.SetStream(d.blas, d.stream), ErrUnavailable); err != nil {
		return nil, err
	}
	// A workspace of its own keeps cuBLAS from allocating during a stream
	// capture, where allocation is not allowed.
	if d.bl.SetWorkspace != nil {
		if err := drv.check("cuMemAlloc_v2 (cuBLAS workspace)", drv.MemAlloc(&d.ws, cublasWorkspaceBytes), ErrUnavailable); err != nil {
			return nil, err
		}
		if err := d.bl.check("cublasSetWorkspace_v2", d.bl.SetWorkspace(d.blas, d.ws, cublasWorkspaceBytes), ErrUnavailable); err != nil {
			return nil, err
		}
	}
	if d.bl.GetVersion != nil {
		var bv int32
		if d.bl.GetVersion(d.blas, &bv) == 0 {
			d.info.CublasVersion = int(bv)
		}
	}

	d.params = &launchParams{}
	for i := range d.params.ptrs {
		d.params.ptrs[i] = unsafe.Pointer(&d.params.vals[i])
	}
	d.pin.Pin(d.params)
	return d, nil
}

func (d *Device) addFiles(l loaded) {
	for k, v := range l.files {
		d.info.Libraries[k] = v
	}
}

// release frees what Open set up, in reverse order, ignoring errors.
func (d *Device) release() {
	if d.blas != 0 {
		d.bl.Destroy(d.blas)
		d.blas = 0
	}
	if d.ws != 0 {
		d.drv.MemFree(d.ws)
		d.ws = 0
	}
	if d.stream != 0 {
		d.drv.StreamDestroy(d.stream)
		d.stream = 0
	}
	if d.ctx != 0 {
		d.drv.PrimaryCtxRelease(d.dev)
		d.ctx = 0
	}
	d.pin.Unpin()
}

// Close releases the cuBLAS handle, the stream and the primary context.
// Buffers, Modules and Graphs not freed before become invalid. Closing
// twice does nothing.
func (d *Device) Close() error {
	if d == nil || d.closed {
		return nil
	}
	if err := d.enter("Close"); err != nil {
		return err
	}
	defer d.leave()
	err := d.drv.check("cuStreamSynchronize", d.drv.StreamSynchronize(d.stream), ErrFailed)
	d.release()
	d.closed = true
	return err
}

// Info describes the device and the libraries loaded.
func (d *Device) Info() Info {
	if d == nil {
		return Info{}
	}
	in := d.info
	in.Libraries = map[string]string{}
	for k, v := range d.info.Libraries {
		in.Libraries[k] = v
	}
	in.LibrarySearchDirs = append([]string(nil), d.info.LibrarySearchDirs...)
	return in
}

// enter holds the OS thread and makes the context current on it; every
// method that calls the driver starts with it and ends with leave.
func (d *Device) enter(op string) error {
	if d == nil || d.closed {
		return failed(op, "the Device is closed")
	}
	runtime.LockOSThread()
	if d.capturing {
		return nil // Capture holds the thread, with the context current, until it ends
	}
	if err := d.drv.check("cuCtxSetCurrent", d.drv.CtxSetCurrent(d.ctx), ErrFailed); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	return nil
}

func (d *Device) leave() { runtime.UnlockOSThread() }

// notCapturing fails op during a Capture: it would synchronize with the
// host or allocate, which would end the capture with an error.
func (d *Device) notCapturing(op string) error {
	if d.capturing {
		return failed(op, "not allowed while a Capture records")
	}
	return nil
}

// Alloc allocates device memory for n float64s (uninitialised). Alloc(0)
// is the zero Buffer.
func (d *Device) Alloc(n int) (Buffer, error) {
	if n < 0 || n > math.MaxInt64/8 {
		return Buffer{}, failed("Alloc", fmt.Sprintf("n = %d, want 0 <= n", n))
	}
	if n == 0 {
		return Buffer{}, nil
	}
	if err := d.enter("Alloc"); err != nil {
		return Buffer{}, err
	}
	defer d.leave()
	if err := d.notCapturing("Alloc"); err != nil {
		return Buffer{}, err
	}
	var p uint64
	if err := d.drv.check(fmt.Sprintf("cuMemAlloc_v2(%d float64s)", n), d.drv.MemAlloc(&p, uint64(n)*8), ErrFailed); err != nil {
		return Buffer{}, err
	}
	return Buffer{ptr: p, n: n}, nil
}

// Free releases memory from Alloc (the whole Buffer it returned, not a
// Slice). Freeing the zero Buffer does nothing.
func (d *Device) Free(b Buffer) error {
	if b.ptr == 0 {
		return nil
	}
	if err := d.enter("Free"); err != nil {
		return err
	}
	defer d.leave()
	if err := d.notCapturing("Free"); err != nil {
		return err
	}
	return d.drv.check("cuMemFree_v2", d.drv.MemFree(b.ptr), ErrFailed)
}

// CopyIn copies src into the first len(src) float64s of dst, after the work
// queued before it, and waits for the copy.
func (d *Device) CopyIn(dst Buffer, src []float64) error {
	if len(src) > dst.n {
		return failed("CopyIn", fmt.Sprintf("%d float64s into a Buffer of %d", len(src), dst.n))
	}
	if len(src) == 0 {
		return nil
	}
	if err := d.enter("CopyIn"); err != nil {
		return err
	}
	defer d.leave()
	if err := d.notCapturing("CopyIn"); err != nil {
		return err
	}
	var pin runtime.Pinner
	pin.Pin(&src[0])
	defer pin.Unpin()
	err := d.drv.check("cuMemcpyHtoDAsync_v2",
		d.drv.MemcpyHtoDAsync(dst.ptr, unsafe.Pointer(&src[0]), uint64(len(src))*8, d.stream), ErrFailed)
	if err == nil {
		err = d.sync("CopyIn")
	}
	return err
}

// CopyOut copies the first len(dst) float64s of src into dst, after the
// work queued before it (so it sees the results of earlier launches).
func (d *Device) CopyOut(dst []float64, src Buffer) error {
	if len(dst) > src.n {
		return failed("CopyOut", fmt.Sprintf("%d float64s from a Buffer of %d", len(dst), src.n))
	}
	if len(dst) == 0 {
		return nil
	}
	if err := d.enter("CopyOut"); err != nil {
		return err
	}
	defer d.leave()
	if err := d.notCapturing("CopyOut"); err != nil {
		return err
	}
	var pin runtime.Pinner
	pin.Pin(&dst[0])
	defer pin.Unpin()
	err := d.drv.check("cuMemcpyDtoHAsync_v2",
		d.drv.MemcpyDtoHAsync(unsafe.Pointer(&dst[0]), src.ptr, uint64(len(dst))*8, d.stream), ErrFailed)
	if err == nil {
		err = d.sync("CopyOut")
	}
	return err
}

// Copy queues a device-to-device copy of src into the first src.Len()
// float64s of dst. It may be captured.
func (d *Device) Copy(dst, src Buffer) error {
	if src.n > dst.n {
		return failed("Copy", fmt.Sprintf("%d float64s into a Buffer of %d", src.n, dst.n))
	}
	if src.n == 0 {
		return nil
	}
	if err := d.enter("Copy"); err != nil {
		return err
	}
	defer d.leave()
	return d.drv.check("cuMemcpyDtoDAsync_v2", d.drv.MemcpyDtoDAsync(dst.ptr, src.ptr, uint64(src.n)*8, d.stream), ErrFailed)
}

// Zero queues setting b to +0.0. It may be captured.
func (d *Device) Zero(b Buffer) error {
	if b.n == 0 {
		return nil
	}
	if err := d.enter("Zero"); err != nil {
		return err
	}
	defer d.leave()
	return d.drv.check("cuMemsetD32Async", d.drv.MemsetD32Async(b.ptr, 0, uint64(b.n)*2, d.stream), ErrFailed)
}

// Synchronize waits until the work queued so far has run, and reports the
// first error it met (an error of an earlier asynchronous launch shows
// here).
func (d *Device) Synchronize() error {
	if err := d.enter("Synchronize"); err != nil {
		return err
	}
	defer d.leave()
	if err := d.notCapturing("Synchronize"); err != nil {
		return err
	}
	return d.sync("Synchronize")
}

func (d *Device) sync(op string) error {
	err := d.drv.check("cuStreamSynchronize", d.drv.StreamSynchronize(d.stream), ErrFailed)
	if e, ok := err.(*Error); ok {
		e.Op = op + ": " + e.Op
	}
	return err
}
