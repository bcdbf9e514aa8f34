package hnnsolve_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"hnnsolve"
)

// A run with checkpoints is stopped (here by its context, as SIGINT would
// stop it) and continued with Resume from its last checkpoint; it ends
// where the uninterrupted run ends, to the last bit.
func ExampleResume() {
	dir, err := os.MkdirTemp("", "hnnsolve-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	H, err := hnnsolve.ParseHamiltonian("p^2/2 + q^2/2 + q^4/4")
	if err != nil {
		fmt.Println(err)
		return
	}
	problem := hnnsolve.Problem{H: H, Z0: []float64{1.3, 1}, T: 3}
	settings := func() *hnnsolve.Settings {
		return &hnnsolve.Settings{
			Points: 30, Hidden: []int{8, 8}, Epochs: 600, Segments: 2, LM: 20, Seed: 1,
			Checkpoint: hnnsolve.Checkpoint{Path: filepath.Join(dir, "run.ckpt"), Every: 100},
		}
	}
	whole, err := hnnsolve.Solve(problem, settings())

	// The same run, stopped after 200 epochs of its first segment.
	ctx, cancel := context.WithCancel(context.Background())
	stopAt := settings()
	stopAt.Progress = func(p hnnsolve.Progress) {
		if p.Epoch == 200 {
			cancel()
		}
	}
	part, stopErr := hnnsolve.SolveContext(ctx, problem, stopAt)
	fmt.Println("stopped:", stopErr != nil, "after", part.EpochsRun, "epochs, holding", len(part.Segments())-1, "segment")

	f, err := os.Open(filepath.Join(dir, "run.ckpt"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	resumed, err := hnnsolve.Resume(f, problem, settings())
	if err != nil || whole == nil {
		fmt.Println(err)
		return
	}
	fmt.Println("resumed = uninterrupted:", slices.Equal(resumed.Loss(), whole.Loss()) && slices.Equal(resumed.At(3), whole.At(3)))
	// Output:
	// stopped: true after 201 epochs, holding 1 segment
	// resumed = uninterrupted: true
}
