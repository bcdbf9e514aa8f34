//go:build !gpu

package main

import (
	"strings"
	"testing"
)

// TestDeviceCUDA: in a build without -tags gpu, -device cuda fails before
// any training with the library's ErrDevice message as one line and exit
// status 1, for every command that trains, and writes nothing but the
// output folder.
func TestDeviceCUDA(t *testing.T) {
	for _, args := range [][]string{
		{"reproduce", "oscillator", "-epochs", "1"},
		{"reproduce", "all", "-accurate"},
		{"solve", "-H", "p^2/2 - cos(q)", "-z0", "2,0"},
		{"ablation", "henon-heiles"},
		{"demo"},
	} {
		t.Run(args[0], func(t *testing.T) {
			out := t.TempDir()
			code, stdout, stderr := runCmd(t, append(args, "-device", "cuda", "-out", out)...)
			want := "hnnsolve: device unavailable: cuda: this build has no GPU engine (build with -tags gpu)\n"
			if code != exitFailure || stdout != "" || stderr != want {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", args, code, stdout, stderr, want)
			}
			if strings.Contains(stderr, "epoch") {
				t.Errorf("training started: %q", stderr)
			}
		})
	}
}
