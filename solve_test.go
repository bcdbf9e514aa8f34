package hnnsolve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func quickSettings() *Settings {
	return &Settings{Points: 40, Hidden: []int{12, 12}, Epochs: 300, Seed: 3}
}

func oscillatorProblem() Problem {
	return Problem{H: oscillatorH, Z0: []float64{1.3, 1}, T0: 0, T: 4 * math.Pi}
}

func TestInitialConditionExact(t *testing.T) {
	p := oscillatorProblem()
	p.T0, p.T = 0.5, 3
	sol, err := Solve(p, quickSettings())
	if err != nil {
		t.Fatal(err)
	}
	if z := sol.At(p.T0); !slices.Equal(z, p.Z0) {
		t.Errorf("z(T0) = %v, want Z0 = %v exactly", z, p.Z0)
	}
	set := quickSettings()
	set.Param = Linear
	sol, err = Solve(p, set)
	if err != nil {
		t.Fatal(err)
	}
	if z := sol.At(p.T0); !slices.Equal(z, p.Z0) {
		t.Errorf("linear f: z(T0) = %v, want Z0 = %v exactly", z, p.Z0)
	}
}

// TestVelocityMatchesFiniteDifference: dz/dt from the forward tangent agrees
// with a central difference of the trajectory; with h = 1e-5 the difference
// is O(h² z”') + O(ε/h) ~ 1e-10, far inside 1e-6.
func TestVelocityMatchesFiniteDifference(t *testing.T) {
	for _, act := range []Activation{Sin, Sigmoid, Tanh} {
		set := quickSettings()
		set.Activation = act
		sol, err := Solve(Problem{H: henonHeilesH, Z0: []float64{0.3, -0.3, 0.3, 0.15}, T: 6}, set)
		if err != nil {
			t.Fatal(err)
		}
		ts := []float64{0.3, 1.7, 2.9, 5.5}
		v := sol.Velocity(ts)
		const h = 1e-5
		for k, tt := range ts {
			zp, zm := sol.At(tt+h), sol.At(tt-h)
			for i := range zp {
				fd := (zp[i] - zm[i]) / (2 * h)
				if d := math.Abs(v.At(k, i) - fd); d > 1e-6*math.Max(1, math.Abs(fd)) {
					t.Errorf("%v: dz%d/dt(%v) = %v, finite difference %v", act, i, tt, v.At(k, i), fd)
				}
			}
		}
	}
}

func TestDeterministicGivenSeed(t *testing.T) {
	a, err := Solve(oscillatorProblem(), quickSettings())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Solve(oscillatorProblem(), quickSettings())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Loss(), b.Loss()) {
		t.Error("same seed, different loss histories")
	}
	set := quickSettings()
	set.Seed = 4
	c, err := Solve(oscillatorProblem(), set)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a.Loss(), c.Loss()) {
		t.Error("different seeds, same loss history")
	}
}

func TestTrainingLowersLossAndKeepsBest(t *testing.T) {
	var calls int
	set := quickSettings()
	set.Progress = func(Progress) { calls++ }
	sol, err := Solve(oscillatorProblem(), set)
	if err != nil {
		t.Fatal(err)
	}
	l := sol.Loss()
	if len(l) != set.Epochs || sol.EpochsRun != set.Epochs {
		t.Fatalf("%d losses, %d epochs run, want %d", len(l), sol.EpochsRun, set.Epochs)
	}
	if !(l[len(l)-1] < l[0]/10) {
		t.Errorf("loss went from %v to %v", l[0], l[len(l)-1])
	}
	keepFrom := set.Epochs - set.Epochs/5
	if b := sol.BestEpoch; b < keepFrom || l[b] != slices.Min(l[keepFrom:]) {
		t.Errorf("kept epoch %d (loss %v), want the minimum of the last 20%%", b, l[b])
	}
	if calls != set.Epochs/100+1 {
		t.Errorf("progress called %d times", calls)
	}
}

