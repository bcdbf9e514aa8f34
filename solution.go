package hnnsolve

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"
)

// Solution is a trained Hamiltonian network: a continuous, differentiable
// approximation ẑ(t) = Z0 + f(t) N(t - T0) of the solution on [T0, T]. Its
// methods are safe for concurrent use.
//
// At, Trajectory, Velocity, Energy and Residual evaluate the network's
// formula at any time they are given: outside [T0, T] that is an
// extrapolation, which the paper notes grows rapidly inaccurate away from
// the interval (StateAt refuses it), and a time that is not finite gives
// NaN in its entries. A zero Solution holds no network: its methods return
// nil, an empty matrix or an error.
type Solution struct {
	// EpochsRun is the number of epochs trained.
	EpochsRun int
	// BestEpoch is the epoch whose weights were kept.
	BestEpoch int
	// EarlyStop reports that training stopped at Settings.TargetLoss.
	EarlyStop bool
	// TrainTime is the wall time of training, all stages.
	TrainTime time.Duration
	// Stages records each optimisation stage: Adam, then L-BFGS if asked.
	Stages []Stage
	// Target records the checks of Settings.TargetError (nil when it is 0).
	Target *TargetResult
	// Recipe records what Settings.TargetError chose when it drove the
	// recipe (recipe.go; nil otherwise). It is not saved by Save.
	Recipe *Recipe

	problem  Problem
	settings Settings
	form     formulation // nil: the Hamiltonian one
	segs     []segment   // one network per segment of [T0, T], in time order
	loss     []float64
	e0       float64

	mu   sync.Mutex // guards eval
	eval *hamiltonianEvaluator
}

// Problem returns the problem that was solved.
func (s *Solution) Problem() Problem {
	p := s.problem
	p.Z0 = slices.Clone(p.Z0)
	return p
}

// Settings returns the settings used, defaults filled in.
func (s *Solution) Settings() Settings {
	r := s.settings
	r.Hidden = slices.Clone(r.Hidden)
	return r
}

// Formulation names how the Solution was trained: "hamiltonian" (Solve),
// "lagrangian" (SolveLagrangian with a potential V) or "euler-lagrange"
// (SolveLagrangian with a general Lagrangian L).
func (s *Solution) Formulation() string { return s.formulation().kind() }

// E0 returns H(Z0), the energy the exact solution conserves.
func (s *Solution) E0() float64 { return s.e0 }

// Loss returns the loss of every epoch trained (Eq. 7).
func (s *Solution) Loss() []float64 { return slices.Clone(s.loss) }

func (s *Solution) dim() int { return len(s.problem.Z0) }

// segment is one network of the chain and the interval it solves:
// ẑ(t) = z0 + f(t - t0) N(t - t0) on [t0, t1].
type segment struct {
	t0, t1 float64
	z0     []float64
	net    *network
}

// segmentAt returns the segment that covers t: the last one whose t0 <= t
// (so a boundary belongs to the segment it starts), the first before T0.
func (s *Solution) segmentAt(t float64) *segment {
	i, _ := slices.BinarySearchFunc(s.segs, t, func(sg segment, t float64) int {
		if sg.t0 <= t {
			return -1
		}
		return 1
	})
	return &s.segs[max(i-1, 0)]
}

// maxWidth is the widest layer over the segments' networks.
func (s *Solution) maxWidth() int {
	w := 0
	for _, sg := range s.segs {
		w = max(w, sg.net.maxWidth())
	}
	return w
}

// Segments returns the boundaries of the chained segments, T0 = b[0] <
// b[1] < ... < b[len-1] = T (two values without chaining).
func (s *Solution) Segments() []float64 {
	if s.empty() {
		return nil
	}
	b := []float64{s.segs[0].t0}
	for _, sg := range s.segs {
		b = append(b, sg.t1)
	}
	return b
}

