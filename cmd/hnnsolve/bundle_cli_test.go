package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBundleCommand runs a tiny "hnnsolve bundle" and checks its outputs:
// the files, the CSV sizes, the heat map and summary.json's figures.
func TestBundleCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCmd(t, "bundle", "henon-heiles", "-epochs", "30", "-segments", "2", "-lm", "2", "-refine-points", "60",
		"-points", "60", "-hidden", "6", "-members", "7", "-grid", "4", "-times", "11", "-bench-members", "50", "-margin", "0.2", "-out", dir, "-quiet")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "speed-up") {
		t.Errorf("no comparison in the table:\n%s", out)
	}
	for _, f := range []string{"heatmap.png", "heatmap.csv", "members.csv", "summary.json", "bundle.json", "index.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if m := readCSV(t, filepath.Join(dir, "members.csv")); m.rows != 7 || len(m.header) != 6 {
		t.Errorf("members.csv: %d rows, header %v", m.rows, m.header)
	}
	if h := readCSV(t, filepath.Join(dir, "heatmap.csv")); h.rows != 16 {
		t.Errorf("heatmap.csv: %d rows, want 16", h.rows)
	}
	f, err := os.Open(filepath.Join(dir, "heatmap.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("heatmap.png: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"max_abs_error", "jacobian_max_relative_error", "bundle_ns_per_member", "dop853_ns_per_member", "train_seconds"} {
		if v, ok := s[k].(float64); !ok || !(v > 0) {
			t.Errorf("summary.json: %s = %v", k, s[k])
		}
	}
	if set, _ := s["settings"].(map[string]any); set["margin"] != 0.2 {
		t.Errorf("summary.json: settings %v, want margin 0.2", s["settings"])
	}
	if code, _, _ := runCmd(t, "bundle", "pendulum"); code != exitUsage {
		t.Errorf("unknown system: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := runCmd(t, "bundle", "oscillator", "-members", "0"); code != exitUsage {
		t.Errorf("-members 0: exit %d, want %d", code, exitUsage)
	}
}