// TestTargetLossStopsEarly, also when the stopping epoch ends a chunk of
// the engine's epochs (ProgressEvery = 1) and at the first epoch.
func TestTargetLossStopsEarly(t *testing.T) {
	for _, c := range []struct {
		target float64
		every  int
	}{{1, 100}, {1, 1}, {1e9, 1}, {1e9, 100}} {
		set := quickSettings()
		set.TargetLoss, set.ProgressEvery = c.target, c.every
		sol, err := Solve(oscillatorProblem(), set)
		if err != nil {
			t.Fatal(err)
		}
		l := sol.Loss()
		if !sol.EarlyStop || sol.EpochsRun >= set.Epochs || l[len(l)-1] >= c.target || sol.BestEpoch != sol.EpochsRun-1 ||
			(c.target == 1e9 && sol.EpochsRun != 1) {
			t.Errorf("%+v: early stop %v after %d epochs, last loss %v, kept %d", c, sol.EarlyStop, sol.EpochsRun, l[len(l)-1], sol.BestEpoch)
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	p := oscillatorProblem()
	sol, err := Solve(p, quickSettings())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := sol.Save(&buf); err != nil {
		t.Fatal(err)
	}
	saved := buf.Bytes()
	got, err := Load(bytes.NewReader(saved), p)
	if err != nil {
		t.Fatal(err)
	}
	ts := []float64{0, 0.1, 1.234, 5, 4 * math.Pi}
	if !slices.Equal(sol.Trajectory(ts).RawMatrix().Data, got.Trajectory(ts).RawMatrix().Data) {
		t.Error("loaded model gives a different trajectory")
	}
	if !slices.Equal(sol.Residual(ts), got.Residual(ts)) || !slices.Equal(sol.Loss(), got.Loss()) {
		t.Error("loaded model gives a different residual or loss history")
	}
	if a, b := fmt.Sprintf("%+v", sol.Settings()), fmt.Sprintf("%+v", got.Settings()); a != b {
		t.Errorf("loaded model's settings\n%s\nwant the trained ones\n%s", b, a)
	}

	bad := map[string]struct {
		data string
		p    Problem
	}{
		"truncated":     {string(saved[:len(saved)/2]), p},
		"empty":         {"", p},
		"other version": {strings.Replace(string(saved), fmt.Sprintf(`"version":%d`, modelVersion), `"version":99`, 1), p},
		"version 1":     {strings.Replace(string(saved), fmt.Sprintf(`"version":%d`, modelVersion), `"version":1`, 1), p},
		"no settings":   {strings.Replace(string(saved), `"points":40`, `"points":0`, 1), p},
		"bad energy":    {strings.Replace(string(saved), `"energy":0`, `"energy":-1`, 1), p},
		"short loss":    {strings.Replace(string(saved), `"loss":[`, `"loss":[1,`, 1), p},
		// Widths far beyond the stored values must be refused before the
		// network is allocated (1e10 weights would kill the process).
		"huge widths":  {strings.Replace(string(saved), `"hidden":[12,12]`, `"hidden":[100000,100000]`, 1), p},
		"large widths": {strings.Replace(string(saved), `"hidden":[12,12]`, `"hidden":[60000,60000]`, 1), p},
		"widest layer": {strings.Replace(string(saved), `"hidden":[12,12]`, `"hidden":[65537,12]`, 1), p},
		"many layers":  {strings.Replace(string(saved), `"hidden":[12,12]`, `"hidden":[`+strings.Repeat("1,", 64)+`1]`, 1), p},
		"huge points":  {strings.Replace(string(saved), `"points":40`, `"points":1000000000`, 1), p},
		"other format": {strings.Replace(string(saved), modelFormat, "other", 1), p},
		"shape":        {strings.Replace(string(saved), `"hidden":[12,12]`, `"hidden":[12,13]`, 1), p},
		"other Z0":     {string(saved), Problem{H: p.H, Z0: []float64{1, 1}, T: p.T}},
		"other dim":    {string(saved), Problem{H: henonHeilesH, Z0: []float64{0.3, -0.3, 0.3, 0.15}, T: p.T}},
		"other T":      {string(saved), Problem{H: p.H, Z0: p.Z0, T: 1}},
	}
	for name, c := range bad {
		// With the checksum made right, so that the check behind it is
		// the one that refuses the file (a hostile file can do that too).
		data := c.data
		if fixed, ok := withChecksum(data); ok {
			data = fixed
		}
		_, err := Load(strings.NewReader(data), c.p)
		if !errors.Is(err, ErrModel) {
			t.Errorf("%s: Load error %v, want ErrModel", name, err)
		} else if strings.Contains(err.Error(), "checksum") {
			t.Errorf("%s: refused by the checksum, not by the check it is meant for: %v", name, err)
		}
	}
	// A changed digit or a dropped value is corruption: the checksum finds it.
	for name, data := range map[string]string{
		"digit": strings.Replace(string(saved), `"values":[`, `"values":[1`, 1),
		"value": strings.Replace(string(saved), `"loss":[`, `"loss":[`+"0,", 1),
	} {
		if _, err := Load(strings.NewReader(data), p); !errors.Is(err, ErrModel) || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("corrupt %s: Load error %v, want a checksum mismatch", name, err)
		}
	}
}

// withChecksum returns the model document data with its checksum set to
// match its content, if it decodes.
func withChecksum(data string) (string, bool) {
	var m modelFile
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		return "", false
	}
	sum, err := m.sum()
	if err != nil {
		return "", false
	}
	m.Checksum = sum
	b, err := json.Marshal(m)
	return string(b), err == nil
}

