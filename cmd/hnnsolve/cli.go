package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"hnnsolve"
	"hnnsolve/systems"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // training or evaluation failed
	exitUsage   = 2 // bad command line, unknown experiment or system, unwritable output
)

// usageError marks errors caused by the command line or the environment the
// user chose (output directory); they exit with exitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

const usageText = `hnnsolve: data-free Hamiltonian neural networks (Mattheakis et al., Sec. III)

Usage:
  hnnsolve demo [flags]                   the oscillator of Fig. 3 three ways (paper's, improved
                                          settings, -accurate recipe) against the paper and symplectic Euler
  hnnsolve reproduce EXPERIMENT [flags]   reproduce an experiment of Sec. III
  hnnsolve solve -system NAME [flags]     solve any built-in system
  hnnsolve solve -H 'EXPR' -z0 a,b,...    solve the system of a Hamiltonian given as text
  hnnsolve ablation SYSTEM [flags]        sin vs sigmoid, f = 1-e^-t vs f = t (Fig. 2, 5)
  hnnsolve bundle SYSTEM [flags]          one network for a box of initial states (and
                                          parameters): oscillator or henon-heiles
  hnnsolve systems                        list the built-in systems
  hnnsolve help                           show this help

Experiments (paper's settings; Adam, lr 8e-3):
  oscillator         nonlinear oscillator, [0, 4π], K=200, 2x50, 5e4 epochs (Fig. 2, 3)
  oscillator-long    nonlinear oscillator, [0, 20π], K=500, 2x80, λ=1, 5e4 epochs (Fig. 4)
  henon-heiles       Hénon-Heiles, [0, 6π], K=100, 2x50, 3e4 epochs, perturbation 0.18π (Fig. 5, 6)
  henon-heiles-long  Hénon-Heiles, [0, 12π], K=500, 2x80, λ=0.5, 3e4 epochs (Fig. 7)
  all                the four above, each into OUT/EXPERIMENT/

Ablation systems: oscillator (Fig. 2), henon-heiles (Fig. 5).

Flags (reproduce, solve, ablation; flags may follow the experiment name):
  -epochs N          training epochs (Adam steps)
  -points K          number of collocation times
  -hidden W,W,...    hidden layer widths, e.g. 50,50
  -activation NAME   sin, sigmoid or tanh
  -param NAME        parametric function f: exponential (1-e^-t) or linear (t)
  -lambda λ          energy regulariser weight (Eq. 8)
  -lr η              Adam learning rate
  -lr-final η        decay the learning rate geometrically to η (0: constant)
  -beta1 β1          Adam decay rate of the mean, 0 < β1 < 1 (default 0.999)
  -beta2 β2          Adam decay rate of the second moment, 0 < β2 < 1 (default 0.9999)
  -perturb σ         std. dev. of the time perturbation (0: 3 L/(K-1) for
                     segments of length L, <0: none)
  -lbfgs N           L-BFGS iterations after Adam (default 0: none)
  -lm N              Levenberg-Marquardt steps after Adam and L-BFGS (default 0: none)
  -refine-points N   fixed times for L-BFGS and Levenberg-Marquardt (default 4·K)
  -segments N        split [t0, t1] into N equal segments, one network each,
                     chained by their end states (default 1); K, the epochs
                     and the stages are per segment
  -retries N         retrain each segment from a new initialisation N more
                     times and keep the try with the lowest final loss
                     (default 0: never); with -retry-loss, the retries of a
                     segment stop at the first try that ends at or below it
  -retry-loss L      final loss at or below which a try is good enough and
                     the retries of its segment stop (default 0: every
                     retry runs)
  -target-loss L     stop Adam when the loss falls below L (default 0: never)
  -target-error E    the error wanted. Alone (without -segments, -epochs, -lm,
                     -lbfgs and -retries) it drives the whole
                     recipe: a chain of 2x8 networks whose segment lengths,
                     retries and Levenberg-Marquardt steps are chosen so that
                     the integrated Eq. 18 estimate over the interval meets E
                     (see hnnsolve.Settings.TargetError; summary.json
                     "recipe" records the decisions; exit status 1, with the
                     outputs written, when it is not met). With those flags
                     it stops Adam of a single network when the error figure
                     of -target-check falls below E (needs -segments 1)
  -target-check C    figure for -target-error: eq18 (default), gronwall, eq22
                     or transfer
  -check-every N     check -target-error every N epochs (default 500)
  -seed N            random seed
  -device D          where training runs: cpu (default) or cuda (needs a
                     build with -tags gpu and an NVIDIA GPU; otherwise the
                     run fails with exit status 1 before training)
  -euler-factor F    also run symplectic Euler at F·K points (default 100, 10
                     for Hénon-Heiles); with segments K counts all of them
  -dense N           points of the evaluation grid (default 10·K over all
                     segments, at most 20000 unless K alone needs more)
  -out DIR           output directory (default out/EXPERIMENT, or OUT/EXPERIMENT
                     for all; EXPERIMENT-accurate with -accurate)
  -quiet             no progress output on stderr
  -checkpoint FILE   write the training state to FILE as training goes
                     (every -checkpoint-every epochs, default 1000, and at
                     each segment, try and refinement stage), atomically
  -resume FILE       continue the run whose checkpoint is FILE (same
                     experiment and flags) to the uninterrupted run's result
  -formulation F     (reproduce, solve) hamiltonian (default: Eq. 6-8) or
                     lagrangian (Eq. 11-12: one network of d outputs, q =
                     q0 + f1 v0 + f2 N with f1 = 1-e^-t, f2 = f1², trained on
                     |q'' + ∇V(q)|², for systems with H = |p|²/2 + V:
                     harmonic, oscillator, henon-heiles; the CPU only);
                     the output goes to out/NAME-lagrangian
On SIGINT or SIGTERM a run stops within one epoch, writes a final checkpoint
(with -checkpoint) and the outputs of what it trained, and exits with status 1.
Only for reproduce:
  -accurate          shorthand for -target-error 1e-6 (1e-5 for
                     oscillator-long and henon-heiles-long): the library's
                     recipe (see -target-error) instead of the paper's
                     settings; output into out/EXPERIMENT-accurate/. It
                     takes no -target-error, -segments, -epochs, -lm,
                     -lbfgs nor -retries; the other flags apply as with
                     -target-error.
Only for solve:
  -system NAME       built-in system (see hnnsolve systems)
  -H EXPR            instead of -system, the Hamiltonian as text, e.g.
                     'p^2/2 - cos(q)': + - * / ^ (right-associative, above
                     unary minus), numbers, pi, sin cos tan exp log sqrt
                     tanh abs; names q1..qd, p1..pd (q, p for d = 1) with d
                     from -z0, or those of -coords; needs -z0; the output
                     is out/solve-custom (see hnnsolve.ParseHamiltonian)
  -L EXPR            instead of -system or -H, a general Lagrangian L(q, q')
                     as text, in the grammar of -H, the velocities named as
                     the momenta there (q1..qd, p1..pd by default; e.g.
                     -coords x,v): trains the Lagrangian formulation on the
                     Euler-Lagrange residual, against DOP853 on the
                     Euler-Lagrange equations; needs -z0 q...,v...; the
                     output is out/solve-custom-lagrangian (no error
                     analysis, no symplectic Euler)
  -coords x,y,px,py  with -H (or -L): names of the coordinates then the momenta
                     (velocities)
  -z0 a,b,...        initial state (q..., p...) (default: the system's)
  -t0 T0, -t1 T1     time interval (default: the system's; [0, 4π] for -H)
Only for bundle (SYSTEM oscillator: z0 in [1, 1.5] x [0.5, 1] on [0, 4π];
henon-heiles: z0 within ±0.05 of (0.3, -0.3, 0.3, 0.15), coupling θ in
[0.8, 0.9] on [0, 6π], where every orbit is bounded); the preset is 2x16
per segment, K=1000 members and times per epoch, 1500 Adam epochs with
β (0.9, 0.999) and lr 8e-3 to 1e-4, Levenberg-Marquardt on 1000 fixed
points, λ = 1, and 12 segments of 1600 LM steps (oscillator) or 32 of 2400
(henon-heiles); -epochs, -points, -hidden, -segments, -lm, -refine-points,
-lr, -lr-final, -beta1, -beta2, -lambda, -seed, -out and -quiet as above,
and:
  -margin M          train on the boxes widened by M of their width on each
                     side (default 0.1)
  -members N         random members checked against DOP853 (default 1000)
  -times N           times per member, equally spaced (default 201)
  -grid N            N x N heat map over the first two coordinates (41)
  -bench-members N   members timed for the state at t1, bundle against
                     DOP853 at the loosest tolerance as accurate (100000)
  Output: heatmap.png, heatmap.csv, members.csv, summary.json, bundle.json
  and index.html in out/bundle-SYSTEM.
Only for demo (runs reproduce oscillator, reproduce oscillator -lambda 1
-lr-final 8e-5 and reproduce oscillator -accurate, as many at a time as
there are cores, into OUT/paper, OUT/improved and OUT/accurate, and prints
one table of the three against the paper's figure and symplectic Euler):
  -out DIR           output directory (default out/demo)
  -epochs-scale F    multiply every Adam epoch count and refinement step
                     count by F and divide the accurate run's target by F
                     (at most 0.1) (default 1; e.g. 0.001 for a quick look
                     at the outputs, whose figures then mean little)
  -seed N, -device D, -quiet   as above

Output: loss.png, trajectory.png, energy.png, error.png, residual.png,
phase.png (one degree of freedom) or orbit.png, the CSV file of every curve,
summary.json (with every optimisation stage, the segment boundaries and
the target checks), model.json, and index.html, a page with the summary
table and every figure, viewable offline; ablation.png, ablation.csv,
summary.json and index.html for an ablation; for the demo, each run's
outputs, comparison.png, summary.json and an index.html linking them. With segments, thin dashed lines mark their boundaries on
the loss, error, residual and bounds plots.
`

