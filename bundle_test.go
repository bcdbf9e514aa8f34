package hnnsolve

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gorgonia.org/gorgonia"
)

// henonHeilesThetaH is Hénon-Heiles with coupling θ:
// H = (px²+py²)/2 + (x²+y²)/2 + θ (x² y - y³/3), written here
// independently of package systems.
func henonHeilesThetaH(q, p, theta []*gorgonia.Node) (*gorgonia.Node, error) {
	x, y, px, py := q[0], q[1], p[0], p[1]
	sq := func(n *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.Square(n)) }
	add := func(a, b *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.Add(a, b)) }
	half := func(n *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.Mul(mustC(0.5), n)) }
	kin := half(add(sq(px), sq(py)))
	harm := half(add(sq(x), sq(y)))
	x2y := gorgonia.Must(gorgonia.HadamardProd(sq(x), y))
	y3 := gorgonia.Must(gorgonia.Mul(mustC(1.0/3), gorgonia.Must(gorgonia.Cube(y))))
	cubic := gorgonia.Must(gorgonia.HadamardProd(theta[0], gorgonia.Must(gorgonia.Sub(x2y, y3))))
	return gorgonia.Add(add(kin, harm), cubic)
}

// henonHeilesThetaGrad is ∇H of henonHeilesThetaH.
func henonHeilesThetaGrad(z []float64, th float64) []float64 {
	x, y, px, py := z[0], z[1], z[2], z[3]
	return []float64{x + th*2*x*y, y + th*(x*x-y*y), px, py}
}

// oscillatorBundleH is the oscillator of Eq. 23 as a ParamHamiltonian
// without parameters.
func oscillatorBundleH(q, p, _ []*gorgonia.Node) (*gorgonia.Node, error) { return oscillatorH(q, p) }

func hhBundleProblem() BundleProblem {
	z := []float64{0.3, -0.3, 0.3, 0.15}
	lo, hi := make([]float64, 4), make([]float64, 4)
	for i, v := range z {
		lo[i], hi[i] = v-0.05, v+0.05
	}
	return BundleProblem{H: henonHeilesThetaH, Z0Min: lo, Z0Max: hi, ThetaMin: []float64{0.8}, ThetaMax: []float64{1.2}, T: 6 * math.Pi}
}

// untrainedBundle returns a bundle of p with segs random networks, as
// SolveBundle would start them, without training.
func untrainedBundle(t *testing.T, p BundleProblem, segs int, hidden []int, act Activation) *Bundle {
	t.Helper()
	set, err := (&Settings{Hidden: hidden, Activation: act, Segments: segs}).resolve(Problem{T0: p.T0, T: p.T})
	if err != nil {
		t.Fatal(err)
	}
	b := &Bundle{problem: p.cloned(), settings: set}
	b.newInputMap()
	rng := rand.New(rand.NewPCG(11, 12))
	for k := range segs {
		net := newWideNetwork(1+p.dim()+p.params(), hidden, p.dim(), act)
		net.init(rng)
		for _, w := range net.params {
			for i := range w {
				w[i] *= 0.3 // keep the chained states near the box
			}
		}
		t0 := p.T0 + (p.T-p.T0)*float64(k)/float64(segs)
		t1 := p.T0 + (p.T-p.T0)*float64(k+1)/float64(segs)
		sg := bundleSegment{t0: t0, t1: t1, net: net}
		sg.mid, sg.scale = b.startMap(rng)
		b.segs = append(b.segs, sg)
	}
	return b
}

