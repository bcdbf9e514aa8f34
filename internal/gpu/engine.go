package gpu

import (
	"context"
	"errors"
	"fmt"
	"math"

	"hnnsolve/internal/engine"
	"hnnsolve/internal/pointwise"
)

// Net is one network of an Engine: its problem and initial weights.
type Net struct {
	Z0     []float64 // the initial state, D values
	Length float64   // T - T0: the network's times are τ in [0, Length]
	E0     float64   // H(Z0), for the energy term
	// Perturb is σ of the perturbation of the times, each epoch; < 0
	// keeps the grid.
	Perturb float64
	// Seed keys the network's perturbations of the times (Philox).
	Seed uint64
	// Params are the initial weights W_1, b_1, …, W_o, b_o in hnnsolve's
	// order and shapes (W_l row-major, inputs × outputs).
	Params [][]float64
}

// Config describes the networks of an Engine: one Hamiltonian, one
// architecture and one set of training settings for all of them.
type Config struct {
	// Program is H, ∇H and D²H per point (inputs z_0 … z_{D-1}).
	Program    *pointwise.Program
	Hidden     []int // hidden layer widths
	Activation Activation
	Param      Param
	Points     int     // K
	Energy     float64 // λ
	Adam       engine.Adam
	KeepFrom   int // the first epoch whose weights may be kept
	Nets       []Net
	// SubChunk is the most epochs run between two looks of the host at
	// the device (losses, stops, the context): 64 when 0.
	SubChunk int
	// Direct launches every kernel and product of an epoch by itself
	// instead of replaying the epoch captured as a graph.
	Direct bool
}

// Engine trains B networks of one Hamiltonian and architecture together on
// a Device, all of every epoch there: the times, the network and its time
// tangent, H and its derivatives, the loss and its gradient, the kept
// weights and Adam. The host looks at the device between chunks of at
// most Config.SubChunk epochs: it writes the chunk's step sizes and reads
// the losses and the networks' state.
//
// An epoch is 2L+3 kernels and 3L+1 products for L hidden layers, each
// serving all B networks (strided-batched products), captured once as a
// graph and replayed. Memory, in float64s per network:
//
//	θ, m, v, best, last: P (packed W_1, b_1, …, W_o, b_o: each layer's
//	  W and b together are the (in+1)×out matrix [W; b])
//	grad: P, with the output layer's block in rows of D+1 (the last
//	  column is the loss)
//	U (2K×2): the first layer's input [τ 1; 1 0] (τ's rows, then its
//	  tangent's), F (2K): f(τ), f'(τ)
//	H_l (2K×(w_l+1)): [h ḣ; 1 0] of hidden layer l, the next layer's input
//	A_l (2K×w_l): [σ'(a); ȧ], GH_l (2K×w_l): [G_h; G_ḣ], then [G_a; G_ȧ]
//	NO (2K×D): [N; Ṅ]; G (2K×(D+1)): [G_N loss/K; G_Ṅ 0]
//	ctl: the control record (state, then the chunk's losses); netc: the
//	  network's constants (length, E0, seed, Z0)
//
// Forward: hnn_layer1; for l >= 2, A_l = H_{l-1} Θ_l and hnn_act_layer;
// NO = H_L Θ_o; hnn_point. Backward: grad_o = H_Lᵀ G (its last row sums
// G_N and the loss, through H_L's column of ones); GH_L = G_N|Ṅ W_oᵀ; for
// l = L…1: hnn_act_back, grad_l = H_{l-1}ᵀ GH_l (H_0 = U) and, for l >= 2,
// GH_{l-1} = GH_l W_lᵀ. Then hnn_book and hnn_adam.
//
// The times' perturbations come from Philox4x32-10 keyed by Net.Seed with
// the counter (epoch, point): deterministic for a seed, but not the CPU
// engine's stream (math/rand), so a CPU and a GPU run of the same Settings
// see different times unless Net.Perturb < 0.
type Engine struct {
	cfg    Config
	s      Session
	graph  Graph
	b, k   int
	d      int
	widths []int // 1, hidden…, D
	p, pp  int   // parameters per network, and their stride
	gp     int   // stride of grad
	offs   []int // offset of layer l's [W; b] in θ, l = 0…L
	offOut int
	loss   int // offset of the loss in grad
	chunk  int
	cs     int // stride of ctl: sLosses + chunk

	ratesCtl, rates, ctl          Span
	theta, m, v, best, last, grad Span
	netc                          Span
	u, f, no, g, eps              Span
	h, a, gh                      []Span // per hidden layer
	us, fs, nos, gs, ns           int
	hs, as, ghs                   []int

	host    []float64 // rates and ctl (from ctl.Off), as last written or read
	hasLast []bool    // a stop by the context saved the network's weights in last
	scratch []float64
	closed  bool
}

