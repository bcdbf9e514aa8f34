package gpu

import (
	"fmt"
	"sync"

	"hnnsolve/internal/cuda"
)

// CUDA is the GPU, through internal/cuda (the driver API, NVRTC and cuBLAS
// loaded at run time). One CUDA serves any number of Engines, from any
// goroutines: its calls are serialised.
type CUDA struct {
	mu  sync.Mutex
	dev *cuda.Device
}

var _ Device = (*CUDA)(nil)

// OpenCUDA opens the GPU. In a build without the gpu tag, or where there is
// no usable GPU, the error wraps cuda.ErrUnavailable.
func OpenCUDA() (*CUDA, error) {
	d, err := cuda.Open()
	if err != nil {
		return nil, err
	}
	return &CUDA{dev: d}, nil
}

// Name describes the GPU.
func (c *CUDA) Name() string {
	in := c.dev.Info()
	return fmt.Sprintf("%s (cc %d.%d, %d SMs, driver %d, NVRTC %s, cuBLAS %d)", in.Name, in.Major, in.Minor,
		in.Multiprocessors, in.DriverVersion, in.NVRTCVersion, in.CublasVersion)
}

// Info is the GPU's description from internal/cuda.
func (c *CUDA) Info() cuda.Info { return c.dev.Info() }

// Close closes the GPU; its Sessions become invalid.
func (c *CUDA) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dev.Close()
}