// TestBundleLossGradientFiniteDifference checks ∂L/∂θ of the bundle's loss
// (the wide first layer of the fused network, the per-point start states,
// parameters and energies) against central differences, for the second
// segment of a chain, so the start states come through the first. The
// tolerance is TestLossGradientFiniteDifference's, for the same reasons.
func TestBundleLossGradientFiniteDifference(t *testing.T) {
	for _, lambda := range []float64{0, 0.7} {
		b := untrainedBundle(t, hhBundleProblem(), 2, []int{9, 8}, Sin)
		second := b.segs[1]
		net := second.net
		b.segs = b.segs[:1]
		rng := rand.New(rand.NewPCG(3, 4))
		const k = 13
		bl, err := newBundleLoss(b, second, k, lambda, rng)
		if err != nil {
			t.Fatal(err)
		}
		ts := make([]float64, k)
		for i := range ts {
			ts[i] = 3 * rng.Float64()
		}
		bl.setTimes(ts, Exponential, 0)
		if _, err := bl.run(); err != nil {
			t.Fatal(err)
		}
		gs, err := bl.gradients()
		if err != nil {
			t.Fatal(err)
		}
		grads := make([][]float64, len(gs))
		for i := range gs {
			grads[i] = slices.Clone(gs[i])
		}
		const h = 1e-5
		for i, p := range net.params {
			for _, j := range sampleIndices(rng, len(p), 15) {
				old := p[j]
				p[j] = old + h
				lp, _ := bl.run()
				p[j] = old - h
				lm, _ := bl.run()
				p[j] = old
				fd := (lp - lm) / (2 * h)
				if d := math.Abs(grads[i][j] - fd); d > 1e-6*math.Max(math.Abs(fd), 1e-3) {
					t.Errorf("λ=%v: ∂L/∂%s[%d] = %.12g, finite difference %.12g", lambda, net.paramName(i), j, grads[i][j], fd)
				}
			}
		}
	}
}

// TestBundleLossMatchesDirectEvaluation recomputes Eq. 7-8 for the
// bundle's points from the member views' own forward passes (network.forward,
// not the fused Op) and the closed-form ∇H of Hénon-Heiles with θ.
func TestBundleLossMatchesDirectEvaluation(t *testing.T) {
	const lambda = 0.5
	b := untrainedBundle(t, hhBundleProblem(), 2, []int{9, 8}, Tanh)
	full := slices.Clone(b.segs)
	b.segs = full[:1]
	rng := rand.New(rand.NewPCG(5, 6))
	const k = 11
	bl, err := newBundleLoss(b, full[1], k, lambda, rng)
	if err != nil {
		t.Fatal(err)
	}
	ts := make([]float64, k)
	for i := range ts {
		ts[i] = (full[1].t1 - full[1].t0) * rng.Float64()
	}
	bl.setTimes(ts, Exponential, 0)
	got, err := bl.run()
	if err != nil {
		t.Fatal(err)
	}
	b.segs = full
	want := 0.0
	for i, tau := range ts {
		row := bl.members[i]
		for j, v := range row {
			if v < b.trainLo[j] || v > b.trainHi[j] {
				t.Fatalf("member %d: %v outside the training box", i, row)
			}
		}
		b.Extrapolate = true // the training box is wider than the box
		m, err := b.Member(row[:4], row[4:])
		if err != nil {
			t.Fatal(err)
		}
		tt := full[1].t0 + tau
		z, dz := m.At(tt), m.Velocity([]float64{tt}).RawRowView(0)
		g := henonHeilesThetaGrad(z, row[4])
		ell := []float64{dz[0] - g[2], dz[1] - g[3], dz[2] + g[0], dz[3] + g[1]}
		for _, v := range ell {
			want += v * v
		}
		e := 0.5*(z[2]*z[2]+z[3]*z[3]) + 0.5*(z[0]*z[0]+z[1]*z[1]) + row[4]*(z[0]*z[0]*z[1]-z[1]*z[1]*z[1]/3)
		z0 := row[:4]
		e0 := 0.5*(z0[2]*z0[2]+z0[3]*z0[3]) + 0.5*(z0[0]*z0[0]+z0[1]*z0[1]) + row[4]*(z0[0]*z0[0]*z0[1]-z0[1]*z0[1]*z0[1]/3)
		want += lambda * (e - e0) * (e - e0)
	}
	want /= k
	if math.Abs(got-want) > 1e-12*want {
		t.Errorf("loss %v, direct %v", got, want)
	}
}

