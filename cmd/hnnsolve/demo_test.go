package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// checkIndex parses dir/index.html as XML (the page is written in XHTML
// syntax, so a page that is not well-formed fails) and checks that every
// image and link it names is a local file under dir, by a relative path,
// and that it loads nothing from outside. It returns the page's text and
// the images and links it names.
func checkIndex(t *testing.T, dir string) (text string, imgs, links []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	var sb strings.Builder
	var stack []string
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s/index.html is not well-formed: %v", dir, err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tk.Name.Local
			}
			stack = append(stack, tk.Name.Local)
			switch tk.Name.Local {
			case "script", "link", "iframe", "object", "embed", "base":
				t.Errorf("%s/index.html has a <%s> element", dir, tk.Name.Local)
			}
			for _, a := range tk.Attr {
				if a.Name.Local != "src" && a.Name.Local != "href" {
					continue
				}
				u, err := url.Parse(a.Value)
				if err != nil || u.Scheme != "" || u.Host != "" || u.Path == "" || strings.HasPrefix(u.Path, "/") || strings.Contains(u.Path, "..") {
					t.Errorf("%s/index.html: %s=%q is not a relative path inside the folder", dir, a.Name.Local, a.Value)
					continue
				}
				if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(u.Path))); err != nil || fi.Size() == 0 {
					t.Errorf("%s/index.html names %q: missing or empty (%v)", dir, a.Value, err)
				}
				if a.Name.Local == "src" {
					if tk.Name.Local != "img" {
						t.Errorf("%s/index.html: src on <%s>", dir, tk.Name.Local)
					}
					imgs = append(imgs, u.Path)
				} else {
					links = append(links, u.Path)
				}
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if !slices.Contains(stack, "style") {
				sb.Write(tk)
			}
		}
	}
	if root != "html" {
		t.Errorf("%s/index.html: root element <%s>, want <html>", dir, root)
	}
	return sb.String(), imgs, links
}

// checkRunIndex checks the index.html of a run's folder: well-formed,
// every image and link there, every figure of the folder shown and every
// other file linked, and the summary table's figures on it.
func checkRunIndex(t *testing.T, dir string) {
	t.Helper()
	text, imgs, links := checkIndex(t, dir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := e.Name()
		switch ext := filepath.Ext(name); {
		case name == "index.html":
		case ext == ".png" || ext == ".svg":
			if !slices.Contains(imgs, name) {
				t.Errorf("%s/index.html does not show %s (shows %v)", dir, name, imgs)
			}
		case !slices.Contains(links, name):
			t.Errorf("%s/index.html does not link %s (links %v)", dir, name, links)
		}
	}
	s := readSummary(t, dir)
	if _, ok := s["max_abs_error"]; ok {
		for _, k := range []string{"max_abs_error", "max_energy_error", "final_loss"} {
			if want := fmt.Sprintf("%.3e", number(t, s, k)); !strings.Contains(text, want) {
				t.Errorf("%s/index.html has no %s = %s", dir, k, want)
			}
		}
	}
	if !strings.Contains(text, s["experiment"].(string)) {
		t.Errorf("%s/index.html does not name the run %v", dir, s["experiment"])
	}
}