// New builds the Engine for cfg on dev: compiles the kernels, allocates and
// initialises the memory and captures the epoch.
func New(dev Device, cfg Config) (eng *Engine, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	src, err := Source(cfg.Program)
	if err != nil {
		return nil, err
	}
	ks, err := Kernels()
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, b: len(cfg.Nets), k: cfg.Points, d: cfg.Program.NumInputs}
	e.layout()
	total := e.allocate()
	s, err := dev.Open(src, ks, total)
	if err != nil {
		return nil, err
	}
	e.s = s
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if err := e.initialise(); err != nil {
		return nil, err
	}
	if !cfg.Direct {
		// A warm-up first, which changes nothing that the next epoch does
		// not compute anew: cuBLAS and the driver load code lazily, which
		// they must not do while a capture records.
		if err := e.lossAndGradient(); err != nil {
			return nil, err
		}
		if err := s.CopyOut(e.scratch[:1], e.grad); err != nil {
			return nil, err
		}
		if e.graph, err = s.Capture(e.epoch); err != nil {
			return nil, fmt.Errorf("gpu: capturing the epoch: %w", err)
		}
	}
	return e, nil
}

func (c *Config) check() error {
	if c.Program == nil {
		return errors.New("gpu: no program")
	}
	d := c.Program.NumInputs
	if d > MaxDim {
		// Each GPU thread holds H, ∇H and D²H of its point: 1+D+D² values.
		return fmt.Errorf("gpu: dimension %d: the GPU engine takes at most %d (train on the CPU)", d, MaxDim)
	}
	if len(c.Hidden) == 0 {
		return errors.New("gpu: no hidden layer")
	}
	for _, w := range c.Hidden {
		if w < 1 {
			return fmt.Errorf("gpu: hidden widths %v", c.Hidden)
		}
	}
	if c.Points < 2 {
		return fmt.Errorf("gpu: %d points, want >= 2", c.Points)
	}
	if c.Activation < Sin || c.Activation > Tanh || c.Param < Exponential || c.Param > Linear {
		return fmt.Errorf("gpu: activation %d, parametrisation %d", c.Activation, c.Param)
	}
	if len(c.Nets) == 0 {
		return errors.New("gpu: no networks")
	}
	widths := append(append([]int{1}, c.Hidden...), d)
	for i, n := range c.Nets {
		if len(n.Z0) != d {
			return fmt.Errorf("gpu: network %d: Z0 has %d values, want %d", i, len(n.Z0), d)
		}
		if !(n.Length > 0) || math.IsInf(n.Length, 0) {
			return fmt.Errorf("gpu: network %d: length %v", i, n.Length)
		}
		if math.IsNaN(n.Perturb) || math.IsInf(n.Perturb, 0) {
			return fmt.Errorf("gpu: network %d: perturbation %v", i, n.Perturb)
		}
		if len(n.Params) != 2*(len(widths)-1) {
			return fmt.Errorf("gpu: network %d: %d parameter tensors, want %d", i, len(n.Params), 2*(len(widths)-1))
		}
		for l := 0; l+1 < len(widths); l++ {
			if len(n.Params[2*l]) != widths[l]*widths[l+1] || len(n.Params[2*l+1]) != widths[l+1] {
				return fmt.Errorf("gpu: network %d: layer %d has %d weights and %d biases, want %d and %d", i, l+1,
					len(n.Params[2*l]), len(n.Params[2*l+1]), widths[l]*widths[l+1], widths[l+1])
			}
		}
	}
	return nil
}

// MaxDim is the largest phase-space dimension D the engine takes: each
// thread of hnn_point holds D²H of its point in local memory.
const MaxDim = 32

