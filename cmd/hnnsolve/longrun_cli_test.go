package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// countdown is a context that is done from the n-th call of Err on: an
// interruption (SIGINT) at a fixed point of training.
type countdown struct {
	context.Context
	n atomic.Int64
}

func (c *countdown) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestInterruptCheckpointResume: an interrupted solve writes its final
// checkpoint and the outputs of what it trained and exits with status 1 and
// one line; -resume then ends with the model the uninterrupted run writes.
func TestInterruptCheckpointResume(t *testing.T) {
	dir := t.TempDir()
	args := []string{"solve", "-system", "harmonic", "-epochs", "40", "-points", "15", "-t1", "3", "-segments", "2",
		"-hidden", "6", "-lm", "3", "-quiet"}
	full := filepath.Join(dir, "full")
	if code, _, stderr := runCmd(t, append(args, "-out", full)...); code != 0 {
		t.Fatalf("uninterrupted: exit %d: %s", code, stderr)
	}
	ckpt := filepath.Join(dir, "run.ckpt")
	part := filepath.Join(dir, "part")
	c := &countdown{Context: context.Background()}
	c.n.Store(50) // in the second segment's Adam
	signals = c
	code, _, stderr := runCmd(t, append(args, "-out", part, "-checkpoint", ckpt, "-checkpoint-every", "5")...)
	signals = context.Background()
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "interrupted") || !strings.Contains(stderr, "-resume "+ckpt) {
		t.Fatalf("interrupted: exit %d, stderr %q; want 1 and one line naming the checkpoint", code, stderr)
	}
	for _, f := range []string{"model.json", "summary.json", "index.html", ckpt} {
		if !filepath.IsAbs(f) {
			f = filepath.Join(part, f)
		}
		if _, err := os.Stat(f); err != nil {
			t.Errorf("interrupted run left no %s: %v", f, err)
		}
	}
	resumed := filepath.Join(dir, "resumed")
	if code, _, stderr := runCmd(t, append(args, "-out", resumed, "-resume", ckpt)...); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	a, err := os.ReadFile(filepath.Join(full, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(resumed, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Error("resumed run's model differs from the uninterrupted run's")
	}
	if code, _, stderr := runCmd(t, append(args, "-out", resumed, "-resume", filepath.Join(dir, "none"))...); code != 1 || !strings.Contains(stderr, "-resume") {
		t.Errorf("resume from a missing file: exit %d, %q", code, stderr)
	}
}

// TestWriteFileAtomic: a failed write (here the producer fails half-way, as
// a full disk would fail the copy) leaves the old file whole and no
// temporary file; a good one replaces it whole; a directory that is not
// there is an error.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "summary.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("no space left on device")
	err := writeFile(path, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("failed write: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("after a failed write the file holds %q, want the old content", b)
	}
	if err := writeFile(path, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("file holds %q, want new", b)
	}
	if err := writeFile(filepath.Join(dir, "gone", "x.json"), func(w io.Writer) error { return nil }); err == nil {
		t.Error("write into a missing directory: no error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only summary.json (no temporary files)", len(entries))
	}
}