// run is the command: it parses args, runs the subcommand and returns the
// exit status. Errors are printed as one line on stderr.
func run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout, stderr)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	msg := oneLine(err.Error())
	if !strings.HasPrefix(msg, "hnnsolve") {
		msg = "hnnsolve: " + msg
	}
	fmt.Fprintln(stderr, msg)
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, hnnsolve.ErrSettings) || errors.Is(err, hnnsolve.ErrProblem) {
		return exitUsage
	}
	return exitFailure
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("missing command (demo, reproduce, solve, ablation, bundle, systems); run 'hnnsolve help'")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "help", "-h", "-help", "--help":
		return flag.ErrHelp
	case "demo":
		return cmdDemo(rest, stdout, stderr)
	case "reproduce":
		return cmdReproduce(rest, stdout, stderr)
	case "solve":
		return cmdSolve(rest, stdout, stderr)
	case "ablation":
		return cmdAblation(rest, stdout, stderr)
	case "bundle":
		return cmdBundle(rest, stdout, stderr)
	case "systems":
		if len(rest) > 0 {
			return usagef("systems takes no arguments")
		}
		for _, n := range systems.Names() {
			fmt.Fprintln(stdout, n)
		}
		return nil
	default:
		return usagef("unknown command %q (want demo, reproduce, solve, ablation, bundle or systems); run 'hnnsolve help'", cmd)
	}
}

