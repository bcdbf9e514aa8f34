package hnnsolve

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"hnnsolve/internal/engine"
	"hnnsolve/internal/gpu"
)

// This file trains the networks of a SolveBatch on a device together: one
// GPU engine (internal/gpu) for all of them, its products strided-batched
// over the networks and its element-wise kernels over all their points.

// deviceBatch is the engine shared by the members of a SolveBatch on a
// device. Each member (one problem) runs through the driver in its own
// goroutine, as Solve does: stages, progress, TargetError checks and the
// refinement on the CPU are the member's own. Its Adam stage gets a
// batchTrainer, the member's slot in the shared engine.
//
// The engine is built when every member still in the batch has joined with
// its initial weights, and the members then train in step: one Run of the
// engine serves the Run calls of all the members in their Adam stage, made
// by whichever of them asks last. A member leaves when its Adam stage ends
// (done, stopped at a target, diverged) or its Solve fails; the networks
// of members that left run on with the others, unread.
type deviceBatch struct {
	ctx       context.Context
	newEngine func(gpu.Config) (*gpu.Engine, error)

	mu      sync.Mutex
	cond    *sync.Cond
	prog    *pointProgram // H's program, built once for all members
	members []batchMember
	eng     *gpu.Engine
	engErr  error     // building the engine failed
	joined  int       // members in their Adam stage
	asked   int       // of those, the ones waiting in Run
	scratch []float64 // the losses of networks whose member left
}

// A batchMember is one problem's place in a deviceBatch.
type batchMember struct {
	b      *deviceBatch
	index  int
	state  memberState
	cfg    gpu.Config // the member's engine configuration, one network
	slot   int        // its network in the engine
	req    *batchRequest
	joined bool
}

type memberState int

const (
	memberPending memberState = iota // has not reached its Adam stage
	memberJoined                     // in its Adam stage, a network of the engine
	memberGone                       // done with Adam, or failed
)

// batchRequest is a member's call of Run, waiting for the engine.
type batchRequest struct {
	from, to int
	target   float64
	losses   []float64
	ran      int   // the end of the epochs the engine ran
	end      int   // the epoch after the member's last one
	err      error // the member's error
	done     bool
}

// newDeviceBatch returns the batch of n members whose engine newEngine
// builds; its engine runs under ctx.
func newDeviceBatch(ctx context.Context, n int, newEngine func(gpu.Config) (*gpu.Engine, error)) *deviceBatch {
	b := &deviceBatch{ctx: ctx, newEngine: newEngine, members: make([]batchMember, n)}
	b.cond = sync.NewCond(&b.mu)
	for i := range b.members {
		b.members[i] = batchMember{b: b, index: i}
	}
	return b
}

// member returns the place of problem i.
func (b *deviceBatch) member(i int) *batchMember { return &b.members[i] }

// trainer joins member m to the batch with the network net of the segment
// Solution sol and returns its slot, once the engine is built.
func (m *batchMember) trainer(sol *Solution, net *network, rng *rand.Rand, keepFrom int) (engine.Trainer, error) {
	b := m.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if m.joined {
		// Only one network a member: SolveBatch batches one segment and no
		// retries (see batchable).
		return nil, fmt.Errorf("%w: a member of a device batch trains one network", ErrDevice)
	}
	if b.prog == nil {
		pp, err := newPointProgram(sol.problem.H, len(sol.problem.Z0))
		if err != nil {
			return nil, err
		}
		b.prog = pp
	}
	cfg, err := gpuNetConfig(sol, net, rng, keepFrom, b.prog)
	if err != nil {
		return nil, err
	}
	m.cfg, m.state, m.joined = cfg, memberJoined, true
	b.joined++
	b.build()
	for b.eng == nil && b.engErr == nil {
		b.cond.Wait()
	}
	if b.engErr != nil {
		m.state = memberGone
		b.joined--
		return nil, b.engErr
	}
	return &batchTrainer{m}, nil
}

// build builds the engine once no member is pending: the networks of the
// joined members in problem order. Called with b.mu held.
func (b *deviceBatch) build() {
	if b.eng != nil || b.engErr != nil {
		return
	}
	var joined []*batchMember
	for i := range b.members {
		switch m := &b.members[i]; m.state {
		case memberPending:
			return
		case memberJoined:
			joined = append(joined, m)
		}
	}
	if len(joined) == 0 {
		return
	}
	cfg := joined[0].cfg
	cfg.Nets = nil
	for slot, m := range joined {
		if err := sameEngine(&cfg, &m.cfg); err != nil {
			b.engErr = fmt.Errorf("%w: problem %d: %v", ErrDevice, m.index, err)
			break
		}
		m.slot = slot
		cfg.Nets = append(cfg.Nets, m.cfg.Nets...)
	}
	if b.engErr == nil {
		if b.eng, b.engErr = b.newEngine(cfg); b.engErr != nil {
			b.engErr = deviceError(b.engErr)
		}
	}
	b.cond.Broadcast()
}

