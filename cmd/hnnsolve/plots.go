package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Colours follow the paper's figures: ground truth green, network blue,
// symplectic Euler at K points black and at F·K points red.
var (
	colRef    = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	colNN     = color.RGBA{R: 0x1f, G: 0x5f, B: 0xd0, A: 0xff}
	colEulerK = color.RGBA{R: 0x20, G: 0x20, B: 0x20, A: 0xff}
	colEulerF = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	ablColors = []color.Color{
		colNN,
		color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		colRef,
		colEulerF,
	}
)

// maxPlotPoints bounds the points drawn per curve; the CSV files keep all.
const maxPlotPoints = 4000

// series is one curve of a plot.
type series struct {
	name   string
	x, y   []float64
	color  color.Color
	dashes []vg.Length
	width  vg.Length
}

func dashed() []vg.Length { return []vg.Length{vg.Points(5), vg.Points(3)} }
func dashDotted() []vg.Length {
	return []vg.Length{vg.Points(6), vg.Points(2), vg.Points(1.5), vg.Points(2)}
}

// xys keeps the finite points (and with logY the positive ones) of x, y,
// thinned to at most maxPlotPoints.
func xys(x, y []float64, logY bool) plotter.XYs {
	stride := max(1, (len(x)+maxPlotPoints-1)/maxPlotPoints)
	pts := make(plotter.XYs, 0, len(x)/stride+1)
	for i := 0; i < len(x); i += stride {
		if i+stride >= len(x) {
			i = len(x) - 1 // always keep the last point
		}
		v := y[i]
		if math.IsNaN(v) || math.IsInf(v, 0) || math.IsNaN(x[i]) || math.IsInf(x[i], 0) || (logY && v <= 0) {
			continue
		}
		pts = append(pts, plotter.XY{X: x[i], Y: v})
	}
	return pts
}

// legendSet collects the legend entries of a figure, once per name; the
// legend is drawn above the panels so that it never hides a curve.
type legendSet struct {
	names  []string
	thumbs []plot.Thumbnailer
}

func (l *legendSet) add(name string, t plot.Thumbnailer) {
	if l == nil || name == "" || slices.Contains(l.names, name) {
		return
	}
	l.names, l.thumbs = append(l.names, name), append(l.thumbs, t)
}

// logTicks are the ticks of a log axis: every decade labelled (every
// second, third... when there are many), and 2 and 5 as well when the axis
// spans less than two decades.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	e0, e1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	decades := e1 - e0
	step := math.Max(1, math.Ceil(decades/8))
	var ts []plot.Tick
	for e := e0; e <= e1; e++ {
		for i := 1; i < 10; i++ {
			v := float64(i) * math.Pow(10, e)
			t := plot.Tick{Value: v}
			if (i == 1 && math.Mod(e-e0, step) == 0) || (decades <= 2 && (i == 2 || i == 5)) {
				t.Label = tickLabel(float64(i), e)
			}
			ts = append(ts, t)
			if e == e1 {
				break
			}
		}
	}
	return ts
}

// tickLabel formats m·10^e briefly: 0.01, 2, 500, 1e-05.
func tickLabel(m, e float64) string {
	if e >= -3 && e <= 3 {
		return strconv.FormatFloat(m*math.Pow(10, e), 'f', int(math.Max(0, -e)), 64)
	}
	return fmt.Sprintf("%ge%+03d", m, int(e))
}

// newPlot makes a plot with the curves in ss; their legend entries go to
// leg. With logY the y axis is logarithmic (and non-positive values are
// left out).
func newPlot(title, xlabel, ylabel string, logY bool, leg *legendSet, ss ...series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	drawn := 0
	for _, s := range ss {
		pts := xys(s.x, s.y, logY)
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, fmt.Errorf("plot %q, curve %q: %w", title, s.name, err)
		}
		l.Color = s.color
		l.Dashes = s.dashes
		l.Width = vg.Points(1.3)
		if s.width > 0 {
			l.Width = s.width
		}
		p.Add(l)
		leg.add(s.name, l)
		drawn++
	}
	if logY && drawn > 0 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	return p, nil
}