// options are the flags shared by the subcommands.
type options struct {
	epochs, points     int
	hidden             string
	activation, param  string
	lambda, lr, lrFin  float64
	beta1, beta2       float64
	perturb            float64
	lbfgs, lm          int
	refinePoints       int
	segments           int
	retries            int
	retryLoss          float64
	targetLoss         float64
	targetError        float64
	targetCheck        string
	checkEvery         int
	seed               int64
	eulerFactor, dense int
	out                string
	quiet              bool
	checkpoint, resume string
	checkpointEvery    int
	device             string

	// solve only
	system, z0 string
	t0, t1     float64
	hExpr      string // -H
	lExpr      string // -L
	coords     string // -coords

	// reproduce and solve
	formulation string // -formulation

	// reproduce only
	accurate bool

	set map[string]bool // flags given on the command line
}

// newFlagSet defines the flags of subcommand name (reproduce, solve or
// ablation).
func newFlagSet(name string, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&o.epochs, "epochs", 0, "")
	fs.IntVar(&o.points, "points", 0, "")
	fs.StringVar(&o.hidden, "hidden", "", "")
	fs.StringVar(&o.activation, "activation", "sin", "")
	fs.StringVar(&o.param, "param", "exponential", "")
	fs.Float64Var(&o.lambda, "lambda", 0, "")
	fs.Float64Var(&o.lr, "lr", 8e-3, "")
	fs.Float64Var(&o.lrFin, "lr-final", 0, "")
	fs.Float64Var(&o.beta1, "beta1", 0, "")
	fs.Float64Var(&o.beta2, "beta2", 0, "")
	fs.Float64Var(&o.perturb, "perturb", 0, "")
	fs.IntVar(&o.lbfgs, "lbfgs", 0, "")
	fs.IntVar(&o.lm, "lm", 0, "")
	fs.IntVar(&o.refinePoints, "refine-points", 0, "")
	fs.IntVar(&o.segments, "segments", 0, "")
	fs.IntVar(&o.retries, "retries", 0, "")
	fs.Float64Var(&o.retryLoss, "retry-loss", 0, "")
	fs.Float64Var(&o.targetLoss, "target-loss", 0, "")
	fs.Float64Var(&o.targetError, "target-error", 0, "")
	fs.StringVar(&o.targetCheck, "target-check", hnnsolve.TargetEq18.String(), "")
	fs.IntVar(&o.checkEvery, "check-every", 0, "")
	fs.Int64Var(&o.seed, "seed", 0, "")
	fs.IntVar(&o.eulerFactor, "euler-factor", 0, "")
	fs.IntVar(&o.dense, "dense", 0, "")
	fs.StringVar(&o.out, "out", "", "")
	fs.BoolVar(&o.quiet, "quiet", false, "")
	fs.StringVar(&o.device, "device", hnnsolve.CPU.String(), "")
	fs.StringVar(&o.checkpoint, "checkpoint", "", "")
	fs.IntVar(&o.checkpointEvery, "checkpoint-every", 0, "")
	fs.StringVar(&o.resume, "resume", "", "")
	if name == "reproduce" || name == "solve" {
		fs.StringVar(&o.formulation, "formulation", formHamiltonian, "")
	}
	switch name {
	case "reproduce":
		fs.BoolVar(&o.accurate, "accurate", false, "")
	case "solve":
		fs.StringVar(&o.system, "system", "", "")
		fs.StringVar(&o.z0, "z0", "", "")
		fs.Float64Var(&o.t0, "t0", 0, "")
		fs.Float64Var(&o.t1, "t1", 0, "")
		fs.StringVar(&o.hExpr, "H", "", "")
		fs.StringVar(&o.lExpr, "L", "", "")
		fs.StringVar(&o.coords, "coords", "", "")
	}
	return fs
}