// TestBundleLMJacobianFiniteDifference checks the Levenberg-Marquardt
// Jacobian of a bundle's points against central differences of its
// residuals (tolerance as TestLMJacobianFiniteDifference), and |r|² against
// the loss graph at the same points.
func TestBundleLMJacobianFiniteDifference(t *testing.T) {
	const lambda = 0.5
	b := untrainedBundle(t, hhBundleProblem(), 2, []int{6, 5}, Sin)
	second := b.segs[1]
	net := second.net
	b.segs = b.segs[:1]
	b.settings.Energy = lambda
	rng := rand.New(rand.NewPCG(7, 8))
	ts := []float64{0.1, 0.7, 1.3, 2.2, 2.9}
	bl, err := newBundleLoss(b, second, len(ts), lambda, rng)
	if err != nil {
		t.Fatal(err)
	}
	bl.setTimes(ts, Exponential, 0)
	want, err := bl.run()
	if err != nil {
		t.Fatal(err)
	}
	lp, err := newBundleLM(b, bl, ts)
	if err != nil {
		t.Fatal(err)
	}
	r := make([]float64, lp.rows)
	got, err := lp.residuals(r)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-12*want {
		t.Errorf("|r|² = %v, graph loss %v", got, want)
	}
	jac := make([]float64, lp.rows*lp.nPar)
	lp.jacobian(jac)
	rp, rm := make([]float64, lp.rows), make([]float64, lp.rows)
	const h = 1e-6
	col := 0
	for pi, p := range net.params {
		for j := range p {
			old := p[j]
			p[j] = old + h
			lp.residuals(rp)
			p[j] = old - h
			lp.residuals(rm)
			p[j] = old
			for row := range lp.rows {
				fd := (rp[row] - rm[row]) / (2 * h)
				if d := math.Abs(jac[row*lp.nPar+col] - fd); d > 1e-6*math.Max(1, math.Abs(fd)) {
					t.Fatalf("∂r%d/∂%s[%d] = %v, finite difference %v", row, net.paramName(pi), j, jac[row*lp.nPar+col], fd)
				}
			}
			col++
		}
	}
}

// plainMatrix hides a matrix's concrete type (and its raw views).
type plainMatrix struct{ mat.Matrix }

// TestBundleBatchedMatchesMember checks the batched evaluation (fused
// forward passes over chunks, across segment boundaries) against the
// member views' point-by-point network.forward, and the trial solution's
// exact initial state.
func TestBundleBatchedMatchesMember(t *testing.T) {
	p := hhBundleProblem()
	b := untrainedBundle(t, p, 3, []int{10, 7}, Sin)
	rng := rand.New(rand.NewPCG(9, 10))
	const n = 700 // more than one chunk
	z0, th := mat.NewDense(n, 4, nil), mat.NewDense(n, 1, nil)
	for i := range n {
		for c := range 4 {
			z0.Set(i, c, p.Z0Min[c]+(p.Z0Max[c]-p.Z0Min[c])*rng.Float64())
		}
		th.Set(i, 0, 0.8+0.4*rng.Float64())
	}
	for _, tt := range []float64{0, 1.1, b.segs[1].t0, 13.5, p.T} {
		got, err := b.AtMembers(tt, z0, th)
		if err != nil {
			t.Fatal(err)
		}
		// Matrices other than *mat.Dense are read through mat.Row.
		if other, err := b.AtMembers(tt, plainMatrix{z0}, plainMatrix{th}); err != nil || !mat.Equal(other, got) {
			t.Errorf("t=%v: AtMembers of a plain mat.Matrix differs from the Dense's (%v)", tt, err)
		}
		for i := 0; i < n; i += 97 {
			m, err := b.Member(z0.RawRowView(i), th.RawRowView(i))
			if err != nil {
				t.Fatal(err)
			}
			want := m.At(tt)
			for c := range 4 {
				if d := math.Abs(got.At(i, c) - want[c]); d > 1e-13 {
					t.Errorf("t=%v member %d: batched %v, member view %v", tt, i, got.RawRowView(i), want)
					break
				}
			}
			if tt == 0 && !slices.Equal(got.RawRowView(i), z0.RawRowView(i)) {
				t.Errorf("member %d: ẑ(T0) = %v, want z0 = %v exactly", i, got.RawRowView(i), z0.RawRowView(i))
			}
		}
	}
	// Chaining: each segment of a member starts at the end state of the one
	// before, computed here by the member's own point-by-point forward pass.
	m0, err := b.Member(z0.RawRowView(5), th.RawRowView(5))
	if err != nil {
		t.Fatal(err)
	}
	w := m0.newPointWork()
	for j := 1; j < len(m0.segs); j++ {
		prev, end := m0.segs[j-1], make([]float64, 4)
		hamiltonianForm{}.state(prev.net, m0.settings.Param, prev.t1, prev.t0, prev.z0, end, nil, w)
		for c := range 4 {
			if math.Abs(end[c]-m0.segs[j].z0[c]) > 1e-14 {
				t.Errorf("segment %d starts at %v, the one before ends at %v", j, m0.segs[j].z0, end)
				break
			}
		}
	}
	traj, err := b.Trajectory([]float64{0, 5, 12.5, p.T}, z0.RawRowView(3), th.RawRowView(3))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := b.Member(z0.RawRowView(3), th.RawRowView(3))
	if want := m.Trajectory([]float64{0, 5, 12.5, p.T}); !mat.EqualApprox(traj, want, 1e-13) {
		t.Errorf("Trajectory %v, member view %v", mat.Formatted(traj), mat.Formatted(want))
	}
}

