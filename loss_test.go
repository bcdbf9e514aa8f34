package hnnsolve

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// nonSeparablePointH is H = p² (1 + q²) / 2 per point (for the energy term).
func nonSeparablePointH(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
	one := gorgonia.Must(gorgonia.Add(mustC(1), gorgonia.Must(gorgonia.Square(q[0]))))
	return gorgonia.Mul(mustC(0.5), gorgonia.Must(gorgonia.HadamardProd(gorgonia.Must(gorgonia.Square(p[0])), one)))
}

// TestLossGradientFiniteDifference checks ∂L/∂θ from the graph (through the
// forward tangent and the symbolic ∇H) against central differences of L.
// With step h = 1e-5 the truncation error is O(h² L”') ~ 1e-9 and rounding
// O(ε L / h) ~ 1e-11, so 1e-6 relative leaves a wide margin only for a
// correct gradient: a wrong term changes components at O(1) relative.
func TestLossGradientFiniteDifference(t *testing.T) {
	cases := []struct {
		name   string
		h      Hamiltonian
		z0     []float64
		hidden []int
		act    Activation
		param  Param
		lambda float64
	}{
		{"oscillator", oscillatorH, []float64{1.3, 1}, []int{16, 16}, Sin, Exponential, 0},
		{"oscillator+energy", oscillatorH, []float64{1.3, 1}, []int{16, 16}, Sin, Linear, 1},
		{"henon-heiles wide", henonHeilesH, []float64{0.3, -0.3, 0.3, 0.15}, []int{130, 140}, Sin, Exponential, 0.5},
		{"henon-heiles tanh", henonHeilesH, []float64{0.3, -0.3, 0.3, 0.15}, []int{12}, Tanh, Exponential, 0},
		{"non-separable scalar H", nonSeparableH, []float64{0.5, 1}, []int{10, 10}, Sigmoid, Exponential, 0},
		{"non-separable+energy", nonSeparablePointH, []float64{0.5, 1}, []int{20, 20}, Sin, Exponential, 0.7},
	}
	for _, c := range cases {
		for _, fused := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/fused=%v", c.name, fused), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(7, 8))
				net := newNetwork(c.hidden, len(c.z0), c.act)
				net.init(rng)
				const k = 17
				e0 := energyOf(t, c.h, c.z0)
				lg, err := buildLossGraph(c.h, c.z0, net, k, c.lambda, e0, true, fused)
				if err != nil {
					t.Fatal(err)
				}
				ts := make([]float64, k)
				for i := range ts {
					ts[i] = 3 * rng.Float64()
				}
				lg.setTimes(ts, c.param, 0)
				if _, err := lg.run(); err != nil {
					t.Fatal(err)
				}
				gs, err := lg.gradients()
				if err != nil {
					t.Fatal(err)
				}
				grads := make([][]float64, len(gs))
				for i := range gs {
					grads[i] = slices.Clone(gs[i])
				}
				const h = 1e-5
				checked := 0
				for i, p := range net.params {
					for _, j := range sampleIndices(rng, len(p), 12) {
						old := p[j]
						p[j] = old + h
						lp, _ := lg.run()
						p[j] = old - h
						lm, _ := lg.run()
						p[j] = old
						fd := (lp - lm) / (2 * h)
						if d := math.Abs(grads[i][j] - fd); d > 1e-6*math.Max(math.Abs(fd), 1e-3) {
							t.Errorf("∂L/∂%s[%d] = %.12g, finite difference %.12g", net.paramName(i), j, grads[i][j], fd)
						}
						checked++
					}
				}
				t.Logf("%d components checked", checked)
			})
		}
	}
}