// parseArgs parses flags that may come before or after positional
// arguments and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string, o *options) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	return pos, nil
}

// check validates the flag values that do not depend on the experiment.
func (o *options) check() error {
	bad := func(name string, v any, want string) error {
		return usagef("invalid value %v for flag -%s: want %s", v, name, want)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case o.set["epochs"] && o.epochs < 1:
		return bad("epochs", o.epochs, "an integer >= 1")
	case o.set["points"] && o.points < 2:
		return bad("points", o.points, "an integer >= 2")
	case !finite(o.lambda) || o.lambda < 0:
		return bad("lambda", o.lambda, "a number >= 0")
	case !finite(o.lr) || o.lr <= 0:
		return bad("lr", o.lr, "a number > 0")
	case !finite(o.lrFin) || o.lrFin < 0:
		return bad("lr-final", o.lrFin, "a number >= 0")
	case o.set["beta1"] && (!finite(o.beta1) || o.beta1 <= 0 || o.beta1 >= 1):
		return bad("beta1", o.beta1, "a number in (0, 1)")
	case o.set["beta2"] && (!finite(o.beta2) || o.beta2 <= 0 || o.beta2 >= 1):
		return bad("beta2", o.beta2, "a number in (0, 1)")
	case !finite(o.perturb):
		return bad("perturb", o.perturb, "a finite number")
	case o.lbfgs < 0:
		return bad("lbfgs", o.lbfgs, "an integer >= 0")
	case o.lm < 0:
		return bad("lm", o.lm, "an integer >= 0")
	case o.set["refine-points"] && o.refinePoints < 2:
		return bad("refine-points", o.refinePoints, "an integer >= 2")
	case o.set["segments"] && o.segments < 1:
		return bad("segments", o.segments, "an integer >= 1")
	case o.retries < 0:
		return bad("retries", o.retries, "an integer >= 0")
	case !finite(o.retryLoss) || o.retryLoss < 0:
		return bad("retry-loss", o.retryLoss, "a number >= 0 (0: every retry runs)")
	case !finite(o.targetLoss) || o.targetLoss < 0:
		return bad("target-loss", o.targetLoss, "a number >= 0 (0: off)")
	case !finite(o.targetError) || o.targetError < 0:
		return bad("target-error", o.targetError, "a number >= 0 (0: off)")
	case o.set["check-every"] && o.checkEvery < 1:
		return bad("check-every", o.checkEvery, "an integer >= 1")
	case o.set["euler-factor"] && o.eulerFactor < 1:
		return bad("euler-factor", o.eulerFactor, "an integer >= 1")
	case o.set["dense"] && o.dense < 2:
		return bad("dense", o.dense, "an integer >= 2")
	case o.set["out"] && strings.TrimSpace(o.out) == "":
		return bad("out", `""`, "a directory")
	}
	if _, err := hnnsolve.ParseActivation(o.activation); err != nil {
		return bad("activation", strconv.Quote(o.activation), "sin, sigmoid or tanh")
	}
	if _, err := hnnsolve.ParseParam(o.param); err != nil {
		return bad("param", strconv.Quote(o.param), "exponential or linear")
	}
	if _, err := hnnsolve.ParseTargetCheck(o.targetCheck); err != nil {
		return bad("target-check", strconv.Quote(o.targetCheck), "eq18, gronwall, eq22 or transfer")
	}
	if d, err := hnnsolve.ParseDevice(o.device); err != nil {
		return bad("device", strconv.Quote(o.device), "cpu or cuda")
	} else if err := d.Available(); err != nil {
		return err // before any output is written
	}
	if o.formulation != "" && o.formulation != formHamiltonian && o.formulation != formLagrangian {
		return bad("formulation", strconv.Quote(o.formulation), "hamiltonian or lagrangian")
	}
	if o.set["hidden"] {
		if _, err := parseHidden(o.hidden); err != nil {
			return err
		}
	}
	return nil
}