// vLines draws thin vertical lines across the whole plot at the values xs
// of the x axis (segment boundaries). It has no data range of its own.
type vLines struct {
	xs    []float64
	style draw.LineStyle
}

func newVLines(xs []float64) *vLines {
	return &vLines{xs: xs, style: draw.LineStyle{
		Color: color.RGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff}, Width: vg.Points(0.6),
		Dashes: []vg.Length{vg.Points(2), vg.Points(2)},
	}}
}

func (v *vLines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, x := range v.xs {
		if x < p.X.Min || x > p.X.Max {
			continue
		}
		px := trX(x)
		c.StrokeLine2(v.style, px, c.Min.Y, px, c.Max.Y)
	}
}

// segmentLines marks the inner boundaries of the chained segments on p;
// nothing without chaining.
func segmentLines(p *plot.Plot, b []float64) *plot.Plot {
	if len(b) > 2 {
		p.Add(newVLines(b[1 : len(b)-1]))
	}
	return p
}

// timeAxis sets the x range of a plot against time to [t0, t1].
func timeAxis(p *plot.Plot, t0, t1 float64) *plot.Plot {
	p.X.Min, p.X.Max = t0, t1
	return p
}

// savePNG draws the plots in a grid (rows × columns, nil cells left empty)
// under the legend leg (none when it has less than two entries) into a PNG
// file of w × h.
func savePNG(path string, w, h vg.Length, grid [][]*plot.Plot, leg *legendSet) error {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	if leg != nil && len(leg.names) > 1 {
		top := drawLegend(dc, leg)
		dc = draw.Crop(dc, 0, 0, 0, -top)
	}
	cols := 0
	for _, row := range grid {
		cols = max(cols, len(row))
	}
	tiles := draw.Tiles{
		Rows: len(grid), Cols: cols,
		PadX: vg.Points(14), PadY: vg.Points(14),
		PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12),
	}
	canvases := plot.Align(grid, tiles, dc)
	for i, row := range grid {
		for j, p := range row {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	return writeFile(path, func(w io.Writer) error {
		_, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w)
		return err
	})
}

// drawLegend draws the entries of leg in two centred columns at the top of
// c and returns the height it took.
func drawLegend(c draw.Canvas, leg *legendSet) vg.Length {
	half := (len(leg.names) + 1) / 2
	if len(leg.names) <= 2 {
		half = len(leg.names)
	}
	var cols []plot.Legend
	for start := 0; start < len(leg.names); start += half {
		l := plot.NewLegend()
		l.Top, l.Left = true, true
		l.TextStyle.Font.Size = vg.Points(10)
		l.Padding = vg.Points(3)
		l.ThumbnailWidth = vg.Points(28)
		for i := start; i < min(start+half, len(leg.names)); i++ {
			l.Add(leg.names[i], leg.thumbs[i])
		}
		cols = append(cols, l)
	}
	gap := vg.Points(30)
	var widths []vg.Length
	total, height := -gap, vg.Length(0)
	for i := range cols {
		r := cols[i].Rectangle(c)
		widths = append(widths, r.Max.X-r.Min.X)
		total += r.Max.X - r.Min.X + gap
		height = max(height, r.Max.Y-r.Min.Y)
	}
	pad := vg.Points(8)
	x := c.Min.X + (c.Max.X-c.Min.X-total)/2
	for i := range cols {
		sub := c
		sub.Min.X, sub.Max.X = x, x+widths[i]
		sub.Max.Y = c.Max.Y - pad
		cols[i].Draw(sub)
		x += widths[i] + gap
	}
	return height + 2*pad
}

func abs(v []float64) []float64 {
	a := make([]float64, len(v))
	for i, x := range v {
		a[i] = math.Abs(x)
	}
	return a
}

