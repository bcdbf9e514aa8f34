package pointwise

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Prelude is the C text at the head of every emitted source, once per
// translation unit (it has an include guard, so sources emitted separately
// may be concatenated). It picks the qualifiers and the thread indexing:
//
//   - under NVRTC or nvcc (__CUDACC__ defined), HNN_FN is
//     static __device__ __forceinline__, HNN_KERNEL is extern "C"
//     __global__, and a kernel's points are its threads' grid-stride loop;
//   - as plain C99 on the host, HNN_FN is static inline, HNN_KERNEL nothing,
//     the loop runs every point in turn, <math.h> is included and
//     FP_CONTRACT is switched off.
//
// It also defines the helpers the instructions use: hnn_sign, hnn_gopow (Go's
// math.Pow step by step) and hnn_pow (OpPow). Compile the host C without
// -ffast-math and with -ffp-contract=off (GCC ignores the pragma), and give
// NVRTC --fmad=false: then no product is fused with a sum and + - * / give
// Eval's bits.
const Prelude = `#ifndef HNN_POINTWISE_PRELUDE
#define HNN_POINTWISE_PRELUDE
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
/* CUDA C++ (NVRTC: compile with --fmad=false so that no a*b+c is fused). */
#define HNN_FN static __device__ __forceinline__
#define HNN_KERNEL extern "C" __global__
#define HNN_RESTRICT __restrict__
#define HNN_FIRST ((long long)blockIdx.x * blockDim.x + threadIdx.x)
#define HNN_STRIDE ((long long)gridDim.x * blockDim.x)
#define HNN_INF __longlong_as_double(0x7ff0000000000000LL)
#define HNN_NAN __longlong_as_double(0x7ff8000000000001LL)
#define HNN_SIGNBIT(x) (__double_as_longlong(x) < 0)
#else
/* C99 on the host: no -ffast-math; -ffp-contract=off where the pragma is ignored. */
#include <math.h>
#pragma STDC FP_CONTRACT OFF
#define HNN_FN static inline
#define HNN_KERNEL
#define HNN_RESTRICT __restrict
#define HNN_FIRST 0LL
#define HNN_STRIDE 1LL
#define HNN_INF HUGE_VAL
#define HNN_NAN NAN
#define HNN_SIGNBIT(x) (signbit(x) != 0)
#endif

/* OpSign: tensor's SignF64 (-1, 1, or x itself for zeros and NaN). */
HNN_FN double hnn_sign(double x) { return x < 0.0 ? -1.0 : (x > 0.0 ? 1.0 : x); }

/* Go's isOddInt. */
HNN_FN int hnn_isoddint(double x) {
	double xi;
	if (fabs(x) >= 9007199254740992.0) return 0;
	if (modf(x, &xi) != 0.0) return 0;
	return (((long long)xi) & 1) == 1;
}

/* Go's math.Pow (src/math/pow.go) step by step: the same special cases and,
 * for an integer exponent, the same products, so the same bits. */
HNN_FN double hnn_gopow(double x, double y) {
	if (y == 0.0 || x == 1.0) return 1.0;
	if (y == 1.0) return x;
	if (x != x || y != y) return HNN_NAN;
	if (fabs(x) == HNN_INF && x < 0.0) { /* Pow(-Inf, y) = Pow(-0, -y) */
		x = -0.0;
		y = -y;
	}
	if (x == 0.0) {
		if (y < 0.0) return HNN_SIGNBIT(x) && hnn_isoddint(y) ? -HNN_INF : HNN_INF;
		if (y > 0.0) return HNN_SIGNBIT(x) && hnn_isoddint(y) ? x : 0.0;
	}
	if (fabs(y) == HNN_INF) {
		if (x == -1.0) return 1.0;
		if ((fabs(x) < 1.0) == (y > 0.0)) return 0.0;
		return HNN_INF;
	}
	if (fabs(x) == HNN_INF) {
		if (y < 0.0) return 0.0;
		if (y > 0.0) return HNN_INF;
	}
	if (y == 0.5) return sqrt(x);
	if (y == -0.5) return 1.0 / sqrt(x);
	double yi;
	double yf = modf(fabs(y), &yi);
	if (yf != 0.0 && x < 0.0) return HNN_NAN;
	if (yi >= 9223372036854775808.0) {
		if (x == -1.0) return 1.0;
		if ((fabs(x) < 1.0) == (y > 0.0)) return 0.0;
		return HNN_INF;
	}
	double a1 = 1.0;
	long long ae = 0;
	if (yf != 0.0) {
		if (yf > 0.5) {
			yf = yf - 1.0;
			yi = yi + 1.0;
		}
		a1 = exp(yf * log(x));
	}
	int xe0;
	double x1 = frexp(x, &xe0);
	long long xe = xe0;
	for (long long i = (long long)yi; i != 0; i >>= 1) {
		if (xe < -(1LL << 12) || (1LL << 12) < xe) {
			ae += xe;
			break;
		}
		if ((i & 1) == 1) {
			a1 = a1 * x1;
			ae += xe;
		}
		x1 = x1 * x1;
		xe <<= 1;
		if (x1 < 0.5) {
			x1 = x1 + x1;
			xe--;
		}
	}
	if (y < 0.0) {
		a1 = 1.0 / a1;
		ae = -ae;
	}
	if (ae > 100000) ae = 100000; /* beyond any float64 exponent: Inf or 0 all the same */
	if (ae < -100000) ae = -100000;
	return ldexp(a1, (int)ae);
}

/* OpPow: powers 2, 3 and 4 by multiplication, as hnnsolve's CPU executor. */
HNN_FN double hnn_pow(double x, double y) {
	if (y == 2.0) return x * x;
	if (y == 3.0) return (x * x) * x;
	if (y == 4.0) return (x * x) * (x * x);
	return hnn_gopow(x, y);
}
#endif /* HNN_POINTWISE_PRELUDE */
`