func parseHidden(s string) ([]int, error) {
	var ws []int
	for f := range strings.SplitSeq(s, ",") {
		w, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || w < 1 {
			return nil, usagef("invalid value %q for flag -hidden: want comma-separated widths >= 1, e.g. 50,50", s)
		}
		ws = append(ws, w)
	}
	return ws, nil
}

func parseFloats(name, s string) ([]float64, error) {
	var vs []float64
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, usagef("invalid value %q for flag -%s: want comma-separated finite numbers", s, name)
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// apply overrides the experiment's settings (the paper's)
// with the flags given and fills in the defaults that depend on them.
func (o *options) apply(c *config) error {
	if o.recipe() {
		// -target-error alone: the library's recipe (hnnsolve.Settings.
		// TargetError) chooses the training; only the flags given apply.
		c.settings, c.recipe, c.preset = hnnsolve.Settings{}, true, "recipe"
	}
	s := &c.settings
	intFlags := []struct {
		name string
		dst  *int
		v    int
	}{
		{"lbfgs", &s.LBFGS, o.lbfgs},
		{"lm", &s.LM, o.lm},
		{"refine-points", &s.RefinePoints, o.refinePoints},
		{"segments", &s.Segments, o.segments},
		{"retries", &s.Retries, o.retries},
		{"check-every", &s.CheckEvery, o.checkEvery},
	}
	for _, f := range intFlags {
		if o.set[f.name] {
			*f.dst = f.v
		}
	}
	floatFlags := []struct {
		name string
		dst  *float64
		v    float64
	}{
		{"lr", &s.LearnRate, o.lr},
		{"lr-final", &s.LearnRateFinal, o.lrFin},
		{"beta1", &s.Beta1, o.beta1},
		{"beta2", &s.Beta2, o.beta2},
		{"retry-loss", &s.RetryLoss, o.retryLoss},
		{"target-loss", &s.TargetLoss, o.targetLoss},
		{"target-error", &s.TargetError, o.targetError},
	}
	for _, f := range floatFlags {
		if o.set[f.name] {
			*f.dst = f.v
		}
	}
	s.TargetCheck, _ = hnnsolve.ParseTargetCheck(o.targetCheck)
	s.Device, _ = hnnsolve.ParseDevice(o.device)
	s.Checkpoint = hnnsolve.Checkpoint{Path: o.checkpoint, Every: o.checkpointEvery}
	c.resume = o.resume
	if c.recipe {
		return o.applyRecipe(c)
	}
	if s.Segments < 1 {
		s.Segments = 1
	}
	if s.Segments > 1 && s.TargetError > 0 {
		return usagef("flag -target-error needs a single segment (it is checked on the whole interval), got %d segments; add -segments 1", s.Segments)
	}
	if o.set["epochs"] {
		s.Epochs = o.epochs
	}
	if o.set["points"] {
		s.Points = o.points
	}
	if o.set["hidden"] {
		h, err := parseHidden(o.hidden)
		if err != nil {
			return err
		}
		s.Hidden = h
	}
	if o.set["lambda"] {
		s.Energy = o.lambda
	}
	s.Activation, _ = hnnsolve.ParseActivation(o.activation)
	s.Param, _ = hnnsolve.ParseParam(o.param)
	s.Seed = o.seed
	if o.set["perturb"] {
		s.Perturb = o.perturb
	}
	if s.Perturb == 0 {
		// The library's default for segments of equal length, written out
		// so that summary.json shows it.
		s.Perturb = 3 * (c.t1 - c.t0) / float64(s.Segments) / float64(s.Points-1)
	}
	if o.set["euler-factor"] {
		c.eulerFactor = o.eulerFactor
	}
	// Written out like Perturb.
	if s.RefinePoints == 0 {
		s.RefinePoints = 4 * s.Points
	}
	if s.CheckEvery == 0 {
		s.CheckEvery = hnnsolve.DefaultCheckEvery
	}
	c.dense = defaultDense(s.Points, s.Segments)
	if o.set["dense"] {
		c.dense = o.dense
	}
	c.quiet = o.quiet
	return nil
}

// fixedFlags are the flags that fix the training: any of them given turns
// -target-error from the recipe's target into a single network's stop.
var fixedFlags = []string{"segments", "epochs", "lm", "lbfgs", "retries"}

// recipe reports that -target-error is to drive the library's recipe: it is
// given (> 0) and none of fixedFlags is.
func (o *options) recipe() bool {
	if !o.set["target-error"] || !(o.targetError > 0) {
		return false
	}
	for _, f := range fixedFlags {
		if o.set[f] {
			return false
		}
	}
	return true
}

// accurateOptions returns the options of reproduce name -accurate: those
// of o with -target-error accurateTargets[name], so that the run is the
// recipe's. It refuses -target-error and the fixedFlags, which would
// make -accurate mean something else.
func (o *options) accurateOptions(name string) (*options, error) {
	for _, f := range append([]string{"target-error"}, fixedFlags...) {
		if o.set[f] {
			return nil, usagef("flag -accurate is the recipe with -target-error %g for %s (1e-6, 1e-5 for the long runs) and takes no -%s; give -target-error E and the flags instead", accurateTargets[name], name, f)
		}
	}
	a := *o
	a.set = maps.Clone(o.set)
	a.set["target-error"], a.targetError, a.accurate = true, accurateTargets[name], false
	return &a, nil
}

// applyRecipe applies the rest of the flags given for the recipe; the
// library fills in the others.
func (o *options) applyRecipe(c *config) error {
	s := &c.settings
	if o.set["points"] {
		s.Points = o.points
	}
	if o.set["hidden"] {
		h, err := parseHidden(o.hidden)
		if err != nil {
			return err
		}
		s.Hidden = h
	}
	if o.set["lambda"] {
		s.Energy = o.lambda
	}
	if o.set["perturb"] {
		s.Perturb = o.perturb
	}
	s.Activation, _ = hnnsolve.ParseActivation(o.activation)
	s.Param, _ = hnnsolve.ParseParam(o.param)
	s.Seed = o.seed
	if o.set["euler-factor"] {
		c.eulerFactor = o.eulerFactor
	}
	// The segments are not known before training: about 200 points per
	// unit of time.
	c.dense = min(maxDense, max(1000, int(200*(c.t1-c.t0))))
	if o.set["dense"] {
		c.dense = o.dense
	}
	c.quiet = o.quiet
	return nil
}

// defaultDense is the default size of the evaluation grid: 10 points per
// collocation time over all segments, but at most maxDense unless one
// segment's K alone needs more.
func defaultDense(points, segments int) int {
	return min(10*points*segments, max(10*points, maxDense))
}

const maxDense = 20000

func outDir(o *options, name string, multi bool) string {
	if !o.set["out"] {
		return filepath.Join("out", name)
	}
	if multi {
		return filepath.Join(o.out, name)
	}
	return o.out
}

func cmdReproduce(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet("reproduce", &o)
	pos, err := parseArgs(fs, args, &o)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("reproduce needs one experiment (%s or all), got %d arguments", strings.Join(experimentNames(), ", "), len(pos))
	}
	names := []string{pos[0]}
	if pos[0] == "all" {
		names = experimentNames()
	} else if _, ok := experiments[pos[0]]; !ok {
		return usagef("unknown experiment %q (want %s or all)", pos[0], strings.Join(experimentNames(), ", "))
	}
	if err := o.check(); err != nil {
		return err
	}
	var cfgs []*config
	for _, n := range names {
		c, err := experimentConfig(n, &o)
		if err != nil {
			return err
		}
		c.out = outDir(&o, c.name, len(names) > 1)
		cfgs = append(cfgs, c)
	}
	// Check every output directory before the (long) training starts.
	for _, c := range cfgs {
		if err := prepareDir(c.out); err != nil {
			return err
		}
	}
	for _, c := range cfgs {
		if err := runExperiment(c, stdout, stderr); err != nil {
			return err
		}
	}
	return nil
}

