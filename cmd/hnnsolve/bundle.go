package main

import (
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gorgonia.org/gorgonia"

	"hnnsolve"
	"hnnsolve/integrate"
	"hnnsolve/systems"
)

// bundleSystem is a built-in family for "hnnsolve bundle": its
// parametrised H, the boxes, the interval, the closed-form ∇H and D²H for
// DOP853 and the variational equations, and the preset settings.
type bundleSystem struct {
	h              hnnsolve.ParamHamiltonian
	z0Min, z0Max   []float64
	thMin, thMax   []float64
	t1             float64
	grad, hess     func(dst, z, theta []float64)
	set            hnnsolve.Settings
	coords, params []string
}

// bundleSystems are the two families (README, "Solution bundles").
var bundleSystems = map[string]func() bundleSystem{
	"oscillator": func() bundleSystem {
		o := systems.NewNonlinearOscillator()
		h := o.Hamiltonian()
		return bundleSystem{
			h:     func(q, p, _ []*gorgonia.Node) (*gorgonia.Node, error) { return h(q, p) },
			z0Min: []float64{1, 0.5}, z0Max: []float64{1.5, 1}, t1: 4 * math.Pi,
			grad: func(dst, z, _ []float64) { o.Gradient(dst, z) },
			hess: func(dst, z, _ []float64) { o.Hessian(dst, z) },
			set: hnnsolve.Settings{Points: 1000, Hidden: []int{16, 16}, Epochs: 1500, LearnRate: 8e-3, LearnRateFinal: 1e-4,
				Beta1: 0.9, Beta2: 0.999, Energy: 1, Segments: 12, LM: 1600, RefinePoints: 1000, Seed: 1},
			coords: []string{"x", "p"},
		}
	},
	// Hénon-Heiles restated: θ in [0.8, 0.9], not the issue's [0.8, 1.2],
	// whose box holds members above the escape energy 1/(6θ²) that blow up
	// before 6π. With θmax = 0.9 every member, and every member of the
	// training box (10% wider on each side), starts in the well below the
	// escape energy, so every orbit is bounded (TestBundleHenonHeilesBox).
	"henon-heiles": func() bundleSystem {
		var hc systems.HenonHeilesCoupling
		z := systems.HenonHeiles{}.PaperZ0()
		lo, hi := make([]float64, 4), make([]float64, 4)
		for i, v := range z {
			lo[i], hi[i] = v-0.05, v+0.05
		}
		return bundleSystem{
			h:     hc.ParamHamiltonian(),
			z0Min: lo, z0Max: hi, thMin: []float64{0.8}, thMax: []float64{0.9}, t1: 6 * math.Pi,
			grad: func(dst, z, th []float64) { hc.Gradient(dst, z, th[0]) },
			hess: func(dst, z, th []float64) { hc.Hessian(dst, z, th[0]) },
			set: hnnsolve.Settings{Points: 1000, Hidden: []int{16, 16}, Epochs: 1500, LearnRate: 8e-3, LearnRateFinal: 1e-4,
				Beta1: 0.9, Beta2: 0.999, Energy: 1, Segments: 32, LM: 2400, RefinePoints: 1000, Seed: 1},
			coords: []string{"x", "y", "px", "py"}, params: []string{"theta"},
		}
	},
}

// bundleOptions are the flags of "hnnsolve bundle".
type bundleOptions struct {
	epochs, points, segments, lm, refinePoints int
	hidden                                     string
	lr, lrFinal, beta1, beta2, lambda, margin  float64
	seed                                       int64
	members, grid, times, benchMembers         int
	out                                        string
	quiet                                      bool
}

