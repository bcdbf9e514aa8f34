//go:build !gpu

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeviceCUDA: in a build without -tags gpu, -device cuda fails before
// any training with the library's ErrDevice message as one line and exit
// status 1, for every command that trains, and writes nothing, not even
// the output folder.
func TestDeviceCUDA(t *testing.T) {
	for _, args := range [][]string{
		{"reproduce", "oscillator", "-epochs", "1"},
		{"reproduce", "all", "-accurate"},
		{"solve", "-H", "p^2/2 - cos(q)", "-z0", "2,0"},
		{"ablation", "henon-heiles"},
		{"demo"},
	} {
		t.Run(args[0], func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := runCmd(t, append(args, "-device", "cuda", "-out", out)...)
			want := "hnnsolve: device unavailable: cuda: this build has no GPU engine (build with -tags gpu)\n"
			if code != exitFailure || stdout != "" || stderr != want {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", args, code, stdout, stderr, want)
			}
			if strings.Contains(stderr, "epoch") {
				t.Errorf("training started: %q", stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("the output folder was made (%v)", err)
			}
		})
	}
}
