// Package hostgpu is the GPU engine's host emulation: a gpu.Device that
// compiles the engine's CUDA C source (the same text NVRTC compiles on the
// GPU) with the host's C compiler into a shared library, loads it with
// purego (no cgo) and runs each kernel's grid-stride loop over all its
// items in one call, and the products as plain loops in Go. It lets the
// engine's whole epoch run, and be tested against the CPU engine, on a
// machine without a GPU. Graphs are recorded lists of calls.
//
// The arithmetic is the kernels' own: the host's C compiler with
// -ffp-contract=off rounds + - * / as CUDA with --fmad=false does; the
// math library (sin, exp, …) and the products' order of summation differ
// from the GPU's in the last bits.
package hostgpu

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"

	"hnnsolve/internal/gpu"
)

// ErrNoCompiler: there is no C compiler (cc, gcc or clang) in PATH.
var ErrNoCompiler = errors.New("hostgpu: no host C compiler (cc, gcc or clang) in PATH")

// CFlags are the host compiler's flags: optimised, nothing fused or
// reassociated, warnings as errors.
var CFlags = []string{"-std=c99", "-O2", "-fPIC", "-shared", "-ffp-contract=off", "-fno-fast-math",
	"-Wall", "-Wno-unknown-pragmas", "-Werror"}

// Device is the host emulation of a GPU.
type Device struct {
	cc     string
	mutate func(string) string
}

var _ gpu.Device = (*Device)(nil)

// Open finds the host's C compiler ($CC, else cc, gcc or clang in PATH).
func Open() (*Device, error) {
	names := []string{"cc", "gcc", "clang"}
	if c := os.Getenv("CC"); c != "" {
		names = append([]string{c}, names...)
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return &Device{cc: p}, nil
		}
	}
	return nil, ErrNoCompiler
}

// WithMutation returns a Device that compiles mutate(src) instead of src:
// for tests that break a kernel on purpose.
func (d *Device) WithMutation(mutate func(src string) string) *Device {
	return &Device{cc: d.cc, mutate: mutate}
}

// Name describes the device.
func (d *Device) Name() string { return "host emulation (" + d.cc + ")" }

// library is a compiled and loaded source.
type library struct {
	handle uintptr
	syms   map[string]uintptr // kernel name -> its trampoline
}

var libs struct {
	sync.Mutex
	m map[string]*library
}

// Open compiles src (cached per source, in memory and in a directory under
// the temporary directory) and allocates the arena.
func (d *Device) Open(src string, kernels []gpu.Kernel, n int) (gpu.Session, error) {
	if d.mutate != nil {
		src = d.mutate(src)
	}
	full := src + trampolines(kernels)
	lib, err := d.load(full, kernels)
	if err != nil {
		return nil, err
	}
	s := &session{lib: lib, sigs: map[string]gpu.Kernel{}, arena: make([]float64, max(n, 1))}
	for _, k := range kernels {
		s.sigs[k.Name] = k
	}
	return s, nil
}