// point computes ẑ(t) and dẑ/dt into z, dz (either may be nil), by the
// formulation's trial solution of the segment that covers t.
func (s *Solution) point(t float64, z, dz []float64, w *pointWork) {
	sg := s.segmentAt(t)
	s.formulation().state(sg.net, s.settings.Param, t, sg.t0, sg.z0, z, dz, w)
}

// formulation returns the Solution's formulation (Hamiltonian when unset).
func (s *Solution) formulation() formulation {
	if s.form == nil {
		return hamiltonianForm{}
	}
	return s.form
}

// newPointWork returns the work space of point.
func (s *Solution) newPointWork() *pointWork { return newPointWork(s.dim(), s.maxWidth()) }

// newNet returns an uninitialised network of the Solution's architecture.
func (s *Solution) newNet() *network {
	return newNetwork(s.settings.Hidden, s.formulation().outputs(s.dim()), s.settings.Activation)
}

// states evaluates ẑ and dẑ/dt at ts into row-major buffers (either may be nil).
func (s *Solution) states(ts []float64, z, dz []float64) {
	d := s.dim()
	w := s.newPointWork()
	for k, t := range ts {
		var zk, dzk []float64
		if z != nil {
			zk = z[k*d : (k+1)*d]
		}
		if dz != nil {
			dzk = dz[k*d : (k+1)*d]
		}
		s.point(t, zk, dzk, w)
	}
}

// empty reports a Solution that holds no network (the zero value).
func (s *Solution) empty() bool { return len(s.segs) == 0 }

// At returns ẑ(t), len 2d, at any t (see Solution on extrapolation; StateAt
// checks t). At(T0) is Z0 exactly. With chaining, ẑ is continuous at the
// segment boundaries (each segment starts exactly at the end state of the
// one before) and dẑ/dt there is the later segment's.
func (s *Solution) At(t float64) []float64 {
	if s.empty() {
		return nil
	}
	z := make([]float64, s.dim())
	s.states([]float64{t}, z, nil)
	return z
}

// StateAt returns ẑ(t) for t in [T0, T], and an error wrapping ErrProblem
// for a t outside the interval the network was trained on, or not finite.
func (s *Solution) StateAt(t float64) ([]float64, error) {
	if s.empty() {
		return nil, fmt.Errorf("%w: the Solution holds no network", ErrProblem)
	}
	if !(t >= s.problem.T0 && t <= s.problem.T) {
		return nil, fmt.Errorf("%w: t = %v is outside the trained interval [%v, %v]", ErrProblem, t, s.problem.T0, s.problem.T)
	}
	return s.At(t), nil
}

func (s *Solution) dense(ts []float64, data []float64) *mat.Dense {
	if len(ts) == 0 || s.empty() {
		return &mat.Dense{}
	}
	return mat.NewDense(len(ts), s.dim(), data)
}

// Trajectory returns ẑ at the times ts, one row per time (len(ts) × 2d).
func (s *Solution) Trajectory(ts []float64) *mat.Dense {
	if s.empty() {
		return &mat.Dense{}
	}
	z := make([]float64, len(ts)*s.dim())
	s.states(ts, z, nil)
	return s.dense(ts, z)
}

// Velocity returns dẑ/dt at the times ts (len(ts) × 2d), exact: by the
// network's forward tangent, not by finite differences.
func (s *Solution) Velocity(ts []float64) *mat.Dense {
	if s.empty() {
		return &mat.Dense{}
	}
	dz := make([]float64, len(ts)*s.dim())
	s.states(ts, nil, dz)
	return s.dense(ts, dz)
}

