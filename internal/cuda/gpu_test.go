//go:build gpu

package cuda

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"hnnsolve/internal/pointwise"
)

// openOrSkip opens the GPU, or skips the test where there is none.
func openOrSkip(t testing.TB) *Device {
	t.Helper()
	d, err := Open()
	if err != nil {
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Open: %v does not wrap ErrUnavailable", err)
		}
		t.Skipf("no usable GPU: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// TestOpenUnavailable: on a machine without a GPU (or without the
// libraries) Open returns an *Error wrapping ErrUnavailable, not a panic.
func TestOpenUnavailable(t *testing.T) {
	d, err := Open()
	if err == nil {
		in := d.Info()
		d.Close()
		t.Skipf("a GPU is present: %s, cc %d.%d, driver %d, NVRTC %s, cuBLAS %d, libraries %v",
			in.Name, in.Major, in.Minor, in.DriverVersion, in.NVRTCVersion, in.CublasVersion, in.Libraries)
	}
	var e *Error
	if d != nil || !errors.Is(err, ErrUnavailable) || !errors.As(err, &e) {
		t.Fatalf("Open() = %v, %v (%T); want nil and an *Error wrapping ErrUnavailable", d, err, err)
	}
	t.Logf("Open: %v", err)
}

func randVec(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = 2*rng.Float64() - 1
	}
	return x
}

func upload(t *testing.T, d *Device, x []float64) Buffer {
	t.Helper()
	b, err := d.Alloc(len(x))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Free(b) })
	if err := d.CopyIn(b, x); err != nil {
		t.Fatal(err)
	}
	return b
}

func download(t *testing.T, d *Device, b Buffer) []float64 {
	t.Helper()
	x := make([]float64, b.Len())
	if err := d.CopyOut(x, b); err != nil {
		t.Fatal(err)
	}
	return x
}