func (d *Device) load(src string, kernels []gpu.Kernel) (*library, error) {
	sum := sha256.Sum256([]byte(d.cc + "\x00" + strings.Join(CFlags, " ") + "\x00" + src))
	key := hex.EncodeToString(sum[:16])
	libs.Lock()
	defer libs.Unlock()
	if l, ok := libs.m[key]; ok {
		return l, nil
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("hnnsolve-hostgpu-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %v", gpu.ErrDevice, err)
	}
	so := filepath.Join(dir, key+".so")
	if _, err := os.Stat(so); err != nil {
		tmp, err := os.MkdirTemp(dir, "build-")
		if err != nil {
			return nil, fmt.Errorf("%w: %v", gpu.ErrDevice, err)
		}
		defer os.RemoveAll(tmp)
		c, out := filepath.Join(tmp, "engine.c"), filepath.Join(tmp, "engine.so")
		if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
			return nil, fmt.Errorf("%w: %v", gpu.ErrDevice, err)
		}
		args := append(append([]string{}, CFlags...), "-o", out, c, "-lm")
		if msg, err := exec.Command(d.cc, args...).CombinedOutput(); err != nil {
			kept := filepath.Join(dir, key+"-failed.c")
			os.WriteFile(kept, []byte(src), 0o644)
			return nil, fmt.Errorf("%w: compiling the kernels (%s %s): %v\n%s(source kept in %s)", gpu.ErrDevice,
				d.cc, strings.Join(args, " "), err, msg, kept)
		}
		if err := os.Rename(out, so); err != nil {
			return nil, fmt.Errorf("%w: %v", gpu.ErrDevice, err)
		}
	}
	h, err := purego.Dlopen(so, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("%w: loading %s: %v", gpu.ErrDevice, so, err)
	}
	l := &library{handle: h, syms: map[string]uintptr{}}
	for _, k := range kernels {
		p, err := purego.Dlsym(h, "hnn_call_"+k.Name)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", gpu.ErrDevice, so, err)
		}
		l.syms[k.Name] = p
	}
	if libs.m == nil {
		libs.m = map[string]*library{}
	}
	libs.m[key] = l
	return l, nil
}

// trampolines is C that calls each kernel with its arguments from an array
// of 64-bit slots, one pointer argument for purego.
func trampolines(kernels []gpu.Kernel) string {
	var sb strings.Builder
	sb.WriteString("\n/* Host trampolines (internal/gpu/hostgpu). */\n#include <stdint.h>\n#include <string.h>\n")
	sb.WriteString("static double hnn_host_d(unsigned long long x) { double d; memcpy(&d, &x, sizeof d); return d; }\n")
	for _, k := range kernels {
		fmt.Fprintf(&sb, "void hnn_call_%s(const unsigned long long* a);\n", k.Name)
		fmt.Fprintf(&sb, "void hnn_call_%s(const unsigned long long* a) {\n\t%s(", k.Name, k.Name)
		for i, c := range k.Params {
			if i > 0 {
				sb.WriteString(", ")
			}
			switch c {
			case 'p':
				fmt.Fprintf(&sb, "(double*)(uintptr_t)a[%d]", i)
			case 'i':
				fmt.Fprintf(&sb, "(long long)a[%d]", i)
			case 'd':
				fmt.Fprintf(&sb, "hnn_host_d(a[%d])", i)
			}
		}
		sb.WriteString(");\n}\n")
	}
	return sb.String()
}

// session is one engine's library and arena.
type session struct {
	lib       *library
	sigs      map[string]gpu.Kernel
	arena     []float64
	capturing bool
	recorded  []func()
	closed    bool
}

func (s *session) span(sp gpu.Span) ([]float64, error) {
	if s.closed {
		return nil, fmt.Errorf("%w: the session is closed", gpu.ErrDevice)
	}
	if sp.Off < 0 || sp.Len < 0 || sp.Off+sp.Len > len(s.arena) {
		return nil, fmt.Errorf("%w: span [%d, %d) outside the arena of %d", gpu.ErrDevice, sp.Off, sp.Off+sp.Len, len(s.arena))
	}
	return s.arena[sp.Off : sp.Off+sp.Len], nil
}

func (s *session) noCapture(op string) error {
	if s.capturing {
		return fmt.Errorf("%w: %s while capturing", gpu.ErrDevice, op)
	}
	return nil
}

func (s *session) Zero(sp gpu.Span) error {
	x, err := s.span(sp)
	if err != nil {
		return err
	}
	s.run(func() { clear(x) })
	return nil
}

func (s *session) CopyIn(dst gpu.Span, src []float64) error {
	if err := s.noCapture("CopyIn"); err != nil {
		return err
	}
	x, err := s.span(gpu.Span{Off: dst.Off, Len: len(src)})
	if err != nil {
		return err
	}
	copy(x, src)
	return nil
}