// Open compiles src with NVRTC (cached per source by internal/cuda) and
// allocates the arena.
func (c *CUDA) Open(src string, kernels []Kernel, n int) (Session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	mod, err := c.dev.Compile(src, "hnnsolve_engine.cu")
	if err != nil {
		return nil, err
	}
	s := &cudaSession{c: c, mod: mod, fns: map[string]*cuda.Function{}, sigs: map[string]Kernel{}}
	for _, k := range kernels {
		f, err := mod.Function(k.Name)
		if err != nil {
			mod.Close()
			return nil, err
		}
		s.fns[k.Name], s.sigs[k.Name] = f, k
	}
	if s.arena, err = c.dev.Alloc(n); err != nil {
		mod.Close()
		return nil, err
	}
	if err := c.dev.Zero(s.arena); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

type cudaSession struct {
	c         *CUDA
	mod       *cuda.Module
	fns       map[string]*cuda.Function
	sigs      map[string]Kernel
	arena     cuda.Buffer
	capturing bool // Capture holds the lock
	closed    bool
}

// lock takes the device's lock, except inside Capture, which holds it.
func (s *cudaSession) lock() func() {
	if s.capturing {
		return func() {}
	}
	s.c.mu.Lock()
	return s.c.mu.Unlock
}

func (s *cudaSession) buf(sp Span) (cuda.Buffer, error) {
	if sp.Off < 0 || sp.Len < 0 || sp.Off+sp.Len > s.arena.Len() {
		return cuda.Buffer{}, fmt.Errorf("%w: span [%d, %d) outside the arena of %d", ErrDevice, sp.Off, sp.Off+sp.Len, s.arena.Len())
	}
	return s.arena.Slice(sp.Off, sp.Off+sp.Len), nil
}

func (s *cudaSession) Zero(sp Span) error {
	defer s.lock()()
	b, err := s.buf(sp)
	if err != nil {
		return err
	}
	return s.c.dev.Zero(b)
}

func (s *cudaSession) CopyIn(dst Span, src []float64) error {
	defer s.lock()()
	b, err := s.buf(Span{dst.Off, len(src)})
	if err != nil {
		return err
	}
	return s.c.dev.CopyIn(b, src)
}

func (s *cudaSession) CopyOut(dst []float64, src Span) error {
	defer s.lock()()
	b, err := s.buf(Span{src.Off, len(dst)})
	if err != nil {
		return err
	}
	return s.c.dev.CopyOut(dst, b)
}

// blockSize is the threads per block of every kernel; a grid covers the
// items once, up to maxBlocks blocks (the grid-stride loops do the rest).
const (
	blockSize = 256
	maxBlocks = 132 * 16
)

func (s *cudaSession) Launch(kernel string, items int, args ...any) error {
	defer s.lock()()
	f, ok := s.fns[kernel]
	if !ok {
		return fmt.Errorf("%w: no kernel %s", ErrDevice, kernel)
	}
	if err := s.sigs[kernel].CheckArgs(args); err != nil {
		return err
	}
	conv := make([]any, len(args))
	for i, a := range args {
		if sp, ok := a.(Span); ok {
			b, err := s.buf(sp)
			if err != nil {
				return err
			}
			conv[i] = b
			continue
		}
		conv[i] = a
	}
	blocks := min(max((items+blockSize-1)/blockSize, 1), maxBlocks)
	return s.c.dev.Launch(f, cuda.Dim{X: blocks}, cuda.Dim{X: blockSize}, conv...)
}

// cublasGemm is a product in cuBLAS's column-major convention (internal/cuda's
// Dgemm): C = op(A) op(B) with op(A) m×k, element (i, j) of X at
// X[i + j·ldx].
type cublasGemm struct {
	transA, transB bool
	m, n, k        int
	a              Span
	lda, sa        int
	b              Span
	ldb, sb        int
	c              Span
	ldc, sc        int
}

// colMajor maps the row-major product g onto cuBLAS's column-major one: a
// row-major X with row stride ld is the column-major Xᵀ with the same ld,
// so C = op(A) op(B) row-major is Cᵀ = op(B)ᵀ op(A)ᵀ column-major, the
// operands swapped.
func colMajor(g *Gemm) cublasGemm {
	return cublasGemm{transA: g.TransB, transB: g.TransA, m: g.N, n: g.M, k: g.K,
		a: g.B, lda: g.LDB, sa: g.StrideB, b: g.A, ldb: g.LDA, sb: g.StrideA, c: g.C, ldc: g.LDC, sc: g.StrideC}
}

func (s *cudaSession) Gemm(g *Gemm) error {
	defer s.lock()()
	if err := g.Check(); err != nil {
		return err
	}
	cm := colMajor(g)
	a, err := s.buf(cm.a)
	if err != nil {
		return err
	}
	b, err := s.buf(cm.b)
	if err != nil {
		return err
	}
	c, err := s.buf(cm.c)
	if err != nil {
		return err
	}
	if g.Batch == 1 {
		return s.c.dev.Dgemm(cm.transA, cm.transB, cm.m, cm.n, cm.k, g.Alpha, a, cm.lda, b, cm.ldb, g.Beta, c, cm.ldc)
	}
	return s.c.dev.DgemmStridedBatched(cm.transA, cm.transB, cm.m, cm.n, cm.k, g.Alpha, a, cm.lda, cm.sa,
		b, cm.ldb, cm.sb, g.Beta, c, cm.ldc, cm.sc, g.Batch)
}

func (s *cudaSession) Capture(record func() error) (Graph, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.capturing = true
	defer func() { s.capturing = false }()
	g, err := s.c.dev.Capture(record)
	if err != nil {
		return nil, err
	}
	return &cudaGraph{s: s, g: g}, nil
}

func (s *cudaSession) release() {
	s.c.dev.Free(s.arena)
	s.mod.Close()
}

func (s *cudaSession) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	err := s.c.dev.Free(s.arena)
	if e := s.mod.Close(); err == nil {
		err = e
	}
	return err
}

type cudaGraph struct {
	s *cudaSession
	g *cuda.Graph
}

func (g *cudaGraph) Launch() error {
	g.s.c.mu.Lock()
	defer g.s.c.mu.Unlock()
	return g.g.Launch()
}

func (g *cudaGraph) Close() error {
	g.s.c.mu.Lock()
	defer g.s.c.mu.Unlock()
	return g.g.Close()
}