func writePlots(r *results) error {
	c := r.cfg
	path := func(name string) string { return filepath.Join(c.out, name) }
	n := len(r.ts)
	e0 := r.sol.E0()
	title := c.name
	if c.figures != "" {
		title += " (" + c.figures + ")"
	}
	const (
		nnName  = "Hamiltonian NN"
		refName = "ground truth (DOP853, rtol 1e-12)"
	)
	eulerName := func(eu *eulerRun) string {
		return fmt.Sprintf("symplectic Euler, %s = %d points", eu.label, eu.points)
	}
	eulers := []struct {
		eu     *eulerRun
		color  color.Color
		dashes []vg.Length
	}{{r.eulerK, colEulerK, nil}, {r.eulerF, colEulerF, dashDotted()}}
	refSeries := func(x, y []float64) series {
		return series{name: refName, x: x, y: y, color: colRef, width: vg.Points(3)}
	}
	nnSeries := func(x, y []float64) series {
		return series{name: nnName, x: x, y: y, color: colNN, dashes: dashed(), width: vg.Points(1.6)}
	}
	eulerSeries := func(i int, x, y []float64) series {
		e := eulers[i]
		return series{name: eulerName(e.eu), x: x, y: y, color: e.color, dashes: e.dashes, width: vg.Points(1)}
	}

	// Loss.
	epochs := make([]float64, len(r.loss))
	for i := range epochs {
		epochs[i] = float64(i + 1)
	}
	lp, err := newPlot(title+": training loss (Eq. 7)", "epoch", "loss (log scale)", true, nil,
		series{name: nnName, x: epochs, y: r.loss, color: colNN, width: vg.Points(1)})
	if err != nil {
		return err
	}
	var starts []float64 // first epoch of each segment after the first
	done := 0
	for _, st := range r.sol.Stages {
		if st.Name == "adam" {
			if done > 0 {
				starts = append(starts, float64(done)+0.5)
			}
			done += st.Iterations
		}
	}
	if len(starts) > 0 {
		lp.Add(newVLines(starts))
	}
	if err := savePNG(path("loss.png"), 7*vg.Inch, 4.5*vg.Inch, [][]*plot.Plot{{lp}}, nil); err != nil {
		return err
	}

	// Trajectories and errors, one panel per coordinate.
	var traj, errp [][]*plot.Plot
	trajLeg, errLeg := &legendSet{}, &legendSet{}
	for j, name := range r.coords {
		ss := []series{refSeries(r.ts, column(r.ref, n, j)), nnSeries(r.ts, column(r.nn, n, j))}
		dnn := make([]float64, n)
		for i := range dnn {
			dnn[i] = math.Abs(r.nn.At(i, j) - r.ref.At(i, j))
		}
		es := []series{{name: nnName, x: r.ts, y: dnn, color: colNN, width: vg.Points(1.3)}}
		for i, e := range eulers {
			if !e.eu.ok() {
				continue
			}
			ss = append(ss, eulerSeries(i, e.eu.ts, column(e.eu.z, e.eu.points, j)))
			es = append(es, eulerSeries(i, e.eu.ts, abs(column(e.eu.err, e.eu.points, j))))
		}
		p, err := newPlot(fmt.Sprintf("%s: %s(t)", title, name), "t", name, false, trajLeg, ss...)
		if err != nil {
			return err
		}
		traj = append(traj, []*plot.Plot{timeAxis(p, c.t0, c.t1)})
		p, err = newPlot(fmt.Sprintf("%s: error |δ%s(t)| against the ground truth", title, name), "t", "|δ"+name+"| (log scale)", true, errLeg, es...)
		if err != nil {
			return err
		}
		errp = append(errp, []*plot.Plot{segmentLines(timeAxis(p, c.t0, c.t1), r.sol.Segments())})
	}
	h := vg.Length(len(r.coords))*2.6*vg.Inch + 0.6*vg.Inch
	if err := savePNG(path("trajectory.png"), 8*vg.Inch, h, traj, trajLeg); err != nil {
		return err
	}
	if err := savePNG(path("error.png"), 8*vg.Inch, h, errp, errLeg); err != nil {
		return err
	}

	// Energy and energy error.
	es := []series{refSeries(r.ts, r.eRef), nnSeries(r.ts, r.eNN)}
	dNN := make([]float64, n)
	for i, e := range r.eNN {
		dNN[i] = math.Abs(e - e0)
	}
	ds := []series{{name: nnName, x: r.ts, y: dNN, color: colNN, width: vg.Points(1.3)}}
	for i, e := range eulers {
		if !e.eu.ok() {
			continue
		}
		d := make([]float64, e.eu.points)
		for k, v := range e.eu.energy {
			d[k] = math.Abs(v - e0)
		}
		es = append(es, eulerSeries(i, e.eu.ts, e.eu.energy))
		ds = append(ds, eulerSeries(i, e.eu.ts, d))
	}
	leg := &legendSet{}
	ep, err := newPlot(fmt.Sprintf("%s: energy H(t), E0 = %.4g", title, e0), "t", "H", false, leg, es...)
	if err != nil {
		return err
	}
	dp, err := newPlot(title+": energy error |H(t) - E0|", "t", "|H - E0| (log scale)", true, leg, ds...)
	if err != nil {
		return err
	}
	if err := savePNG(path("energy.png"), 8*vg.Inch, 7*vg.Inch,
		[][]*plot.Plot{{timeAxis(ep, c.t0, c.t1)}, {timeAxis(dp, c.t0, c.t1)}}, leg); err != nil {
		return err
	}

	// Residual |ℓ(t)| of Eq. 14 (and with the energy term when λ > 0).
	rs := []series{{name: "|ℓ(t)| (Eq. 14)", x: r.ts, y: r.residual, color: colNN, width: vg.Points(1.3)}}
	if r.sol.Settings().Energy > 0 {
		rs = append(rs, series{name: "√(|ℓ|² + λ (H - E0)²) (Eq. 13, 15)", x: r.ts, y: r.residualReg, color: colEulerF, dashes: dashed(), width: vg.Points(1.3)})
	}
	leg = &legendSet{}
	rp, err := newPlot(title+": residual ℓ(t) = dẑ/dt - J∇H(ẑ)", "t", "|ℓ| (log scale)", true, leg, rs...)
	if err != nil {
		return err
	}
	if err := savePNG(path("residual.png"), 7*vg.Inch, 4.5*vg.Inch, [][]*plot.Plot{{segmentLines(timeAxis(rp, c.t0, c.t1), r.sol.Segments())}}, leg); err != nil {
		return err
	}
	if err := plotBounds(r, title, path("bounds.png")); err != nil {
		return err
	}

	// Phase space (one degree of freedom) or the orbit in the q1-q2 plane.
	d := len(r.coords) / 2
	xi, yi := 0, 1 // (q, p) for d = 1, (q1, q2) otherwise
	xn, yn := r.coords[xi], r.coords[yi]
	ps := []series{refSeries(column(r.ref, n, xi), column(r.ref, n, yi)), nnSeries(column(r.nn, n, xi), column(r.nn, n, yi))}
	var errPhase []series
	if d == 1 {
		dx, dy := make([]float64, n), make([]float64, n)
		for i := range n {
			dx[i], dy[i] = r.nn.At(i, 0)-r.ref.At(i, 0), r.nn.At(i, 1)-r.ref.At(i, 1)
		}
		errPhase = append(errPhase, series{name: nnName, x: dx, y: dy, color: colNN, width: vg.Points(1.3)})
	}
	for i, e := range eulers {
		if !e.eu.ok() {
			continue
		}
		ps = append(ps, eulerSeries(i, column(e.eu.z, e.eu.points, xi), column(e.eu.z, e.eu.points, yi)))
		if d == 1 {
			errPhase = append(errPhase, eulerSeries(i, column(e.eu.err, e.eu.points, 0), column(e.eu.err, e.eu.points, 1)))
		}
	}
	leg = &legendSet{}
	if d == 1 {
		pp, err := newPlot(title+": phase space", xn, yn, false, leg, ps...)
		if err != nil {
			return err
		}
		ep, err := newPlot(title+": phase space of the error", "δ"+xn, "δ"+yn, false, leg, errPhase...)
		if err != nil {
			return err
		}
		return savePNG(path("phase.png"), 13*vg.Inch, 6.5*vg.Inch, [][]*plot.Plot{{pp, ep}}, leg)
	}
	op, err := newPlot(fmt.Sprintf("%s: orbit in the %s-%s plane", title, xn, yn), xn, yn, false, leg, ps...)
	if err != nil {
		return err
	}
	return savePNG(path("orbit.png"), 7.5*vg.Inch, 7.5*vg.Inch, [][]*plot.Plot{{op}}, leg)
}