func (s *session) CopyOut(dst []float64, src gpu.Span) error {
	if err := s.noCapture("CopyOut"); err != nil {
		return err
	}
	x, err := s.span(gpu.Span{Off: src.Off, Len: len(dst)})
	if err != nil {
		return err
	}
	copy(dst, x)
	return nil
}

// run runs f now, or records it while capturing.
func (s *session) run(f func()) {
	if s.capturing {
		s.recorded = append(s.recorded, f)
		return
	}
	f()
}

func (s *session) Launch(kernel string, items int, args ...any) error {
	k, ok := s.sigs[kernel]
	if !ok {
		return fmt.Errorf("%w: no kernel %s", gpu.ErrDevice, kernel)
	}
	if err := k.CheckArgs(args); err != nil {
		return err
	}
	if s.closed {
		return fmt.Errorf("%w: the session is closed", gpu.ErrDevice)
	}
	slots := make([]uint64, len(args)+1)
	base := uintptr(unsafe.Pointer(&s.arena[0]))
	for i, a := range args {
		switch a := a.(type) {
		case gpu.Span:
			if _, err := s.span(a); err != nil {
				return fmt.Errorf("%s argument %d: %w", kernel, i, err)
			}
			slots[i] = uint64(base) + 8*uint64(a.Off)
		case int64:
			slots[i] = uint64(a)
		case float64:
			slots[i] = math.Float64bits(a)
		}
	}
	fn := s.lib.syms[kernel]
	arena := s.arena
	s.run(func() {
		purego.SyscallN(fn, uintptr(unsafe.Pointer(&slots[0])))
		runtime.KeepAlive(slots)
		runtime.KeepAlive(arena)
	})
	return nil
}

func (s *session) Gemm(g *gpu.Gemm) error {
	if err := g.Check(); err != nil {
		return err
	}
	for _, sp := range []gpu.Span{g.A, g.B, g.C} {
		if _, err := s.span(sp); err != nil {
			return err
		}
	}
	gg := *g
	x := s.arena
	s.run(func() { gemm(x, &gg) })
	return nil
}

// gemm is the row-major product of gpu.Gemm on the arena x, each entry a
// sum in the order of k.
func gemm(x []float64, g *gpu.Gemm) {
	for bt := range g.Batch {
		a, b, c := g.A.Off+bt*g.StrideA, g.B.Off+bt*g.StrideB, g.C.Off+bt*g.StrideC
		ar, ac := g.LDA, 1 // A(i, l) = x[a + i*ar + l*ac]
		if g.TransA {
			ar, ac = 1, g.LDA
		}
		br, bc := g.LDB, 1 // B(l, j) = x[b + l*br + j*bc]
		if g.TransB {
			br, bc = 1, g.LDB
		}
		for i := range g.M {
			for j := range g.N {
				s := 0.0
				for l := range g.K {
					s += x[a+i*ar+l*ac] * x[b+l*br+j*bc]
				}
				ci := c + i*g.LDC + j
				if g.Beta == 0 {
					x[ci] = g.Alpha * s
				} else {
					x[ci] = g.Alpha*s + g.Beta*x[ci]
				}
			}
		}
	}
}

func (s *session) Capture(record func() error) (gpu.Graph, error) {
	if err := s.noCapture("Capture"); err != nil {
		return nil, err
	}
	s.capturing, s.recorded = true, nil
	err := record()
	s.capturing = false
	ops := s.recorded
	s.recorded = nil
	if err != nil {
		return nil, err
	}
	return &graph{s: s, ops: ops}, nil
}

func (s *session) Close() error {
	s.closed = true
	s.arena = nil
	return nil
}

type graph struct {
	s   *session
	ops []func()
}

func (g *graph) Launch() error {
	if g.ops == nil || g.s.closed {
		return fmt.Errorf("%w: the graph or its session is closed", gpu.ErrDevice)
	}
	for _, f := range g.ops {
		f()
	}
	return nil
}

func (g *graph) Close() error {
	g.ops = nil
	return nil
}