// cmdBundle is "hnnsolve bundle SYSTEM [flags]".
func cmdBundle(args []string, stdout, stderr io.Writer) error {
	var o bundleOptions
	fs := flag.NewFlagSet("bundle", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&o.epochs, "epochs", 0, "")
	fs.IntVar(&o.points, "points", 0, "")
	fs.IntVar(&o.segments, "segments", 0, "")
	fs.IntVar(&o.lm, "lm", -1, "")
	fs.IntVar(&o.refinePoints, "refine-points", 0, "")
	fs.StringVar(&o.hidden, "hidden", "", "")
	fs.Float64Var(&o.lr, "lr", 0, "")
	fs.Float64Var(&o.lrFinal, "lr-final", -1, "")
	fs.Float64Var(&o.beta1, "beta1", 0, "")
	fs.Float64Var(&o.beta2, "beta2", 0, "")
	fs.Float64Var(&o.lambda, "lambda", -1, "")
	fs.Float64Var(&o.margin, "margin", 0, "")
	fs.Int64Var(&o.seed, "seed", 1, "")
	fs.IntVar(&o.members, "members", 1000, "")
	fs.IntVar(&o.grid, "grid", 41, "")
	fs.IntVar(&o.times, "times", 201, "")
	fs.IntVar(&o.benchMembers, "bench-members", 100000, "")
	fs.StringVar(&o.out, "out", "", "")
	fs.BoolVar(&o.quiet, "quiet", false, "")
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return usagef("bundle: %v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != 1 {
		return usagef("bundle needs one system (oscillator or henon-heiles), got %d arguments", len(pos))
	}
	mk, ok := bundleSystems[pos[0]]
	if !ok {
		return usagef("bundle: unknown system %q (want oscillator or henon-heiles)", pos[0])
	}
	switch {
	case o.members < 1 || o.grid < 2 || o.times < 2 || o.benchMembers < 1:
		return usagef("bundle: -members, -bench-members >= 1 and -grid, -times >= 2 wanted")
	}
	sys := mk()
	set := sys.set
	if o.epochs != 0 {
		set.Epochs = o.epochs
	}
	if o.points != 0 {
		set.Points = o.points
	}
	if o.segments != 0 {
		set.Segments = o.segments
	}
	if o.lm >= 0 {
		set.LM = o.lm
	}
	if o.refinePoints != 0 {
		set.RefinePoints = o.refinePoints
	}
	if o.margin != 0 {
		set.BundleMargin = o.margin
	}
	if o.hidden != "" {
		h, err := parseHidden(o.hidden)
		if err != nil {
			return err
		}
		set.Hidden = h
	}
	if o.lr != 0 {
		set.LearnRate = o.lr
	}
	if o.lrFinal >= 0 {
		set.LearnRateFinal = o.lrFinal
	}
	if o.beta1 != 0 {
		set.Beta1 = o.beta1
	}
	if o.beta2 != 0 {
		set.Beta2 = o.beta2
	}
	if o.lambda >= 0 {
		set.Energy = o.lambda
	}
	set.Seed = o.seed
	if o.out == "" {
		o.out = filepath.Join("out", "bundle-"+pos[0])
	}
	if err := prepareDir(o.out); err != nil {
		return err
	}
	p := hnnsolve.BundleProblem{H: sys.h, Z0Min: sys.z0Min, Z0Max: sys.z0Max, ThetaMin: sys.thMin, ThetaMax: sys.thMax, T: sys.t1}
	if !o.quiet {
		set.ProgressEvery = max(set.Epochs/5, 1)
		set.Progress = func(pr hnnsolve.Progress) {
			fmt.Fprintf(stderr, "bundle %s: segment %d/%d, epoch %d/%d, loss %.3g\n", pos[0], pr.Problem+1, set.Segments, pr.Epoch, pr.Epochs, pr.Loss)
		}
	}
	runtime.GC()
	start := time.Now()
	b, err := hnnsolve.SolveBundleContext(signals, p, &set)
	if err != nil {
		return err
	}
	train := time.Since(start)
	res, err := evaluateBundle(b, sys, o)
	if err != nil {
		return err
	}
	res.train = train
	res.name = pos[0]
	if err := writeBundleOutputs(b, sys, o, res); err != nil {
		return err
	}
	printBundleTable(stdout, res)
	return nil
}

