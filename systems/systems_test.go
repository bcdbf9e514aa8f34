package systems

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"hnnsolve/integrate"
)

// testSystems lists every system, with default and with other parameters.
func testSystems() []System {
	return []System{
		NewNonlinearOscillator(),
		NonlinearOscillator{},
		NonlinearOscillator{Lambda: -0.3},
		HarmonicOscillator{Omega: 1},
		HarmonicOscillator{Omega: 1.7},
		HarmonicOscillator{},
		HenonHeiles{},
		Pendulum{G: 1, L: 1},
		Pendulum{G: 9.81, L: 0.6},
		DoublePendulum{G: 1},
		DoublePendulum{G: 0},
		DoublePendulum{G: 2.5},
		Kepler{},
		NonSeparable{},
		FPU{N: 1, Beta: 1},
		FPU{N: 2, Beta: 0},
		FPU{N: 5, Beta: 0.7},
	}
}

func label(s System) string { return fmt.Sprintf("%s%+v", s.Name(), s) }

// samplePoint returns a random phase-space point; for Kepler |q| ≥ 0.4.
func samplePoint(rng *rand.Rand, s System) []float64 {
	z := make([]float64, s.Dim())
	for {
		for i := range z {
			z[i] = 3*rng.Float64() - 1.5
		}
		if _, ok := s.(Kepler); !ok || math.Hypot(z[0], z[1]) >= 0.4 {
			return z
		}
	}
}

func samplePoints(rng *rand.Rand, s System, k int) [][]float64 {
	pts := make([][]float64, k)
	for i := range pts {
		pts[i] = samplePoint(rng, s)
	}
	return pts
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// graphH builds the system's expression on length-K input vectors holding
// the coordinates of pts and returns the graph, the inputs and H.
func graphH(t *testing.T, s System, pts [][]float64) (*gorgonia.ExprGraph, []*gorgonia.Node, *gorgonia.Node) {
	t.Helper()
	k, d := len(pts), s.Dim()/2
	g := gorgonia.NewGraph()
	in := make([]*gorgonia.Node, 2*d)
	for j := range in {
		col := make([]float64, k)
		for i, z := range pts {
			col[i] = z[j]
		}
		in[j] = gorgonia.NewVector(g, tensor.Float64, gorgonia.WithShape(k), gorgonia.WithName(fmt.Sprintf("z%d", j)),
			gorgonia.WithValue(tensor.New(tensor.WithShape(k), tensor.WithBacking(col))))
	}
	h, err := s.Hamiltonian()(in[:d], in[d:])
	if err != nil {
		t.Fatalf("%s: Hamiltonian: %v", label(s), err)
	}
	return g, in, h
}

func values(t *testing.T, n *gorgonia.Node) []float64 {
	t.Helper()
	switch v := n.Value().Data().(type) {
	case []float64:
		return v
	case float64:
		return []float64{v}
	default:
		t.Fatalf("node %v holds %T", n, v)
		return nil
	}
}

// TestExpressionMatchesEnergy evaluates each gorgonia expression and
// compares it with Energy per point (or, for a scalar result, the sum).
func TestExpressionMatchesEnergy(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, s := range testSystems() {
		for _, k := range []int{1, 7} {
			pts := samplePoints(rng, s, k)
			g, _, h := graphH(t, s, pts)
			m := gorgonia.NewTapeMachine(g)
			if err := m.RunAll(); err != nil {
				t.Fatalf("%s: RunAll: %v", label(s), err)
			}
			got := slices.Clone(values(t, h))
			m.Close()
			want := make([]float64, k)
			for i, z := range pts {
				want[i] = s.Energy(z)
			}
			if len(got) == 1 && k > 1 {
				sum := 0.0
				for _, e := range want {
					sum += e
				}
				want = []float64{sum}
			}
			if len(got) != len(want) {
				t.Fatalf("%s K=%d: expression gives %d values, want %d", label(s), k, len(got), len(want))
			}
			for i := range got {
				if d := math.Abs(got[i] - want[i]); d > 1e-12*math.Abs(want[i]) {
					t.Errorf("%s K=%d point %d: expression %v, Energy %v (rel %.1e)", label(s), k, i, got[i], want[i], d/math.Abs(want[i]))
				}
			}
		}
	}
}

// TestExpressionGradient differentiates each expression with one
// gorgonia.Grad (its ops' SymDiff) and compares with the closed-form
// Gradient: the expressions are differentiable by gorgonia.
func TestExpressionGradient(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	const k = 6
	for _, s := range testSystems() {
		pts := samplePoints(rng, s, k)
		g, in, h := graphH(t, s, pts)
		cost := h
		if !h.IsScalar() {
			var err error
			if cost, err = gorgonia.Sum(h); err != nil {
				t.Fatal(err)
			}
		}
		grads, err := gorgonia.Grad(cost, in...)
		if err != nil {
			t.Fatalf("%s: Grad: %v", label(s), err)
		}
		m := gorgonia.NewTapeMachine(g, gorgonia.TraceExec())
		if err := m.RunAll(); err != nil {
			t.Fatalf("%s: RunAll: %v", label(s), err)
		}
		cols := make([][]float64, len(grads))
		for j, gn := range grads {
			cols[j] = slices.Clone(values(t, gn))
		}
		m.Close()
		want := make([]float64, s.Dim())
		for i, z := range pts {
			s.Gradient(want, z)
			scale := maxAbs(want)
			for j := range want {
				if d := math.Abs(cols[j][i] - want[j]); d > 1e-12*scale {
					t.Errorf("%s point %d: dH/dz%d from gorgonia %v, closed form %v", label(s), i, j, cols[j][i], want[j])
				}
			}
		}
	}
}

// TestGradientFiniteDifference compares Gradient with central differences
// of Energy, relative to the largest gradient component.
func TestGradientFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, s := range testSystems() {
		n := s.Dim()
		g := make([]float64, n)
		for range 5 {
			z := samplePoint(rng, s)
			s.Gradient(g, z)
			scale := maxAbs(g)
			for j := range z {
				h := 1e-5 * math.Max(1, math.Abs(z[j]))
				zp, zm := slices.Clone(z), slices.Clone(z)
				zp[j] += h
				zm[j] -= h
				fd := (s.Energy(zp) - s.Energy(zm)) / (2 * h)
				if d := math.Abs(fd - g[j]); d > 1e-7*scale {
					t.Errorf("%s z=%v: dH/dz%d = %v, finite difference %v (rel %.1e)", label(s), z, j, g[j], fd, d/scale)
				}
			}
		}
	}
}