// TestDemo runs hnnsolve demo with every epoch and step count scaled down
// by 1000 and checks the table against each run's summary.json, the runs'
// outputs and the pages.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCmd(t, "demo", "-epochs-scale", "0.001", "-out", dir, "-quiet")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("-quiet: stderr = %q", stderr)
	}
	t.Log("\n" + stdout)

	// The table: a title, a header, then one row per method.
	lines := strings.Split(stdout, "\n")
	if !strings.HasPrefix(lines[0], "hnnsolve demo: the nonlinear oscillator of Fig. 3") {
		t.Fatalf("title: %q", lines[0])
	}
	sep := regexp.MustCompile(`\s{2,}`)
	var cells [][]string
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "  ") {
			break
		}
		cells = append(cells, sep.Split(strings.TrimSpace(l), -1))
	}
	if len(cells) != 7 || !slices.Equal(cells[0], demoHeader) {
		t.Fatalf("table rows %q, want the header and 6 rows", cells)
	}
	rows := cells[1:]
	acc := readSummary(t, filepath.Join(dir, "accurate"))
	set := acc["settings"].(map[string]any)
	labels := []string{
		"paper (Mattheakis et al., Fig. 3)",
		"HNN, paper's settings (2×50, 50 epochs)",
		"HNN, improved (λ = 1, lr → 8e-5)",
		fmt.Sprintf("HNN, accurate: target 0.001 (%v segments of 2×8)", set["segments"]),
		"symplectic Euler, K = 200 points",
		"symplectic Euler, 100K = 20000 points",
	}
	for i, row := range rows {
		if len(row) != len(demoHeader) || row[0] != labels[i] {
			t.Errorf("row %d = %q, want %d cells starting with %q", i, row, len(demoHeader), labels[i])
		}
	}
	if !slices.Equal(rows[0], []string{labels[0], "≤ 3.3e-03 *", "-", "3.3e-03", "-", "-", "-"}) {
		t.Errorf("paper's row = %q", rows[0])
	}
	e2 := func(s map[string]any, k string) string { return fmt.Sprintf("%.2e", number(t, s, k)) }
	for i, run := range []string{"paper", "improved", "accurate"} {
		s := readSummary(t, filepath.Join(dir, run))
		want := []string{labels[1+i], e2(s, "max_abs_error"), e2(s, "max_energy_error"), e2(s, "ell_max"), e2(s, "estimate_eq18"),
			fmt.Sprintf("%.1f", number(t, s, "train_seconds")), filepath.Join(dir, run)}
		if !slices.Equal(rows[1+i], want) {
			t.Errorf("%s row = %q, summary.json gives %q", run, rows[1+i], want)
		}
		if s["experiment"] != "oscillator-"+run {
			t.Errorf("%s: experiment %v", run, s["experiment"])
		}
		checkRunIndex(t, filepath.Join(dir, run))
	}
	paper := readSummary(t, filepath.Join(dir, "paper"))
	for i, lab := range []string{"K", "100K"} {
		row := rows[4+i]
		if row[1] != e2(paper, eulerKey(lab)) || row[2] != e2(paper, "euler_"+lab+"_max_energy_error") || row[3] != "-" {
			t.Errorf("Euler %s row = %q, the paper run's summary.json gives %s", lab, row, e2(paper, eulerKey(lab)))
		}
	}
	for _, w := range []string{"wall time", "-epochs-scale 0.001", filepath.Join(dir, "index.html")} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout has no %q", w)
		}
	}

	// Each run is the reproduce command it names, scaled.
	osc := []float64{1.3, 1}
	checkRun(t, filepath.Join(dir, "paper"), wantRun{name: "oscillator-paper", coords: []string{"x", "p"}, eulerLabel: "100K",
		points: 200, epochs: 50, hidden: []float64{50, 50}, z0: osc})
	checkRun(t, filepath.Join(dir, "improved"), wantRun{name: "oscillator-improved", coords: []string{"x", "p"}, eulerLabel: "100K",
		points: 200, epochs: 50, hidden: []float64{50, 50}, lambda: 1, z0: osc})
	if set := readSummary(t, filepath.Join(dir, "improved"))["settings"].(map[string]any); set["learn_rate_final"] != 8e-5 {
		t.Errorf("improved: settings %v", set)
	}
	// -accurate is the recipe; -epochs-scale 0.001 made its target 1e-3.
	if rc, _ := acc["recipe"].(map[string]any); acc["preset"] != "recipe" || rc == nil || rc["target"] != 1e-3 || rc["met"] != true ||
		set["segments"].(float64) < 1 || set["lambda"] != 1.0 || set["points"] != 50.0 {
		t.Errorf("accurate: preset %v, recipe %v, settings %v", acc["preset"], acc["recipe"], set)
	}

	// The top folder: summary.json with the table's figures, and a page
	// linking the runs' pages and showing the comparison.
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var top struct {
		Rows []struct {
			Row         string   `json:"row"`
			Method      string   `json:"method"`
			MaxAbsError *float64 `json:"max_abs_error"`
		} `json:"rows"`
		WallSeconds float64 `json:"wall_seconds"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	if len(top.Rows) != 6 || top.WallSeconds <= 0 {
		t.Fatalf("summary.json: %+v", top)
	}
	for i, r := range top.Rows {
		switch {
		case r.Method != labels[i] || r.MaxAbsError == nil:
			t.Errorf("summary.json row %d = %+v, table %q", i, r, rows[i])
		case i == 0 && *r.MaxAbsError != 3.3e-3, i > 0 && fmt.Sprintf("%.2e", *r.MaxAbsError) != rows[i][1]:
			t.Errorf("summary.json row %d: max_abs_error %v, table %q", i, *r.MaxAbsError, rows[i][1])
		}
	}
	checkPNG(t, filepath.Join(dir, "comparison.png"))
	text, imgs, links := checkIndex(t, dir)
	if !slices.Contains(imgs, "comparison.png") {
		t.Errorf("index.html shows %v, not comparison.png", imgs)
	}
	for _, run := range []string{"paper", "improved", "accurate"} {
		if !slices.Contains(links, run+"/index.html") {
			t.Errorf("index.html links %v, not %s/index.html", links, run)
		}
	}
	for _, row := range rows {
		for _, c := range row[:len(row)-1] {
			if !strings.Contains(text, c) {
				t.Errorf("index.html has no %q", c)
			}
		}
	}
}

// TestDemoConfigs checks that the demo's runs are the README's three
// commands (reproduce oscillator, the same with -lambda 1 -lr-final 8e-5,
// and with -accurate, the recipe) and that -epochs-scale scales every
// count and divides the recipe's target.
func TestDemoConfigs(t *testing.T) {
	for _, scale := range []float64{1, 0.01} {
		cfgs, err := demoConfigs(demoOptions{out: "x", scale: scale, device: "cpu", seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		n := func(v int) int { return max(1, int(math.Round(float64(v)*scale))) }
		for i, want := range []struct {
			name                        string
			epochs, lm, seg             int
			hidden                      []int
			lambda, lrFin, beta, target float64
			recipe                      bool
		}{
			{"oscillator-paper", n(50000), 0, 1, []int{50, 50}, 0, 0, 0.999, 0, false},
			{"oscillator-improved", n(50000), 0, 1, []int{50, 50}, 1, 8e-5, 0.999, 0, false},
			// The recipe: zero settings but the target, divided by the scale.
			{"oscillator-accurate", 0, 0, 0, nil, 0, 0, 0, 1e-6 / scale, true},
		} {
			c, s := cfgs[i], cfgs[i].settings
			if c.name != want.name || s.Epochs != want.epochs || s.LM != want.lm || s.Segments != want.seg || !slices.Equal(s.Hidden, want.hidden) ||
				s.Energy != want.lambda || s.LearnRateFinal != want.lrFin || s.Beta1 != want.beta || s.Seed != 4 ||
				s.TargetError != want.target || c.recipe != want.recipe ||
				c.out != filepath.Join("x", demoRuns[i].dir) || c.t1 != 4*math.Pi || !slices.Equal(c.z0, []float64{1.3, 1}) {
				t.Errorf("scale %v: run %d = %+v, settings %+v; want %+v", scale, i, c, s, want)
			}
		}
	}
}

// TestIndexEscapes writes a page whose texts hold markup and checks that
// it parses and gives the texts back unchanged.
func TestIndexEscapes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a b&c.png"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	nasty := `<script>alert("x")</script> & 'q' ]]> <!-- λ`
	p := page{Title: nasty, Intro: []string{nasty}, Tables: []htmlTable{{Caption: nasty, Header: []string{nasty}, Rows: [][]string{{nasty}}}},
		Links: []link{{Href: "a b&c.png", Text: nasty}}, Figures: []figure{{File: "a b&c.png", Caption: nasty}}}
	if err := writePage(dir, p); err != nil {
		t.Fatal(err)
	}
	text, imgs, links := checkIndex(t, dir)
	// Title, heading, paragraph, caption, header, cell, link, figure caption.
	if got := strings.Count(text, nasty); got != 8 {
		t.Errorf("the text comes back %d times, want 8: %q", got, text)
	}
	if !slices.Equal(imgs, []string{"a b&c.png"}) || !slices.Equal(links, []string{"a b&c.png", "a b&c.png"}) {
		t.Errorf("images %q, links %q", imgs, links)
	}
}