// bundleResults are the measurements of a trained bundle.
type bundleResults struct {
	name                  string
	train                 time.Duration
	members               [][]float64 // rows (z0, θ)
	memberErr             []float64   // max |ẑ - z| over the times, per member
	maxErr, meanErr       float64
	jacErr                float64 // max relative error of dz(T)/dz0, Frobenius
	gridX, gridY          []float64
	gridErr               [][]float64 // [iy][ix]
	bundleNs, dopNs       float64     // per member, state at T
	dopRTol, dopErr       float64
	benchMembers          int
	bytesPerMember        float64
	stages                []hnnsolve.Stage
	segments, epochs, dim int
}

// field is Hamilton's equations ż = J∇H(z; θ) of sys.
func (sys bundleSystem) field(theta []float64) func(dst []float64, _ float64, z []float64) {
	g := make([]float64, len(sys.z0Min))
	return func(dst []float64, _ float64, z []float64) {
		sys.grad(g, z, theta)
		d := len(z) / 2
		for i := range d {
			dst[i], dst[d+i] = g[d+i], -g[i]
		}
	}
}

// variational is the field with the variational equations Φ' = J D²H Φ,
// y = (z, Φ row-major).
func (sys bundleSystem) variational(theta []float64) func(dst []float64, _ float64, y []float64) {
	n := len(sys.z0Min)
	d := n / 2
	f, hs := sys.field(theta), make([]float64, n*n)
	return func(dst []float64, t float64, y []float64) {
		f(dst[:n], t, y[:n])
		sys.hess(hs, y[:n], theta)
		phi, dphi := y[n:], dst[n:]
		for i := range n {
			for c := range n {
				// (J D²H)_{i,:}: rows of D²H's p block for q, minus the q block for p.
				s := 0.0
				for k := range n {
					var jh float64
					if i < d {
						jh = hs[(d+i)*n+k]
					} else {
						jh = -hs[(i-d)*n+k]
					}
					s += jh * phi[k*n+c]
				}
				dphi[i*n+c] = s
			}
		}
	}
}

// evaluateBundle measures b against DOP853 (rtol = atol = 1e-12): the
// error over o.members random members and o.times times, over the grid of
// the first two coordinates (the rest at the box's centre), dz(T)/dz0
// against the variational equations, and the time of the state at T for
// o.benchMembers members against DOP853 at the loosest tolerance as
// accurate as the bundle.
func evaluateBundle(b *hnnsolve.Bundle, sys bundleSystem, o bundleOptions) (*bundleResults, error) {
	p := b.Problem()
	n := len(p.Z0Min)
	r := &bundleResults{stages: b.Stages, segments: len(b.Segments()) - 1, epochs: b.EpochsRun, dim: n, benchMembers: o.benchMembers}
	lo, hi := append(slices.Clone(p.Z0Min), p.ThetaMin...), append(slices.Clone(p.Z0Max), p.ThetaMax...)
	rng := rand.New(rand.NewPCG(uint64(o.seed), 12))
	r.members = make([][]float64, o.members)
	for i := range r.members {
		row := make([]float64, len(lo))
		for c := range row {
			row[c] = lo[c] + (hi[c]-lo[c])*rng.Float64()
		}
		r.members[i] = row
	}
	ts := make([]float64, o.times)
	for i := range ts {
		ts[i] = p.T0 + (p.T-p.T0)*float64(i)/float64(o.times-1)
	}
	memberError := func(row []float64) (float64, error) {
		ref, err := integrate.SolveODE(sys.field(row[n:]), row[:n], ts, nil)
		if err != nil {
			return 0, err
		}
		got, err := b.Trajectory(ts, row[:n], row[n:])
		if err != nil {
			return 0, err
		}
		e := 0.0
		for i := range ts {
			for c := range n {
				e = math.Max(e, math.Abs(got.At(i, c)-ref.Z.At(i, c)))
			}
		}
		return e, nil
	}
	for _, row := range r.members {
		e, err := memberError(row)
		if err != nil {
			return nil, err
		}
		r.memberErr = append(r.memberErr, e)
		r.maxErr = math.Max(r.maxErr, e)
		r.meanErr += e / float64(len(r.members))
	}
	// The heat map: the first two coordinates on a grid, the rest at the
	// centre of the box.
	centre := make([]float64, len(lo))
	for c := range centre {
		centre[c] = lo[c] + (hi[c]-lo[c])/2
	}
	for i := range o.grid {
		r.gridX = append(r.gridX, lo[0]+(hi[0]-lo[0])*float64(i)/float64(o.grid-1))
		r.gridY = append(r.gridY, lo[1]+(hi[1]-lo[1])*float64(i)/float64(o.grid-1))
	}
	for _, y := range r.gridY {
		var line []float64
		for _, x := range r.gridX {
			row := slices.Clone(centre)
			row[0], row[1] = x, y
			e, err := memberError(row)
			if err != nil {
				return nil, err
			}
			line = append(line, e)
		}
		r.gridErr = append(r.gridErr, line)
	}
	// dz(T)/dz0 against the variational equations.
	for _, row := range r.members {
		y0 := append(slices.Clone(row[:n]), make([]float64, n*n)...)
		for i := range n {
			y0[n+i*n+i] = 1
		}
		ref, err := integrate.SolveODE(sys.variational(row[n:]), y0, []float64{p.T0, p.T}, nil)
		if err != nil {
			return nil, err
		}
		jz, _, err := b.Jacobian(p.T, row[:n], row[n:])
		if err != nil {
			return nil, err
		}
		diff, norm := 0.0, 0.0
		for i := range n {
			for c := range n {
				want := ref.Z.At(1, n+i*n+c)
				diff += (jz.At(i, c) - want) * (jz.At(i, c) - want)
				norm += want * want
			}
		}
		r.jacErr = math.Max(r.jacErr, math.Sqrt(diff/norm))
	}
	return r, benchBundle(b, sys, r)
}