func TestMemory(t *testing.T) {
	d := openOrSkip(t)
	rng := rand.New(rand.NewPCG(1, 2))
	x := randVec(rng, 1000)
	a := upload(t, d, x)
	if got := download(t, d, a); !equal(got, x) {
		t.Fatal("CopyIn then CopyOut changed the data")
	}
	b := upload(t, d, make([]float64, 1000))
	if err := d.Copy(b.Slice(100, 200), a.Slice(0, 100)); err != nil {
		t.Fatal(err)
	}
	if err := d.Zero(a.Slice(10, 20)); err != nil {
		t.Fatal(err)
	}
	gotA, gotB := download(t, d, a), download(t, d, b)
	for i := range x {
		wantA, wantB := x[i], 0.0
		if i >= 10 && i < 20 {
			wantA = 0
		}
		if i >= 100 && i < 200 {
			wantB = x[i-100]
		}
		if math.Float64bits(gotA[i]) != math.Float64bits(wantA) || gotB[i] != wantB {
			t.Fatalf("element %d: a %v (want %v), b %v (want %v)", i, gotA[i], wantA, gotB[i], wantB)
		}
	}
	for name, err := range map[string]error{
		"CopyIn too long":  d.CopyIn(a.Slice(0, 2), x[:3]),
		"CopyOut too long": d.CopyOut(make([]float64, 3), a.Slice(0, 2)),
		"Copy too long":    d.Copy(a.Slice(0, 2), a.Slice(0, 3)),
		"Alloc negative":   func() error { _, err := d.Alloc(-1); return err }(),
		"bad Slice":        d.CopyIn(a.Slice(5, 2000), x[:1]),
	} {
		if !errors.Is(err, ErrFailed) {
			t.Errorf("%s: %v, want an error wrapping ErrFailed", name, err)
		}
	}
	if z, err := d.Alloc(0); err != nil || z.Len() != 0 {
		t.Errorf("Alloc(0) = %+v, %v", z, err)
	}
	if err := d.Synchronize(); err != nil {
		t.Fatal(err)
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// gemmRef is the column-major C = alpha op(A) op(B) + beta C with a
// relative error measure per entry, sum |a b| (for the tolerance).
func gemmRef(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int,
	beta float64, c []float64, ldc int) (ref, mag []float64) {
	ref, mag = make([]float64, len(c)), make([]float64, len(c))
	copy(ref, c)
	for j := range n {
		for i := range m {
			var s, g float64
			for l := range k {
				ail := a[i+l*lda]
				if transA {
					ail = a[l+i*lda]
				}
				blj := b[l+j*ldb]
				if transB {
					blj = b[j+l*ldb]
				}
				s += ail * blj
				g += math.Abs(ail * blj)
			}
			ref[i+j*ldc] = alpha*s + beta*c[i+j*ldc]
			mag[i+j*ldc] = math.Abs(alpha)*g + math.Abs(beta*c[i+j*ldc])
		}
	}
	return ref, mag
}

func checkGemm(t *testing.T, what string, got, ref, mag []float64) {
	t.Helper()
	worst := 0.0
	for i := range got {
		worst = max(worst, math.Abs(got[i]-ref[i])/max(mag[i], 1e-300))
	}
	if !(worst <= 1e-14) {
		t.Errorf("%s: largest relative error %.3g, want <= 1e-14", what, worst)
	}
}

// TestDeviceDgemm checks Dgemm (all four transposes, alpha and beta, a
// leading dimension larger than the rows), the row-major mapping of its
// documentation, DgemmStridedBatched and the size checks.
func TestDeviceDgemm(t *testing.T) {
	d := openOrSkip(t)
	rng := rand.New(rand.NewPCG(3, 4))
	const m, n, k = 37, 29, 50
	for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		ta, tb := tr[0], tr[1]
		aRows, aCols, bRows, bCols := m, k, k, n
		if ta {
			aRows, aCols = k, m
		}
		if tb {
			bRows, bCols = n, k
		}
		lda, ldb, ldc := aRows+3, bRows, m+1
		a, b, c := randVec(rng, lda*aCols), randVec(rng, ldb*bCols), randVec(rng, ldc*n)
		da, db, dc := upload(t, d, a), upload(t, d, b), upload(t, d, c)
		if err := d.Dgemm(ta, tb, m, n, k, 0.75, da, lda, db, ldb, -0.5, dc, ldc); err != nil {
			t.Fatal(err)
		}
		ref, mag := gemmRef(ta, tb, m, n, k, 0.75, a, lda, b, ldb, -0.5, c, ldc)
		got := download(t, d, dc)
		for j := range n { // the padding rows are left alone
			got[m+j*ldc], ref[m+j*ldc], mag[m+j*ldc] = 0, 0, 1
		}
		checkGemm(t, "Dgemm", got, ref, mag)
	}

	// Row-major C[m×n] = A[m×k] B[k×n]: Dgemm(false, false, n, m, k, 1, B, n, A, k, 0, C, n).
	a, b := randVec(rng, m*k), randVec(rng, k*n)
	da, db, dc := upload(t, d, a), upload(t, d, b), upload(t, d, make([]float64, m*n))
	if err := d.Dgemm(false, false, n, m, k, 1, db, n, da, k, 0, dc, n); err != nil {
		t.Fatal(err)
	}
	got := download(t, d, dc)
	ref, mag := make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for j := range n {
			for l := range k {
				ref[i*n+j] += a[i*k+l] * b[l*n+j]
				mag[i*n+j] += math.Abs(a[i*k+l] * b[l*n+j])
			}
		}
	}
	checkGemm(t, "row-major Dgemm", got, ref, mag)

	// A batch of the network's two shapes.
	const batch = 7
	for _, ta := range []bool{false, true} {
		rows, cols := 200, 50 // A_i: 200×50; C_i = A_i B_i (50×50 B) or A_iᵀ B_i (200×50 B)
		mm, nn, kk, ldb := rows, 50, cols, cols
		if ta {
			mm, kk, ldb = cols, rows, rows
		}
		sa, sb, sc := rows*cols, kk*nn, mm*nn
		a, b := randVec(rng, batch*sa), randVec(rng, batch*sb)
		da, db, dc := upload(t, d, a), upload(t, d, b), upload(t, d, make([]float64, batch*sc))
		if err := d.DgemmStridedBatched(ta, false, mm, nn, kk, 1, da, rows, sa, db, ldb, sb, 0, dc, mm, sc, batch); err != nil {
			t.Fatal(err)
		}
		got := download(t, d, dc)
		for i := range batch {
			ref, mag := gemmRef(ta, false, mm, nn, kk, 1, a[i*sa:(i+1)*sa], rows, b[i*sb:(i+1)*sb], ldb, 0, make([]float64, sc), mm)
			checkGemm(t, "DgemmStridedBatched", got[i*sc:(i+1)*sc], ref, mag)
		}
	}

	small := upload(t, d, make([]float64, 10))
	for name, err := range map[string]error{
		"A too small":    d.Dgemm(false, false, 4, 4, 4, 1, small, 4, da, 4, 0, dc, 4),
		"lda too small":  d.Dgemm(false, false, 4, 4, 4, 1, da, 3, db, 4, 0, dc, 4),
		"negative size":  d.Dgemm(false, false, -1, 4, 4, 1, da, 4, db, 4, 0, dc, 4),
		"batch too long": d.DgemmStridedBatched(false, false, 2, 2, 2, 1, small, 2, 4, small, 2, 4, 0, small, 2, 4, 3),
	} {
		if !errors.Is(err, ErrFailed) {
			t.Errorf("%s: %v, want an error wrapping ErrFailed", name, err)
		}
	}
}