// TestBundleJacobianFiniteDifference checks Bundle.Jacobian (forward
// tangents in the inputs, through the chain) against central differences
// of At. At h = 1e-6 the difference quotient is good to ~1e-9.
func TestBundleJacobianFiniteDifference(t *testing.T) {
	p := hhBundleProblem()
	b := untrainedBundle(t, p, 3, []int{10, 7}, Tanh)
	b.Extrapolate = true // the differences step just outside the box
	z0 := []float64{0.31, -0.27, 0.33, 0.11}
	th := []float64{0.93}
	for _, tt := range []float64{0.7, 9, p.T} {
		jz, jt, err := b.Jacobian(tt, z0, th)
		if err != nil {
			t.Fatal(err)
		}
		const h = 1e-6
		for c := range 5 {
			zp, zm := slices.Clone(z0), slices.Clone(z0)
			tp, tm := slices.Clone(th), slices.Clone(th)
			if c < 4 {
				zp[c] += h
				zm[c] -= h
			} else {
				tp[0] += h
				tm[0] -= h
			}
			ap, _ := b.At(tt, zp, tp)
			am, _ := b.At(tt, zm, tm)
			for i := range 4 {
				fd := (ap[i] - am[i]) / (2 * h)
				var got float64
				if c < 4 {
					got = jz.At(i, c)
				} else {
					got = jt.At(i, 0)
				}
				if math.Abs(got-fd) > 1e-7*math.Max(1, math.Abs(fd)) {
					t.Errorf("t=%v: ∂z%d/∂v%d = %v, finite difference %v", tt, i, c, got, fd)
				}
			}
		}
	}
}