// EmitC returns C source (Prelude, then one function) that computes p at
// one point:
//
//	HNN_FN void name(const double* in, double* out)
//
// in holds the NumInputs inputs and out receives the outputs, as for Eval.
// The same text compiles as C99 on the host and as CUDA C++ under NVRTC,
// where HNN_FN makes it a __device__ function for the caller's kernels. The
// function computes only what the outputs need; constants are written as
// the shortest decimal that reads back to the same float64.
func (p *Program) EmitC(name string) (string, error) {
	var sb strings.Builder
	sb.WriteString(Prelude)
	if err := p.emitFunction(&sb, name); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// EmitKernel returns C source (Prelude, the point function name_point as
// EmitC writes it, then the kernel) that applies p to K points:
//
//	HNN_KERNEL void name(const double* in, double* out, int K)
//
// The layout is a struct of arrays: input i of point n is in[i*K+n], output
// j of point n is out[j*K+n] (EvalPoints takes the same). On the GPU
// (extern "C" __global__) any grid covers the points with a grid-stride
// loop; on the host the function loops over all K points.
func (p *Program) EmitKernel(name string) (string, error) {
	if !isCIdent(name) {
		return "", fmt.Errorf("pointwise: kernel name %q is not a C identifier", name)
	}
	var sb strings.Builder
	sb.WriteString(Prelude)
	point := name + "_point"
	if err := p.emitFunction(&sb, point); err != nil {
		return "", err
	}
	fmt.Fprintf(&sb, "\nHNN_KERNEL void %s(const double* HNN_RESTRICT in, double* HNN_RESTRICT out, int K) {\n", name)
	sb.WriteString("\tfor (long long n = HNN_FIRST; n < K; n += HNN_STRIDE) {\n")
	fmt.Fprintf(&sb, "\t\tdouble x[%d], y[%d];\n", max(1, p.NumInputs), max(1, len(p.Outputs)))
	for i := range p.NumInputs {
		fmt.Fprintf(&sb, "\t\tx[%d] = in[%dLL * K + n];\n", i, i)
	}
	fmt.Fprintf(&sb, "\t\t%s(x, y);\n", point)
	for j := range p.Outputs {
		fmt.Fprintf(&sb, "\t\tout[%dLL * K + n] = y[%d];\n", j, j)
	}
	sb.WriteString("\t}\n}\n")
	return sb.String(), nil
}

// emitFunction writes the point function.
func (p *Program) emitFunction(sb *strings.Builder, name string) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if !isCIdent(name) {
		return fmt.Errorf("pointwise: function name %q is not a C identifier", name)
	}
	// live[r]: register r is an output or read by a live instruction.
	nreg, base := p.NumRegs(), p.NumInputs+len(p.Consts)
	live := make([]bool, nreg)
	for _, o := range p.Outputs {
		live[o] = true
	}
	for i := len(p.Instrs) - 1; i >= 0; i-- {
		if !live[base+i] {
			continue
		}
		in := p.Instrs[i]
		live[in.A] = true
		if in.Op.Binary() && p.smallPower(in) == 0 {
			live[in.B] = true
		}
	}
	fmt.Fprintf(sb, "\n/* %d inputs, %d constants, %d instructions, %d outputs. */\n",
		p.NumInputs, len(p.Consts), len(p.Instrs), len(p.Outputs))
	fmt.Fprintf(sb, "HNN_FN void %s(const double* HNN_RESTRICT in, double* HNN_RESTRICT out) {\n", name)
	if len(p.Outputs) == 0 {
		sb.WriteString("\t(void)in;\n\t(void)out;\n")
	}
	for r := range p.NumInputs {
		if live[r] {
			fmt.Fprintf(sb, "\tconst double r%d = in[%d];\n", r, r)
		}
	}
	for i, c := range p.Consts {
		if r := p.NumInputs + i; live[r] {
			fmt.Fprintf(sb, "\tconst double r%d = %s;\n", r, cLiteral(c))
		}
	}
	for i, in := range p.Instrs {
		if r := base + i; live[r] {
			fmt.Fprintf(sb, "\tconst double r%d = %s; /* %v */\n", r, p.cExpr(in), in.Op)
		}
	}
	for j, o := range p.Outputs {
		fmt.Fprintf(sb, "\tout[%d] = r%d;\n", j, o)
	}
	sb.WriteString("}\n")
	return nil
}