// testPrograms are the pointwise programs run on the GPU: the oscillator's
// and Hénon-Heiles' H and gradient with a few more exact ops (bit for bit),
// and one output per library function of the inputs (transTolerance).
func testPrograms(t *testing.T) (exact []*pointwise.Program, trans *pointwise.Program) {
	osc := pointwise.NewBuilder(2)
	q, p := osc.Input(0), osc.Input(1)
	x2 := osc.Unary(pointwise.OpSquare, q)
	h := osc.Add(osc.Mul(osc.Const(0.5), osc.Add(osc.Unary(pointwise.OpSquare, p), x2)),
		osc.Mul(osc.Const(0.25), osc.Pow(q, osc.Const(4))))
	op, err := osc.Program(h, osc.Add(q, osc.Unary(pointwise.OpCube, q)), p)
	if err != nil {
		t.Fatal(err)
	}
	hh := pointwise.NewBuilder(4)
	x, y, px, py := hh.Input(0), hh.Input(1), hh.Input(2), hh.Input(3)
	hx2 := hh.Pow(x, hh.Const(2))
	hq := hh.Mul(hh.Const(0.5), hh.Add(hh.Add(hh.Unary(pointwise.OpSquare, px), hh.Unary(pointwise.OpSquare, py)),
		hh.Add(hx2, hh.Unary(pointwise.OpSquare, y))))
	hc := hh.Sub(hh.Mul(hx2, y), hh.Div(hh.Unary(pointwise.OpCube, y), hh.Const(3)))
	dx := hh.Add(x, hh.Mul(hh.Mul(hh.Const(2), x), y))
	dy := hh.Sub(hh.Add(y, hx2), hh.Unary(pointwise.OpSquare, y))
	hp, err := hh.Program(hh.Add(hq, hc), dx, dy, px, py, hh.Unary(pointwise.OpSqrt, hh.Unary(pointwise.OpAbs, x)),
		hh.Unary(pointwise.OpInv, y), hh.Pow(x, hh.Const(-3)), hh.Pow(px, hh.Const(7)))
	if err != nil {
		t.Fatal(err)
	}
	tb := pointwise.NewBuilder(2)
	u, v := tb.Input(0), tb.Input(1)
	tp, err := tb.Program(tb.Unary(pointwise.OpSin, u), tb.Unary(pointwise.OpCos, u), tb.Unary(pointwise.OpExp, u),
		tb.Unary(pointwise.OpLn, tb.Unary(pointwise.OpAbs, u)), tb.Unary(pointwise.OpTanh, u), tb.Pow(tb.Unary(pointwise.OpAbs, u), v))
	if err != nil {
		t.Fatal(err)
	}
	return []*pointwise.Program{op, hp}, tp
}

// transTolerance is how far, relative, the GPU's library functions may be
// from Go's at arguments in [-2, 2]: 1e-15 (CUDA documents 1-2 ulps for
// sin, cos, exp, log and tanh, Go's are within 1), and 1e-14 for a power
// with a non-integer exponent, which both compute as exp(f·log x) and whose
// error grows with |log x| for small bases.
var transTolerance = []float64{1e-15, 1e-15, 1e-15, 1e-15, 1e-15, 1e-14}

