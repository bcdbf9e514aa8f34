package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"

	"hnnsolve"
	"hnnsolve/integrate"
	"hnnsolve/systems"
)

// experiment is one experiment of Sec. III with the paper's settings.
type experiment struct {
	system      string
	t1          float64 // the interval is [0, t1]
	points      int
	hidden      []int
	epochs      int
	energy      float64 // λ
	eulerFactor int     // symplectic Euler also runs at eulerFactor·K points
	figures     string
}

var experiments = map[string]experiment{
	"oscillator": {
		system: "oscillator", t1: 4 * math.Pi, points: 200, hidden: []int{50, 50},
		epochs: 50000, eulerFactor: 100, figures: "Fig. 2, 3",
	},
	"oscillator-long": {
		system: "oscillator", t1: 20 * math.Pi, points: 500, hidden: []int{80, 80},
		epochs: 50000, energy: 1, eulerFactor: 100, figures: "Fig. 4",
	},
	"henon-heiles": {
		system: "henon-heiles", t1: 6 * math.Pi, points: 100, hidden: []int{50, 50},
		epochs: 30000, eulerFactor: 10, figures: "Fig. 5, 6",
	},
	"henon-heiles-long": {
		system: "henon-heiles", t1: 12 * math.Pi, points: 500, hidden: []int{80, 80},
		epochs: 30000, energy: 0.5, eulerFactor: 10, figures: "Fig. 7",
	},
}

// accurateTargets are the targets of reproduce -accurate, a shorthand for
// -target-error E: the library's recipe (hnnsolve.Settings.TargetError)
// with E = 1e-6 on [0, 4π] and [0, 6π], 1e-5 on the long runs.
var accurateTargets = map[string]float64{
	"oscillator":        1e-6,
	"oscillator-long":   1e-5,
	"henon-heiles":      1e-6,
	"henon-heiles-long": 1e-5,
}

// experimentNames returns the experiments in the paper's order.
func experimentNames() []string {
	return []string{"oscillator", "oscillator-long", "henon-heiles", "henon-heiles-long"}
}

// config is a fully resolved run: problem, settings and output.
type config struct {
	name        string
	figures     string
	preset      string // "paper", "recipe" or "" (solve)
	recipe      bool   // -target-error alone: the library's recipe trains
	sys         systems.System
	z0          []float64
	t0, t1      float64
	settings    hnnsolve.Settings
	eulerFactor int
	dense       int
	out         string
	quiet       bool
	resume      string // checkpoint to continue (-resume)
	formulation string // formHamiltonian or formLagrangian (-formulation)
}

// The formulations of -formulation.
const (
	formHamiltonian = "hamiltonian"
	formLagrangian  = "lagrangian"
)

// setFormulation selects the formulation f ("" or formHamiltonian: Solve;
// formLagrangian: SolveLagrangian, for systems with H = |p|²/2 + V) and
// names the run NAME-lagrangian for the latter.
func (c *config) setFormulation(f string) error {
	c.formulation = formHamiltonian
	if f == "" || f == formHamiltonian {
		return nil
	}
	_, mech := c.sys.(systems.Mechanical)
	_, lag := c.sys.(lagrangianSystem)
	if !mech && !lag {
		return usagef("-formulation lagrangian needs a system with H = |p|²/2 + V(q) (harmonic, oscillator, henon-heiles) or -L; %s is not one", c.sys.Name())
	}
	c.formulation = formLagrangian
	c.name += "-lagrangian"
	return nil
}

// lagrangianSystem is a system given by a general Lagrangian (solve -L),
// whose state is (q, q̇) and whose reference solution integrates the
// Euler-Lagrange equations.
type lagrangianSystem interface {
	Lagrangian() hnnsolve.Lagrangian
	reference(z0, ts []float64) (*mat.Dense, error)
}

// lagrangianProblem is c's problem for SolveLagrangian: the system's
// potential, Q0 and V0 from z0 = (q, p) with unit masses, or its general
// Lagrangian with z0 = (q, q̇).
func (c *config) lagrangianProblem() hnnsolve.LagrangianProblem {
	d := len(c.z0) / 2
	lp := hnnsolve.LagrangianProblem{Q0: slices.Clone(c.z0[:d]), V0: slices.Clone(c.z0[d:]), T0: c.t0, T: c.t1}
	if ls, ok := c.sys.(lagrangianSystem); ok {
		lp.L = ls.Lagrangian()
	} else {
		lp.V = c.sys.(systems.Mechanical).Potential()
	}
	return lp
}