// TestHessian compares Hessian with central differences of Gradient,
// relative to the largest entry, and checks that it is symmetric.
func TestHessian(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, s := range testSystems() {
		n := s.Dim()
		hess := make([]float64, n*n)
		gp, gm := make([]float64, n), make([]float64, n)
		for range 5 {
			z := samplePoint(rng, s)
			for i := range hess {
				hess[i] = math.NaN() // every entry must be written
			}
			s.Hessian(hess, z)
			scale := maxAbs(hess)
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					if a, b := hess[i*n+j], hess[j*n+i]; a != b {
						t.Errorf("%s: Hessian not symmetric at (%d,%d): %v vs %v", label(s), i, j, a, b)
					}
				}
			}
			for j := 0; j < n; j++ {
				h := 1e-5 * math.Max(1, math.Abs(z[j]))
				zp, zm := slices.Clone(z), slices.Clone(z)
				zp[j] += h
				zm[j] -= h
				s.Gradient(gp, zp)
				s.Gradient(gm, zm)
				for i := 0; i < n; i++ {
					fd := (gp[i] - gm[i]) / (2 * h)
					if d := math.Abs(fd - hess[i*n+j]); !(d <= 1e-6*scale) {
						t.Errorf("%s z=%v: H[%d,%d] = %v, finite difference %v", label(s), z, i, j, hess[i*n+j], fd)
					}
				}
			}
		}
	}
}

// TestSeparable checks DT, DV against Gradient, and that exactly the
// non-separable systems lack them.
func TestSeparable(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, s := range testSystems() {
		sep, ok := s.(integrate.Separable)
		_, isNS := s.(NonSeparable)
		_, isDP := s.(DoublePendulum)
		if ok == (isNS || isDP) {
			t.Errorf("%s: implements integrate.Separable = %v", label(s), ok)
		}
		if !ok {
			continue
		}
		n, d := s.Dim(), s.Dim()/2
		g := make([]float64, n)
		dt, dv := make([]float64, d), make([]float64, d)
		for range 5 {
			z := samplePoint(rng, s)
			s.Gradient(g, z)
			sep.DV(dv, z[:d])
			sep.DT(dt, z[d:])
			for i := 0; i < d; i++ {
				if dv[i] != g[i] || dt[i] != g[d+i] {
					t.Errorf("%s: DV %v DT %v, Gradient %v", label(s), dv, dt, g)
				}
			}
			// T depends on p only, V on q only.
			z2 := samplePoint(rng, s)
			copy(z2[:d], z[:d])
			s.Gradient(g, z2)
			if !slices.Equal(g[:d], dv) {
				t.Errorf("%s: dH/dq depends on p", label(s))
			}
		}
	}
}

// jgrad returns J∇H(z) = (∂H/∂p, −∂H/∂q).
func jgrad(s System, z []float64) []float64 {
	n, d := s.Dim(), s.Dim()/2
	g := make([]float64, n)
	s.Gradient(g, z)
	f := make([]float64, n)
	for i := 0; i < d; i++ {
		f[i] = g[d+i]
		f[d+i] = -g[i]
	}
	return f
}