// runProgram compiles p's kernel, runs it at k points and returns the
// outputs and Eval's.
func runProgram(t *testing.T, d *Device, p *pointwise.Program, name string, k int, rng *rand.Rand) (got, want []float64) {
	t.Helper()
	src, err := p.EmitKernel(name)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m, err := d.Compile(src, name+".cu")
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	t.Logf("%s: compiled and loaded in %v", name, time.Since(start))
	t.Cleanup(func() { m.Close() })
	f, err := m.Function(name)
	if err != nil {
		t.Fatal(err)
	}
	in := randVec(rng, p.NumInputs*k)
	for i := range in {
		in[i] *= 2
	}
	din := upload(t, d, in)
	dout := upload(t, d, make([]float64, len(p.Outputs)*k))
	if err := d.Launch(f, Dim{X: 13}, Dim{X: 128}, din, dout, k); err != nil { // fewer threads than points: the grid-stride loop
		t.Fatal(err)
	}
	if err := d.Synchronize(); err != nil {
		t.Fatal(err)
	}
	want = make([]float64, len(p.Outputs)*k)
	p.EvalPoints(in, want, k)
	return download(t, d, dout), want
}

// TestCompileAndLaunch runs kernels that pointwise generates and compares
// them with pointwise.Eval: bit for bit for exact arithmetic (NVRTC with
// --fmad=false), to 1e-15 relative for the library functions.
func TestCompileAndLaunch(t *testing.T) {
	d := openOrSkip(t)
	rng := rand.New(rand.NewPCG(5, 6))
	const k = 5000
	exact, trans := testPrograms(t)
	for i, p := range exact {
		got, want := runProgram(t, d, p, []string{"oscillator", "henon_heiles"}[i], k, rng)
		for j := range want {
			if math.Float64bits(got[j]) != math.Float64bits(want[j]) && !(math.IsNaN(got[j]) && math.IsNaN(want[j])) {
				t.Fatalf("program %d, output %d, point %d: GPU %v, Eval %v", i, j/k, j%k, got[j], want[j])
			}
		}
	}
	got, want := runProgram(t, d, trans, "library_functions", k, rng)
	worst := make([]float64, len(trans.Outputs))
	for j := range want {
		e := math.Abs(got[j]-want[j]) / max(math.Abs(want[j]), 1e-300)
		if got[j] == want[j] || math.IsNaN(got[j]) && math.IsNaN(want[j]) {
			e = 0
		}
		out := j / k
		worst[out] = max(worst[out], e)
		if !(e <= transTolerance[out]) {
			t.Errorf("output %d at point %d: GPU %v, Eval %v: relative difference %.3g, want <= %.3g",
				out, j%k, got[j], want[j], e, transTolerance[out])
			break
		}
	}
	t.Logf("sin, cos, exp, ln, tanh, pow: largest relative differences from Go %.2g", worst)

	// The cache: the same source again is only loaded.
	src, _ := exact[0].EmitKernel("oscillator")
	start := time.Now()
	m, err := d.Compile(src, "again.cu")
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if dt := time.Since(start); dt > 100*time.Millisecond {
		t.Errorf("compiling a cached source took %v", dt)
	}
	// Errors: bad source (with NVRTC's log), unknown kernel, bad arguments.
	_, err = d.Compile(`extern "C" __global__ void broken(double* x) { x[0] = y; }`, "broken.cu")
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrFailed) || !strings.Contains(e.Detail, "broken.cu") {
		t.Errorf("compiling a broken source: %v, want an *Error with the log", err)
	} else {
		t.Logf("compile error as reported: %v", err)
	}
	m, err = d.Compile(src, "oscillator.cu")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Function("nonesuch"); !errors.Is(err, ErrFailed) {
		t.Errorf("Function(nonesuch): %v", err)
	}
	f, err := m.Function("oscillator")
	if err != nil {
		t.Fatal(err)
	}
	buf := upload(t, d, make([]float64, 8))
	for name, err := range map[string]error{
		"string argument":    d.Launch(f, Dim{X: 1}, Dim{X: 1}, buf, buf, "4"),
		"int beyond int32":   d.Launch(f, Dim{X: 1}, Dim{X: 1}, buf, buf, 1<<40),
		"negative grid":      d.Launch(f, Dim{X: -1}, Dim{X: 1}, buf, buf, 4),
		"too many arguments": d.Launch(f, Dim{X: 1}, Dim{X: 1}, make([]any, maxArgs+1)...),
		"nil function":       d.Launch(nil, Dim{X: 1}, Dim{X: 1}),
	} {
		if !errors.Is(err, ErrFailed) {
			t.Errorf("%s: %v, want an error wrapping ErrFailed", name, err)
		}
	}
}

// stepSrc is one update of x, exact in IEEE arithmetic without FMA (0.5 and
// 0.25 are powers of two, so x·0.5 is exact and + rounds once).
const stepSrc = `
extern "C" __global__ void step(double* x, double c, int n) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) x[i] = x[i] * 0.5 + c;
}
`

