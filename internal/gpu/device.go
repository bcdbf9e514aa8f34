package gpu

import (
	"errors"
	"fmt"
)

// Device is where an Engine runs its kernels: the GPU (OpenCUDA) or the
// host emulation (package hostgpu), which compiles the same kernel source
// with the host's C compiler so that the whole epoch can be tested without
// a GPU.
type Device interface {
	// Open compiles src, whose kernels are listed in kernels, and
	// allocates an arena of n float64s (zeroed) for one Engine.
	Open(src string, kernels []Kernel, n int) (Session, error)
	// Name describes the device.
	Name() string
}

// Session is one Engine's compiled kernels and memory on a Device. All of
// its work runs in order; CopyIn and CopyOut wait for the work queued
// before them. Memory is addressed by Spans of the arena. A Session is used
// from one goroutine at a time.
type Session interface {
	Zero(s Span) error
	CopyIn(dst Span, src []float64) error
	CopyOut(dst []float64, src Span) error
	// Launch queues kernel over items independent items (its grid-stride
	// loop's bound); args are the kernel's parameters in order: Span
	// (a pointer into the arena), int64 or float64, as its Kernel says.
	Launch(kernel string, items int, args ...any) error
	// Gemm queues the row-major product g describes.
	Gemm(g *Gemm) error
	// Capture records the launches and products that record queues into
	// a Graph instead of running them; record must not copy.
	Capture(record func() error) (Graph, error)
	// Close frees the memory and the kernels.
	Close() error
}

// Graph is a recorded sequence of launches and products, replayed with the
// arguments it was recorded with.
type Graph interface {
	Launch() error
	Close() error
}

// Span is a range of a Session's arena, in float64s.
type Span struct{ Off, Len int }

// At is the span of n float64s from i within s.
func (s Span) At(i, n int) Span { return Span{s.Off + i, n} }

// Gemm is the row-major product, for i < Batch,
//
//	C_i = Alpha op(A_i) op(B_i) + Beta C_i
//
// with op(A) M×K (A stored M×K, or K×M when TransA, rows LDA apart), op(B)
// K×N (likewise), C M×N with rows LDC apart, and A_i starting StrideA
// float64s after A_{i-1} (B and C likewise). A, B and C are the spans the
// matrices of the whole batch lie in.
type Gemm struct {
	TransA, TransB   bool
	M, N, K          int
	Alpha, Beta      float64
	A, B, C          Span
	LDA, LDB, LDC    int
	StrideA, StrideB int
	StrideC, Batch   int
}

// Check reports a product that reads or writes outside its spans.
func (g *Gemm) Check() error {
	if g.M < 0 || g.N < 0 || g.K < 0 || g.Batch < 1 {
		return fmt.Errorf("gpu: gemm %d×%d×%d, batch %d", g.M, g.N, g.K, g.Batch)
	}
	ar, ac := g.M, g.K
	if g.TransA {
		ar, ac = g.K, g.M
	}
	br, bc := g.K, g.N
	if g.TransB {
		br, bc = g.N, g.K
	}
	for _, x := range []struct {
		what           string
		s              Span
		rows, cols, ld int
		stride         int
	}{{"A", g.A, ar, ac, g.LDA, g.StrideA}, {"B", g.B, br, bc, g.LDB, g.StrideB}, {"C", g.C, g.M, g.N, g.LDC, g.StrideC}} {
		if x.rows == 0 || x.cols == 0 {
			continue
		}
		if x.ld < x.cols || x.stride < 0 {
			return fmt.Errorf("gpu: gemm %s: %d×%d with row stride %d, batch stride %d", x.what, x.rows, x.cols, x.ld, x.stride)
		}
		if need := (g.Batch-1)*x.stride + (x.rows-1)*x.ld + x.cols; need > x.s.Len {
			return fmt.Errorf("gpu: gemm %s needs %d float64s, its span has %d", x.what, need, x.s.Len)
		}
	}
	return nil
}

// Kernel is a kernel's name and its parameters' kinds, one letter each:
// p a pointer (Span), i a long long (int64), d a double (float64).
type Kernel struct {
	Name   string
	Params string
}

// CheckArgs reports arguments that do not fit the kernel's parameters.
func (k Kernel) CheckArgs(args []any) error {
	if len(args) != len(k.Params) {
		return fmt.Errorf("gpu: %s takes %d arguments, got %d", k.Name, len(k.Params), len(args))
	}
	for i, a := range args {
		ok := false
		switch a.(type) {
		case Span:
			ok = k.Params[i] == 'p'
		case int64:
			ok = k.Params[i] == 'i'
		case float64:
			ok = k.Params[i] == 'd'
		}
		if !ok {
			return fmt.Errorf("gpu: %s: argument %d is %T, parameter kind %c", k.Name, i, a, k.Params[i])
		}
	}
	return nil
}

// ErrDevice is wrapped by the errors of a Device or Session: the GPU or the
// host compiler failed.
var ErrDevice = errors.New("gpu: device failed")

// DivergedError is Run's error for a network whose loss became NaN or Inf.
type DivergedError struct {
	Net   int
	Epoch int
	Loss  float64
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("gpu: network %d: loss is %v at epoch %d", e.Net, e.Loss, e.Epoch)
}