// checkFlow checks that exact(t) solves ż = J∇H(z) by central differences
// in t and conserves H.
func checkFlow(t *testing.T, s System, exact func(float64) []float64, times []float64) {
	t.Helper()
	e0 := s.Energy(exact(0))
	for _, tt := range times {
		const h = 1e-5
		zp, zm, z := exact(tt+h), exact(tt-h), exact(tt)
		f := jgrad(s, z)
		scale := maxAbs(f)
		for i := range z {
			fd := (zp[i] - zm[i]) / (2 * h)
			if d := math.Abs(fd - f[i]); d > 1e-7*scale {
				t.Errorf("%s t=%v: dz%d/dt = %v (finite difference), J∇H = %v", label(s), tt, i, fd, f[i])
			}
		}
		if e := s.Energy(z); math.Abs(e-e0) > 1e-12*math.Max(1, math.Abs(e0)) {
			t.Errorf("%s t=%v: H = %v, H(0) = %v", label(s), tt, e, e0)
		}
	}
}

func TestHarmonicExact(t *testing.T) {
	times := []float64{0.1, 0.7, 2.3, 5, 11}
	for _, h := range []HarmonicOscillator{{Omega: 1}, {Omega: 1.7}, {}} {
		z0 := h.Z0()
		if got := h.Exact(0, z0); !slices.Equal(got, z0) {
			t.Errorf("%+v: Exact(0) = %v, want %v", h, got, z0)
		}
		checkFlow(t, h, func(tt float64) []float64 { return h.Exact(tt, z0) }, times)
	}
}

func TestNonSeparableExact(t *testing.T) {
	ns := NonSeparable{}
	for _, z0 := range [][]float64{ns.Z0(), {0.4, -0.8}, {-1.2, 0.3}} {
		if got := ns.Exact(0, z0); math.Abs(got[0]-z0[0]) > 1e-15 || math.Abs(got[1]-z0[1]) > 1e-15 {
			t.Errorf("Exact(0, %v) = %v", z0, got)
		}
		checkFlow(t, ns, func(tt float64) []float64 { return ns.Exact(tt, z0) }, []float64{0.1, 0.5, 1, 2})
	}
}

func TestKeplerExact(t *testing.T) {
	for _, k := range []Kepler{{}, {Ecc: 0.5, A: 1}, {Ecc: 0.9, A: 2.5}, {Ecc: 0.2, A: 0.7}} {
		e, a := k.Ecc, k.semiMajor()
		z0 := k.Z0()
		if got := k.Energy(z0); math.Abs(got+1/(2*a)) > 1e-14 {
			t.Errorf("%+v: H(Z0) = %v, want %v", k, got, -1/(2*a))
		}
		inv0 := k.Invariants(z0)
		if len(inv0) != len(k.InvariantNames()) {
			t.Fatalf("%+v: %d invariants, %d names", k, len(inv0), len(k.InvariantNames()))
		}
		if l := math.Sqrt(a * (1 - e*e)); math.Abs(inv0[0]-l) > 1e-14 {
			t.Errorf("%+v: L = %v, want %v", k, inv0[0], l)
		}
		if math.Abs(inv0[1]-e) > 1e-14 || math.Abs(inv0[2]) > 1e-14 {
			t.Errorf("%+v: Runge-Lenz (%v, %v), want (%v, 0)", k, inv0[1], inv0[2], e)
		}
		period := k.Period()
		times := []float64{0.013, 0.3, 0.5 * period, 0.77 * period, period, 3.4 * period}
		checkFlow(t, k, k.Exact, times)
		for _, tt := range times {
			inv := k.Invariants(k.Exact(tt))
			for i := range inv {
				if math.Abs(inv[i]-inv0[i]) > 1e-12 {
					t.Errorf("%+v t=%v: %s = %v, at t=0 %v", k, tt, k.InvariantNames()[i], inv[i], inv0[i])
				}
			}
		}
		zt := k.Exact(period)
		for i := range zt {
			if math.Abs(zt[i]-z0[i]) > 1e-12*math.Max(1, math.Abs(z0[i])) {
				t.Errorf("%+v: Exact(T) = %v, Z0 = %v", k, zt, z0)
			}
		}
	}
	if z := (Kepler{Ecc: 1}).Exact(1); !math.IsNaN(z[0]) {
		t.Errorf("Exact with Ecc = 1 gives %v, want NaNs", z)
	}
}