// TestGraphReplay captures 20 launches, a Dgemm, a Copy and a Zero into a
// graph, replays it, and checks the result bit for bit against the CPU and
// against the same work launched directly.
func TestGraphReplay(t *testing.T) {
	d := openOrSkip(t)
	m, err := d.Compile(stepSrc, "step.cu")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	f, err := m.Function("step")
	if err != nil {
		t.Fatal(err)
	}
	const n, steps, replays = 1000, 20, 5
	rng := rand.New(rand.NewPCG(7, 8))
	x0 := randVec(rng, n)
	x := upload(t, d, x0)
	saved := upload(t, d, make([]float64, n))
	// A 4×4 product on the first 16 elements: C = A·A (C = saved[0:16]).
	a := x.Slice(0, 16)
	epoch := func() error {
		for s := range steps {
			if err := d.Launch(f, Dim{X: (n + 127) / 128}, Dim{X: 128}, x, 0.25+float64(s), n); err != nil {
				return err
			}
		}
		if err := d.Dgemm(false, false, 4, 4, 4, 1, a, 4, a, 4, 0, saved, 4); err != nil {
			return err
		}
		if err := d.Copy(saved.Slice(500, 1000), x.Slice(500, 1000)); err != nil {
			return err
		}
		return d.Zero(x.Slice(990, 1000))
	}
	g, err := d.Capture(epoch)
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	defer g.Close()
	if got := download(t, d, x); !equal(got, x0) {
		t.Fatal("Capture ran the work instead of recording it")
	}
	for range replays {
		if err := g.Launch(); err != nil {
			t.Fatal(err)
		}
	}
	gotX, gotSaved := download(t, d, x), download(t, d, saved)

	// The same by direct launches, and on the CPU.
	if err := d.CopyIn(x, x0); err != nil {
		t.Fatal(err)
	}
	for range replays {
		if err := epoch(); err != nil {
			t.Fatal(err)
		}
	}
	directX, directSaved := download(t, d, x), download(t, d, saved)
	want := append([]float64(nil), x0...)
	for range replays {
		for s := range steps {
			for i := range want {
				want[i] = want[i]*0.5 + (0.25 + float64(s))
			}
		}
		for i := 990; i < n; i++ {
			want[i] = 0
		}
	}
	if !equal(gotX, want) || !equal(directX, want) {
		t.Errorf("x after %d replays differs from the CPU's", replays)
	}
	if !equal(gotSaved, directSaved) {
		t.Errorf("the graph's products and copies differ from the direct launches'")
	}

	// What may not be captured fails cleanly, and the stream leaves capture mode.
	if _, err := d.Capture(func() error { return d.CopyIn(x, x0) }); !errors.Is(err, ErrFailed) {
		t.Errorf("CopyIn inside Capture: %v, want ErrFailed", err)
	}
	sentinel := errors.New("stop")
	if gr, err := d.Capture(func() error { return sentinel }); gr != nil || err != sentinel {
		t.Errorf("Capture of a failing record = %v, %v; want nil, the record's error", gr, err)
	}
	if err := d.Synchronize(); err != nil {
		t.Errorf("Synchronize after the failed captures: %v", err)
	}
}

// BenchmarkLaunch is the cost of one small kernel launch and of one replay
// of a graph of 30 such launches (synchronized at the end).
func BenchmarkLaunch(b *testing.B) {
	d := openOrSkip(b)
	m, err := d.Compile(stepSrc, "step.cu")
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	f, err := m.Function("step")
	if err != nil {
		b.Fatal(err)
	}
	x, err := d.Alloc(1000)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Free(x)
	if err := d.Zero(x); err != nil {
		b.Fatal(err)
	}
	launch := func() error { return d.Launch(f, Dim{X: 8}, Dim{X: 128}, x, 0.25, 1000) }
	b.Run("kernel", func(b *testing.B) {
		for b.Loop() {
			if err := launch(); err != nil {
				b.Fatal(err)
			}
		}
		if err := d.Synchronize(); err != nil {
			b.Fatal(err)
		}
	})
	g, err := d.Capture(func() error {
		for range 30 {
			if err := launch(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	b.Run("graph30", func(b *testing.B) {
		for b.Loop() {
			if err := g.Launch(); err != nil {
				b.Fatal(err)
			}
		}
		if err := d.Synchronize(); err != nil {
			b.Fatal(err)
		}
	})
}