func sampleIndices(rng *rand.Rand, n, m int) []int {
	if n <= m {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return rng.Perm(n)[:m]
}

func energyOf(t *testing.T, h Hamiltonian, z []float64) float64 {
	t.Helper()
	e, _, err := Problem{H: h, Z0: z, T: 1}.energyAt()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestLossMatchesDirectEvaluation recomputes Eq. 7-8 for the oscillator
// from the network's own forward pass and the closed-form ∇H, independently
// of the graph.
func TestLossMatchesDirectEvaluation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	z0 := []float64{1.3, 1}
	net := newNetwork([]int{9, 7}, 2, Sin)
	net.init(rng)
	const k, lambda = 11, 0.8
	e0 := 0.5*z0[1]*z0[1] + 0.5*z0[0]*z0[0] + 0.25*math.Pow(z0[0], 4)
	lg, err := buildLossGraph(oscillatorH, z0, net, k, lambda, e0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	ts := make([]float64, k)
	for i := range ts {
		ts[i] = 5 * rng.Float64()
	}
	lg.setTimes(ts, Exponential, 0)
	got, err := lg.run()
	if err != nil {
		t.Fatal(err)
	}
	want := 0.0
	n, dn, buf := make([]float64, 2), make([]float64, 2), make([]float64, 4*net.maxWidth())
	for _, tt := range ts {
		net.forward(tt, n, dn, buf)
		f, df := 1-math.Exp(-tt), math.Exp(-tt)
		x, p := z0[0]+f*n[0], z0[1]+f*n[1]
		dx, dp := df*n[0]+f*dn[0], df*n[1]+f*dn[1]
		h := 0.5*p*p + 0.5*x*x + 0.25*x*x*x*x
		want += (dx-p)*(dx-p) + (dp+x+x*x*x)*(dp+x+x*x*x) + lambda*(h-e0)*(h-e0)
	}
	want /= k
	if math.Abs(got-want) > 1e-13*want {
		t.Errorf("graph loss %.16g, direct %.16g", got, want)
	}
}

// TestFusedMatchesPlainGraph: the fused network Op (the training path) and
// the plain-graph network (the reference) give the same loss and parameter
// gradients to 1e-12 relative, for every activation, below and above width 128.
func TestFusedMatchesPlainGraph(t *testing.T) {
	// Hénon-Heiles (D = 4) and a chain of five coupled oscillators
	// (D = 10): the output layer's padding to the kernel's blocks differs.
	systems := []struct {
		h  Hamiltonian
		z0 []float64
	}{
		{henonHeilesH, []float64{0.3, -0.3, 0.3, 0.15}},
		{chainH, []float64{0.1, -0.2, 0.3, 0, 0.2, 0.5, 0, -0.1, 0.2, 0.3}},
	}
	for _, act := range []Activation{Sin, Sigmoid, Tanh} {
		for si, hidden := range [][]int{{20, 30}, {150, 140}, {40}, {9}} {
			sys := systems[si%2]
			// 23 points fit in one block of the first layer's rows, 70 take
			// three (fusedNet.w1Rows).
			k := []int{23, 70}[si/2]
			name := fmt.Sprintf("%v/%v/D=%d/K=%d", act, hidden, len(sys.z0), k)
			z0 := sys.z0
			rng := rand.New(rand.NewPCG(11, 12))
			net := newNetwork(hidden, len(z0), act)
			net.init(rng)
			ts := make([]float64, k)
			for i := range ts {
				ts[i] = 6 * rng.Float64()
			}
			var losses [2]float64
			var grads [2][][]float64
			for i, fused := range []bool{false, true} {
				lg, err := buildLossGraph(sys.h, z0, net, k, 0.5, 0.13, true, fused)
				if err != nil {
					t.Fatal(err)
				}
				lg.setTimes(ts, Exponential, 0)
				// Run three times: buffers are reused, so nothing may
				// carry over from one run to the next.
				for run := range 3 {
					loss, err := lg.run()
					if err != nil {
						t.Fatal(err)
					}
					gs, err := lg.gradients()
					if err != nil {
						t.Fatal(err)
					}
					if run == 0 {
						losses[i] = loss
						for _, g := range gs {
							grads[i] = append(grads[i], slices.Clone(g))
						}
						continue
					}
					for p, g := range gs {
						if loss != losses[i] || !slices.Equal(g, grads[i][p]) {
							t.Fatalf("%s fused=%v: run %d differs from the first", name, fused, run)
						}
					}
				}
			}
			if d := math.Abs(losses[0] - losses[1]); d > 1e-12*losses[0] {
				t.Errorf("%s: loss plain %v, fused %v", name, losses[0], losses[1])
			}
			for p := range grads[0] {
				scale := 0.0
				for _, v := range grads[0][p] {
					scale = math.Max(scale, math.Abs(v))
				}
				for j := range grads[0][p] {
					if d := math.Abs(grads[0][p][j] - grads[1][p][j]); d > 1e-12*scale {
						t.Errorf("%s: ∂L/∂%s[%d] plain %v, fused %v", name, net.paramName(p), j, grads[0][p][j], grads[1][p][j])
						break
					}
				}
			}
		}
	}
}

// TestLMJacobianFiniteDifference checks the Levenberg-Marquardt Jacobian,
// assembled from per-time reverse passes and D²H, against central
// differences of the residuals.
func TestLMJacobianFiniteDifference(t *testing.T) {
	for _, c := range []struct {
		name   string
		h      Hamiltonian
		z0     []float64
		act    Activation
		lambda float64
	}{
		{"oscillator", oscillatorH, []float64{1.3, 1}, Sin, 0},
		{"henon-heiles+energy", henonHeilesH, []float64{0.3, -0.3, 0.3, 0.15}, Tanh, 0.5},
		{"non-separable sigmoid", nonSeparablePointH, []float64{0.5, 1}, Sigmoid, 1},
	} {
		rng := rand.New(rand.NewPCG(5, 6))
		net := newNetwork([]int{7, 6}, len(c.z0), c.act)
		net.init(rng)
		ev, err := newHamiltonianEvaluator(c.h, len(c.z0), 8, true)
		if err != nil {
			t.Fatal(err)
		}
		ts := []float64{0.1, 0.7, 1.3, 2.2, 2.9}
		lp := newLMProblem(net, ev, ts, c.z0, 0, Exponential, c.lambda, 0.3)
		r := make([]float64, lp.rows)
		if _, err := lp.residuals(r); err != nil {
			t.Fatal(err)
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
						t.Fatalf("%s: ∂r%d/∂%s[%d] = %v, finite difference %v", c.name, row, net.paramName(pi), j, jac[row*lp.nPar+col], fd)
					}
				}
				col++
			}
		}
		// The residuals are the loss's: |r|² equals the graph's loss.
		lg, err := buildLossGraph(c.h, c.z0, net, len(ts), c.lambda, 0.3, false, true)
		if err != nil {
			t.Fatal(err)
		}
		lg.setTimes(ts, Exponential, 0)
		want, _ := lg.run()
		got, _ := lp.residuals(r)
		if math.Abs(got-want) > 1e-12*want {
			t.Errorf("%s: |r|² = %v, graph loss %v", c.name, got, want)
		}
	}
}