// round4 rounds n up to a multiple of 4 float64s (32 bytes).
func round4(n int) int { return (n + 3) &^ 3 }

// layout computes the parameter layout.
func (e *Engine) layout() {
	e.widths = append(append([]int{1}, e.cfg.Hidden...), e.d)
	L := len(e.cfg.Hidden)
	off := 0
	for l := 0; l <= L; l++ {
		e.offs = append(e.offs, off)
		off += (e.widths[l] + 1) * e.widths[l+1]
	}
	e.p, e.pp = off, round4(off)
	e.offOut = e.offs[L]
	wl := e.widths[L]
	e.loss = e.offOut + wl*(e.d+1) + e.d
	e.gp = round4(e.offOut + (wl+1)*(e.d+1))
	e.chunk = e.cfg.SubChunk
	if e.chunk <= 0 {
		e.chunk = 64
	}
	e.cs = round4(sLosses + e.chunk)
}

// allocate lays the buffers out in the arena and returns its size.
func (e *Engine) allocate() int {
	next := 0
	take := func(n int) Span {
		s := Span{next, n}
		next += round4(n)
		return s
	}
	b, k, d := e.b, e.k, e.d
	// rates and ctl are adjacent: one copy writes both.
	e.rates = take(e.chunk)
	e.ctl = Span{next, b * e.cs}
	next += b * e.cs
	e.ratesCtl = Span{0, next}
	e.theta, e.m, e.v, e.best, e.last = take(b*e.pp), take(b*e.pp), take(b*e.pp), take(b*e.pp), take(b*e.pp)
	e.grad = take(b * e.gp)
	e.ns = round4(ncZ0 + d)
	e.netc = take(b * e.ns)
	e.us, e.fs, e.nos, e.gs = round4(4*k), round4(2*k), round4(2*k*d), round4(2*k*(d+1))
	e.u, e.f, e.no, e.g = take(b*e.us), take(b*e.fs), take(b*e.nos), take(b*e.gs)
	e.eps = take(b * k)
	for _, w := range e.cfg.Hidden {
		hs, as := round4(2*k*(w+1)), round4(2*k*w)
		e.hs, e.as, e.ghs = append(e.hs, hs), append(e.as, as), append(e.ghs, as)
		e.h, e.a, e.gh = append(e.h, take(b*hs)), append(e.a, take(b*as)), append(e.gh, take(b*as))
	}
	return next
}

// initialise writes the weights, the networks' constants and state, and
// the constant columns of the layers' inputs.
func (e *Engine) initialise() error {
	s := e.s
	theta := make([]float64, e.b*e.pp)
	netc := make([]float64, e.b*e.ns)
	for i, n := range e.cfg.Nets {
		e.pack(theta[i*e.pp:], n.Params)
		c := netc[i*e.ns:]
		c[ncLength], c[ncE0], c[ncSigma] = n.Length, n.E0, n.Perturb
		c[ncSeedLo], c[ncSeedHi] = float64(uint32(n.Seed)), float64(uint32(n.Seed>>32))
		copy(c[ncZ0:], n.Z0)
	}
	e.host = make([]float64, e.ratesCtl.Len)
	e.hasLast = make([]bool, e.b)
	for i := range e.b {
		st := e.host[e.ctl.Off+i*e.cs:]
		st[sPow1], st[sPow2] = 1, 1
		st[sKeptLoss], st[sKept] = math.Inf(1), -1
		st[sLastFrom] = math.Inf(1)
		st[sKeepFrom] = float64(e.cfg.KeepFrom)
	}
	for _, c := range []struct {
		dst Span
		src []float64
	}{{e.theta, theta}, {e.netc, netc}, {e.ratesCtl, e.host}} {
		if err := s.CopyIn(c.dst, c.src); err != nil {
			return err
		}
	}
	if err := s.Launch("hnn_init_aug", e.b*2*e.k, int64(e.b), int64(e.k), int64(1), int64(1), e.u, int64(e.us)); err != nil {
		return err
	}
	for l, w := range e.cfg.Hidden {
		if err := s.Launch("hnn_init_aug", e.b*2*e.k, int64(e.b), int64(e.k), int64(w), int64(0), e.h[l], int64(e.hs[l])); err != nil {
			return err
		}
	}
	e.scratch = make([]float64, max(e.pp, e.gp))
	return nil
}

