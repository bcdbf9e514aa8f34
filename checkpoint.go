package hnnsolve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"hnnsolve/internal/engine"
)

// Checkpoint makes Solve write its complete training state to a file as it
// goes, so that a run killed at any point continues with Resume and ends
// bit-identical to the uninterrupted run (the same weights, losses and
// stages; only the wall times differ).
//
// A checkpoint is written every Every Adam epochs and as each try of a
// segment and each refinement stage starts (a refinement stage interrupted
// is done again from its start on resume). Each write is atomic: a
// temporary file in the same directory, synced, then renamed over Path, so
// the file is always a whole checkpoint.
type Checkpoint struct {
	// Path is the file written ("": no checkpoints).
	Path string
	// Every is the number of Adam epochs between checkpoints (1000).
	Every int
}

// The checkpoint file: a header line, the state as gob, and the SHA-256 of
// the gob bytes.
const (
	checkpointMagic   = "hnnsolve-checkpoint v1\n"
	checkpointVersion = 1
)

// ckState is the training state at a checkpoint.
type ckState struct {
	Version  int
	Form     string // the formulation's kind ("" before it was recorded: Hamiltonian)
	Z0       []float64
	T0, T    float64
	E0       float64
	Settings modelSettings // the resolved settings, to check Resume's
	RNG      []byte        // the random source, as at this point

	Segment int       // the segment in training
	Start   []float64 // its initial state
	Done    ckSolution
	Try     int
	Tries   ckTries
	Phase   string      // phaseTry, phaseAdam, phaseLBFGS or phaseLM
	Cand    *ckSolution // the try in training (nil at phaseTry)
	Adam    *ckAdam     // Adam in progress (phaseAdam)
}

// ckSolution is a Solution's trained part: its networks and records.
type ckSolution struct {
	Segs      []ckSegment
	Loss      []float64
	Stages    []Stage
	EpochsRun int
	BestEpoch int
	EarlyStop bool
	TrainTime time.Duration
	Target    *TargetResult
}

type ckSegment struct {
	T0, T1 float64
	Z0     []float64
	Params [][]float64
}

// ckTries is a tryAcc.
type ckTries struct {
	Best     *ckSolution
	BestLoss float64
	Stages   []Stage
	Losses   []float64
	Epochs   int
	Time     time.Duration
}

// ckAdam is Adam in progress: the epoch about to run and the CPU engine's
// state.
type ckAdam struct {
	Epoch    int
	Losses   []float64
	MinLoss  float64
	Spent    time.Duration
	Weights  [][]float64
	M, V     [][]float64
	Pow1     float64
	Pow2     float64
	Kept     int
	KeptLoss float64
	Best     [][]float64
	Target   *TargetResult
}

func newCkSolution(s *Solution) *ckSolution {
	c := &ckSolution{
		Loss: slices.Clone(s.loss), Stages: slices.Clone(s.Stages), EpochsRun: s.EpochsRun,
		BestEpoch: s.BestEpoch, EarlyStop: s.EarlyStop, TrainTime: s.TrainTime,
	}
	if s.Target != nil {
		t := *s.Target
		c.Target = &t
	}
	for _, sg := range s.segs {
		c.Segs = append(c.Segs, ckSegment{T0: sg.t0, T1: sg.t1, Z0: slices.Clone(sg.z0), Params: cloneParams(sg.net.params)})
	}
	return c
}

// restoreInto sets the trained part of s from c; s.problem, settings, e0
// and eval are s's own.
func (c *ckSolution) restoreInto(s *Solution) error {
	s.segs = nil
	for k, cs := range c.Segs {
		net := s.newNet()
		if len(cs.Params) != len(net.params) || len(cs.Z0) != len(s.problem.Z0) {
			return fmt.Errorf("%w: checkpoint segment %d does not fit the network", ErrModel, k)
		}
		for i, p := range cs.Params {
			if len(p) != len(net.params[i]) {
				return fmt.Errorf("%w: checkpoint segment %d, parameter %d has %d values, want %d", ErrModel, k, i, len(p), len(net.params[i]))
			}
			copy(net.params[i], p)
		}
		s.segs = append(s.segs, segment{t0: cs.T0, t1: cs.T1, z0: slices.Clone(cs.Z0), net: net})
	}
	s.loss, s.Stages = slices.Clone(c.Loss), slices.Clone(c.Stages)
	s.EpochsRun, s.BestEpoch, s.EarlyStop, s.TrainTime = c.EpochsRun, c.BestEpoch, c.EarlyStop, c.TrainTime
	s.Target = nil
	if c.Target != nil {
		t := *c.Target
		s.Target = &t
	}
	return nil
}