// TestBundleBadInput checks that bad problems, settings and members give
// errors wrapping the package's sentinels, not panics.
func TestBundleBadInput(t *testing.T) {
	good := hhBundleProblem()
	mod := func(f func(p *BundleProblem)) BundleProblem {
		p := good.cloned()
		f(&p)
		return p
	}
	quick := &Settings{Points: 10, Hidden: []int{4}, Epochs: 2}
	for _, c := range []struct {
		name string
		p    BundleProblem
		s    *Settings
		want error
	}{
		{"nil H", mod(func(p *BundleProblem) { p.H = nil }), quick, ErrHamiltonian},
		{"empty box", mod(func(p *BundleProblem) { p.Z0Min, p.Z0Max = nil, nil }), quick, ErrProblem},
		{"odd box", mod(func(p *BundleProblem) { p.Z0Min, p.Z0Max = p.Z0Min[:3], p.Z0Max[:3] }), quick, ErrProblem},
		{"box lengths", mod(func(p *BundleProblem) { p.Z0Max = p.Z0Max[:2] }), quick, ErrProblem},
		{"reversed box", mod(func(p *BundleProblem) { p.Z0Min[1], p.Z0Max[1] = p.Z0Max[1], p.Z0Min[1] }), quick, ErrProblem},
		{"NaN box", mod(func(p *BundleProblem) { p.Z0Max[2] = math.NaN() }), quick, ErrProblem},
		{"infinite theta", mod(func(p *BundleProblem) { p.ThetaMax[0] = math.Inf(1) }), quick, ErrProblem},
		{"reversed theta", mod(func(p *BundleProblem) { p.ThetaMin[0] = 2 }), quick, ErrProblem},
		{"theta lengths", mod(func(p *BundleProblem) { p.ThetaMax = nil }), quick, ErrProblem},
		{"reversed interval", mod(func(p *BundleProblem) { p.T0 = 30 }), quick, ErrProblem},
		{"H wants theta", mod(func(p *BundleProblem) { p.ThetaMin, p.ThetaMax = nil, nil }), quick, ErrHamiltonian},
		{"H singular in box", mod(func(p *BundleProblem) {
			p.H = func(q, pp, th []*gorgonia.Node) (*gorgonia.Node, error) {
				return gorgonia.HadamardDiv(mustC(1.0), gorgonia.Must(gorgonia.Sub(q[0], mustC(0.3))))
			}
		}), quick, ErrHamiltonian},
		{"settings", good, &Settings{Points: 1}, ErrSettings},
		{"retries", good, &Settings{Retries: 1}, ErrSettings},
		{"target error", good, &Settings{TargetError: 1e-3}, ErrSettings},
		{"negative margin", good, &Settings{Points: 10, Hidden: []int{4}, Epochs: 2, BundleMargin: -0.1}, ErrSettings},
		{"margin above 1", good, &Settings{Points: 10, Hidden: []int{4}, Epochs: 2, BundleMargin: 1.5}, ErrSettings},
		{"NaN margin", good, &Settings{Points: 10, Hidden: []int{4}, Epochs: 2, BundleMargin: math.NaN()}, ErrSettings},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := SolveBundle(c.p, c.s)
			if !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}

	b := untrainedBundle(t, good, 2, []int{5}, Sin)
	z0, th := []float64{0.3, -0.3, 0.3, 0.15}, []float64{1}
	for _, c := range []struct {
		name string
		t    float64
		z0   []float64
		th   []float64
	}{
		{"outside z0 box", 1, []float64{0.36, -0.3, 0.3, 0.15}, th},
		{"outside theta box", 1, z0, []float64{1.3}},
		{"theta length", 1, z0, nil},
		{"z0 length", 1, z0[:2], th},
		{"NaN z0", 1, []float64{math.NaN(), -0.3, 0.3, 0.15}, th},
		{"time after T", 20, z0, th},
		{"NaN time", math.NaN(), z0, th},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := b.At(c.t, c.z0, c.th); !errors.Is(err, ErrProblem) {
				t.Errorf("At: err = %v, want ErrProblem", err)
			}
			if _, _, err := b.Jacobian(c.t, c.z0, c.th); !errors.Is(err, ErrProblem) {
				t.Errorf("Jacobian: err = %v, want ErrProblem", err)
			}
			if _, err := b.Trajectory([]float64{c.t}, c.z0, c.th); !errors.Is(err, ErrProblem) {
				t.Errorf("Trajectory: err = %v, want ErrProblem", err)
			}
			if c.t == 1 {
				if _, err := b.Member(c.z0, c.th); !errors.Is(err, ErrProblem) {
					t.Errorf("Member: err = %v, want ErrProblem", err)
				}
			}
		})
	}
	if _, err := b.AtMembers(1, mat.NewDense(1, 4, z0), nil); !errors.Is(err, ErrProblem) {
		t.Errorf("AtMembers without theta: err = %v", err)
	}
	if _, err := b.AtMembers(1, mat.NewDense(1, 3, z0[:3]), mat.NewDense(1, 1, th)); !errors.Is(err, ErrProblem) {
		t.Errorf("AtMembers with 3 columns: err = %v", err)
	}
	// A nil *mat.Dense is no matrix, not a panic inside mat.
	var none *mat.Dense
	if _, err := b.AtMembers(1, mat.NewDense(1, 4, z0), none); !errors.Is(err, ErrProblem) {
		t.Errorf("AtMembers with a nil *mat.Dense theta: err = %v", err)
	}
	if _, err := b.AtMembers(1, none, mat.NewDense(1, 1, th)); !errors.Is(err, ErrProblem) {
		t.Errorf("AtMembers with a nil *mat.Dense z0: err = %v", err)
	}
	// Extrapolate opts in to members outside the box.
	b.Extrapolate = true
	if _, err := b.At(1, []float64{0.36, -0.3, 0.3, 0.15}, th); err != nil {
		t.Errorf("Extrapolate: %v", err)
	}
	if _, err := b.At(1, []float64{math.Inf(1), -0.3, 0.3, 0.15}, th); !errors.Is(err, ErrProblem) {
		t.Errorf("Extrapolate with Inf: err = %v", err)
	}
	var zero Bundle
	if _, err := zero.At(0, z0, th); !errors.Is(err, ErrProblem) {
		t.Errorf("zero Bundle: err = %v", err)
	}
	if _, _, err := zero.Jacobian(0, z0, th); !errors.Is(err, ErrProblem) {
		t.Errorf("zero Bundle Jacobian: err = %v", err)
	}
	if _, err := zero.AtMembers(0, mat.NewDense(1, 4, z0), mat.NewDense(1, 1, th)); !errors.Is(err, ErrProblem) {
		t.Errorf("zero Bundle AtMembers: err = %v", err)
	}
	if err := zero.Save(&bytes.Buffer{}); !errors.Is(err, ErrModel) {
		t.Errorf("zero Bundle Save: err = %v", err)
	}
	if zero.Segments() != nil || zero.Loss() != nil {
		t.Errorf("zero Bundle: segments %v, loss %v", zero.Segments(), zero.Loss())
	}
	m, _ := b.Member(z0, th)
	if err := m.Save(&bytes.Buffer{}); !errors.Is(err, ErrModel) {
		t.Errorf("saving a member view: err = %v, want ErrModel", err)
	}
}