func TestFPUModeEnergies(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	for _, f := range []FPU{{N: 1}, {N: 4}, {N: 7, Beta: 0}} {
		z := samplePoint(rng, f)
		sum := 0.0
		for _, e := range f.ModeEnergies(z) {
			sum += e
		}
		if want := f.Energy(z); math.Abs(sum-want) > 1e-13*want {
			t.Errorf("%+v: Σ E_k = %v, H = %v", f, sum, want)
		}
	}
	f := FPU{N: 8, Beta: 1}
	e := f.ModeEnergies(f.Z0())
	for k, ek := range e[1:] {
		if math.Abs(ek) > 1e-14 {
			t.Errorf("Z0 has energy %v in mode %d", ek, k+2)
		}
	}
	if w := 2 * math.Sin(math.Pi/18); math.Abs(e[0]-0.5*w*w*4.5) > 1e-13 {
		t.Errorf("Z0 mode-1 energy %v, want %v", e[0], 0.5*w*w*4.5)
	}
}

func TestRegistry(t *testing.T) {
	want := []string{"double-pendulum", "fpu", "harmonic", "henon-heiles", "kepler", "nonseparable", "oscillator", "pendulum"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, name := range Names() {
		s, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.Name() != name {
			t.Errorf("Lookup(%q).Name() = %q", name, s.Name())
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		z0 := s.Z0()
		if len(z0) != s.Dim() || s.Dim()%2 != 0 || s.Dim() == 0 {
			t.Errorf("%s: Dim %d, len(Z0) %d", name, s.Dim(), len(z0))
		}
		if t0, t1 := s.Interval(); !(t1 > t0) {
			t.Errorf("%s: Interval [%v, %v]", name, t0, t1)
		}
		if e := s.Energy(z0); math.IsNaN(e) || math.IsInf(e, 0) {
			t.Errorf("%s: H(Z0) = %v", name, e)
		}
		if len(s.Invariants(z0)) != len(s.InvariantNames()) {
			t.Errorf("%s: %d invariants, %d names", name, len(s.Invariants(z0)), len(s.InvariantNames()))
		}
	}
	if s, err := Lookup(" Henon-Heiles "); err != nil || s.Name() != "henon-heiles" {
		t.Errorf("Lookup is not case-insensitive: %v, %v", s, err)
	}
	if _, err := Lookup("nope"); err == nil {
		t.Error("Lookup of an unknown name succeeded")
	}
}

func TestPaperCases(t *testing.T) {
	osc, _ := Lookup("oscillator")
	hh, _ := Lookup("henon-heiles")
	for _, c := range []struct {
		s      System
		e0, t1 float64
		k      int
	}{{osc, 2.06, 4 * math.Pi, 200}, {hh, 0.13, 6 * math.Pi, 100}} {
		pc := c.s.(PaperCase)
		z0 := pc.PaperZ0()
		if !slices.Equal(z0, c.s.Z0()) {
			t.Errorf("%s: Z0 %v differs from PaperZ0 %v", c.s.Name(), c.s.Z0(), z0)
		}
		if e := c.s.Energy(z0); math.Abs(e-c.e0) > 0.005 {
			t.Errorf("%s: E0 = %v, paper %v", c.s.Name(), e, c.e0)
		}
		if t0, t1 := pc.PaperInterval(); t0 != 0 || t1 != c.t1 {
			t.Errorf("%s: interval [%v, %v]", c.s.Name(), t0, t1)
		}
		if pc.PaperPoints() != c.k {
			t.Errorf("%s: K = %d", c.s.Name(), pc.PaperPoints())
		}
	}
}

func TestHamiltonianErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	v := func(name string) *gorgonia.Node {
		return gorgonia.NewVector(g, tensor.Float64, gorgonia.WithShape(3), gorgonia.WithName(name))
	}
	q, p := []*gorgonia.Node{v("q0"), v("q1")}, []*gorgonia.Node{v("p0"), v("p1")}
	for _, s := range testSystems() {
		if s.Dim() == 4 {
			continue
		}
		if _, err := s.Hamiltonian()(q, p); err == nil {
			t.Errorf("%s: no error for 2 degrees of freedom", label(s))
		}
	}
	if _, err := (HenonHeiles{}).Hamiltonian()(q[:1], p); err == nil {
		t.Error("henon-heiles: no error for mismatched q, p")
	}
	for _, s := range []System{FPU{}, Pendulum{}, Kepler{Ecc: 1}, NonlinearOscillator{Lambda: math.NaN()}} {
		if s.Validate() == nil {
			t.Errorf("%s: invalid parameters pass Validate", label(s))
		}
	}
	for _, s := range []System{FPU{N: 0, Beta: 1}, Pendulum{G: 1}} {
		if _, err := s.Hamiltonian()(q[:1], p[:1]); err == nil {
			t.Errorf("%s: Hamiltonian accepts invalid parameters", label(s))
		}
	}
}