func (e experiment) config(name string) (*config, error) {
	sys, err := systems.Lookup(e.system)
	if err != nil {
		return nil, err
	}
	pc, ok := sys.(systems.PaperCase)
	if !ok {
		return nil, fmt.Errorf("system %s has no paper case", e.system)
	}
	t0, _ := pc.PaperInterval()
	s := hnnsolve.DefaultSettings()
	s.Points, s.Hidden, s.Epochs, s.Energy = e.points, slices.Clone(e.hidden), e.epochs, e.energy
	return &config{
		name: name, figures: e.figures, preset: "paper", sys: sys, z0: pc.PaperZ0(),
		t0: t0, t1: t0 + e.t1, settings: s, eulerFactor: e.eulerFactor,
	}, nil
}

// solveConfig is the configuration of "hnnsolve solve" for sys before the
// flags: the system's own initial state and interval, the paper's K where
// the paper solves the system, and the paper's network otherwise.
func solveConfig(sys systems.System) *config {
	t0, t1 := sys.Interval()
	s := hnnsolve.DefaultSettings()
	if pc, ok := sys.(systems.PaperCase); ok {
		s.Points = pc.PaperPoints()
	}
	return &config{
		name: "solve-" + sys.Name(), sys: sys, z0: sys.Z0(), t0: t0, t1: t1,
		settings: s, eulerFactor: 100,
	}
}

// results are everything computed for one run.
type results struct {
	cfg    *config
	sol    *hnnsolve.Solution
	loss   []float64
	coords []string

	ts          []float64  // dense evaluation grid
	nn, ref     *mat.Dense // network and reference states on ts
	eNN         []float64  // H(ẑ(t))
	eRef        []float64  // H(z_ref(t))
	residual    []float64  // |ℓ(t)| (Eq. 14)
	residualReg []float64  // √(|ℓ|² + λ ℓ_reg²) (Eq. 13-15)

	maxErr      float64
	maxErrCoord []float64
	maxEnergy   float64

	eulerK, eulerF *eulerRun // nil when the system is not separable

	bounds bounds
}

// eulerRun is symplectic Euler on n points with its error against the reference.
type eulerRun struct {
	label     string // "K" or "100K"
	points    int
	ts        []float64
	z, err    *mat.Dense
	energy    []float64
	maxErr    float64
	maxEnergy float64
	diverged  bool // the solution overflowed: no trajectory, errors +Inf
}

// ok reports whether eu has a trajectory.
func (eu *eulerRun) ok() bool { return eu != nil && !eu.diverged }

func runExperiment(c *config, stdout, stderr io.Writer) error {
	r, err := solveAndWrite(c, stderr)
	if err != nil {
		return err
	}
	printTable(stdout, r)
	return nil
}

// solveAndWrite trains the network of c, evaluates it and writes the
// outputs into c.out.
func solveAndWrite(c *config, stderr io.Writer) (*results, error) {
	if err := c.sys.Validate(); err != nil {
		return nil, usageError{err}
	}
	set := c.settings
	var prog *progress
	if c.recipe {
		// Epochs and segments are the recipe's: no progress bar, one line
		// when training starts (not before a device or settings error).
		if !c.quiet {
			var once sync.Once
			set.Progress = func(hnnsolve.Progress) {
				once.Do(func() {
					fmt.Fprintf(stderr, "%s: training by the TargetError recipe, target %g\n", c.name, set.TargetError)
				})
			}
		}
	} else {
		prog = newProgress(c.name, set.Epochs, set.Segments, set.Retries, stderr, c.quiet)
		set.Progress, set.ProgressEvery = prog.update, prog.every
	}
	sol, err := train(c, &set)
	if prog != nil {
		prog.finish()
	}
	interrupted := err != nil && sol != nil && signals.Err() != nil
	var missed error // the target of the recipe not reached: outputs, then the error
	if err != nil && sol != nil && errors.Is(err, hnnsolve.ErrTarget) {
		missed = err
	}
	if err != nil && !interrupted && missed == nil {
		return nil, solveError(c, err)
	}
	if interrupted {
		// What was trained ends where the Solution's problem ends.
		part := *c
		part.t1 = sol.Problem().T
		c = &part
	}
	r, err := evaluate(c, sol)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	if r.bounds.Err != nil {
		fmt.Fprintf(stderr, "hnnsolve: %s: warning: no error bounds: %s\n", c.name, oneLine(r.bounds.Err.Error()))
	}
	if err := writeOutputs(r); err != nil {
		return nil, err
	}
	if missed != nil {
		printTable(stderr, r)
		return nil, fmt.Errorf("%s: %w; the outputs are in %s", c.name, missed, c.out)
	}
	if interrupted {
		msg := fmt.Sprintf("%s: interrupted after %d epochs; the outputs in %s cover [%g, %g]", c.name, sol.EpochsRun, c.out, c.t0, c.t1)
		if path := set.Checkpoint.Path; path != "" {
			msg += fmt.Sprintf("; continue with -resume %s", path)
		}
		return nil, errors.New(msg)
	}
	return r, nil
}