// experimentConfig is the run of reproduce NAME with the flags o (checked):
// the paper's settings, then the flags; with -accurate the recipe's run of
// -target-error accurateTargets[name], named NAME-accurate.
func experimentConfig(name string, o *options) (*config, error) {
	c, err := experiments[name].config(name)
	if err != nil {
		return nil, err
	}
	if o.accurate {
		if o, err = o.accurateOptions(name); err != nil {
			return nil, err
		}
		c.name += "-accurate"
	}
	if err := c.setFormulation(o.formulation); err != nil {
		return nil, err
	}
	if err := o.apply(c); err != nil {
		return nil, err
	}
	return c, nil
}

func cmdSolve(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet("solve", &o)
	pos, err := parseArgs(fs, args, &o)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("solve takes no positional arguments, got %q (use -system NAME)", pos)
	}
	given := 0
	for _, f := range []bool{o.system != "", o.set["H"], o.set["L"]} {
		if f {
			given++
		}
	}
	switch {
	case o.set["H"] && o.system != "":
		return usagef("solve takes -system or -H, not both")
	case given > 1:
		return usagef("solve takes one of -system, -H and -L")
	case o.set["coords"] && !o.set["H"] && !o.set["L"]:
		return usagef("flag -coords names the coordinates of -H; give -H 'EXPR' too")
	case o.set["H"] && !o.set["z0"]:
		return usagef("solve -H needs the initial state: -z0 q...,p...")
	case o.set["L"] && !o.set["z0"]:
		return usagef("solve -L needs the initial state: -z0 q...,v...")
	case o.set["L"] && o.set["formulation"] && o.formulation != formLagrangian:
		return usagef("solve -L trains the Lagrangian formulation; -formulation %s does not apply", o.formulation)
	case given == 0:
		return usagef("solve needs -system NAME (one of %s), -H 'EXPR' or -L 'EXPR'", strings.Join(systems.Names(), ", "))
	}
	if err := o.check(); err != nil {
		return err
	}
	var sys systems.System
	switch {
	case o.set["L"]:
		sys, err = parsedLagrangian(&o)
		o.formulation = formLagrangian
	case o.set["H"]:
		sys, err = parsedSystem(&o)
	default:
		sys, err = systems.Lookup(o.system)
	}
	if err != nil {
		return usageError{err}
	}
	c := solveConfig(sys)
	if o.set["z0"] {
		z0, err := parseFloats("z0", o.z0)
		if err != nil {
			return err
		}
		if len(z0) != sys.Dim() {
			if o.set["H"] {
				return usagef("invalid value %q for flag -z0: H of %s needs %d numbers, got %d", o.z0, o.coords, sys.Dim(), len(z0))
			}
			return usagef("invalid value %q for flag -z0: system %s needs %d numbers, got %d", o.z0, sys.Name(), sys.Dim(), len(z0))
		}
		c.z0 = z0
	}
	if o.set["t0"] {
		c.t0 = o.t0
	}
	if o.set["t1"] {
		c.t1 = o.t1
	}
	if math.IsNaN(c.t0) || math.IsInf(c.t0, 0) || math.IsNaN(c.t1) || math.IsInf(c.t1, 0) || !(c.t1 > c.t0) {
		return usagef("invalid time interval [%v, %v]: want finite t0 < t1", c.t0, c.t1)
	}
	if err := c.setFormulation(o.formulation); err != nil {
		return err
	}
	if err := o.apply(c); err != nil {
		return err
	}
	c.out = outDir(&o, c.name, false)
	if err := prepareDir(c.out); err != nil {
		return err
	}
	return runExperiment(c, stdout, stderr)
}

