package cuda

import (
	"errors"
	"strings"
	"testing"
)

// Both builds, with and without the gpu tag, must have this API: the root
// package compiles against it either way. (A signature missing in one build
// fails this file's compilation there.)
var (
	_ func() (*Device, error)                                                                                                     = Open
	_ func(*Device) error                                                                                                         = (*Device).Close
	_ func(*Device) Info                                                                                                          = (*Device).Info
	_ func(*Device, int) (Buffer, error)                                                                                          = (*Device).Alloc
	_ func(*Device, Buffer) error                                                                                                 = (*Device).Free
	_ func(*Device, Buffer, []float64) error                                                                                      = (*Device).CopyIn
	_ func(*Device, []float64, Buffer) error                                                                                      = (*Device).CopyOut
	_ func(*Device, Buffer, Buffer) error                                                                                         = (*Device).Copy
	_ func(*Device, Buffer) error                                                                                                 = (*Device).Zero
	_ func(*Device) error                                                                                                         = (*Device).Synchronize
	_ func(*Device, string, string) (*Module, error)                                                                              = (*Device).Compile
	_ func(*Module, string) (*Function, error)                                                                                    = (*Module).Function
	_ func(*Module) error                                                                                                         = (*Module).Close
	_ func(*Device, *Function, Dim, Dim, ...any) error                                                                            = (*Device).Launch
	_ func(*Device, *Function, Dim, Dim, int, ...any) error                                                                       = (*Device).LaunchShared
	_ func(*Device, func() error) (*Graph, error)                                                                                 = (*Device).Capture
	_ func(*Graph) error                                                                                                          = (*Graph).Launch
	_ func(*Graph) error                                                                                                          = (*Graph).Close
	_ func(*Device, bool, bool, int, int, int, float64, Buffer, int, Buffer, int, float64, Buffer, int) error                     = (*Device).Dgemm
	_ func(*Device, bool, bool, int, int, int, float64, Buffer, int, int, Buffer, int, int, float64, Buffer, int, int, int) error = (*Device).DgemmStridedBatched
)

func TestError(t *testing.T) {
	e := &Error{Op: "cuInit", Code: 100, Name: "CUDA_ERROR_NO_DEVICE", Detail: "no CUDA-capable device is detected", kind: ErrUnavailable}
	if got, want := e.Error(), "cuda: cuInit: CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, ErrUnavailable) || errors.Is(e, ErrFailed) {
		t.Error("an unavailable Error is not ErrUnavailable only")
	}
	f := failed("CopyIn", "3 float64s into a Buffer of 2")
	if !errors.Is(f, ErrFailed) || errors.Is(f, ErrUnavailable) {
		t.Error("a failed Error is not ErrFailed only")
	}
	if got := (&Error{Op: "x", Code: 7}).Error(); got != "cuda: x: error 7" {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(&Error{Op: "x"}, ErrFailed) {
		t.Error("an Error without a kind is not ErrFailed")
	}
}

func TestBufferSlice(t *testing.T) {
	b := Buffer{ptr: 1 << 20, n: 10}
	s := b.Slice(2, 5)
	if s.Len() != 3 || s.Ptr() != 1<<20+16 {
		t.Errorf("Slice(2, 5) = %+v", s)
	}
	if e := b.Slice(10, 10); e.Len() != 0 || e.Ptr() != 1<<20+80 {
		t.Errorf("Slice(10, 10) = %+v", e)
	}
	for _, r := range [][2]int{{-1, 2}, {3, 2}, {0, 11}} {
		if z := b.Slice(r[0], r[1]); z != (Buffer{}) {
			t.Errorf("Slice(%d, %d) = %+v, want the zero Buffer", r[0], r[1], z)
		}
	}
}

func TestErrorMessagesNameTheTag(t *testing.T) {
	_, err := Open()
	if err == nil {
		return // the gpu build on a GPU machine
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Open: %v does not wrap ErrUnavailable", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Op == "" || !strings.HasPrefix(err.Error(), "cuda: ") {
		t.Fatalf("Open: %v (%T) is not a well-formed *Error", err, err)
	}
	t.Logf("Open: %v", err)
}