// kitchenSinkH uses every kind of op the program runs natively, and one
// it leaves to gorgonia (Tanh): H = p²/2 + e^{q/2} - ln(2 + q²) + √(1 + q²)
// + sin(q) cos(p)/(2 + q²) - q^3 / 10 + tanh(p)/5 (no physics, only ops).
func kitchenSinkH(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
	m := gorgonia.Must
	c := mustC
	x, v := q[0], p[0]
	x2 := m(gorgonia.Square(x))
	terms := []*gorgonia.Node{
		m(gorgonia.HadamardProd(c(0.5), m(gorgonia.Square(v)))),
		m(gorgonia.Exp(m(gorgonia.HadamardDiv(x, c(2))))),
		m(gorgonia.Neg(m(gorgonia.Log(m(gorgonia.Add(c(2), x2)))))),
		m(gorgonia.Sqrt(m(gorgonia.Add(x2, c(1))))),
		m(gorgonia.HadamardDiv(m(gorgonia.HadamardProd(m(gorgonia.Sin(x)), m(gorgonia.Cos(v)))), m(gorgonia.Add(x2, c(2))))),
		m(gorgonia.Sub(c(0), m(gorgonia.HadamardDiv(m(gorgonia.Pow(x, c(3))), c(10))))),
		m(gorgonia.HadamardDiv(m(gorgonia.Tanh(v)), c(5))),
	}
	h := terms[0]
	for _, t := range terms[1:] {
		h = m(gorgonia.Add(h, t))
	}
	return h, nil
}