func cmdAblation(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet("ablation", &o)
	pos, err := parseArgs(fs, args, &o)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("ablation needs one system (oscillator or henon-heiles), got %d arguments", len(pos))
	}
	if pos[0] != "oscillator" && pos[0] != "henon-heiles" {
		return usagef("unknown ablation %q (want oscillator or henon-heiles)", pos[0])
	}
	for _, f := range []string{"activation", "param"} {
		if o.set[f] {
			return usagef("ablation: flag -%s is not allowed, the ablation runs every combination", f)
		}
	}
	if err := o.check(); err != nil {
		return err
	}
	c, err := experiments[pos[0]].config(pos[0])
	if err != nil {
		return err
	}
	if err := o.apply(c); err != nil {
		return err
	}
	c.name = "ablation-" + pos[0]
	c.figures = map[string]string{"oscillator": "Fig. 2", "henon-heiles": "Fig. 5"}[pos[0]]
	c.out = outDir(&o, c.name, false)
	if err := prepareDir(c.out); err != nil {
		return err
	}
	return runAblation(c, stdout, stderr)
}

// parsedSystem is the system of solve -H: the Hamiltonian parsed from
// text, with the coordinate names of -coords or the default names, in the
// dimension of -coords or else of -z0. It starts from -z0 on [0, 4π]
// unless -t0, -t1 say otherwise.
func parsedSystem(o *options) (systems.System, error) {
	e, z0, dim, err := parseSystemText(o, o.hExpr, "p1..pd")
	if err != nil {
		return nil, err
	}
	ps := &parsedHSystem{expr: e, dim: dim, z0: z0}
	if e.Separable() {
		return separableParsedH{ps}, nil
	}
	return ps, nil
}