// signals is done once the process gets SIGINT or SIGTERM (main sets it):
// training then stops within one epoch.
var signals = context.Background()

// train solves c's problem with the settings set, or continues the run of
// the checkpoint -resume names, stopped by signals.
func train(c *config, set *hnnsolve.Settings) (*hnnsolve.Solution, error) {
	p := hnnsolve.Problem{H: c.sys.Hamiltonian(), Z0: c.z0, T0: c.t0, T: c.t1}
	lagrangian := c.formulation == formLagrangian
	if c.resume == "" {
		if lagrangian {
			return hnnsolve.SolveLagrangianContext(signals, c.lagrangianProblem(), set)
		}
		return hnnsolve.SolveContext(signals, p, set)
	}
	f, err := os.Open(c.resume)
	if err != nil {
		return nil, fmt.Errorf("-resume: %w", err)
	}
	defer f.Close()
	if lagrangian {
		return hnnsolve.ResumeLagrangianContext(signals, f, c.lagrangianProblem(), set)
	}
	return hnnsolve.ResumeContext(signals, f, p, set)
}

// solveError names the run in an error of Solve, except for an
// unavailable device (-device), which concerns every run alike and whose
// message already says what is missing.
func solveError(c *config, err error) error {
	if errors.Is(err, hnnsolve.ErrDevice) {
		return err
	}
	return fmt.Errorf("%s: %w", c.name, err)
}

// grid returns n equally spaced times on [t0, t1].
func grid(t0, t1 float64, n int) []float64 {
	ts := make([]float64, n)
	for i := range ts {
		ts[i] = t0 + (t1-t0)*float64(i)/float64(n-1)
	}
	ts[n-1] = t1
	return ts
}

// evaluate compares the network with the adaptive reference and with
// symplectic Euler, and runs the error analysis.
func evaluate(c *config, sol *hnnsolve.Solution) (*results, error) {
	d := c.sys.Dim()
	r := &results{cfg: c, sol: sol, loss: sol.Loss(), coords: coordNames(c.sys)}
	r.ts = grid(c.t0, c.t1, c.dense)
	if ls, ok := c.sys.(lagrangianSystem); ok {
		ref, err := ls.reference(c.z0, r.ts)
		if err != nil {
			return nil, fmt.Errorf("reference solution: %w", err)
		}
		r.ref = ref
	} else {
		ref, err := integrate.Adaptive(c.sys, c.z0, r.ts, nil)
		if err != nil {
			return nil, fmt.Errorf("reference solution: %w", err)
		}
		r.ref = ref.Z
	}
	r.nn = sol.Trajectory(r.ts)
	r.eNN = sol.Energy(r.ts)
	r.residual = sol.Residual(r.ts)
	if r.eNN == nil || r.residual == nil {
		return nil, errors.New("evaluating the Hamiltonian along the network solution failed")
	}
	r.eRef = make([]float64, len(r.ts))
	r.maxErrCoord = make([]float64, d)
	e0 := sol.E0()
	for i := range r.ts {
		r.eRef[i] = c.sys.Energy(r.ref.RawRowView(i))
		for j := range d {
			r.maxErrCoord[j] = math.Max(r.maxErrCoord[j], math.Abs(r.nn.At(i, j)-r.ref.At(i, j)))
		}
		r.maxEnergy = math.Max(r.maxEnergy, math.Abs(r.eNN[i]-e0))
	}
	r.maxErr = slices.Max(r.maxErrCoord)
	// ℓ_max of Eq. 22 takes the energy term too: √(|ℓ|² + λ (H - E0)²).
	r.residualReg = make([]float64, len(r.ts))
	lam := sol.Settings().Energy
	for i, l := range r.residual {
		dE := r.eNN[i] - e0
		r.residualReg[i] = math.Sqrt(l*l + lam*dE*dE)
	}

	if _, ok := c.sys.(integrate.Separable); ok {
		// K counts the collocation times of all segments.
		var err error
		ss := sol.Settings()
		k := ss.Points * max(1, ss.Segments)
		if r.eulerK, err = runEuler(c, "K", k); err != nil {
			return nil, err
		}
		if r.eulerF, err = runEuler(c, fmt.Sprintf("%dK", c.eulerFactor), c.eulerFactor*k); err != nil {
			return nil, err
		}
	}
	r.bounds = analyze(sol, r.ts, r.ref)
	return r, nil
}

