//go:build !gpu

package cuda

// This file is the package without the gpu build tag: the same API, which
// cannot be reached since Open always fails. Keep it in step with the gpu
// files (api_test.go checks that both builds have every method).

// Device is an open GPU; see the gpu build.
type Device struct{}

// Module is compiled device code; see the gpu build.
type Module struct{}

// Function is a kernel of a Module; see the gpu build.
type Function struct{}

// Graph is a captured CUDA graph; see the gpu build.
type Graph struct{}

func errNoTag() error {
	return unavailable("Open", "this build of hnnsolve lacks the gpu build tag (build or test with -tags gpu)")
}

// Open returns an error wrapping ErrUnavailable: this build lacks the gpu tag.
func Open() (*Device, error) { return nil, errNoTag() }

// Close does nothing.
func (d *Device) Close() error { return nil }

// Info is empty.
func (d *Device) Info() Info { return Info{} }

// Alloc fails: there is no device.
func (d *Device) Alloc(n int) (Buffer, error) { return Buffer{}, errNoTag() }

// Free fails: there is no device.
func (d *Device) Free(b Buffer) error { return errNoTag() }

// CopyIn fails: there is no device.
func (d *Device) CopyIn(dst Buffer, src []float64) error { return errNoTag() }

// CopyOut fails: there is no device.
func (d *Device) CopyOut(dst []float64, src Buffer) error { return errNoTag() }

// Copy fails: there is no device.
func (d *Device) Copy(dst, src Buffer) error { return errNoTag() }

// Zero fails: there is no device.
func (d *Device) Zero(b Buffer) error { return errNoTag() }

// Synchronize fails: there is no device.
func (d *Device) Synchronize() error { return errNoTag() }

// Compile fails: there is no device.
func (d *Device) Compile(src, name string) (*Module, error) { return nil, errNoTag() }

// Function fails: there is no device.
func (m *Module) Function(name string) (*Function, error) { return nil, errNoTag() }

// Close does nothing.
func (m *Module) Close() error { return nil }

// Launch fails: there is no device.
func (d *Device) Launch(f *Function, grid, block Dim, args ...any) error { return errNoTag() }

// LaunchShared fails: there is no device.
func (d *Device) LaunchShared(f *Function, grid, block Dim, sharedBytes int, args ...any) error {
	return errNoTag()
}

// Capture fails: there is no device.
func (d *Device) Capture(record func() error) (*Graph, error) { return nil, errNoTag() }

// Launch fails: there is no device.
func (g *Graph) Launch() error { return errNoTag() }

// Close does nothing.
func (g *Graph) Close() error { return nil }

// Dgemm fails: there is no device.
func (d *Device) Dgemm(transA, transB bool, m, n, k int, alpha float64, a Buffer, lda int, b Buffer, ldb int,
	beta float64, c Buffer, ldc int) error {
	return errNoTag()
}

// DgemmStridedBatched fails: there is no device.
func (d *Device) DgemmStridedBatched(transA, transB bool, m, n, k int, alpha float64, a Buffer, lda, strideA int,
	b Buffer, ldb, strideB int, beta float64, c Buffer, ldc, strideC int, batch int) error {
	return errNoTag()
}