// parseSystemText parses text, the H of -H or the L of -L, with the names
// of -coords, and -z0; the dimension is the expression's, or else -z0's
// (2d numbers: q1..qd, then second, named in messages).
func parseSystemText(o *options, text, second string) (e *hnnsolve.Expression, z0 []float64, dim int, err error) {
	var coords []string
	if o.set["coords"] {
		for f := range strings.SplitSeq(o.coords, ",") {
			coords = append(coords, strings.TrimSpace(f))
		}
	}
	if e, err = hnnsolve.ParseExpression(text, coords...); err != nil {
		return nil, nil, 0, err
	}
	if z0, err = parseFloats("z0", o.z0); err != nil {
		return nil, nil, 0, err
	}
	dim = e.Dim()
	if dim == 0 {
		dim = len(z0)
		if dim%2 != 0 {
			return nil, nil, 0, usagef("invalid value %q for flag -z0: want 2d numbers (q1..qd, %s), got %d", o.z0, second, len(z0))
		}
	}
	if err := e.CheckDim(dim); err != nil {
		return nil, nil, 0, err
	}
	return e, z0, dim, nil
}

// parsedHSystem is a Hamiltonian parsed from text as a systems.System: H,
// ∇H and D²H come from the compiled expression (hnnsolve.Expression.Eval),
// the same symbolic derivatives as the training uses. The dimension was
// checked, so Eval cannot fail; a NaN would mark a failure all the same.
type parsedHSystem struct {
	expr *hnnsolve.Expression
	dim  int
	z0   []float64
}

func (s *parsedHSystem) Name() string { return "custom" }

// CoordNames returns the names given with -coords, or nil for the default
// q1..qd, p1..pd.
func (s *parsedHSystem) CoordNames() []string              { return s.expr.Coords() }
func (s *parsedHSystem) Dim() int                          { return s.dim }
func (s *parsedHSystem) Hamiltonian() hnnsolve.Hamiltonian { return s.expr.Hamiltonian() }
func (s *parsedHSystem) Z0() []float64                     { return slices.Clone(s.z0) }
func (s *parsedHSystem) Interval() (t0, t1 float64)        { return 0, 4 * math.Pi }
func (s *parsedHSystem) Invariants(z []float64) []float64  { return nil }
func (s *parsedHSystem) InvariantNames() []string          { return nil }

// Validate reports an H that is not finite at the initial state.
func (s *parsedHSystem) Validate() error {
	h, err := s.expr.Eval(s.z0, nil, nil)
	if err != nil {
		return err
	}
	if math.IsNaN(h) || math.IsInf(h, 0) {
		//lint:ignore ST1005 H is the Hamiltonian's symbol, not a capitalised word
		return fmt.Errorf("H = %s is %v at the initial state %v", s.expr, h, s.z0)
	}
	return nil
}

func (s *parsedHSystem) Energy(z []float64) float64 {
	h, err := s.expr.Eval(z, nil, nil)
	if err != nil {
		return math.NaN()
	}
	return h
}

func (s *parsedHSystem) Gradient(dst, z []float64) {
	if _, err := s.expr.Eval(z, dst, nil); err != nil {
		fillNaN(dst)
	}
}

func (s *parsedHSystem) Hessian(dst, z []float64) {
	if _, err := s.expr.Eval(z, nil, dst); err != nil {
		fillNaN(dst)
	}
}

func fillNaN(v []float64) {
	for i := range v {
		v[i] = math.NaN()
	}
}

// separableParsedH is a parsedHSystem whose H is written as T(p) + V(q)
// (hnnsolve.Expression.Separable), so that symplectic Euler runs too. Since
// ∂H/∂p depends on p only, dT/dp is ∇H's p part at any q; the initial
// state's q is taken, where H is finite (and so for V, ∂H/∂q).
type separableParsedH struct{ *parsedHSystem }

func (s separableParsedH) DT(dst, p []float64) {
	d := s.dim / 2
	z := append(slices.Clone(s.z0[:d]), p...)
	g := make([]float64, s.dim)
	s.Gradient(g, z)
	copy(dst, g[d:])
}

func (s separableParsedH) DV(dst, q []float64) {
	d := s.dim / 2
	z := append(slices.Clone(q[:d]), s.z0[d:]...)
	g := make([]float64, s.dim)
	s.Gradient(g, z)
	copy(dst, g[:d])
}

// oneLine folds a message onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