// plotBounds draws the true error against the a-posteriori figures of the
// error analysis; nothing when the analysis failed.
func plotBounds(r *results, title, path string) error {
	rep := r.bounds.Report
	if rep == nil {
		return nil
	}
	ss := []series{
		{name: "true error |δz(t)|", x: rep.Grid, y: rep.TrueErrorNorm, color: colRef, width: vg.Points(3)},
		{name: "Eq. 18 estimate |δz(t)|", x: rep.Grid, y: rep.EstimateEq18Norm, color: colNN, dashes: dashed(), width: vg.Points(1.6)},
	}
	gron := "first-order Gronwall bound"
	if rep.GronwallVacuous {
		gron += " (vacuous)"
	}
	ss = append(ss, series{name: gron, x: rep.Grid, y: rep.Gronwall, color: colEulerF, dashes: dashDotted(), width: vg.Points(1.2)})
	if rep.Certified && !math.IsInf(rep.BoundCertified, 0) {
		ss = append(ss, series{name: "certified bound", x: rep.Grid, y: rep.BoundCertifiedCurve, color: colNN, dashes: dashDotted(), width: vg.Points(1)})
	}
	if !rep.BoundEq22Vacuous && !math.IsInf(rep.BoundEq22, 0) {
		ss = append(ss, series{name: "Eq. 22 estimate ℓ_max/σ_min (per component, not a bound)", x: []float64{rep.Grid[0], rep.Grid[len(rep.Grid)-1]},
			y: []float64{rep.BoundEq22, rep.BoundEq22}, color: colEulerK, width: vg.Points(1)})
	}
	leg := &legendSet{}
	p, err := newPlot(title+": error and its a-posteriori estimates", "t", "|δz| (log scale)", true, leg, ss...)
	if err != nil {
		return err
	}
	return savePNG(path, 8*vg.Inch, 5*vg.Inch, [][]*plot.Plot{{segmentLines(timeAxis(p, r.cfg.t0, r.cfg.t1), r.sol.Segments())}}, leg)
}

func plotAblation(c *config, runs []ablationRun, path string) error {
	var ss []series
	for i, r := range runs {
		x := make([]float64, len(r.loss))
		for k := range x {
			x[k] = float64(k + 1)
		}
		ss = append(ss, series{name: r.label(), x: x, y: r.loss, color: ablColors[i%len(ablColors)], width: vg.Points(1)})
	}
	leg := &legendSet{}
	p, err := newPlot(fmt.Sprintf("%s (%s): training loss", c.name, c.figures), "epoch", "loss (log scale)", true, leg, ss...)
	if err != nil {
		return err
	}
	return savePNG(path, 7*vg.Inch, 5*vg.Inch, [][]*plot.Plot{{p}}, leg)
}
