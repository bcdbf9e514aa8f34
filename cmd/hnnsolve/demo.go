package main

import (
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"hnnsolve"
)

// demoRuns are the runs of hnnsolve demo: the paper's oscillator (Fig. 3)
// three ways, each the reproduce command it names, into OUT/dir.
var demoRuns = []struct {
	dir  string
	args []string // reproduce oscillator ARGS
}{
	{"paper", nil},
	{"improved", []string{"-lambda", "1", "-lr-final", "8e-5"}},
	{"accurate", []string{"-accurate"}},
}

// paperEllMax is the ℓ_max the paper reports for its oscillator run (Sec.
// III.A, Fig. 3); with σ_min = 1 its Eq. 22 gives the same number as the
// bound on the error of every component.
const paperEllMax = 3.3e-3

// demoOptions are the flags of hnnsolve demo.
type demoOptions struct {
	out    string
	scale  float64 // -epochs-scale
	seed   int64
	device string
	quiet  bool
}

func cmdDemo(args []string, stdout, stderr io.Writer) error {
	d := demoOptions{}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&d.out, "out", filepath.Join("out", "demo"), "")
	fs.Float64Var(&d.scale, "epochs-scale", 1, "")
	fs.Int64Var(&d.seed, "seed", 0, "")
	fs.StringVar(&d.device, "device", "cpu", "")
	fs.BoolVar(&d.quiet, "quiet", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("demo: %v", err)
	}
	switch {
	case fs.NArg() > 0:
		return usagef("demo takes no positional arguments, got %q", fs.Args())
	case !(d.scale > 0) || math.IsInf(d.scale, 0):
		return usagef("invalid value %v for flag -epochs-scale: want a number > 0", d.scale)
	case strings.TrimSpace(d.out) == "":
		return usagef(`invalid value "" for flag -out: want a directory`)
	}
	cfgs, err := demoConfigs(d)
	if err != nil {
		return err
	}
	if err := prepareDir(d.out); err != nil {
		return err
	}
	for _, c := range cfgs {
		if err := prepareDir(c.out); err != nil {
			return err
		}
	}
	start := time.Now()
	rs, err := runConcurrently(cfgs, &syncWriter{w: stderr})
	if err != nil {
		return err
	}
	rows := demoRows(rs)
	if err := plotDemo(rs, filepath.Join(d.out, "comparison.png")); err != nil {
		return err
	}
	wall := time.Since(start).Seconds()
	if err := writeDemo(d, rows, wall); err != nil {
		return err
	}
	printDemo(stdout, d, rows, wall)
	return nil
}

// demoConfigs are the runs of the demo: reproduce oscillator with each
// entry of demoRuns, the seed and the device, with every Adam epoch count
// and refinement step count scaled by d.scale (at least 1 each) and the
// accurate run's target (it chooses its own counts) divided by it.
func demoConfigs(d demoOptions) ([]*config, error) {
	var cfgs []*config
	for _, run := range demoRuns {
		var o options
		args := append(slices.Clone(run.args), "-seed", strconv.FormatInt(d.seed, 10), "-device", d.device)
		if d.quiet {
			args = append(args, "-quiet")
		}
		if _, err := parseArgs(newFlagSet("reproduce", &o), args, &o); err != nil {
			return nil, err
		}
		if err := o.check(); err != nil {
			return nil, err
		}
		c, err := experimentConfig("oscillator", &o)
		if err != nil {
			return nil, err
		}
		c.name = "oscillator-" + run.dir
		c.out = filepath.Join(d.out, run.dir)
		s := &c.settings
		scale := func(n int) int {
			if n == 0 {
				return 0
			}
			return max(1, int(math.Round(float64(n)*d.scale)))
		}
		s.Epochs, s.LBFGS, s.LM = scale(s.Epochs), scale(s.LBFGS), scale(s.LM)
		if c.recipe {
			// The recipe chooses its counts: a smaller scale asks for less
			// accuracy instead.
			s.TargetError = min(s.TargetError/d.scale, 0.1)
		}
		cfgs = append(cfgs, c)
	}
	return cfgs, nil
}

