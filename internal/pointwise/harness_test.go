package pointwise

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The emitted C is tested by compiling it with the host's C compiler into a
// standalone executable (no cgo, no GPU): a generated main reads each case's
// inputs from a file (hex floats, read by fscanf's strtod), runs the case's
// kernel over its points and prints every output with %a (hex, exact). The
// tests compare those outputs with Eval.

// cCase is one program run over k points; in is laid out as EvalPoints takes it.
type cCase struct {
	p  *Program
	k  int
	in []float64
}

// hostCompiler is the C (or, with cxx, C++) compiler: cc, gcc or clang
// (c++, g++, clang++), found in PATH. The test is skipped without one.
func hostCompiler(t *testing.T, cxx bool) string {
	t.Helper()
	names := []string{"cc", "gcc", "clang"}
	if cxx {
		names = []string{"c++", "g++", "clang++"}
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skipf("no host C%s compiler (tried %s in PATH): the emitted C cannot be compiled here; CI has gcc",
		map[bool]string{true: "++"}[cxx], strings.Join(names, ", "))
	return ""
}

// Flags for the host C: ISO C99, optimised, nothing fused or reassociated.
var cFlags = []string{"-std=c99", "-O2", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Wextra", "-Wno-unknown-pragmas", "-Werror"}

// cudaMock lets the CUDA branch of the Prelude compile as host C++: the
// qualifiers become nothing and the thread indices are globals that the
// generated main sets as a grid of blocks of threads would.
const cudaMock = `#include <math.h>
#include <string.h>
struct hnn_dim3 { unsigned x, y, z; };
static hnn_dim3 threadIdx, blockIdx, blockDim, gridDim;
#define __device__
#define __global__
#define __forceinline__ inline
#define __restrict__ __restrict
static inline double __longlong_as_double(long long v) { double d; memcpy(&d, &v, sizeof d); return d; }
static inline long long __double_as_longlong(double d) { long long v; memcpy(&v, &d, sizeof v); return v; }
`

// runC compiles the cases' kernels into one executable, runs it and returns
// each case's outputs (EvalPoints' layout). mutate, if not nil, edits the
// generated source first. cuda compiles the CUDA branch as C++ with
// cudaMock, launching each kernel on a grid of 3 blocks of 5 threads.
func runC(t *testing.T, cases []cCase, cuda bool, mutate func(string) string) [][]float64 {
	t.Helper()
	cc := hostCompiler(t, cuda)
	var src strings.Builder
	if cuda {
		src.WriteString(cudaMock)
	}
	for i, c := range cases {
		s, err := c.p.EmitKernel(fmt.Sprintf("case%d", i))
		if err != nil {
			t.Fatalf("case %d: EmitKernel: %v", i, err)
		}
		src.WriteString(s)
	}
	src.WriteString("\n#include <stdio.h>\n#include <stdlib.h>\n")
	src.WriteString(`static double* hnn_read(FILE* f, long long n) {
	double* x = (double*)malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
	for (long long i = 0; i < n; i++) {
		if (fscanf(f, "%lf", &x[i]) != 1) { fprintf(stderr, "bad input %lld\n", i); exit(3); }
	}
	return x;
}
int main(int argc, char** argv) {
	if (argc != 2) return 2;
	FILE* f = fopen(argv[1], "r");
	if (f == NULL) return 2;
	long long K, ni, no;
	double *in, *out;
`)
	for i, c := range cases {
		fmt.Fprintf(&src, "\tif (fscanf(f, \"%%lld %%lld %%lld\", &K, &ni, &no) != 3) return 3;\n")
		fmt.Fprintf(&src, "\tin = hnn_read(f, ni * K);\n\tout = (double*)calloc((size_t)(no * K + 1), sizeof(double));\n")
		if cuda {
			fmt.Fprintf(&src, "\tgridDim.x = 3; blockDim.x = 5;\n")
			fmt.Fprintf(&src, "\tfor (blockIdx.x = 0; blockIdx.x < gridDim.x; blockIdx.x++)\n")
			fmt.Fprintf(&src, "\t\tfor (threadIdx.x = 0; threadIdx.x < blockDim.x; threadIdx.x++) case%d(in, out, (int)K);\n", i)
		} else {
			fmt.Fprintf(&src, "\tcase%d(in, out, (int)K);\n", i)
		}
		fmt.Fprintf(&src, "\tfor (long long i = 0; i < no * K; i++) printf(\"%%a\\n\", out[i]);\n")
		fmt.Fprintf(&src, "\tfree(in);\n\tfree(out);\n")
		_ = c
	}
	src.WriteString("\treturn 0;\n}\n")
	text := src.String()
	if mutate != nil {
		text = mutate(text)
	}

	dir := t.TempDir()
	srcFile, exe, input := filepath.Join(dir, "prog.c"), filepath.Join(dir, "prog"), filepath.Join(dir, "input.txt")
	args := append(append([]string{}, cFlags...), "-o", exe, srcFile, "-lm")
	if cuda {
		srcFile = filepath.Join(dir, "prog.cpp")
		args = []string{"-std=c++17", "-O2", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Wno-unknown-pragmas",
			"-Werror", "-D__CUDACC__", "-o", exe, srcFile, "-lm"}
	}
	if err := os.WriteFile(srcFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("POINTWISE_KEEP_C") != "" {
		t.Logf("source kept in %s", keep(t, srcFile))
	}
	start := time.Now()
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s\n(source kept in %s)", cc, strings.Join(args, " "), err, out, keep(t, srcFile))
	}
	var in strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&in, "%d %d %d\n", c.k, c.p.NumInputs, len(c.p.Outputs))
		for _, x := range c.in {
			in.WriteString(strconv.FormatFloat(x, 'x', -1, 64))
			in.WriteByte('\n')
		}
	}
	if err := os.WriteFile(input, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	compiled := time.Now()
	out, err := exec.Command(exe, input).Output()
	if err != nil {
		t.Fatalf("running the compiled cases: %v", err)
	}
	t.Logf("%d cases: %d bytes of C compiled in %v, run in %v", len(cases), len(text),
		compiled.Sub(start).Round(time.Millisecond), time.Since(compiled).Round(time.Millisecond))
	lines := strings.Fields(string(out))
	res := make([][]float64, len(cases))
	for i, c := range cases {
		n := c.k * len(c.p.Outputs)
		if len(lines) < n {
			t.Fatalf("case %d: %d output lines left, want %d", i, len(lines), n)
		}
		res[i] = make([]float64, n)
		for j, s := range lines[:n] {
			res[i][j] = parseHex(t, s)
		}
		lines = lines[n:]
	}
	if len(lines) != 0 {
		t.Fatalf("%d output lines too many", len(lines))
	}
	return res
}

// keep copies a failing source out of the test's temporary directory.
func keep(t *testing.T, file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return "(unreadable)"
	}
	f, err := os.CreateTemp("", "pointwise-*"+filepath.Ext(file))
	if err != nil {
		return "(not kept)"
	}
	defer f.Close()
	f.Write(b)
	return f.Name()
}