// restore returns the Solution of a try on the segment problem sp.
func (c *ckSolution) restore(r *run, sp Problem) (*Solution, error) {
	s := r.newSegmentSolution(sp, nil)
	if err := c.restoreInto(s); err != nil {
		return nil, err
	}
	if len(s.segs) != 1 {
		return nil, fmt.Errorf("%w: checkpoint try holds %d networks, want 1", ErrModel, len(s.segs))
	}
	return s, nil
}

func (c ckTries) restore(r *run, sp Problem) (*tryAcc, error) {
	acc := &tryAcc{bestLoss: c.BestLoss, stages: slices.Clone(c.Stages), losses: slices.Clone(c.Losses), epochs: c.Epochs, time: c.Time}
	if c.Best != nil {
		var err error
		if acc.best, err = c.Best.restore(r, sp); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

func newCkAdam(eng engine.Trainer, net *network, tc *targetChecker, epoch int, losses []float64, minLoss float64, spent time.Duration) (*ckAdam, error) {
	tr, ok := eng.(*cpuTrainer)
	if !ok {
		return nil, fmt.Errorf("%w: checkpoints need the CPU engine", ErrSettings)
	}
	a := &ckAdam{
		Epoch: epoch, Losses: slices.Clone(losses[:epoch]), MinLoss: minLoss, Spent: spent,
		Weights: cloneParams(net.params), M: cloneParams(tr.opt.m), V: cloneParams(tr.opt.v),
		Pow1: tr.opt.pow1, Pow2: tr.opt.pow2, Kept: tr.kept, KeptLoss: tr.keptLoss, Best: cloneParams(tr.best),
	}
	if tc != nil {
		t := *tc.res
		a.Target = &t
	}
	return a, nil
}

// restore puts Adam's state back into the engine, the network and the
// target checker, and returns the driver's part.
func (a *ckAdam) restore(eng engine.Trainer, net *network, tc *targetChecker) (epoch int, losses []float64, minLoss float64, spent time.Duration, err error) {
	tr, ok := eng.(*cpuTrainer)
	if !ok {
		return 0, nil, 0, 0, fmt.Errorf("%w: checkpoints need the CPU engine", ErrSettings)
	}
	for _, ps := range [][][]float64{a.Weights, a.M, a.V, a.Best} {
		if len(ps) != len(net.params) {
			return 0, nil, 0, 0, fmt.Errorf("%w: checkpoint's Adam state does not fit the network", ErrModel)
		}
		for i, p := range ps {
			if len(p) != len(net.params[i]) {
				return 0, nil, 0, 0, fmt.Errorf("%w: checkpoint's Adam state does not fit the network", ErrModel)
			}
		}
	}
	if a.Epoch < 1 || len(a.Losses) != a.Epoch || (tc != nil) != (a.Target != nil) {
		return 0, nil, 0, 0, fmt.Errorf("%w: checkpoint's Adam state is inconsistent", ErrModel)
	}
	copyParams(net.params, a.Weights)
	copyParams(tr.opt.m, a.M)
	copyParams(tr.opt.v, a.V)
	copyParams(tr.best, a.Best)
	tr.opt.pow1, tr.opt.pow2, tr.kept, tr.keptLoss = a.Pow1, a.Pow2, a.Kept, a.KeptLoss
	if tc != nil {
		*tc.res = *a.Target
	}
	return a.Epoch, slices.Clone(a.Losses), a.MinLoss, a.Spent, nil
}

// save writes a checkpoint of the run at the given phase of the current
// try (cand the try's Solution, a Adam's state), if Settings.Checkpoint
// asks for checkpoints.
func (r *run) save(phase string, cand *Solution, a *ckAdam) error {
	path := r.set.Checkpoint.Path
	if path == "" {
		return nil
	}
	rng, err := r.pcg.MarshalBinary()
	if err != nil {
		return fmt.Errorf("hnnsolve: checkpoint: %w", err)
	}
	st := ckState{
		Version: checkpointVersion, Form: r.form.kind(), Z0: r.p.Z0, T0: r.p.T0, T: r.p.T, E0: r.chain.e0,
		Settings: newModelSettings(r.set), RNG: rng,
		Segment: r.segment, Start: r.start, Done: *newCkSolution(r.chain), Try: r.try, Phase: phase, Adam: a,
	}
	if acc := r.acc; acc != nil {
		st.Tries = ckTries{BestLoss: acc.bestLoss, Stages: acc.stages, Losses: acc.losses, Epochs: acc.epochs, Time: acc.time}
		if acc.best != nil {
			st.Tries.Best = newCkSolution(acc.best)
		}
	}
	if cand != nil {
		st.Cand = newCkSolution(cand)
	}
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(&st); err != nil {
		return fmt.Errorf("hnnsolve: checkpoint: %w", err)
	}
	sum := sha256.Sum256(body.Bytes())
	return writeAtomic(path, func(w io.Writer) error {
		if _, err := io.WriteString(w, checkpointMagic); err != nil {
			return err
		}
		if _, err := w.Write(body.Bytes()); err != nil {
			return err
		}
		_, err := w.Write(sum[:])
		return err
	})
}

// writeAtomic writes a file through a temporary file in the same directory,
// synced and then renamed over path: the file is either the old one or the
// whole new one. A failure removes the temporary file.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("hnnsolve: checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("hnnsolve: checkpoint %s: %w", path, err)
		}
	}()
	if err = write(f); err != nil {
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

// Resume continues a run from a checkpoint written by Solve (Settings.
// Checkpoint) for the same Problem and Settings, and returns what Solve
// would have returned, bit-identical in its weights, losses and stages.
// Settings.Progress and Settings.Checkpoint may differ from the run's
// (Resume keeps checkpointing to s.Checkpoint). A checkpoint for another
// problem or other settings, or a corrupt one, is an error wrapping
// ErrModel.
func Resume(r io.Reader, p Problem, s *Settings) (*Solution, error) {
	return ResumeContext(context.Background(), r, p, s)
}

// ResumeContext is Resume, stopped by ctx as SolveContext is.
func ResumeContext(ctx context.Context, rd io.Reader, p Problem, s *Settings) (sol *Solution, err error) {
	defer recoverGorgonia(&err, ErrHamiltonian)
	if err := p.validate(); err != nil {
		return nil, err
	}
	set, err := s.resolve(p)
	if err != nil {
		return nil, err
	}
	return resume(ctx, rd, p, hamiltonianForm{}, set)
}

// resume continues the run of the checkpoint in rd for the validated
// problem p of formulation form with the resolved settings set.
func resume(ctx context.Context, rd io.Reader, p Problem, form formulation, set Settings) (*Solution, error) {
	st, err := readCheckpoint(rd)
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) (*Solution, error) {
		return nil, fmt.Errorf("%w: checkpoint: "+format, append([]any{ErrModel}, args...)...)
	}
	if f, ok := formulationByKind(st.Form); !ok || f.kind() != form.kind() {
		return bad("written for the %q formulation, resumed as %q", st.Form, form.kind())
	}
	switch {
	case !slices.Equal(st.Z0, p.Z0) || st.T0 != p.T0 || st.T != p.T:
		return bad("written for Z0 = %v on [%v, %v], the problem has Z0 = %v on [%v, %v]", st.Z0, st.T0, st.T, p.Z0, p.T0, p.T)
	case fmt.Sprint(st.Settings) != fmt.Sprint(newModelSettings(set)):
		return bad("written with settings %+v, resumed with %+v", st.Settings, newModelSettings(set))
	case st.Segment < 0 || st.Segment >= set.Segments || st.Try < 0 || st.Try > set.Retries || len(st.Start) != len(p.Z0):
		return bad("segment %d, try %d out of range", st.Segment, st.Try)
	case phaseOrder[st.Phase] == 0 && st.Phase != phaseTry, (st.Phase == phaseTry) != (st.Cand == nil), (st.Phase == phaseAdam) != (st.Adam != nil):
		return bad("phase %q is inconsistent", st.Phase)
	}
	if err := openDevice(set.Device); err != nil {
		return nil, err
	}
	e0, ev, err := p.energyAt()
	if err != nil {
		return nil, err
	}
	if e0 != st.E0 {
		return bad("H(Z0) = %v, the checkpoint's run had %v: another Hamiltonian", e0, st.E0)
	}
	r := newRun(ctx, p, form, set, e0, ev)
	if err := r.pcg.UnmarshalBinary(st.RNG); err != nil {
		return bad("random source: %v", err)
	}
	if err := st.Done.restoreInto(r.chain); err != nil {
		return nil, err
	}
	if len(r.chain.segs) != st.Segment {
		return bad("%d finished segments at segment %d", len(r.chain.segs), st.Segment)
	}
	r.resume = st
	return r.solve()
}

// readCheckpoint reads and checks a checkpoint file.
func readCheckpoint(rd io.Reader) (*ckState, error) {
	data, err := io.ReadAll(io.LimitReader(rd, MaxModelBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: checkpoint: %w", ErrModel, err)
	}
	n := len(checkpointMagic)
	if len(data) > MaxModelBytes || len(data) < n+sha256.Size || string(data[:n]) != checkpointMagic {
		return nil, fmt.Errorf("%w: not an hnnsolve checkpoint (v%d)", ErrModel, checkpointVersion)
	}
	body, sum := data[n:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("%w: checkpoint checksum mismatch: the file is corrupt", ErrModel)
	}
	var st ckState
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: checkpoint: %w", ErrModel, err)
	}
	if st.Version != checkpointVersion {
		return nil, fmt.Errorf("%w: checkpoint version %d, this library reads %d", ErrModel, st.Version, checkpointVersion)
	}
	return &st, nil
}