// pack writes params (hnnsolve's order) into the packed θ of one network:
// W_l then b_l is [W_l; b_l] row-major.
func (e *Engine) pack(dst []float64, params [][]float64) {
	off := 0
	for _, p := range params {
		off += copy(dst[off:], p)
	}
}

// unpack is pack's inverse.
func (e *Engine) unpack(dst [][]float64, src []float64) {
	off := 0
	for _, p := range dst {
		off += copy(p, src[off:off+len(p)])
	}
}

// epoch queues one epoch of every network.
func (e *Engine) epoch() error {
	if err := e.lossAndGradient(); err != nil {
		return err
	}
	return e.bookAndStep()
}

// lossAndGradient queues the times, the forward pass, the loss and the
// backward pass: everything of an epoch but its bookkeeping and step,
// which alone change the training's state.
func (e *Engine) lossAndGradient() error {
	s, cfg := e.s, &e.cfg
	b, k, d := e.b, e.k, e.d
	B, K := int64(b), int64(k)
	L := len(cfg.Hidden)
	act := int64(cfg.Activation)
	w1 := cfg.Hidden[0]
	if err := s.Launch("hnn_layer1", b*k*w1, B, K, int64(w1), e.theta, int64(e.pp), e.ctl, int64(e.cs),
		e.netc, int64(e.ns), int64(cfg.Param), act, e.u, int64(e.us), e.f, int64(e.fs),
		e.a[0], int64(e.as[0]), e.h[0], int64(e.hs[0])); err != nil {
		return err
	}
	// in returns the input of layer l (0-based): U or H_{l-1}, its stride and width + 1.
	in := func(l int) (Span, int, int) {
		if l == 0 {
			return e.u, e.us, 2
		}
		return e.h[l-1], e.hs[l-1], cfg.Hidden[l-1] + 1
	}
	for l := 1; l < L; l++ {
		x, xs, xw := in(l)
		w := cfg.Hidden[l]
		if err := e.gemm(false, false, 2*k, w, xw, x, xw, xs, e.theta.At(e.offs[l], e.theta.Len-e.offs[l]), w, e.pp,
			e.a[l], w, e.as[l]); err != nil {
			return err
		}
		if err := s.Launch("hnn_act_layer", b*k*w, B, K, int64(w), act, e.a[l], int64(e.as[l]), e.h[l], int64(e.hs[l])); err != nil {
			return err
		}
	}
	x, xs, xw := in(L)
	thetaOut := e.theta.At(e.offOut, e.theta.Len-e.offOut)
	if err := e.gemm(false, false, 2*k, d, xw, x, xw, xs, thetaOut, d, e.pp, e.no, d, e.nos); err != nil {
		return err
	}
	if err := s.Launch("hnn_point", b*k, B, K, e.no, int64(e.nos), e.f, int64(e.fs), e.netc, int64(e.ns),
		cfg.Energy, 1/float64(k), e.g, int64(e.gs)); err != nil {
		return err
	}
	// grad_o = H_Lᵀ G, (w+1)×(D+1); GH_L = G[:, :D] W_oᵀ.
	if err := e.gemm(true, false, xw, d+1, 2*k, x, xw, xs, e.g, d+1, e.gs,
		e.grad.At(e.offOut, e.grad.Len-e.offOut), d+1, e.gp); err != nil {
		return err
	}
	wl := cfg.Hidden[L-1]
	if err := e.gemmT(2*k, wl, d, e.g, d+1, e.gs, thetaOut, d, e.pp, e.gh[L-1], wl, e.ghs[L-1]); err != nil {
		return err
	}
	for l := L - 1; l >= 0; l-- {
		w := cfg.Hidden[l]
		if err := s.Launch("hnn_act_back", b*k*w, B, K, int64(w), act, e.a[l], int64(e.as[l]), e.h[l], int64(e.hs[l]),
			e.gh[l], int64(e.ghs[l])); err != nil {
			return err
		}
		x, xs, xw := in(l)
		if err := e.gemm(true, false, xw, w, 2*k, x, xw, xs, e.gh[l], w, e.ghs[l],
			e.grad.At(e.offs[l], e.grad.Len-e.offs[l]), w, e.gp); err != nil {
			return err
		}
		if l > 0 {
			wp := cfg.Hidden[l-1]
			if err := e.gemmT(2*k, wp, w, e.gh[l], w, e.ghs[l], e.theta.At(e.offs[l], e.theta.Len-e.offs[l]), w, e.pp,
				e.gh[l-1], wp, e.ghs[l-1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// bookAndStep queues the epoch's bookkeeping, kept weights and Adam step.
func (e *Engine) bookAndStep() error {
	s, a, b := e.s, e.cfg.Adam, e.b
	B := int64(b)
	if err := s.Launch("hnn_book", b, B, e.ctl, int64(e.cs), e.grad, int64(e.gp), int64(e.loss), e.rates,
		a.Beta1, a.Beta2); err != nil {
		return err
	}
	return s.Launch("hnn_adam", b*e.p, B, int64(e.p), int64(e.offOut), e.theta, e.m, e.v, e.best, e.last, int64(e.pp),
		e.grad, int64(e.gp), e.ctl, int64(e.cs), a.Beta1, a.Beta2, 1e-8)
}

// gemm queues C = op(A) B (row-major) for every network: A m×kk (kk×m if
// transA) with rows lda apart, networks sa apart, and likewise B and C.
func (e *Engine) gemm(transA, transB bool, m, n, kk int, a Span, lda, sa int, b Span, ldb, sb int, c Span, ldc, sc int) error {
	return e.s.Gemm(&Gemm{TransA: transA, TransB: transB, M: m, N: n, K: kk, Alpha: 1,
		A: a, LDA: lda, StrideA: sa, B: b, LDB: ldb, StrideB: sb, C: c, LDC: ldc, StrideC: sc, Batch: e.b})
}

// gemmT queues C = A Wᵀ with W stored n×kk (the first n rows of a layer's
// [W; b], so Wᵀ is W's transpose).
func (e *Engine) gemmT(m, n, kk int, a Span, lda, sa int, w Span, ldw, sw int, c Span, ldc, sc int) error {
	return e.gemm(false, true, m, n, kk, a, lda, sa, w, ldw, sw, c, ldc, sc)
}

// N is the number of networks.
func (e *Engine) N() int { return e.b }

// Run trains epochs [from, to) of every network and stores network i's
// loss of epoch e in losses[i][e]. Each network stops as
// engine.Trainer.Run says: after the first epoch whose loss is below
// targetLoss (> 0), without its step; at a non-finite loss (Run then
// returns a *DivergedError for the first such network); and, when ctx is
// done (checked between chunks of at most Config.SubChunk epochs), after
// one more epoch, its step taken and the weights before it saved for
// Weights (Run then returns ctx.Err()). ends[i] is the epoch after network
// i's last one.
func (e *Engine) Run(ctx context.Context, from, to int, targetLoss float64, losses [][]float64) (ends []int, err error) {
	if e.closed {
		return nil, fmt.Errorf("%w: the engine is closed", ErrDevice)
	}
	if len(losses) != e.b {
		return nil, fmt.Errorf("gpu: %d loss slices for %d networks", len(losses), e.b)
	}
	ends = make([]int, e.b)
	done := make([]bool, e.b)
	for i := range ends {
		ends[i] = from
	}
	var diverged error
	running := e.b
	for ep := from; ep < to && running > 0; {
		n, lastFrom := min(e.chunk, to-ep), math.Inf(1)
		cancelled := ctx.Err() != nil
		if cancelled {
			n, lastFrom = 1, float64(ep)
		}
		if err := e.runChunk(ep, n, targetLoss, lastFrom, done); err != nil {
			return ends, err
		}
		ctxStop := false
		for i := range e.b {
			if done[i] {
				continue
			}
			st := e.host[e.ctl.Off+i*e.cs:]
			ran := n
			switch st[sStopped] {
			case stopTarget, stopCtx, stopDiverged:
				se := int(st[sStopEpoch])
				ran = se - ep + 1
				ends[i] = se + 1
				switch st[sStopped] {
				case stopDiverged:
					ends[i] = se
					if diverged == nil {
						diverged = &DivergedError{Net: i, Epoch: se, Loss: st[sLosses+se-ep]}
					}
				case stopCtx:
					ctxStop, e.hasLast[i] = true, true
				}
				done[i] = true
				running--
			default:
				ends[i] = ep + n
			}
			copy(losses[i][ep:ep+ran], st[sLosses:sLosses+ran])
		}
		if cancelled {
			if diverged != nil {
				return ends, diverged
			}
			if ctxStop {
				return ends, ctx.Err()
			}
			return ends, nil
		}
		ep += n
	}
	return ends, diverged
}

// runChunk runs n epochs from ep on the device: writes the step sizes and
// the networks' chunk settings, replays the epoch n times and reads the
// control records back. Networks marked done stay stopped.
func (e *Engine) runChunk(ep, n int, target, lastFrom float64, done []bool) error {
	for i := range n {
		e.host[i] = e.cfg.Adam.Rate(ep + i)
	}
	for i := range e.b {
		st := e.host[e.ctl.Off+i*e.cs:]
		if done[i] {
			continue
		}
		st[sStopped] = 0
		st[sEpoch], st[sBase] = float64(ep), float64(ep)
		st[sTarget], st[sLastFrom] = target, lastFrom
		st[sKeepFrom] = float64(e.cfg.KeepFrom)
	}
	if err := e.s.CopyIn(e.ratesCtl, e.host); err != nil {
		return err
	}
	for range n {
		var err error
		if e.graph != nil {
			err = e.graph.Launch()
		} else {
			err = e.epoch()
		}
		if err != nil {
			return err
		}
	}
	return e.s.CopyOut(e.host[e.ctl.Off:], e.ctl)
}

// Kept returns network i's kept epoch, -1 before any.
func (e *Engine) Kept(i int) int { return int(e.host[e.ctl.Off+i*e.cs+sKept]) }

// Weights copies network i's current weights into dst, in hnnsolve's
// parameter order; with kept, those of its kept epoch, or, when none was
// kept yet, those of the epoch a stop by the context ended (the last loss
// stored), or else the current ones, as the CPU engine.
func (e *Engine) Weights(i int, dst [][]float64, kept bool) error {
	src := e.theta
	switch {
	case kept && e.Kept(i) >= 0:
		src = e.best
	case kept && e.hasLast[i]:
		src = e.last
	}
	buf := e.scratch[:e.p]
	if err := e.s.CopyOut(buf, src.At(i*e.pp, e.p)); err != nil {
		return err
	}
	e.unpack(dst, buf)
	return nil
}

// Gradient copies network i's gradient ∂L/∂θ of its latest loss into dst,
// in hnnsolve's parameter order, and returns that loss.
func (e *Engine) Gradient(i int, dst [][]float64) (float64, error) {
	buf := e.scratch[:e.gp]
	if err := e.s.CopyOut(buf, e.grad.At(i*e.gp, e.gp)); err != nil {
		return 0, err
	}
	packed := make([]float64, e.p)
	copy(packed, buf[:e.offOut])
	d := e.d
	for p := e.offOut; p < e.p; p++ {
		r, c := (p-e.offOut)/d, (p-e.offOut)%d
		packed[p] = buf[e.offOut+r*(d+1)+c]
	}
	e.unpack(dst, packed)
	return buf[e.loss], nil
}

// Normals returns the perturbations ε of epoch ep that the device draws for
// each network's K times (before the factor Perturb): Normal's numbers,
// up to the last bits of the device's log and cos.
func (e *Engine) Normals(ep int) ([][]float64, error) {
	if err := e.s.Launch("hnn_normals", e.b*e.k, int64(e.b), int64(e.k), int64(ep), e.netc, int64(e.ns), e.eps); err != nil {
		return nil, err
	}
	buf := make([]float64, e.b*e.k)
	if err := e.s.CopyOut(buf, e.eps); err != nil {
		return nil, err
	}
	out := make([][]float64, e.b)
	for i := range out {
		out[i] = buf[i*e.k : (i+1)*e.k]
	}
	return out, nil
}

// Close frees the engine's memory, kernels and graph.
func (e *Engine) Close() error {
	if e == nil || e.closed {
		return nil
	}
	e.closed = true
	var err error
	if e.graph != nil {
		err = e.graph.Close()
	}
	if e.s != nil {
		if e2 := e.s.Close(); err == nil {
			err = e2
		}
	}
	return err
}