// parseHex reads printf's %a (also inf, -inf, nan, -nan).
func parseHex(t *testing.T, s string) float64 {
	switch strings.TrimPrefix(s, "-") {
	case "nan":
		return math.NaN()
	case "inf":
		if s[0] == '-' {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("output %q: %v", s, err)
	}
	return x
}

// same reports whether a and b have the same bits, or are both NaN.
func same(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

// ulps is the number of float64 values between a and b: 0 when same, and
// the count along the number line otherwise (±0 are one value apart, as are
// the largest float64 and Inf); NaN against a number is MaxInt64.
func ulps(a, b float64) int64 {
	if same(a, b) {
		return 0
	}
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.MaxInt64
	}
	ord := func(x float64) int64 { // monotone map of the number line to integers
		u := int64(math.Float64bits(x))
		if u < 0 {
			return math.MinInt64 - u
		}
		return u
	}
	d := ord(a) - ord(b)
	if d < 0 {
		d = -d
	}
	if d < 0 { // overflow
		return math.MaxInt64
	}
	return d
}

// inputs draws n input values: mostly uniform on [-scale, scale], sometimes
// one of the special values (zeros, ±1, infinities, NaN, tiny and huge).
func inputs(rng *rand.Rand, n int, scale float64) []float64 {
	special := []float64{0, math.Copysign(0, -1), 1, -1, 2, 0.5, math.Inf(1), math.Inf(-1), math.NaN(),
		5e-324, -2.2250738585072014e-308, 1e300, -1e-300, 3, 4}
	x := make([]float64, n)
	for i := range x {
		if rng.IntN(16) == 0 {
			x[i] = special[rng.IntN(len(special))]
		} else {
			x[i] = scale * (2*rng.Float64() - 1)
		}
	}
	return x
}
