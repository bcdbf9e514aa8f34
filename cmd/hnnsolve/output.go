package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"hnnsolve"
)

// prepareDir creates dir and checks that files can be written into it.
// Failing that is a failure of the run (exit status 1), not of its usage.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create output directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".hnnsolve-write-test-*")
	if err != nil {
		return fmt.Errorf("cannot write to output directory %s: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("cannot write to output directory %s: %w", dir, err)
	}
	return nil
}

// writeFile writes path atomically: the content is produced in memory,
// written to a temporary file in the same directory, synced and renamed
// over path, so path is never a partial file (a full disk leaves the old
// file or none, and no temporary file).
func writeFile(path string, write func(w io.Writer) error) (err error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	if _, err = f.Write(buf.Bytes()); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// writeCSV writes a header and columns of equal length.
func writeCSV(path string, header []string, cols [][]float64) error {
	return writeFile(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		row := make([]string, len(cols))
		for i := range cols[0] {
			for j, c := range cols {
				row[j] = ftoa(c[i])
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// object is a JSON object that keeps the order of its fields.
type object []field

type field struct {
	key   string
	value any
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// num returns v for JSON, nil (null) when it is not finite.
func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func writeJSON(path string, v any) error {
	return writeFile(path, func(w io.Writer) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		_, err = w.Write(b)
		return err
	})
}

// without returns o less the fields with the given keys.
func without(o object, keys ...string) object {
	return slices.DeleteFunc(slices.Clone(o), func(f field) bool { return slices.Contains(keys, f.key) })
}

// settingsObject describes the settings used.
func settingsObject(c *config, s hnnsolve.Settings) object {
	return object{
		{"system", c.sys.Name()},
		{"z0", c.z0},
		{"t0", c.t0},
		{"t1", c.t1},
		{"points", s.Points},
		{"hidden", s.Hidden},
		{"activation", s.Activation.String()},
		{"param", s.Param.String()},
		{"epochs", s.Epochs},
		{"optimizer", "adam"},
		{"learn_rate", s.LearnRate},
		{"learn_rate_final", s.LearnRateFinal},
		{"beta1", s.Beta1},
		{"beta2", s.Beta2},
		{"lambda", s.Energy},
		{"perturb", s.Perturb},
		{"seed", s.Seed},
		{"lbfgs", s.LBFGS},
		{"lm", s.LM},
		{"refine_points", s.RefinePoints},
		{"segments", s.Segments},
		{"retries", s.Retries},
		{"retry_loss", s.RetryLoss},
		{"target_loss", s.TargetLoss},
		{"target_error", s.TargetError},
		{"target_check", s.TargetCheck.String()},
		{"check_every", s.CheckEvery},
		{"euler_factor", c.eulerFactor},
		{"dense_points", c.dense},
	}
}

// stagesArray describes the optimisation stages of every segment.
func stagesArray(st []hnnsolve.Stage) []object {
	a := make([]object, 0, len(st))
	for _, s := range st {
		a = append(a, object{
			{"segment", s.Segment},
			{"try", s.Try},
			{"name", s.Name},
			{"iterations", s.Iterations},
			{"evals", s.Evals},
			{"loss_before", num(s.LossBefore)},
			{"loss_after", num(s.LossAfter)},
			{"status", s.Status},
		})
	}
	return a
}

// targetObject describes the checks of -target-error; nil without one.
func targetObject(t *hnnsolve.TargetResult) any {
	if t == nil {
		return nil
	}
	var errMsg any
	if t.Err != "" {
		errMsg = oneLine(t.Err)
	}
	return object{
		{"check", t.Check.String()},
		{"target", t.Target},
		{"met", t.Met},
		{"epoch", t.Epoch},
		{"checks", t.Checks},
		{"check_seconds", t.CheckTime.Seconds()},
		{"figure", num(t.Figure)},
		{"eq18", num(t.Eq18)},
		{"gronwall", num(t.Gronwall)},
		{"eq22", num(t.Eq22)},
		{"error", errMsg},
	}
}

// recipeObject is Solution.Recipe for summary.json (nil without it).
func recipeObject(rc *hnnsolve.Recipe) any {
	if rc == nil {
		return nil
	}
	segs := make([]any, len(rc.Segments))
	for i, s := range rc.Segments {
		segs[i] = object{
			{"t0", s.T0}, {"t1", s.T1}, {"points", s.Points}, {"epochs", s.Epochs}, {"lm_steps", s.LMSteps},
			{"tries", s.Tries}, {"share", num(s.Share)}, {"estimate_eq18", num(s.Estimate)},
			{"chain_estimate_eq18", num(s.Chain)}, {"safety", s.Safety}, {"decision", s.Decision},
		}
	}
	return object{
		{"target", rc.Target}, {"omega", rc.Omega}, {"length0", rc.Length0},
		{"estimate_eq18", num(rc.Estimate)}, {"met", rc.Met}, {"gave_up", rc.GaveUp},
		{"trainings", rc.Trainings}, {"segments", segs},
	}
}

// bestLossIndex is the index in Solution.Loss of the epoch whose weights
// the last segment kept (Solution.BestEpoch counts from the first epoch of
// the try that segment kept: the one whose last stage ended lowest, the
// first of equals, as Settings.Retries keeps it).
func bestLossIndex(sol *hnnsolve.Solution) int {
	last := 0
	for _, st := range sol.Stages {
		last = max(last, st.Segment)
	}
	kept, keptLoss := -1, math.Inf(1)
	for i, st := range sol.Stages {
		end := i == len(sol.Stages)-1 || sol.Stages[i+1].Segment != st.Segment || sol.Stages[i+1].Try != st.Try
		if st.Segment == last && end && (kept < 0 || st.LossAfter < keptLoss) {
			kept, keptLoss = st.Try, st.LossAfter
		}
	}
	off := 0
	for _, st := range sol.Stages {
		if st.Name == "adam" && (st.Segment < last || st.Try < kept) {
			off += st.Iterations
		}
	}
	return off + sol.BestEpoch
}

// eulerKey is the summary key of the symplectic Euler error at label points.
func eulerKey(label string) string { return "euler_" + label + "_max_abs_error" }

func summaryObject(r *results) object {
	c, sol := r.cfg, r.sol
	perCoord := object{}
	for j, n := range r.coords {
		perCoord = append(perCoord, field{n, r.maxErrCoord[j]})
	}
	best := min(bestLossIndex(sol), len(r.loss)-1)
	o := object{
		{"experiment", c.name},
		{"figures", c.figures},
		{"preset", c.preset},
		{"formulation", sol.Formulation()},
		{"system", c.sys.Name()},
		{"epochs_run", sol.EpochsRun},
		{"best_epoch", sol.BestEpoch},
		{"early_stop", sol.EarlyStop},
		{"train_seconds", sol.TrainTime.Seconds()},
		{"final_loss", num(r.loss[len(r.loss)-1])},
		{"best_loss", num(r.loss[best])},
		{"stages", stagesArray(sol.Stages)},
		{"segments", sol.Segments()},
		{"target", targetObject(sol.Target)},
		{"recipe", recipeObject(sol.Recipe)},
		{"e0", sol.E0()},
		{"dense_points", c.dense},
		{"max_abs_error", num(r.maxErr)},
		{"max_abs_error_per_coordinate", perCoord},
		{"max_energy_error", num(r.maxEnergy)},
		{"max_residual_ode", num(slices.Max(r.residual))},
		{"ell_max", r.bounds.EllMax},
		{"sigma_min", r.bounds.SigmaMin},
		{"estimate_eq22", r.bounds.EstimateEq22},
		{"eq22_holds", r.bounds.Eq22Holds},
		{"estimate_eq18", r.bounds.EstimateEq18},
		{"bound_gronwall", r.bounds.BoundGronwall},
		{"bound_certified", r.bounds.BoundCertified},
		{"estimate_sampled_tube", r.bounds.EstimateSampled},
		{"true_error_max_norm", r.bounds.TrueErrorMax},
	}
	if rep := r.bounds.Report; rep != nil {
		o = append(o,
			field{"estimate_eq22_vacuous", rep.BoundEq22Vacuous},
			field{"bound_gronwall_vacuous", rep.GronwallVacuous},
			field{"bound_certified_status", certifiedStatus(rep)},
			field{"bound_certified_holds", rep.CertifiedHolds},
			field{"bound_certified_assumptions", rep.CertifiedAssumptions},
			field{"analysis_error", nil})
	} else {
		o = append(o,
			field{"estimate_eq22_vacuous", nil},
			field{"bound_gronwall_vacuous", nil},
			field{"bound_certified_status", nil},
			field{"bound_certified_holds", nil},
			field{"bound_certified_assumptions", nil},
			field{"analysis_error", oneLine(r.bounds.Err.Error())})
	}
	for _, eu := range []*eulerRun{r.eulerK, r.eulerF} {
		if eu == nil {
			continue
		}
		o = append(o,
			field{eulerKey(eu.label), num(eu.maxErr)},
			field{"euler_" + eu.label + "_max_energy_error", num(eu.maxEnergy)},
			field{"euler_" + eu.label + "_points", eu.points},
			field{"euler_" + eu.label + "_diverged", eu.diverged})
	}
	if r.eulerK == nil {
		// Symplectic Euler needs a separable Hamiltonian.
		o = append(o, field{eulerKey("K"), nil}, field{eulerKey(fmt.Sprintf("%dK", c.eulerFactor)), nil})
	}
	return append(o, field{"settings", settingsObject(c, sol.Settings())})
}

// column returns column j of the rows of m.
func column(m interface{ At(i, j int) float64 }, n, j int) []float64 {
	c := make([]float64, n)
	for i := range c {
		c[i] = m.At(i, j)
	}
	return c
}

func writeOutputs(r *results) error {
	c := r.cfg
	path := func(name string) string { return filepath.Join(c.out, name) }
	n, d := len(r.ts), len(r.coords)

	epochs := make([]float64, len(r.loss))
	for i := range epochs {
		epochs[i] = float64(i + 1)
	}
	if err := writeCSV(path("loss.csv"), []string{"epoch", "loss"}, [][]float64{epochs, r.loss}); err != nil {
		return err
	}

	head, cols := []string{"t"}, [][]float64{r.ts}
	for j, name := range r.coords {
		head, cols = append(head, name+"_nn"), append(cols, column(r.nn, n, j))
	}
	for j, name := range r.coords {
		head, cols = append(head, name+"_ref"), append(cols, column(r.ref, n, j))
	}
	if err := writeCSV(path("trajectory.csv"), head, cols); err != nil {
		return err
	}

	errs := make([][]float64, d)
	head, cols = []string{"t"}, [][]float64{r.ts}
	for j, name := range r.coords {
		errs[j] = make([]float64, n)
		for i := range n {
			errs[j][i] = r.nn.At(i, j) - r.ref.At(i, j)
		}
		head, cols = append(head, "d"+name), append(cols, errs[j])
	}
	if err := writeCSV(path("error.csv"), head, cols); err != nil {
		return err
	}

	e0 := r.sol.E0()
	dE := make([]float64, n)
	for i, e := range r.eNN {
		dE[i] = e - e0
	}
	if err := writeCSV(path("energy.csv"), []string{"t", "energy_nn", "energy_ref", "energy_error_nn"},
		[][]float64{r.ts, r.eNN, r.eRef, dE}); err != nil {
		return err
	}
	if err := writeCSV(path("residual.csv"), []string{"t", "residual_ode", "residual"},
		[][]float64{r.ts, r.residual, r.residualReg}); err != nil {
		return err
	}
	if rep := r.bounds.Report; rep != nil {
		if err := writeCSV(path("bounds.csv"),
			[]string{"t", "residual", "sigma_min", "estimate_eq18_norm", "gronwall", "bound_certified", "true_error_norm"},
			[][]float64{rep.Grid, rep.Residual, rep.SigmaMin, rep.EstimateEq18Norm, rep.Gronwall, certifiedColumn(rep), rep.TrueErrorNorm}); err != nil {
			return err
		}
		if err := writeFile(path("error_analysis.txt"), func(w io.Writer) error {
			_, err := io.WriteString(w, rep.String()+"\n")
			return err
		}); err != nil {
			return err
		}
	}
	for _, eu := range []*eulerRun{r.eulerK, r.eulerF} {
		if !eu.ok() {
			continue
		}
		head, cols := []string{"t"}, [][]float64{eu.ts}
		for j, name := range r.coords {
			head, cols = append(head, name), append(cols, column(eu.z, eu.points, j))
		}
		for j, name := range r.coords {
			head, cols = append(head, "d"+name), append(cols, column(eu.err, eu.points, j))
		}
		dE := make([]float64, eu.points)
		for i, e := range eu.energy {
			dE[i] = e - e0
		}
		head, cols = append(head, "energy", "energy_error"), append(cols, eu.energy, dE)
		if err := writeCSV(path("euler_"+eu.label+".csv"), head, cols); err != nil {
			return err
		}
	}

	if err := writeFile(path("model.json"), r.sol.Save); err != nil {
		return err
	}
	if err := writePlots(r); err != nil {
		return err
	}
	if err := writeJSON(path("summary.json"), summaryObject(r)); err != nil {
		return err
	}
	return writeRunIndex(r)
}

func fmtNum(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.3e", *v)
}

// printTable prints the summary table of a run (tableRows).
func printTable(w io.Writer, r *results) {
	title, rows := tableRows(r)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\n", title)
	for _, row := range rows {
		fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
	}
	tw.Flush()
}

// tableRows is the summary table of a run, printed by printTable and shown
// on its index.html: a title and (quantity, value) rows.
func tableRows(r *results) (title string, rows [][2]string) {
	c, sol := r.cfg, r.sol
	s := sol.Settings()
	add := func(key, format string, args ...any) {
		rows = append(rows, [2]string{key, fmt.Sprintf(format, args...)})
	}
	title = c.name
	if c.figures != "" {
		title += " (" + c.figures + ")"
	}
	lr := fmt.Sprintf("lr %g", s.LearnRate)
	if s.LearnRateFinal > 0 {
		lr += fmt.Sprintf("→%g", s.LearnRateFinal)
	}
	switch f := sol.Formulation(); f {
	case formHamiltonian:
	case formLagrangian:
		add("formulation", "%s (Eq. 11-12: q = q0 + f1 v0 + f2 N, loss |q'' + ∇V|²)", f)
	default:
		add("formulation", "%s (Eq. 11: q = q0 + f1 v0 + f2 N, loss |d/dt ∂L/∂q' - ∂L/∂q|²)", f)
	}
	add("settings", "K=%d, hidden %v, %s, f %s, λ=%g, %s, β (%g, %g), seed %d",
		s.Points, s.Hidden, s.Activation, s.Param, s.Energy, lr, s.Beta1, s.Beta2, s.Seed)
	if s.LBFGS > 0 || s.LM > 0 {
		add("refinement", "L-BFGS %d, Levenberg-Marquardt %d, on %d times", s.LBFGS, s.LM, s.RefinePoints)
	}
	segs := sol.Segments()
	if n := len(segs) - 1; n > 1 {
		add("segments", "%d of length %.4g", n, (segs[n]-segs[0])/float64(n))
	} else {
		add("segments", "1")
	}
	if s.Retries > 0 {
		tries := 0
		for _, st := range sol.Stages {
			if st.Name == "adam" {
				tries++
			}
		}
		rule := "each, the lowest final loss kept"
		if s.RetryLoss > 0 {
			rule = fmt.Sprintf("while the loss is above %g", s.RetryLoss)
		}
		add("retries", "%d (up to %d per segment %s)", tries-(len(segs)-1), s.Retries, rule)
	}
	add("epochs run", "%d (best %d)", sol.EpochsRun, sol.BestEpoch)
	add("train seconds", "%.1f", sol.TrainTime.Seconds())
	for _, st := range sol.Stages {
		name := "stage " + st.Name
		switch {
		case len(segs) > 2 && s.Retries > 0:
			name += fmt.Sprintf(" (segment %d, try %d)", st.Segment, st.Try)
		case len(segs) > 2:
			name += fmt.Sprintf(" (segment %d)", st.Segment)
		case s.Retries > 0:
			name += fmt.Sprintf(" (try %d)", st.Try)
		}
		add(name, "%d iterations, loss %.3e → %.3e (%s)", st.Iterations, st.LossBefore, st.LossAfter, st.Status)
	}
	if rc := sol.Recipe; rc != nil {
		met := "not met"
		if rc.Met {
			met = "met"
		}
		add(fmt.Sprintf("recipe, target %g", rc.Target), "%s: Eq. 18 estimate %.3e; %d segments, %d networks trained", met, rc.Estimate, len(rc.Segments), rc.Trainings)
	} else if t := sol.Target; t != nil {
		met := "not met"
		if t.Met {
			met = fmt.Sprintf("met at epoch %d", t.Epoch)
		}
		add(fmt.Sprintf("target %s < %g", t.Check, t.Target), "%s, last %.3e after %d checks", met, t.Figure, t.Checks)
	}
	add("final loss", "%.3e", r.loss[len(r.loss)-1])
	maxErr := fmt.Sprintf("%.3e", r.maxErr)
	for j, n := range r.coords {
		maxErr += fmt.Sprintf("  %s %.2e", n, r.maxErrCoord[j])
	}
	add("max abs error", "%s", maxErr)
	add("max energy error", "%.3e", r.maxEnergy)
	add("ell_max", "%s", fmtNum(r.bounds.EllMax))
	add("sigma_min", "%s", fmtNum(r.bounds.SigmaMin))
	eq22 := fmtNum(r.bounds.EstimateEq22)
	if h := r.bounds.Eq22Holds; h != nil {
		eq22 += map[bool]string{true: " (holds here)", false: " (FAILS: below the true error)"}[*h]
	}
	add("estimate Eq. 22 (not a bound)", "%s", eq22)
	add("estimate Eq. 18", "%s", fmtNum(r.bounds.EstimateEq18))
	add("first-order bound Gronwall", "%s", fmtNum(r.bounds.BoundGronwall))
	if rep := r.bounds.Report; rep != nil {
		switch {
		case rep.Certified:
			add("certified bound", "%.3e (%s)", rep.BoundCertified, certifiedStatus(rep))
		case rep.CertifiedAssumptions != "":
			add("sampled-tube estimate", "%s (%s)", fmtNum(num(rep.BoundSampled)), certifiedStatus(rep))
		}
	}
	for _, eu := range []*eulerRun{r.eulerK, r.eulerF} {
		switch {
		case eu.ok():
			add(fmt.Sprintf("Euler %s (%d points)", eu.label, eu.points), "max abs error %.3e, max energy error %.3e", eu.maxErr, eu.maxEnergy)
		case eu != nil:
			add(fmt.Sprintf("Euler %s (%d points)", eu.label, eu.points), "diverged")
		}
	}
	add("output", "%s", c.out)
	return title, rows
}

func writeAblation(c *config, runs []ablationRun) error {
	path := func(name string) string { return filepath.Join(c.out, name) }
	n := 0
	for _, r := range runs {
		n = max(n, len(r.loss))
	}
	head, cols := []string{"epoch"}, [][]float64{make([]float64, n)}
	for i := range n {
		cols[0][i] = float64(i + 1)
	}
	for _, r := range runs {
		col := make([]float64, n)
		for i := range col {
			col[i] = math.NaN() // a run that stopped early
		}
		copy(col, r.loss)
		head, cols = append(head, r.column()), append(cols, col)
	}
	if err := writeCSV(path("ablation.csv"), head, cols); err != nil {
		return err
	}
	if err := plotAblation(c, runs, path("ablation.png")); err != nil {
		return err
	}
	var cases []any
	for _, r := range runs {
		cases = append(cases, object{
			{"activation", r.act.String()},
			{"param", r.param.String()},
			{"epochs_run", len(r.loss)},
			{"train_seconds", r.seconds},
			{"final_loss", num(r.loss[len(r.loss)-1])},
			{"min_loss", num(slices.Min(r.loss))},
		})
	}
	s := c.settings
	if err := writeJSON(path("summary.json"), object{
		{"experiment", c.name},
		{"figures", c.figures},
		{"system", c.sys.Name()},
		{"cases", cases},
		// Activation and parametrisation vary between the cases.
		{"settings", without(settingsObject(c, s), "activation", "param", "optimizer", "euler_factor", "dense_points")},
	}); err != nil {
		return err
	}
	header, rows := ablationRows(runs)
	return writePage(c.out, filePage(fmt.Sprintf("%s (%s)", c.name, c.figures), nil, htmlTable{Header: header, Rows: rows},
		[]string{"ablation.png"}, []string{"summary.json", "ablation.csv"}))
}

func printAblation(w io.Writer, c *config, runs []ablationRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s (%s)\n", c.name, c.figures)
	header, rows := ablationRows(runs)
	for _, row := range append([][]string{header}, rows...) {
		fmt.Fprintf(tw, "  %s\n", strings.Join(row, "\t"))
	}
	fmt.Fprintf(tw, "  output\t%s\n", c.out)
	tw.Flush()
}

// ablationRows is the table of an ablation, printed by printAblation and
// shown on its index.html: a header and a row per case.
func ablationRows(runs []ablationRun) (header []string, rows [][]string) {
	header = []string{"case", "epochs", "final loss", "min loss", "seconds"}
	for _, r := range runs {
		rows = append(rows, []string{r.label(), strconv.Itoa(len(r.loss)), fmt.Sprintf("%.3e", r.loss[len(r.loss)-1]),
			fmt.Sprintf("%.3e", slices.Min(r.loss)), fmt.Sprintf("%.1f", r.seconds)})
	}
	return header, rows
}

// certifiedColumn is the certified bound at each grid time, NaN where
// there is none (H not a polynomial of degree <= 4, or not computed).
func certifiedColumn(rep *hnnsolve.Report) []float64 {
	if rep.Certified && rep.BoundCertifiedCurve != nil {
		return rep.BoundCertifiedCurve
	}
	col := make([]float64, len(rep.Grid))
	for i := range col {
		col[i] = math.NaN()
	}
	return col
}