// runEuler integrates with symplectic Euler on n equally spaced points
// (n-1 steps) and measures its error against the adaptive reference there.
func runEuler(c *config, label string, n int) (*eulerRun, error) {
	tr, err := integrate.Fixed(c.sys, integrate.SymplecticEuler, c.z0, c.t0, c.t1, n-1)
	if errors.Is(err, integrate.ErrNonFinite) {
		// Too few points for the dynamics: the step is unstable.
		return &eulerRun{label: label, points: n, diverged: true, maxErr: math.Inf(1), maxEnergy: math.Inf(1)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("symplectic Euler at %d points: %w", n, err)
	}
	ref, err := integrate.Adaptive(c.sys, c.z0, tr.T, nil)
	if err != nil {
		return nil, fmt.Errorf("reference solution at %d points: %w", n, err)
	}
	d := c.sys.Dim()
	e0 := c.sys.Energy(c.z0)
	eu := &eulerRun{label: label, points: n, ts: tr.T, z: tr.Z, energy: make([]float64, n)}
	eu.err = mat.NewDense(n, d, nil)
	eu.err.Sub(tr.Z, ref.Z)
	for i := range n {
		eu.energy[i] = c.sys.Energy(tr.Z.RawRowView(i))
		eu.maxEnergy = math.Max(eu.maxEnergy, math.Abs(eu.energy[i]-e0))
		for _, v := range eu.err.RawRowView(i) {
			eu.maxErr = math.Max(eu.maxErr, math.Abs(v))
		}
	}
	return eu, nil
}

// coordNames names the phase-space coordinates (q..., p...).
func coordNames(sys systems.System) []string {
	if named, ok := sys.(interface{ CoordNames() []string }); ok {
		if names := named.CoordNames(); len(names) == sys.Dim() {
			return names
		}
	}
	switch sys.Name() {
	case "oscillator":
		return []string{"x", "p"}
	case "henon-heiles":
		return []string{"x", "y", "px", "py"}
	}
	d := sys.Dim() / 2
	mom := "p"
	if _, ok := sys.(lagrangianSystem); ok {
		mom = "v" // the state is (q, q̇)
	}
	if d == 1 {
		return []string{"q", mom}
	}
	names := make([]string, 0, 2*d)
	for _, c := range []string{"q", mom} {
		for i := range d {
			names = append(names, fmt.Sprintf("%s%d", c, i+1))
		}
	}
	return names
}

// ablationCase is one curve of Fig. 2 / Fig. 5.
type ablationCase struct {
	act   hnnsolve.Activation
	param hnnsolve.Param
}

func (a ablationCase) column() string { return a.act.String() + "_" + a.param.String() }

func (a ablationCase) label() string {
	f := "1-e^-t"
	if a.param == hnnsolve.Linear {
		f = "t"
	}
	return fmt.Sprintf("%s, f = %s", a.act, f)
}

var ablationCases = []ablationCase{
	{hnnsolve.Sin, hnnsolve.Exponential},
	{hnnsolve.Sin, hnnsolve.Linear},
	{hnnsolve.Sigmoid, hnnsolve.Exponential},
	{hnnsolve.Sigmoid, hnnsolve.Linear},
}

type ablationRun struct {
	ablationCase
	loss    []float64
	seconds float64
}

func runAblation(c *config, stdout, stderr io.Writer) error {
	if err := c.sys.Validate(); err != nil {
		return usageError{err}
	}
	var runs []ablationRun
	for _, ac := range ablationCases {
		set := c.settings
		set.Activation, set.Param = ac.act, ac.param
		prog := newProgress(c.name+" "+ac.label(), set.Epochs, set.Segments, set.Retries, stderr, c.quiet)
		set.Progress, set.ProgressEvery = prog.update, prog.every
		sol, err := hnnsolve.Solve(hnnsolve.Problem{H: c.sys.Hamiltonian(), Z0: c.z0, T0: c.t0, T: c.t1}, &set)
		prog.finish()
		if errors.Is(err, hnnsolve.ErrDevice) {
			return err
		}
		if err != nil {
			return fmt.Errorf("%s (%s): %w", c.name, ac.label(), err)
		}
		runs = append(runs, ablationRun{ablationCase: ac, loss: sol.Loss(), seconds: sol.TrainTime.Seconds()})
	}
	if err := writeAblation(c, runs); err != nil {
		return err
	}
	printAblation(stdout, c, runs)
	return nil
}