// TestLoadHostileWidth: a file that declares a layer of 10⁹ units is
// refused with ErrModel before anything of that size is allocated.
func TestLoadHostileWidth(t *testing.T) {
	p := oscillatorProblem()
	sol, err := Solve(p, &Settings{Points: 10, Hidden: []int{4}, Epochs: 2})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := sol.Save(&buf); err != nil {
		t.Fatal(err)
	}
	hostile, ok := withChecksum(strings.ReplaceAll(buf.String(), `"hidden":[4]`, `"hidden":[1000000000]`))
	if !ok {
		t.Fatal("cannot rewrite the model")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = Load(strings.NewReader(hostile), p)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrModel) {
		t.Fatalf("Load: %v, want ErrModel", err)
	}
	if used := after.TotalAlloc - before.TotalAlloc; used > 1<<20 {
		t.Errorf("Load allocated %d bytes to refuse a %d-byte file, want < 1 MiB", used, len(hostile))
	}
}

func TestBadInput(t *testing.T) {
	good := oscillatorProblem()
	nan := math.NaN()
	problems := map[string]struct {
		p    Problem
		want error
	}{
		"nil H":               {Problem{Z0: good.Z0, T: 1}, ErrHamiltonian},
		"empty Z0":            {Problem{H: good.H, T: 1}, ErrProblem},
		"odd Z0":              {Problem{H: good.H, Z0: []float64{1, 2, 3}, T: 1}, ErrProblem},
		"NaN in Z0":           {Problem{H: good.H, Z0: []float64{nan, 1}, T: 1}, ErrProblem},
		"Inf in Z0":           {Problem{H: good.H, Z0: []float64{1, math.Inf(1)}, T: 1}, ErrProblem},
		"NaN T0":              {Problem{H: good.H, Z0: good.Z0, T0: nan, T: 1}, ErrProblem},
		"Inf T":               {Problem{H: good.H, Z0: good.Z0, T: math.Inf(1)}, ErrProblem},
		"empty span":          {Problem{H: good.H, Z0: good.Z0, T0: 1, T: 1}, ErrProblem},
		"reversed":            {Problem{H: good.H, Z0: good.Z0, T0: 2, T: 1}, ErrProblem},
		"span overflows":      {Problem{H: good.H, Z0: good.Z0, T0: -1e308, T: 1e308}, ErrProblem},
		"span below rounding": {Problem{H: good.H, Z0: good.Z0, T0: 1e16, T: 1e16 + 4}, ErrProblem},
		"H(Z0) is Inf":        {Problem{H: logH, Z0: []float64{0, 1}, T: 1}, ErrHamiltonian},
		"H fails": {Problem{H: func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
			return nil, errors.New("boom")
		}, Z0: good.Z0, T: 1}, ErrHamiltonian},
		"H returns nil": {Problem{H: func(q, p []*gorgonia.Node) (*gorgonia.Node, error) { return nil, nil }, Z0: good.Z0, T: 1}, ErrHamiltonian},
		"H wrong shape": {Problem{H: func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Concat(0, q[0], p[0])
		}, Z0: good.Z0, T: 1}, ErrHamiltonian},
		"H wrong dtype": {Problem{H: func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.NewVector(q[0].Graph(), tensor.Float32, gorgonia.WithShape(q[0].Shape()...)), nil
		}, Z0: good.Z0, T: 1}, ErrHamiltonian},
		"H from another graph": {Problem{H: func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.NewVector(gorgonia.NewGraph(), tensor.Float64, gorgonia.WithShape(q[0].Shape()...)), nil
		}, Z0: good.Z0, T: 1}, ErrHamiltonian},
		"H panics in gorgonia": {Problem{H: func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Must(gorgonia.Add(q[0], gorgonia.NewConstant(float32(1)))), nil
		}, Z0: good.Z0, T: 1}, ErrHamiltonian},
	}
	for name, c := range problems {
		if _, err := Solve(c.p, quickSettings()); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", name, err, c.want)
		}
	}

	settings := map[string]func(*Settings){
		"Points < 2":        func(s *Settings) { s.Points = 1 },
		"zero width":        func(s *Settings) { s.Hidden = []int{50, 0} },
		"no hidden layer":   func(s *Settings) { s.Hidden = []int{} },
		"negative epochs":   func(s *Settings) { s.Epochs = -1 },
		"NaN learn rate":    func(s *Settings) { s.LearnRate = nan },
		"negative rate":     func(s *Settings) { s.LearnRate = -1 },
		"Beta1 = 1":         func(s *Settings) { s.Beta1 = 1 },
		"Inf energy":        func(s *Settings) { s.Energy = math.Inf(1) },
		"negative energy":   func(s *Settings) { s.Energy = -1 },
		"NaN perturbation":  func(s *Settings) { s.Perturb = nan },
		"NaN target loss":   func(s *Settings) { s.TargetLoss = nan },
		"unknown act":       func(s *Settings) { s.Activation = 9 },
		"unknown param":     func(s *Settings) { s.Param = 9 },
		"progress interval": func(s *Settings) { s.ProgressEvery = -5 },
	}
	for name, mod := range settings {
		s := quickSettings()
		mod(s)
		if _, err := Solve(good, s); !errors.Is(err, ErrSettings) {
			t.Errorf("%s: error %v, want ErrSettings", name, err)
		}
	}

	// The energy term needs H per point.
	s := quickSettings()
	s.Energy = 1
	if _, err := Solve(Problem{H: nonSeparableH, Z0: []float64{0.5, 1}, T: 1}, s); !errors.Is(err, ErrHamiltonian) {
		t.Errorf("energy term with scalar H: error %v, want ErrHamiltonian", err)
	}
}