// runConcurrently runs every configuration, GOMAXPROCS at a time, the last
// (the longest, the accurate recipe) first. Each run is deterministic, so
// the results do not depend on the order or on the number of cores. The
// error is the first failed run's, in the order of cfgs.
func runConcurrently(cfgs []*config, stderr io.Writer) ([]*results, error) {
	rs := make([]*results, len(cfgs))
	errs := make([]error, len(cfgs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(cfgs)) {
		wg.Go(func() {
			for i := range next {
				rs[i], errs[i] = solveAndWrite(cfgs[i], stderr)
			}
		})
	}
	for i := len(cfgs) - 1; i >= 0; i-- {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// syncWriter serialises the writes of concurrent runs (their progress
// lines). It is not a terminal, so the runs report in lines, not bars.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// demoRow is a row of the demo's table; NaN marks a figure that does not
// apply.
type demoRow struct {
	key, label string
	maxErr     float64 // max abs error against DOP853
	errBound   bool    // the paper's row: maxErr is its Eq. 22 bound, not a measured error
	diverged   bool
	maxEnergy  float64
	ellMax     float64
	eq18       float64
	seconds    float64
	out        string
}

// demoRows are the paper's figure, the three runs and symplectic Euler at
// K and F·K points (from the paper's run).
func demoRows(rs []*results) []demoRow {
	nan := math.NaN()
	val := func(v *float64) float64 {
		if v == nil {
			return nan
		}
		return *v
	}
	rows := []demoRow{{key: "paper_fig3", label: "paper (Mattheakis et al., Fig. 3)", maxErr: paperEllMax, errBound: true,
		maxEnergy: nan, ellMax: paperEllMax, eq18: nan, seconds: nan}}
	for i, r := range rs {
		rows = append(rows, demoRow{key: demoRuns[i].dir, label: runLabel(demoRuns[i].dir, r.sol),
			maxErr: r.maxErr, maxEnergy: r.maxEnergy, ellMax: val(r.bounds.EllMax), eq18: val(r.bounds.EstimateEq18),
			seconds: r.sol.TrainTime.Seconds(), out: r.cfg.out})
	}
	for _, eu := range []*eulerRun{rs[0].eulerK, rs[0].eulerF} {
		if eu == nil {
			continue
		}
		rows = append(rows, demoRow{key: "euler_" + eu.label, label: fmt.Sprintf("symplectic Euler, %s = %d points", eu.label, eu.points),
			maxErr: eu.maxErr, diverged: eu.diverged, maxEnergy: eu.maxEnergy, ellMax: nan, eq18: nan, seconds: nan})
	}
	return rows
}

// runLabel names a run of the demo by its settings (and, for the recipe's
// run, its target).
func runLabel(dir string, sol *hnnsolve.Solution) string {
	s := sol.Settings()
	net := fmt.Sprint(s.Hidden)
	if len(s.Hidden) > 0 && slices.Min(s.Hidden) == slices.Max(s.Hidden) {
		net = fmt.Sprintf("%d×%d", len(s.Hidden), s.Hidden[0])
	}
	switch dir {
	case "paper":
		return fmt.Sprintf("HNN, paper's settings (%s, %d epochs)", net, s.Epochs)
	case "improved":
		return fmt.Sprintf("HNN, improved (λ = %s, lr → %s)", shortG(s.Energy), shortG(s.LearnRateFinal))
	}
	target := math.NaN()
	if sol.Recipe != nil {
		target = sol.Recipe.Target
	}
	return fmt.Sprintf("HNN, accurate: target %s (%d segments of %s)", shortG(target), s.Segments, net)
}

// shortG formats v as %g without the exponent's leading zero: 8e-5.
func shortG(v float64) string {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	return strings.Replace(strings.Replace(s, "e-0", "e-", 1), "e+0", "e+", 1)
}

var demoHeader = []string{"method", "max abs error", "max |H - E0|", "ℓ_max", "Eq. 18 estimate", "train s", "output"}

// cells are the table's cells of the row.
func (r demoRow) cells() []string {
	prec := 2
	if r.errBound {
		prec = 1 // the paper's two digits
	}
	f := func(v float64) string {
		if math.IsNaN(v) {
			return "-"
		}
		return strconv.FormatFloat(v, 'e', prec, 64)
	}
	maxErr := f(r.maxErr)
	switch {
	case r.errBound:
		maxErr = "≤ " + maxErr + " *"
	case r.diverged:
		maxErr = "diverged"
	}
	secs := "-"
	if !math.IsNaN(r.seconds) {
		secs = fmt.Sprintf("%.1f", r.seconds)
	}
	out := r.out
	if out == "" {
		out = "-"
	}
	return []string{r.label, maxErr, f(r.maxEnergy), f(r.ellMax), f(r.eq18), secs, out}
}

// demoNotes explain the table, below it on stdout and above it on the page.
func demoNotes(d demoOptions, wall float64) []string {
	notes := []string{
		"max abs error: the largest |ẑ_i(t) - z_i(t)| against DOP853 (rtol = atol = 1e-12) on a grid of 10 points per collocation time (the accurate run: 200 per unit time); symplectic Euler: at its own points.",
		"Eq. 18 estimate: max |δz(t)| predicted from the network's own residual, without a reference solution.",
		"* the paper gives ℓ_max = 3.3e-3 and, with σ_min = 1, the same number from its Eq. 22 as the bound on the error.",
		fmt.Sprintf("wall time %.1f s: the three runs, %d at a time, each deterministic (seed %d).", wall, min(runtime.GOMAXPROCS(0), len(demoRuns)), d.seed),
	}
	if d.scale != 1 {
		notes = append(notes, fmt.Sprintf("-epochs-scale %g: every epoch and step count scaled; the figures are not the recipes'.", d.scale))
	}
	return notes
}

const demoTitle = "hnnsolve demo: the nonlinear oscillator of Fig. 3 (Eq. 23), z0 = (1.3, 1), t in [0, 4π]"

func printDemo(w io.Writer, d demoOptions, rows []demoRow, wall float64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, demoTitle)
	fmt.Fprintf(tw, "  %s\n", strings.Join(demoHeader, "\t"))
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\n", strings.Join(r.cells(), "\t"))
	}
	tw.Flush()
	for _, n := range demoNotes(d, wall) {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintf(w, "figures and every run's table: %s\n", filepath.Join(d.out, "index.html"))
}

// writeDemo writes the demo's summary.json and index.html into d.out.
func writeDemo(d demoOptions, rows []demoRow, wall float64) error {
	var objs []object
	for _, r := range rows {
		objs = append(objs, object{
			{"row", r.key},
			{"method", r.label},
			{"max_abs_error", num(r.maxErr)},
			{"max_abs_error_is_bound", r.errBound},
			{"diverged", r.diverged},
			{"max_energy_error", num(r.maxEnergy)},
			{"ell_max", num(r.ellMax)},
			{"estimate_eq18", num(r.eq18)},
			{"train_seconds", num(r.seconds)},
			{"output", r.out},
		})
	}
	if err := writeJSON(filepath.Join(d.out, "summary.json"), object{
		{"experiment", "demo"},
		{"epochs_scale", d.scale},
		{"seed", d.seed},
		{"wall_seconds", wall},
		{"rows", objs},
	}); err != nil {
		return err
	}
	t := htmlTable{Header: demoHeader}
	for _, r := range rows {
		c := r.cells()
		if r.out != "" {
			c[len(c)-1] = filepath.Base(r.out) + "/"
		}
		t.Rows = append(t.Rows, c)
	}
	p := page{Title: demoTitle, Intro: demoNotes(d, wall), Tables: []htmlTable{t}}
	for i, run := range demoRuns {
		p.Links = append(p.Links, link{Href: run.dir + "/index.html", Text: rows[1+i].label + ": every figure and table"})
	}
	p.Links = append(p.Links, link{Href: "summary.json", Text: "summary.json: the table's figures"})
	p.Figures = []figure{{File: "comparison.png", Caption: "comparison.png: error and energy error of the three runs and of symplectic Euler"}}
	return writePage(d.out, p)
}

// plotDemo draws the error (largest component) and the energy error of the
// three runs and of symplectic Euler at K and F·K points over time.
func plotDemo(rs []*results, path string) error {
	colors := []color.Color{color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, colNN}
	var errs, energy []series
	for i, r := range rs {
		n, d := len(r.ts), len(r.coords)
		e, h := make([]float64, n), make([]float64, n)
		for k := range n {
			for j := range d {
				e[k] = math.Max(e[k], math.Abs(r.nn.At(k, j)-r.ref.At(k, j)))
			}
			h[k] = math.Abs(r.eNN[k] - r.sol.E0())
		}
		name := runLabel(demoRuns[i].dir, r.sol)
		errs = append(errs, series{name: name, x: r.ts, y: e, color: colors[i%len(colors)], width: vg.Points(1.3)})
		energy = append(energy, series{name: name, x: r.ts, y: h, color: colors[i%len(colors)], width: vg.Points(1.3)})
	}
	r0 := rs[0]
	for i, eu := range []*eulerRun{r0.eulerK, r0.eulerF} {
		if !eu.ok() {
			continue
		}
		e, h := make([]float64, eu.points), make([]float64, eu.points)
		for k := range eu.points {
			for _, v := range eu.err.RawRowView(k) {
				e[k] = math.Max(e[k], math.Abs(v))
			}
			h[k] = math.Abs(eu.energy[k] - r0.sol.E0())
		}
		s := series{name: fmt.Sprintf("symplectic Euler, %s = %d points", eu.label, eu.points),
			color: []color.Color{colEulerK, colEulerF}[i], dashes: [][]vg.Length{dashed(), dashDotted()}[i], width: vg.Points(1)}
		s.x, s.y = eu.ts, e
		errs = append(errs, s)
		s.y = h
		energy = append(energy, s)
	}
	t0, t1 := r0.cfg.t0, r0.cfg.t1
	errs = append(errs, series{name: "paper's ℓ_max = Eq. 22 bound, 3.3e-3", x: []float64{t0, t1}, y: []float64{paperEllMax, paperEllMax},
		color: colRef, width: vg.Points(1.5)})
	leg := &legendSet{}
	ep, err := newPlot("max_i |ẑ_i(t) - z_i(t)| against DOP853", "t", "error (log scale)", true, leg, errs...)
	if err != nil {
		return err
	}
	hp, err := newPlot("energy error |H(ẑ(t)) - E0|", "t", "|H - E0| (log scale)", true, leg, energy...)
	if err != nil {
		return err
	}
	return savePNG(path, 9*vg.Inch, 9*vg.Inch, [][]*plot.Plot{{timeAxis(ep, t0, t1)}, {timeAxis(hp, t0, t1)}}, leg)
}