// TestBundleSaveLoad checks that a trained bundle round-trips exactly and
// that Load refuses another problem or a corrupted file.
func TestBundleSaveLoad(t *testing.T) {
	p := hhBundleProblem()
	p.T = 1
	b, err := SolveBundle(p, &Settings{Points: 30, Hidden: []int{6}, Epochs: 20, Segments: 2, LM: 2, RefinePoints: 20, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.Save(&buf); err != nil {
		t.Fatal(err)
	}
	saved := buf.String()
	c, err := LoadBundle(strings.NewReader(saved), p)
	if err != nil {
		t.Fatal(err)
	}
	z0, th := []float64{0.28, -0.3, 0.31, 0.15}, []float64{1.1}
	for _, tt := range []float64{0.2, 0.7, 1} {
		want, _ := b.At(tt, z0, th)
		got, err := c.At(tt, z0, th)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("t=%v: loaded %v (%v), saved %v", tt, got, err, want)
		}
	}
	if !slices.Equal(c.Loss(), b.Loss()) || c.EpochsRun != b.EpochsRun {
		t.Errorf("loss history not restored")
	}
	// A member view is a Solution: E0 is H(z0; θ), and Energy, Residual and
	// Analyze run on it, the residual being the bundle's own.
	m, err := c.Member(z0, th)
	if err != nil {
		t.Fatal(err)
	}
	x, y, px, py := z0[0], z0[1], z0[2], z0[3]
	if e0 := 0.5*(px*px+py*py) + 0.5*(x*x+y*y) + th[0]*(x*x*y-y*y*y/3); math.Abs(m.E0()-e0) > 1e-15 {
		t.Errorf("member E0 = %v, want H(z0; θ) = %v", m.E0(), e0)
	}
	if len(m.Energy([]float64{0.5})) != 1 || len(m.Residual([]float64{0.5})) != 1 {
		t.Errorf("member Energy or Residual failed")
	}
	rep, err := m.Analyze(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !(rep.EstimateEq18Max > 0) {
		t.Errorf("member Eq. 18 estimate %v", rep.EstimateEq18Max)
	}
	other := p.cloned()
	other.Z0Max[0] += 0.01
	if _, err := LoadBundle(strings.NewReader(saved), other); !errors.Is(err, ErrModel) {
		t.Errorf("other box: err = %v, want ErrModel", err)
	}
	bad := strings.Replace(saved, `"t0":0`, `"t0":1e-9`, 1)
	if _, err := LoadBundle(strings.NewReader(bad), p); !errors.Is(err, ErrModel) {
		t.Errorf("edited file: err = %v, want ErrModel", err)
	}
	if _, err := LoadBundle(strings.NewReader(saved[:len(saved)/2]), p); !errors.Is(err, ErrModel) {
		t.Errorf("truncated file: err = %v, want ErrModel", err)
	}
	// Deterministic given the seed.
	again, err := SolveBundle(p, &Settings{Points: 30, Hidden: []int{6}, Epochs: 20, Segments: 2, LM: 2, RefinePoints: 20, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var buf2 bytes.Buffer
	again.Save(&buf2)
	if buf2.String() != saved {
		t.Errorf("two runs with the same seed differ")
	}
}

// TestBundleMargin: the members drawn for training fill the boxes widened
// by BundleMargin of their width on each side (a fixed coordinate stays
// fixed), the first segment's input map takes that box to [-1, 1], and the
// margin is saved with the bundle; files without it (saved before it was a
// setting) load with DefaultBundleMargin.
func TestBundleMargin(t *testing.T) {
	p := hhBundleProblem()
	p.T = 0.5
	p.Z0Min[3] = p.Z0Max[3] // a fixed coordinate
	lo, hi := append(slices.Clone(p.Z0Min), p.ThetaMin...), append(slices.Clone(p.Z0Max), p.ThetaMax...)
	for _, margin := range []float64{0, 0.25} {
		b, err := SolveBundle(p, &Settings{Points: 10, Hidden: []int{4}, Epochs: 2, Seed: 1, BundleMargin: margin})
		if err != nil {
			t.Fatal(err)
		}
		want := margin
		if margin == 0 {
			want = DefaultBundleMargin
		}
		if got := b.Settings().BundleMargin; got != want {
			t.Errorf("margin %v: Settings().BundleMargin = %v, want %v", margin, got, want)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		row := make([]float64, len(lo))
		seenLo, seenHi := slices.Clone(hi), slices.Clone(lo)
		for range 20000 {
			b.drawMember(row, rng)
			for j, v := range row {
				seenLo[j], seenHi[j] = min(seenLo[j], v), max(seenHi[j], v)
			}
		}
		sg := b.segs[0]
		for j := range lo {
			w := hi[j] - lo[j]
			wantLo, wantHi := lo[j]-want*w, hi[j]+want*w
			// 20000 uniform draws come within 1e-3 of a face but for a chance of e^-20.
			if seenLo[j] < wantLo || seenHi[j] > wantHi || seenLo[j]-wantLo > 1e-3*w || wantHi-seenHi[j] > 1e-3*w {
				t.Errorf("margin %v, coordinate %d: drew [%v, %v], want [%v, %v]", margin, j, seenLo[j], seenHi[j], wantLo, wantHi)
			}
			var u0, u1 float64
			if w > 0 {
				u0, u1 = (wantLo-sg.mid[j])*sg.scale[j], (wantHi-sg.mid[j])*sg.scale[j]
			}
			if w > 0 && (math.Abs(u0+1) > 1e-12 || math.Abs(u1-1) > 1e-12) || w == 0 && sg.scale[j] != 0 {
				t.Errorf("margin %v, coordinate %d: input map takes the training box to [%v, %v] (scale %v)", margin, j, u0, u1, sg.scale[j])
			}
		}
		var buf bytes.Buffer
		if err := b.Save(&buf); err != nil {
			t.Fatal(err)
		}
		c, err := LoadBundle(&buf, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Settings().BundleMargin; got != want {
			t.Errorf("margin %v: loaded BundleMargin %v, want %v", margin, got, want)
		}
	}
	// The saved oscillator bundle predates the setting: its file has no
	// bundle_margin, its checksum holds, and it loads with the default.
	c := loadSavedBundle(t, bundleBenchFile, oscillatorBundleProblem())
	if got := c.Settings().BundleMargin; got != DefaultBundleMargin {
		t.Errorf("saved oscillator bundle: BundleMargin %v, want %v", got, DefaultBundleMargin)
	}
}

// TestBundleEpochAllocatesNothing: an Adam epoch of a bundle's later
// segment (members drawn, start states through the chain, energies, loss,
// gradient, step) allocates nothing, as Solve's does.
func TestBundleEpochAllocatesNothing(t *testing.T) {
	b := untrainedBundle(t, hhBundleProblem(), 2, []int{16, 16}, Sin)
	second := b.segs[1]
	b.segs = b.segs[:1]
	set := b.settings
	set.Points, set.Energy = 64, 0.5
	rng := rand.New(rand.NewPCG(1, 2))
	bl, err := newBundleLoss(b, second, set.Points, set.Energy, rng)
	if err != nil {
		t.Fatal(err)
	}
	tr := newCPUTrainer(bl, second.net, set, second.t0, second.t1, rng, 0)
	losses := make([]float64, 100)
	epoch := 0
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := tr.Run(context.Background(), epoch, epoch+1, 0, losses); err != nil {
			t.Fatal(err)
		}
		epoch++
	})
	if allocs != 0 {
		t.Errorf("%v allocations per epoch, want 0", allocs)
	}
}