// benchBundle times the state at T of r.benchMembers members: the bundle
// in one batched call, and DOP853 member by member at the loosest of the
// tolerances 1e-3, 5e-4, 2.5e-4, ... (halving) whose largest error at T
// over the first 200 members is at most the bundle's there. One goroutine
// each.
func benchBundle(b *hnnsolve.Bundle, sys bundleSystem, r *bundleResults) error {
	p := b.Problem()
	n, m := len(p.Z0Min), len(p.ThetaMin)
	nb := r.benchMembers
	z0, th := mat.NewDense(nb, n, nil), mat.NewDense(nb, max(m, 1), nil)
	for i := range nb {
		row := r.members[i%len(r.members)]
		z0.SetRow(i, row[:n])
		if m > 0 {
			th.SetRow(i, row[n:])
		}
	}
	var thm mat.Matrix
	if m > 0 {
		thm = th
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	zT, err := b.AtMembers(p.T, z0, thm)
	if err != nil {
		return err
	}
	r.bundleNs = float64(time.Since(start).Nanoseconds()) / float64(nb)
	runtime.ReadMemStats(&after)
	r.bytesPerMember = float64(after.TotalAlloc-before.TotalAlloc) / float64(nb)
	// The bundle's error at T on the first members, against tight DOP853.
	check := min(200, len(r.members))
	refs := make([][]float64, check)
	bundleErrT := 0.0
	for i := range check {
		row := r.members[i]
		ref, err := integrate.SolveODE(sys.field(row[n:]), row[:n], []float64{p.T0, p.T}, nil)
		if err != nil {
			return err
		}
		refs[i] = ref.Z.RawRowView(1)
		for c := range n {
			bundleErrT = math.Max(bundleErrT, math.Abs(zT.At(i, c)-refs[i][c]))
		}
	}
	for rtol := 1e-3; rtol >= 1e-12; rtol /= 2 {
		s := &integrate.AdaptiveSettings{RTol: rtol, ATol: rtol}
		worst := 0.0
		for i := range check {
			row := r.members[i]
			got, err := integrate.SolveODE(sys.field(row[n:]), row[:n], []float64{p.T0, p.T}, s)
			if err != nil {
				return err
			}
			for c := range n {
				worst = math.Max(worst, math.Abs(got.Z.At(1, c)-refs[i][c]))
			}
		}
		if worst <= bundleErrT || rtol < 2e-12 {
			r.dopRTol, r.dopErr = rtol, worst
			break
		}
	}
	s := &integrate.AdaptiveSettings{RTol: r.dopRTol, ATol: r.dopRTol}
	start = time.Now()
	for i := range nb {
		row := r.members[i%len(r.members)]
		if _, err := integrate.SolveODE(sys.field(row[n:]), row[:n], []float64{p.T0, p.T}, s); err != nil {
			return err
		}
	}
	r.dopNs = float64(time.Since(start).Nanoseconds()) / float64(nb)
	return nil
}

// writeBundleOutputs writes heatmap.png, members.csv, heatmap.csv,
// summary.json, bundle.json and index.html into o.out.
func writeBundleOutputs(b *hnnsolve.Bundle, sys bundleSystem, o bundleOptions, r *bundleResults) error {
	dir := o.out
	p := b.Problem()
	n := len(p.Z0Min)
	names := append(slices.Clone(sys.coords), sys.params...)
	// members.csv: each member and its error.
	cols := make([][]float64, len(names)+1)
	for _, row := range r.members {
		for c, v := range row {
			cols[c] = append(cols[c], v)
		}
	}
	cols[len(names)] = r.memberErr
	header := append(slices.Clone(names), "max_abs_error")
	for c := range names {
		header[c] = names[c] + "0"
		if c >= n {
			header[c] = names[c]
		}
	}
	if err := writeCSV(filepath.Join(dir, "members.csv"), header, cols); err != nil {
		return err
	}
	var gx, gy, ge []float64
	for iy, y := range r.gridY {
		for ix, x := range r.gridX {
			gx, gy, ge = append(gx, x), append(gy, y), append(ge, r.gridErr[iy][ix])
		}
	}
	if err := writeCSV(filepath.Join(dir, "heatmap.csv"), []string{names[0] + "0", names[1] + "0", "max_abs_error"}, [][]float64{gx, gy, ge}); err != nil {
		return err
	}
	if err := plotHeatMap(filepath.Join(dir, "heatmap.png"), r, names[0]+"0", names[1]+"0"); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "bundle.json"), b.Save); err != nil {
		return err
	}
	set := b.Settings()
	summary := object{
		{"system", r.name},
		{"z0_min", p.Z0Min}, {"z0_max", p.Z0Max}, {"theta_min", nonNilFloats(p.ThetaMin)}, {"theta_max", nonNilFloats(p.ThetaMax)},
		{"t0", p.T0}, {"t1", p.T},
		{"settings", object{{"points", set.Points}, {"hidden", set.Hidden}, {"epochs", set.Epochs}, {"lr", set.LearnRate},
			{"lr_final", set.LearnRateFinal}, {"beta1", set.Beta1}, {"beta2", set.Beta2}, {"lambda", set.Energy},
			{"segments", set.Segments}, {"lm", set.LM}, {"refine_points", set.RefinePoints}, {"margin", set.BundleMargin}, {"seed", set.Seed}}},
		{"stages", stagesArray(r.stages)},
		{"train_seconds", r.train.Seconds()},
		{"members", len(r.members)}, {"times", o.times},
		{"max_abs_error", num(r.maxErr)}, {"mean_member_max_abs_error", num(r.meanErr)},
		{"jacobian_max_relative_error", num(r.jacErr)},
		{"bench_members", r.benchMembers},
		{"bundle_ns_per_member", r.bundleNs}, {"bundle_bytes_per_member", r.bytesPerMember},
		{"dop853_rtol", r.dopRTol}, {"dop853_max_abs_error_at_T", num(r.dopErr)}, {"dop853_ns_per_member", r.dopNs},
		{"speedup", r.dopNs / r.bundleNs},
	}
	if err := writeJSON(filepath.Join(dir, "summary.json"), summary); err != nil {
		return err
	}
	t := htmlTable{Caption: "summary (summary.json has every figure)"}
	for _, row := range bundleRows(r) {
		t.Rows = append(t.Rows, []string{row[0], row[1]})
	}
	pg := page{Title: "hnnsolve bundle " + r.name, Tables: []htmlTable{t},
		Intro: []string{"One network per segment for the whole box of initial states (and parameters), against DOP853 at rtol = atol = 1e-12."}}
	for _, f := range []string{"summary.json", "members.csv", "heatmap.csv", "bundle.json"} {
		pg.Links = append(pg.Links, link{Href: f, Text: f})
	}
	pg.Figures = []figure{{File: "heatmap.png", Caption: "heatmap.png: max |ẑ - z| over the times, over the first two coordinates (the rest at the box's centre)"}}
	return writePage(dir, pg)
}