// logH = p²/2 + log q: -Inf at q = 0.
func logH(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.Add(gorgonia.Must(gorgonia.Mul(mustC(0.5), gorgonia.Must(gorgonia.Square(p[0])))), gorgonia.Must(gorgonia.Log(q[0])))
}

// sqrtH = p²/2 + √q is NaN once q < 0, which the flow q̇ = p = 1 reaches.
func sqrtH(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.Add(gorgonia.Must(gorgonia.Mul(mustC(0.5), gorgonia.Must(gorgonia.Square(p[0])))), gorgonia.Must(gorgonia.Sqrt(q[0])))
}

func TestDivergenceReported(t *testing.T) {
	_, err := Solve(Problem{H: sqrtH, Z0: []float64{0.01, 1}, T: 5}, quickSettings())
	var de *DivergedError
	if !errors.As(err, &de) || !errors.Is(err, ErrDiverged) {
		t.Fatalf("error %v, want a DivergedError", err)
	}
	if de.Epoch < 0 || de.Epoch >= quickSettings().Epochs || isFinite(de.Loss) {
		t.Errorf("diverged at epoch %d with loss %v", de.Epoch, de.Loss)
	}
}

func TestChainedSegments(t *testing.T) {
	set := quickSettings()
	set.Segments = 3
	p := oscillatorProblem()
	sol, err := Solve(p, set)
	if err != nil {
		t.Fatal(err)
	}
	b := sol.Segments()
	if len(b) != 4 || b[0] != p.T0 || b[3] != p.T {
		t.Fatalf("boundaries %v", b)
	}
	if z := sol.At(p.T0); !slices.Equal(z, p.Z0) {
		t.Errorf("z(T0) = %v, want %v", z, p.Z0)
	}
	// Each segment starts exactly where the one before ends.
	for k := 1; k < len(sol.segs); k++ {
		prev := &Solution{problem: sol.problem, settings: sol.settings, segs: sol.segs[k-1 : k]}
		if end := prev.At(b[k]); !slices.Equal(end, sol.At(b[k])) || !slices.Equal(end, sol.segs[k].z0) {
			t.Errorf("boundary %v: segment %d ends at %v, segment %d starts at %v", b[k], k-1, end, k, sol.At(b[k]))
		}
	}
	if sol.EpochsRun != 3*set.Epochs || len(sol.Loss()) != 3*set.Epochs || len(sol.Stages) != 3 || sol.Stages[2].Segment != 2 {
		t.Errorf("epochs %d, losses %d, stages %+v", sol.EpochsRun, len(sol.Loss()), sol.Stages)
	}
	var buf bytes.Buffer
	if err := sol.Save(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Load(&buf, p)
	if err != nil {
		t.Fatal(err)
	}
	ts := []float64{0, 1, b[1], b[2] - 1e-9, b[2], 10, p.T}
	if !slices.Equal(sol.Trajectory(ts).RawMatrix().Data, got.Trajectory(ts).RawMatrix().Data) {
		t.Error("loaded chain gives a different trajectory")
	}
}

// TestShiftedInterval: the network's input is τ = t - T0, so the same
// problem on [0, 3], [100, 103] and [1e4, 1e4 + 3] trains bit-identically
// (T - T0 = 3 exactly in each) and its solutions agree at T0 + τ up to the
// rounding of t itself: |Δz| <= |ż| ulp(t) plus a few ulp of z. With the raw
// time as input the three gave max errors of 0.069, 0.457 and 1.65.
func TestShiftedInterval(t *testing.T) {
	set := quickSettings()
	set.LM = 3 // the refinement stages see shifted times too
	var ref *Solution
	for _, t0 := range []float64{0, 100, 1e4} {
		p := oscillatorProblem()
		p.T0, p.T = t0, t0+3
		sol, err := Solve(p, set)
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = sol
			continue
		}
		if !slices.Equal(sol.Loss(), ref.Loss()) {
			t.Errorf("T0 = %v: loss history differs from T0 = 0", t0)
		}
		if a, b := sol.Stages[len(sol.Stages)-1].LossAfter, ref.Stages[len(ref.Stages)-1].LossAfter; a != b {
			t.Errorf("T0 = %v: final loss %v, at T0 = 0 %v", t0, a, b)
		}
		for _, tau := range []float64{0, 0.1, 1.3, 2.9, 3} {
			z, zr := sol.At(t0+tau), ref.At(tau)
			v := ref.Velocity([]float64{tau})
			dt := math.Abs(t0+tau-t0-tau) + 2*(math.Nextafter(t0+tau, math.Inf(1))-(t0+tau))
			for i := range z {
				tol := math.Abs(v.At(0, i))*dt + 4e-16*math.Max(1, math.Abs(zr[i]))
				if d := math.Abs(z[i] - zr[i]); d > tol {
					t.Errorf("T0 = %v, τ = %v: z%d = %v, at T0 = 0 %v (|Δ| %.2g > %.2g)", t0, tau, i, z[i], zr[i], d, tol)
				}
			}
		}
	}
}