// evalH evaluates H and ∇H along the solution at ts.
func (s *Solution) evalH(ts []float64, energy, grad, z, dz []float64) error {
	if s.empty() {
		return fmt.Errorf("%w: the Solution holds no network", ErrProblem)
	}
	s.states(ts, z, dz)
	d := s.dim()
	rows := make([][]float64, len(ts))
	for k := range rows {
		rows[k] = z[k*d : (k+1)*d]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eval == nil {
		ev, err := newHamiltonianEvaluator(s.problem.H, d, 64, false)
		if err != nil {
			return err
		}
		s.eval = ev
	}
	return s.eval.eval(rows, energy, grad, nil)
}

// Energy returns H(ẑ(t)) at the times ts. It returns nil only for a zero
// Solution or if H, which was checked when the Solution was made, fails to
// evaluate.
func (s *Solution) Energy(ts []float64) []float64 {
	d := s.dim()
	e := make([]float64, len(ts))
	if err := s.evalH(ts, e, nil, make([]float64, len(ts)*d), nil); err != nil {
		return nil
	}
	return e
}

// Residual returns |ℓ(t)| = |dẑ/dt - J ∇H(ẑ)| (Eq. 14, Euclidean norm) at
// the times ts. It returns nil only for a zero Solution or if H fails to
// evaluate.
func (s *Solution) Residual(ts []float64) []float64 {
	ell, err := s.residualVectors(ts)
	if err != nil {
		return nil
	}
	d := s.dim()
	r := make([]float64, len(ts))
	for k := range r {
		r[k] = norm2(ell[k*d : (k+1)*d])
	}
	return r
}

// residualVectors returns ℓ(t) of Eq. 14 at ts, row-major.
func (s *Solution) residualVectors(ts []float64) ([]float64, error) {
	if rf, ok := s.formulation().(residualForm); ok {
		if s.empty() {
			return nil, fmt.Errorf("%w: the Solution holds no network", ErrProblem)
		}
		return rf.residuals(s, ts)
	}
	dim := s.dim()
	d := dim / 2
	z, dz, grad := make([]float64, len(ts)*dim), make([]float64, len(ts)*dim), make([]float64, len(ts)*dim)
	if err := s.evalH(ts, nil, grad, z, dz); err != nil {
		return nil, err
	}
	ell := dz // ℓ = ż - J∇H, in place
	for k := range ts {
		g, l := grad[k*dim:(k+1)*dim], ell[k*dim:(k+1)*dim]
		for i := range d {
			l[i] -= g[d+i]
			l[d+i] += g[i]
		}
	}
	return ell, nil
}

func norm2(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// Model file format: a versioned JSON document; encoding/json writes
// float64 in the shortest form that reads back to the same bits.
const (
	modelFormat = "hnnsolve-model"
	// modelVersion 2: the network's input is τ = t - t0 of its segment
	// (version 1 fed it t) and the settings are stored.
	// modelVersion 3: the formulation is recorded ("hamiltonian", or
	// "lagrangian" and "euler-lagrange" for SolveLagrangian with V or L,
	// whose segments' z0 hold the initial positions and velocities
	// (q0, v0) and whose networks have d outputs). Version 2 files, which
	// have no formulation, read as Hamiltonian.
	modelVersion = 3
	// modelVersionMin is the oldest version Load reads.
	modelVersionMin = 2
)

type modelFile struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Formulation is the trial solution's kind (absent in version 2).
	Formulation string         `json:"formulation,omitempty"`
	Dtype       string         `json:"dtype"`
	Z0          []float64      `json:"z0"`
	T0          float64        `json:"t0"`
	T           float64        `json:"t"`
	Settings    modelSettings  `json:"settings"`
	EpochsRun   int            `json:"epochs_run"`
	BestEpoch   int            `json:"best_epoch"`
	EarlyStop   bool           `json:"early_stop"`
	Segments    []modelSegment `json:"segments"`
	Loss        []float64      `json:"loss"`
	// Checksum is the SHA-256 of the document's JSON encoding with this
	// field empty: corruption (a changed digit, a lost line) is detected.
	Checksum string `json:"checksum"`
}

// sum returns the checksum of m.
func (m modelFile) sum() (string, error) {
	m.Checksum = ""
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// modelSettings is Settings as trained, defaults filled in, without the
// Progress callback.
type modelSettings struct {
	Points         int     `json:"points"`
	Hidden         []int   `json:"hidden"`
	Activation     string  `json:"activation"`
	Param          string  `json:"param"`
	Epochs         int     `json:"epochs"`
	LearnRate      float64 `json:"learn_rate"`
	LearnRateFinal float64 `json:"learn_rate_final"`
	Beta1          float64 `json:"beta1"`
	Beta2          float64 `json:"beta2"`
	Energy         float64 `json:"energy"`
	Perturb        float64 `json:"perturb"`
	Seed           int64   `json:"seed"`
	TargetLoss     float64 `json:"target_loss"`
	TargetError    float64 `json:"target_error"`
	TargetCheck    string  `json:"target_check"`
	CheckEvery     int     `json:"check_every"`
	LBFGS          int     `json:"lbfgs"`
	LM             int     `json:"lm"`
	RefinePoints   int     `json:"refine_points"`
	Segments       int     `json:"segments"`
	Retries        int     `json:"retries"`
	RetryLoss      float64 `json:"retry_loss"`
	ProgressEvery  int     `json:"progress_every"`
	Device         string  `json:"device"`
	// BundleMargin is omitted when zero (every Solution, and the bundles
	// saved before it was a setting), so that older files keep their
	// checksums.
	BundleMargin float64 `json:"bundle_margin,omitempty"`
}

func newModelSettings(s Settings) modelSettings {
	return modelSettings{
		Points: s.Points, Hidden: s.Hidden, Activation: s.Activation.String(), Param: s.Param.String(),
		Epochs: s.Epochs, LearnRate: s.LearnRate, LearnRateFinal: s.LearnRateFinal, Beta1: s.Beta1, Beta2: s.Beta2,
		Energy: s.Energy, Perturb: s.Perturb, Seed: s.Seed, TargetLoss: s.TargetLoss, TargetError: s.TargetError,
		TargetCheck: s.TargetCheck.String(), CheckEvery: s.CheckEvery, LBFGS: s.LBFGS, LM: s.LM,
		RefinePoints: s.RefinePoints, Segments: s.Segments, Retries: s.Retries, RetryLoss: s.RetryLoss,
		ProgressEvery: s.ProgressEvery, Device: s.Device.String(), BundleMargin: s.BundleMargin,
	}
}

// MaxModelBytes is the largest model file Load reads (1 GiB): decoding
// allocates about as much as it reads.
const MaxModelBytes = 1 << 30

// Limits on what a model file may ask Load to allocate beyond its own
// size: evaluation buffers scale with the widest layer, Analyze's grids with
// Points and RefinePoints.
const (
	maxModelLayers = 64
	maxModelWidth  = 1 << 16
	maxModelPoints = 1 << 20
)

// settings checks the stored settings against the limits and the rules of
// Settings.resolve and returns them.
func (m modelSettings) settings(p Problem) (Settings, error) {
	switch {
	case len(m.Hidden) > maxModelLayers:
		return Settings{}, fmt.Errorf("%d hidden layers, at most %d", len(m.Hidden), maxModelLayers)
	case m.Points > maxModelPoints || m.RefinePoints > maxModelPoints:
		return Settings{}, fmt.Errorf("points %d and refine_points %d, at most %d", m.Points, m.RefinePoints, maxModelPoints)
	}
	for _, w := range m.Hidden {
		if w < 1 || w > maxModelWidth {
			return Settings{}, fmt.Errorf("hidden width %d, want 1 to %d", w, maxModelWidth)
		}
	}
	act, err := ParseActivation(m.Activation)
	if err != nil {
		return Settings{}, err
	}
	param, err := ParseParam(m.Param)
	if err != nil {
		return Settings{}, err
	}
	check, err := ParseTargetCheck(m.TargetCheck)
	if err != nil {
		return Settings{}, err
	}
	dev, err := ParseDevice(m.Device)
	if err != nil {
		return Settings{}, err
	}
	s := Settings{
		Points: m.Points, Hidden: m.Hidden, Activation: act, Param: param, Epochs: m.Epochs,
		LearnRate: m.LearnRate, LearnRateFinal: m.LearnRateFinal, Beta1: m.Beta1, Beta2: m.Beta2,
		Energy: m.Energy, Perturb: m.Perturb, Seed: m.Seed, TargetLoss: m.TargetLoss, TargetError: m.TargetError,
		TargetCheck: check, CheckEvery: m.CheckEvery, LBFGS: m.LBFGS, LM: m.LM, RefinePoints: m.RefinePoints,
		Segments: m.Segments, Retries: m.Retries, RetryLoss: m.RetryLoss, ProgressEvery: m.ProgressEvery,
		Device: dev, BundleMargin: m.BundleMargin,
	}
	// Stored settings were resolved: resolving them again must change
	// nothing, and checks every range.
	r, err := s.resolve(p)
	if err != nil {
		return Settings{}, err
	}
	if r.Points != s.Points || r.Epochs != s.Epochs || r.RefinePoints != s.RefinePoints || r.Segments != s.Segments ||
		r.CheckEvery != s.CheckEvery || r.ProgressEvery != s.ProgressEvery || r.Perturb != s.Perturb {
		return Settings{}, fmt.Errorf("settings are not complete (a zero where training stores its value)")
	}
	return r, nil
}

type modelSegment struct {
	T0     float64      `json:"t0"`
	T      float64      `json:"t"`
	Z0     []float64    `json:"z0"`
	Params []modelParam `json:"params"`
}

type modelParam struct {
	Name   string    `json:"name"`
	Shape  []int     `json:"shape"`
	Values []float64 `json:"values"`
}

// Save writes the trained network and what is needed to evaluate it as a
// versioned JSON document. Weights round-trip exactly.
func (s *Solution) Save(w io.Writer) error {
	if s.empty() {
		return fmt.Errorf("%w: the Solution holds no network", ErrModel)
	}
	if s.segs[0].net.inputs != nil {
		return fmt.Errorf("%w: a bundle's member is a view on the Bundle's networks: save the Bundle", ErrModel)
	}
	m := modelFile{
		Format: modelFormat, Version: modelVersion, Formulation: s.formulation().kind(), Dtype: "float64",
		Z0: s.problem.Z0, T0: s.problem.T0, T: s.problem.T, Settings: newModelSettings(s.settings),
		EpochsRun: s.EpochsRun, BestEpoch: s.BestEpoch, EarlyStop: s.EarlyStop,
		Loss: s.loss,
	}
	for _, sg := range s.segs {
		ps, err := sg.net.modelParams()
		if err != nil {
			return err
		}
		m.Segments = append(m.Segments, modelSegment{T0: sg.t0, T: sg.t1, Z0: sg.z0, Params: ps})
	}
	if err := checkLossHistory(s.loss); err != nil {
		return err
	}
	sum, err := m.sum()
	if err != nil {
		return fmt.Errorf("hnnsolve: saving model: %w", err)
	}
	m.Checksum = sum
	enc := json.NewEncoder(w)
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("hnnsolve: saving model: %w", err)
	}
	return nil
}

// modelParams returns the network's parameters as they are saved, or an
// error wrapping ErrModel for a weight that is not finite.
func (n *network) modelParams() ([]modelParam, error) {
	ps := make([]modelParam, len(n.params))
	for i, p := range n.params {
		for _, v := range p {
			if !isFinite(v) {
				return nil, fmt.Errorf("%w: weight %s is not finite", ErrModel, n.paramName(i))
			}
		}
		ps[i] = modelParam{Name: n.paramName(i), Shape: n.shape(i), Values: p}
	}
	return ps, nil
}

// checkModelParams checks saved parameter arrays against the layer widths
// (input, hidden…, output) before any network is allocated for them: their
// number, each shape and length, and that every value is finite.
func checkModelParams(ps []modelParam, widths []int) error {
	if len(ps) != 2*(len(widths)-1) {
		return fmt.Errorf("%d parameter arrays, want %d", len(ps), 2*(len(widths)-1))
	}
	for i, mp := range ps {
		l := i / 2
		shape := []int{widths[l], widths[l+1]}
		if i%2 == 1 {
			shape[0] = 1
		}
		if !slices.Equal(mp.Shape, shape) || len(mp.Values) != shape[0]*shape[1] {
			return fmt.Errorf("parameter %d %s has shape %v and %d values, want %v", i, mp.Name, mp.Shape, len(mp.Values), shape)
		}
		for _, v := range mp.Values {
			if !isFinite(v) {
				return fmt.Errorf("parameter %s is not finite", mp.Name)
			}
		}
	}
	return nil
}

// setModelParams copies parameter arrays checked by checkModelParams into
// the network, refusing one saved under another name.
func (n *network) setModelParams(ps []modelParam) error {
	for i, mp := range ps {
		if mp.Name != n.paramName(i) {
			return fmt.Errorf("parameter %d is %s, want %s", i, mp.Name, n.paramName(i))
		}
		copy(n.params[i], mp.Values)
	}
	return nil
}

// checkLossHistory refuses to save a loss history that is not finite.
func checkLossHistory(loss []float64) error {
	for _, v := range loss {
		if !isFinite(v) {
			return fmt.Errorf("%w: loss history is not finite", ErrModel)
		}
	}
	return nil
}

// Load reads a model written by Save for the Problem p, which must be the
// one it was trained for (same Z0, T0, T; H is not stored and is taken from
// p). A model file may come from anywhere: Load reads at most MaxModelBytes,
// checks the checksum, and checks every size (at most 64 hidden layers of
// at most 65536 units, Points and RefinePoints at most 2^20, each array as
// long as the architecture says) before it allocates the network; anything
// else is an error wrapping ErrModel, never a panic.
//
// Load reads Hamiltonian models; a model of SolveLagrangian is read by
// LoadLagrangian.
func Load(r io.Reader, p Problem) (sol *Solution, err error) {
	defer recoverGorgonia(&err, ErrModel)
	if err := p.validate(); err != nil {
		return nil, err
	}
	return load(r, p, hamiltonianForm{})
}

// decodeModelFile decodes the JSON document of a model or bundle file
// from r into v, reading at most MaxModelBytes (decoding allocates about
// what it reads) and refusing unknown fields, and checks its checksum;
// errors wrap ErrModel.
func decodeModelFile(r io.Reader, v checkedFile) error {
	lr := &io.LimitedReader{R: r, N: MaxModelBytes + 1}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if lr.N <= 0 {
			return fmt.Errorf("%w: larger than MaxModelBytes = %d", ErrModel, MaxModelBytes)
		}
		return fmt.Errorf("%w: %w", ErrModel, err)
	}
	if sum, err := v.sum(); err != nil || sum != v.storedSum() {
		return fmt.Errorf("%w: checksum mismatch: the file is corrupt or was edited", ErrModel)
	}
	return nil
}

