package gpu

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"

	"hnnsolve/internal/pointwise"
)

//go:embed kernels.cu
var kernelSource string

// The fields of a network's control record (ctl): its state between
// epochs, the step's constants, the host's settings for a chunk, then the
// losses of the chunk's epochs. Epochs are stored as float64s (exact below
// 2^53).
const (
	sEpoch     = iota // the epoch in progress
	sPow1             // β1^t, β2^t: Adam's running powers
	sPow2             //
	sKeptLoss         // the kept loss, +Inf before any
	sKept             // the kept epoch, -1 before any
	sStopped          // 0, or why the network stopped: stopTarget, stopDiverged, stopCtx
	sStopEpoch        // the epoch whose loss stopped it
	sKeep             // this epoch's weights are kept (for hnn_adam)
	sStep             // this epoch takes its step (for hnn_adam)
	sStepSize         // η_e / (1 - β1^t)
	sSqrtBC2          // sqrt(1 - β2^t)
	sBase             // the chunk's first epoch: losses[e - base], rates[e - base]
	sTarget           // the target loss (0: none)
	sLastFrom         // epochs from this one on stop after their step, saving the weights before it (+Inf: none)
	sKeepFrom         // the first epoch whose weights may be kept
	sKeepLast         // this epoch's weights go to last (for hnn_adam)
	sLosses           // the chunk's losses follow
)

// Why a network stopped (sStopped).
const (
	stopTarget   = 1
	stopDiverged = 2
	stopCtx      = 3
)

// The fields of a network's constants (netc).
const (
	ncLength = iota // T - T0: the times are τ in [0, length]
	ncE0            // the energy of Z0
	ncSeedLo        // Philox's key, two 32-bit halves
	ncSeedHi        //
	ncSigma         // σ of the times' perturbation (< 0: the grid)
	ncZ0            // Z0 follows (D values)
)

// Activation is the hidden layers' nonlinearity.
type Activation int

// The activations, numbered as hnnsolve's.
const (
	Sin Activation = iota
	Sigmoid
	Tanh
)

// Param is the trial solution's f: 1 - e^-τ (Exponential) or τ (Linear).
type Param int

// The parametrisations, numbered as hnnsolve's.
const (
	Exponential Param = iota
	Linear
)

// Source returns the engine's CUDA C for the per-point program prog (H,
// ∇H and D²H of the prog.NumInputs = D coordinates): internal/pointwise's
// Prelude and prog as hnn_h, the layout's #defines, then the kernels. It
// compiles as CUDA C++ under NVRTC and as C99 on the host.
func Source(prog *pointwise.Program) (string, error) {
	d := prog.NumInputs
	if d < 2 || d%2 != 0 {
		return "", fmt.Errorf("gpu: the program has %d inputs, want an even D >= 2", d)
	}
	if n := len(prog.Outputs); n != 1+d+d*d {
		return "", fmt.Errorf("gpu: the program has %d outputs, want H, ∇H and D²H (%d)", n, 1+d+d*d)
	}
	h, err := prog.EmitC("hnn_h")
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.WriteString(h)
	fmt.Fprintf(&sb, "\n/* The engine's layout (internal/gpu/source.go). */\n#define HNN_D %d\n", d)
	for _, c := range []struct {
		name string
		v    int
	}{
		{"S_EPOCH", sEpoch}, {"S_POW1", sPow1}, {"S_POW2", sPow2}, {"S_KEPT_LOSS", sKeptLoss}, {"S_KEPT", sKept},
		{"S_STOPPED", sStopped}, {"S_STOP_EPOCH", sStopEpoch}, {"S_KEEP", sKeep}, {"S_STEP", sStep},
		{"S_STEP_SIZE", sStepSize}, {"S_SQRT_BC2", sSqrtBC2}, {"S_BASE", sBase}, {"S_TARGET", sTarget},
		{"S_LAST_FROM", sLastFrom}, {"S_KEEP_LAST", sKeepLast}, {"S_KEEP_FROM", sKeepFrom}, {"S_LOSSES", sLosses},
		{"STOP_TARGET", stopTarget}, {"STOP_DIVERGED", stopDiverged}, {"STOP_CTX", stopCtx},
		{"NC_LENGTH", ncLength}, {"NC_E0", ncE0}, {"NC_SEED_LO", ncSeedLo}, {"NC_SEED_HI", ncSeedHi}, {"NC_SIGMA", ncSigma}, {"NC_Z0", ncZ0},
		{"SIN", int(Sin)}, {"SIGMOID", int(Sigmoid)}, {"TANH", int(Tanh)},
		{"EXPONENTIAL", int(Exponential)}, {"LINEAR", int(Linear)},
	} {
		fmt.Fprintf(&sb, "#define HNN_%s %d\n", c.name, c.v)
	}
	sb.WriteString("\n")
	sb.WriteString(kernelSource)
	return sb.String(), nil
}

// Kernels lists the kernels of Source, with their parameters' kinds read
// from their C declarations.
func Kernels() ([]Kernel, error) { return parseKernels(kernelSource) }

var kernelDecl = regexp.MustCompile(`HNN_KERNEL\s+void\s+(\w+)\s*\(([^)]*)\)`)

// parseKernels reads every HNN_KERNEL declaration of src: each parameter
// must be a double, a (const) double pointer or an hnn_i64.
func parseKernels(src string) ([]Kernel, error) {
	var ks []Kernel
	for _, m := range kernelDecl.FindAllStringSubmatch(src, -1) {
		k := Kernel{Name: m[1]}
		for _, p := range strings.Split(m[2], ",") {
			f := strings.Fields(strings.ReplaceAll(p, "*", " * "))
			if len(f) < 2 {
				return nil, fmt.Errorf("gpu: kernel %s: parameter %q", k.Name, p)
			}
			typ := strings.Join(f[:len(f)-1], " ")
			switch typ {
			case "hnn_i64":
				k.Params += "i"
			case "double":
				k.Params += "d"
			case "double *", "const double *":
				k.Params += "p"
			default:
				return nil, fmt.Errorf("gpu: kernel %s: parameter %q has type %q, want double, double* or hnn_i64", k.Name, p, typ)
			}
		}
		ks = append(ks, k)
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("gpu: no kernels in the source")
	}
	return ks, nil
}