// sameEngine reports whether the configuration c of one member differs
// from the batch's, base, in anything but its network.
func sameEngine(base, c *gpu.Config) error {
	switch {
	case !slices.Equal(base.Hidden, c.Hidden), base.Activation != c.Activation, base.Param != c.Param:
		return errors.New("another architecture than the batch's")
	case base.Points != c.Points, base.Energy != c.Energy, base.Adam != c.Adam, base.KeepFrom != c.KeepFrom:
		return errors.New("other training settings than the batch's")
	}
	return nil
}

// leave takes member m out of the batch: the engine no longer waits for it.
func (m *batchMember) leave() {
	b := m.b
	b.mu.Lock()
	defer b.mu.Unlock()
	switch m.state {
	case memberGone:
		return
	case memberJoined:
		b.joined--
		if m.req != nil && !m.req.done {
			b.asked--
		}
	}
	m.state, m.req = memberGone, nil
	b.build()
	b.step()
	if b.eng != nil && !slices.ContainsFunc(b.members, func(o batchMember) bool { return o.state != memberGone }) {
		b.eng.Close()
	}
}

// run is member m's Run: it posts the request and waits for the engine,
// in as many steps as the other members' requests cut it into.
func (m *batchMember) run(from, to int, target float64, losses []float64) (int, error) {
	b := m.b
	b.mu.Lock()
	defer b.mu.Unlock()
	for from < to {
		req := &batchRequest{from: from, to: to, target: target, losses: losses}
		m.req = req
		b.asked++
		b.step()
		for !req.done {
			b.cond.Wait()
		}
		m.req = nil
		if req.err != nil {
			return req.end, req.err
		}
		if req.end < req.ran {
			return req.end, nil // stopped at the target
		}
		from = req.end
	}
	return from, nil
}

// step runs the engine when every member in its Adam stage has asked: the
// epochs from their common start to the earliest end asked. Called with
// b.mu held; the engine runs under it.
func (b *deviceBatch) step() {
	if b.eng == nil || b.joined == 0 || b.asked < b.joined {
		return
	}
	reqs := make([]*batchMember, 0, b.joined)
	for i := range b.members {
		if m := &b.members[i]; m.state == memberJoined {
			reqs = append(reqs, m)
		}
	}
	b.asked = 0 // every request is answered below
	from, to, target := reqs[0].req.from, reqs[0].req.to, reqs[0].req.target
	var skew error
	for _, m := range reqs {
		r := m.req
		to = min(to, r.to)
		if r.from != from || r.target != target {
			skew = fmt.Errorf("%w: device batch out of step: problem %d asks for epochs from %d (target %v), problem %d from %d (target %v)",
				ErrDevice, reqs[0].index, from, target, m.index, r.from, r.target)
		}
	}
	finish := func(m *batchMember, end int, err error) {
		m.req.ran, m.req.end, m.req.err, m.req.done = to, end, err, true
	}
	defer b.cond.Broadcast()
	if skew != nil {
		for _, m := range reqs {
			finish(m, m.req.from, skew)
		}
		return
	}
	if len(b.scratch) < to {
		b.scratch = make([]float64, to)
	}
	losses := make([][]float64, b.eng.N())
	for i := range losses {
		losses[i] = b.scratch
	}
	for _, m := range reqs {
		losses[m.slot] = m.req.losses
	}
	ends, err := b.eng.Run(b.ctx, from, to, target, losses)
	var de *gpu.DivergedError
	if err != nil && !errors.As(err, &de) {
		// The device failed, or the context stopped every network.
		if b.ctx.Err() == nil || !errors.Is(err, b.ctx.Err()) {
			err = deviceError(err)
		}
		for _, m := range reqs {
			end := from
			if len(ends) > m.slot {
				end = ends[m.slot]
			}
			finish(m, end, err)
		}
		return
	}
	for _, m := range reqs {
		end := ends[m.slot]
		if end < to && !isFinite(m.req.losses[end]) {
			// This network diverged (the engine reports the first one only).
			finish(m, end, &DivergedError{Epoch: end, Loss: m.req.losses[end]})
			continue
		}
		finish(m, end, nil)
	}
}

// batchTrainer is a member's slot of the batch's engine, its Adam stage's
// engine.Trainer.
type batchTrainer struct{ m *batchMember }

var _ engine.Trainer = (*batchTrainer)(nil)

// Run implements engine.Trainer. The context is the batch's.
func (t *batchTrainer) Run(_ context.Context, from, to int, targetLoss float64, losses []float64) (int, error) {
	return t.m.run(from, to, targetLoss, losses)
}

// Kept implements engine.Trainer.
func (t *batchTrainer) Kept() int {
	b := t.m.b
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eng.Kept(t.m.slot)
}

// Weights implements engine.Trainer; a failure to read the device panics
// with an ErrDevice error, as gpuTrainer's.
func (t *batchTrainer) Weights(dst [][]float64, kept bool) {
	b := t.m.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.eng.Weights(t.m.slot, dst, kept); err != nil {
		panic(deviceError(fmt.Errorf("reading the weights: %w", err)))
	}
}

// Close ends the member's Adam stage: the batch stops waiting for it.
func (t *batchTrainer) Close() { t.m.leave() }