// TestProgramMatchesTapeMachine runs the same loss graph with the program
// (native kernels) and with gorgonia's TapeMachine (the ops' own Do), for an
// H that uses every native kernel.
func TestProgramMatchesTapeMachine(t *testing.T) {
	for _, fused := range []bool{true, false} {
		z0 := []float64{0.4, -0.7}
		net := newNetwork([]int{6, 5}, 2, Sin)
		net.init(rand.New(rand.NewPCG(9, 9)))
		lg, err := buildLossGraph(kitchenSinkH, z0, net, 9, 0.3, 0.2, true, fused)
		if err != nil {
			t.Fatal(err)
		}
		ts := []float64{0, 0.3, 0.5, 0.9, 1.4, 2, 2.5, 2.7, 3}
		lg.setTimes(ts, Exponential, 0)
		loss, err := lg.run()
		if err != nil {
			t.Fatal(err)
		}
		gs, _ := lg.gradients()
		var lossVal gorgonia.Value
		gorgonia.Read(lg.loss, &lossVal)
		vm := gorgonia.NewTapeMachine(lg.g)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		want := valueData(lossVal)[0]
		if math.Abs(loss-want) > 1e-14*want {
			t.Errorf("fused=%v: program loss %v, TapeMachine %v", fused, loss, want)
		}
		for i, g := range lg.grads {
			wv := valueData(g.Value())
			for j := range wv {
				if math.Abs(gs[i][j]-wv[j]) > 1e-13*math.Max(1, math.Abs(wv[j])) {
					t.Fatalf("fused=%v: ∂L/∂%s[%d] program %v, TapeMachine %v", fused, net.paramName(i), j, gs[i][j], wv[j])
				}
			}
		}
	}
}

// valueData reads a float64 gorgonia value.
func valueData(v gorgonia.Value) []float64 {
	switch v := v.(type) {
	case *gorgonia.F64:
		return []float64{float64(*v)}
	case tensor.Tensor:
		return v.Data().([]float64)
	}
	return nil
}

// chainH is five unit masses in a line joined by springs with a quartic
// part, H = Σ p_i²/2 + Σ (q_i - q_{i-1})²/2 + (q_i - q_{i-1})⁴/4, q_0 = 0.
func chainH(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
	m := func(n *gorgonia.Node, err error) *gorgonia.Node { return gorgonia.Must(n, err) }
	var h *gorgonia.Node
	add := func(n *gorgonia.Node) {
		if h == nil {
			h = n
			return
		}
		h = m(gorgonia.Add(h, n))
	}
	for i := range q {
		add(m(gorgonia.Mul(mustC(0.5), m(gorgonia.Square(p[i])))))
		d := q[i]
		if i > 0 {
			d = m(gorgonia.Sub(q[i], q[i-1]))
		}
		d2 := m(gorgonia.Square(d))
		add(m(gorgonia.Mul(mustC(0.5), d2)))
		add(m(gorgonia.Mul(mustC(0.25), m(gorgonia.Square(d2)))))
	}
	return h, nil
}

// TestPowConst: the program's integer powers give math.Pow's bits, for
// normal numbers of all sizes, zeros, infinities and NaN.
func TestPowConst(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := []float64{0, math.Copysign(0, -1), 1, -1, math.Inf(1), math.Inf(-1), math.NaN(), 1e100, -1e-70}
	for range 100000 {
		x = append(x, (2*rng.Float64()-1)*math.Pow(10, 40*(2*rng.Float64()-1)))
	}
	out := make([]float64, len(x))
	for _, c := range []float64{2, 3, 4, 2.5, -1} {
		powConst(out, x, c)
		for i, v := range x {
			if w := math.Pow(v, c); math.Float64bits(out[i]) != math.Float64bits(w) && !(math.IsNaN(w) && math.IsNaN(out[i])) {
				t.Fatalf("%v^%v = %v, math.Pow %v", v, c, out[i], w)
			}
		}
	}
}