// cExpr is the C expression of one instruction.
func (p *Program) cExpr(in Instr) string {
	a, b := fmt.Sprintf("r%d", in.A), fmt.Sprintf("r%d", in.B)
	switch in.Op {
	case OpAdd:
		return a + " + " + b
	case OpSub:
		return a + " - " + b
	case OpMul:
		return a + " * " + b
	case OpDiv:
		return a + " / " + b
	case OpPow:
		switch p.smallPower(in) {
		case 2:
			return a + " * " + a
		case 3:
			return "(" + a + " * " + a + ") * " + a
		case 4:
			return "(" + a + " * " + a + ") * (" + a + " * " + a + ")"
		}
		if _, ok := p.constant(in.B); ok {
			return "hnn_gopow(" + a + ", " + b + ")"
		}
		return "hnn_pow(" + a + ", " + b + ")"
	case OpNeg:
		return "-" + a
	case OpSquare:
		return a + " * " + a
	case OpCube:
		return "(" + a + " * " + a + ") * " + a
	case OpSqrt:
		return "sqrt(" + a + ")"
	case OpSin:
		return "sin(" + a + ")"
	case OpCos:
		return "cos(" + a + ")"
	case OpExp:
		return "exp(" + a + ")"
	case OpLn:
		return "log(" + a + ")"
	case OpInv:
		return "1.0 / " + a
	case OpInvSqrt:
		return "1.0 / sqrt(" + a + ")"
	case OpTanh:
		return "tanh(" + a + ")"
	case OpAbs:
		return "fabs(" + a + ")"
	case OpSign:
		return "hnn_sign(" + a + ")"
	}
	panic("pointwise: unreachable op " + in.Op.String()) // Validate rejected it
}

// smallPower is 2, 3 or 4 for a Pow by that constant, which is written as
// products (the constant's register is then not read), else 0.
func (p *Program) smallPower(in Instr) int {
	if in.Op != OpPow {
		return 0
	}
	switch c, _ := p.constant(in.B); c {
	case 2, 3, 4:
		return int(c)
	}
	return 0
}

// constant returns the value of register r if it is a constant.
func (p *Program) constant(r int) (float64, bool) {
	if i := r - p.NumInputs; i >= 0 && i < len(p.Consts) {
		return p.Consts[i], true
	}
	return 0, false
}

// cLiteral writes c as a C double constant that reads back exactly.
func cLiteral(c float64) string {
	switch {
	case math.IsNaN(c):
		return "HNN_NAN"
	case math.IsInf(c, 1):
		return "HNN_INF"
	case math.IsInf(c, -1):
		return "(-HNN_INF)"
	}
	s := strconv.FormatFloat(c, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func isCIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z':
		case i > 0 && '0' <= r && r <= '9':
		default:
			return false
		}
	}
	return true
}
