package hnnsolve

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"hnnsolve/internal/gpu"
)

// SolveBatch solves many problems that share one Hamiltonian, one network
// each, as a parameter sweep does: the problems must have the same
// dimension; Z0 and the interval may differ. Every problem trains with the
// same settings s.
//
// On the CPU the problems run on GOMAXPROCS goroutines, one network each,
// and result i is bit-identical to Solve(problems[i], s) whatever the
// number of cores. On a device (Settings.Device) the Adam stages of all the
// problems run together as one engine, each epoch of every network in the
// same kernels and batched products, and the refinement stages run on the
// CPU, problem by problem; result i is then the training of
// Solve(problems[i], s) on that device, up to the device's rounding of the
// batched products (bit-identical in the host emulation). Settings with
// several Segments, Retries, a Checkpoint, or both TargetLoss and
// TargetError train the problems one after another on the device instead.
//
// Problems that fail leave nil in their place and are reported together
// in a *BatchError; the others are returned trained. Settings.Progress, if
// set, is called from one goroutine at a time, with Progress.Problem the
// index of the problem.
func SolveBatch(problems []Problem, s *Settings) ([]*Solution, error) {
	if len(problems) == 0 {
		return nil, fmt.Errorf("%w: SolveBatch needs at least one problem", ErrProblem)
	}
	dim := len(problems[0].Z0)
	for i, p := range problems {
		if len(p.Z0) != dim {
			return nil, fmt.Errorf("%w: problem %d has dimension %d, problem 0 has %d (a batch shares one Hamiltonian)", ErrProblem, i, len(p.Z0), dim)
		}
	}
	var progressMu sync.Mutex
	settingsFor := func(i int) *Settings {
		if s == nil || s.Progress == nil {
			return s
		}
		c := *s
		c.Progress = func(pr Progress) {
			progressMu.Lock()
			defer progressMu.Unlock()
			pr.Problem = i
			s.Progress(pr)
		}
		return &c
	}
	if s != nil && s.Device != CPU {
		if err := openDevice(s.Device); err != nil {
			return nil, err
		}
	}
	sols, errs := solveBatch(problems, s, settingsFor, newBatchEngine)
	be := &BatchError{Errs: map[int]error{}}
	for i, err := range errs {
		if err != nil {
			be.Errs[i] = err
		}
	}
	if len(be.Errs) > 0 {
		return sols, be
	}
	return sols, nil
}

// solveBatch solves the problems with the settings settingsFor(i), on
// GOMAXPROCS goroutines on the CPU; on a device, as one deviceBatch whose
// engine newEngine builds when the settings allow (batchable), one
// goroutine per problem (each must reach its Adam stage before the engine
// runs), and one problem after another when they do not.
func solveBatch(problems []Problem, s *Settings, settingsFor func(int) *Settings,
	newEngine func(gpu.Config) (*gpu.Engine, error)) ([]*Solution, []error) {
	sols := make([]*Solution, len(problems))
	errs := make([]error, len(problems))
	ctx := context.Background()
	workers := runtime.GOMAXPROCS(0)
	var batch *deviceBatch
	if s != nil && s.Device != CPU {
		workers = 1
		if batchable(s) {
			batch = newDeviceBatch(ctx, len(problems), newEngine)
			workers = len(problems)
		}
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(problems)) {
		wg.Go(func() {
			for i := range next {
				var m *batchMember
				if batch != nil {
					m = batch.member(i)
				}
				sols[i], errs[i] = solve(ctx, problems[i], settingsFor(i), m)
				if m != nil {
					m.leave()
				}
			}
		})
	}
	for i := range problems {
		next <- i
	}
	close(next)
	wg.Wait()
	return sols, errs
}

// batchable reports whether the settings s train a batch on a device as
// one engine: each problem's one network through one Adam stage, whose
// epochs every member runs in step.
func batchable(s *Settings) bool {
	return s.Segments <= 1 && s.Retries == 0 && s.Checkpoint.Path == "" && !(s.TargetLoss > 0 && s.TargetError > 0)
}

// BatchError reports the problems of a SolveBatch that failed, by index.
// errors.Is and errors.As look through it to each problem's error.
type BatchError struct {
	Errs map[int]error
}

// indices returns the failed problems' indices in order.
func (e *BatchError) indices() []int {
	idx := make([]int, 0, len(e.Errs))
	for i := range e.Errs {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	return idx
}

func (e *BatchError) Error() string {
	idx := e.indices()
	var b strings.Builder
	fmt.Fprintf(&b, "hnnsolve: %d of the batch's problems failed", len(idx))
	for n, i := range idx {
		if n == 3 {
			fmt.Fprintf(&b, "; and %d more", len(idx)-3)
			break
		}
		fmt.Fprintf(&b, "; problem %d: %v", i, e.Errs[i])
	}
	return b.String()
}

// Unwrap returns the problems' errors in index order.
func (e *BatchError) Unwrap() []error {
	idx := e.indices()
	out := make([]error, len(idx))
	for n, i := range idx {
		out[n] = e.Errs[i]
	}
	return out
}