// checkedFile is a model file with its SHA-256 checksum: sum computes it,
// storedSum is the one the file holds.
type checkedFile interface {
	sum() (string, error)
	storedSum() string
}

func (m *modelFile) storedSum() string  { return m.Checksum }
func (m *bundleFile) storedSum() string { return m.Checksum }

// load reads a model of the formulation form for the validated problem p.
func load(r io.Reader, p Problem, form formulation) (*Solution, error) {
	var m modelFile
	if err := decodeModelFile(r, &m); err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) (*Solution, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrModel}, args...)...)
	}
	switch {
	case m.Format != modelFormat:
		return bad("format %q, want %q", m.Format, modelFormat)
	case m.Version < modelVersionMin || m.Version > modelVersion:
		return bad("version %d, this library reads versions %d to %d", m.Version, modelVersionMin, modelVersion)
	case m.Version == modelVersionMin && m.Formulation != "":
		return bad("version %d has no formulation, this one names %q", m.Version, m.Formulation)
	case m.Version > modelVersionMin && m.Formulation == "":
		return bad("version %d without a formulation", m.Version)
	case m.Dtype != "float64":
		return bad("dtype %q, want float64", m.Dtype)
	case !slices.Equal(m.Z0, p.Z0):
		return bad("model was trained for Z0 = %v, problem has %v", m.Z0, p.Z0)
	case m.T0 != p.T0 || m.T != p.T:
		return bad("model was trained on [%v, %v], problem has [%v, %v]", m.T0, m.T, p.T0, p.T)
	}
	if f, ok := formulationByKind(m.Formulation); !ok {
		return bad("unknown formulation %q", m.Formulation)
	} else if f.kind() != form.kind() {
		return bad("a model of the %s formulation, read as %s (Load reads Hamiltonian models, LoadLagrangian Lagrangian ones)", f.kind(), form.kind())
	}
	set, err := m.Settings.settings(p)
	if err != nil {
		return bad("settings: %v", err)
	}
	if len(m.Segments) == 0 || len(m.Segments) != set.Segments {
		return bad("%d segments, settings say %d", len(m.Segments), set.Segments)
	}
	widths := append(append([]int{1}, set.Hidden...), form.outputs(len(p.Z0)))
	var segs []segment
	for k, ms := range m.Segments {
		prev := p.T0
		if k > 0 {
			prev = m.Segments[k-1].T
		}
		if ms.T0 != prev || !(ms.T > ms.T0) || len(ms.Z0) != len(p.Z0) || (k == len(m.Segments)-1 && ms.T != p.T) {
			return bad("segment %d [%v, %v] does not continue the chain over [%v, %v]", k, ms.T0, ms.T, p.T0, p.T)
		}
		if err := checkState(ms.Z0); err != nil {
			return bad("segment %d: %v", k, err)
		}
		if k == 0 && !slices.Equal(ms.Z0, p.Z0) {
			return bad("segment 0 starts at %v, want Z0 = %v", ms.Z0, p.Z0)
		}
		// Check every array against the architecture before allocating
		// the network, so a file can never make Load allocate more than
		// the values it holds.
		if err := checkModelParams(ms.Params, widths); err != nil {
			return bad("segment %d: %v", k, err)
		}
		net := newNetwork(set.Hidden, form.outputs(len(p.Z0)), set.Activation)
		if err := net.setModelParams(ms.Params); err != nil {
			return bad("segment %d: %v", k, err)
		}
		segs = append(segs, segment{t0: ms.T0, t1: ms.T, z0: slices.Clone(ms.Z0), net: net})
	}
	if m.EpochsRun < 0 || len(m.Loss) != m.EpochsRun || m.BestEpoch < 0 || (m.EpochsRun > 0 && m.BestEpoch >= m.EpochsRun) {
		return bad("epochs_run %d, best_epoch %d with %d losses", m.EpochsRun, m.BestEpoch, len(m.Loss))
	}
	e0, ev, err := p.energyAt()
	if err != nil {
		return nil, err
	}
	return &Solution{
		EpochsRun: m.EpochsRun, BestEpoch: m.BestEpoch, EarlyStop: m.EarlyStop,
		problem: Problem{H: p.H, Z0: slices.Clone(p.Z0), T0: p.T0, T: p.T}, settings: set, form: form,
		segs: segs, loss: m.Loss, e0: e0, eval: ev,
	}, nil
}