func nonNilFloats(v []float64) []float64 {
	if v == nil {
		return []float64{}
	}
	return v
}

// errGrid is the heat map's grid of errors.
type errGrid struct{ r *bundleResults }

func (g errGrid) Dims() (c, r int)   { return len(g.r.gridX), len(g.r.gridY) }
func (g errGrid) X(c int) float64    { return g.r.gridX[c] }
func (g errGrid) Y(r int) float64    { return g.r.gridY[r] }
func (g errGrid) Z(c, r int) float64 { return math.Log10(math.Max(g.r.gridErr[r][c], 1e-16)) }

// plotHeatMap draws log10 of the error over the grid.
func plotHeatMap(path string, r *bundleResults, xname, yname string) error {
	pal := moreland.SmoothBlueRed().Palette(64)
	hm := plotter.NewHeatMap(errGrid{r}, pal)
	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("%s bundle: log10 max |error| over [t0, t1]", r.name)
	pl.X.Label.Text, pl.Y.Label.Text = xname, yname
	pl.Add(hm)
	leg := plot.NewLegend()
	thumbs := plotter.PaletteThumbnailers(pal)
	for i := len(thumbs) - 1; i >= 0; i -= 9 {
		v := hm.Min + (hm.Max-hm.Min)*float64(i)/float64(len(thumbs)-1)
		leg.Add(strconv.FormatFloat(v, 'f', 2, 64), thumbs[i])
	}
	leg.Top = true
	img := vgimg.NewWith(vgimg.UseWH(7*vg.Inch, 5.5*vg.Inch), vgimg.UseDPI(110))
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	l := leg.Rectangle(dc)
	leg.Draw(dc)
	pl.Draw(draw.Crop(dc, 0, -(l.Max.X-l.Min.X)-vg.Points(10), 0, 0))
	return writeFile(path, func(w io.Writer) error {
		_, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w)
		return err
	})
}

func printBundleTable(w io.Writer, r *bundleResults) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "bundle %s\n", r.name)
	for _, row := range bundleRows(r) {
		fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
	}
	tw.Flush()
}

func bundleRows(r *bundleResults) [][2]string {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
	return [][2]string{
		{"segments, Adam epochs (all)", fmt.Sprintf("%d, %d", r.segments, r.epochs)},
		{"training time", r.train.Round(time.Millisecond).String()},
		{fmt.Sprintf("max |error| (%d members)", len(r.members)), g(r.maxErr)},
		{"mean of the members' max |error|", g(r.meanErr)},
		{"dz(T)/dz0 max relative error", g(r.jacErr)},
		{fmt.Sprintf("state at T, %d members: bundle", r.benchMembers), fmt.Sprintf("%.0f ns/member, %.0f B/member", r.bundleNs, r.bytesPerMember)},
		{fmt.Sprintf("DOP853 at rtol = atol = %g (error at T %s)", r.dopRTol, g(r.dopErr)), fmt.Sprintf("%.0f ns/member", r.dopNs)},
		{"speed-up", fmt.Sprintf("%.1fx", r.dopNs/r.bundleNs)},
	}
}
