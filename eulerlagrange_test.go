package hnnsolve

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
)

// Test Lagrangians.

func sq(n *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.Square(n)) }
func hp(a, b *gorgonia.Node) *gorgonia.Node {
	return gorgonia.Must(gorgonia.HadamardProd(a, b))
}

// oscillatorL is Eq. 23's L = v²/2 - x²/2 - x⁴/4, written as a general L.
func oscillatorL(q, v []*gorgonia.Node) (*gorgonia.Node, error) {
	pot, err := oscillatorV(q)
	if err != nil {
		return nil, err
	}
	return gorgonia.Sub(hp(mustC(0.5), sq(v[0])), pot)
}

// magneticL is a unit charge in the uniform field B = 1.3 ẑ (symmetric
// gauge A = B/2 (-y, x)): L = |v|²/2 + B/2 (x v_y - y v_x).
func magneticL(q, v []*gorgonia.Node) (*gorgonia.Node, error) {
	kin := hp(mustC(0.5), gorgonia.Must(gorgonia.Add(sq(v[0]), sq(v[1]))))
	a := gorgonia.Must(gorgonia.Sub(hp(q[0], v[1]), hp(q[1], v[0])))
	return gorgonia.Add(kin, hp(mustC(0.65), a))
}

// relativisticL is L = -sqrt(1 - v²) - x²/2.
func relativisticL(q, v []*gorgonia.Node) (*gorgonia.Node, error) {
	g := gorgonia.Must(gorgonia.Sqrt(gorgonia.Must(gorgonia.Sub(mustC(1), sq(v[0])))))
	return gorgonia.Sub(gorgonia.Must(gorgonia.Neg(g)), hp(mustC(0.5), sq(q[0])))
}

// singularL is L = x v - x²/2: linear in v, ∂²L/∂v² = 0.
func singularL(q, v []*gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.Sub(hp(q[0], v[0]), hp(mustC(0.5), sq(q[0])))
}

type elCase struct {
	name   string
	l      Lagrangian
	z0     []float64
	hidden []int
	act    Activation
	param  Param
	lambda float64
}

var elCases = []elCase{
	{"oscillator as L", oscillatorL, []float64{1.3, 1}, []int{12, 12}, Sin, Exponential, 0.5},
	{"magnetic", magneticL, []float64{1, 0, 0, -1.3}, []int{10, 9}, Sin, Exponential, 0},
	{"magnetic+energy tanh", magneticL, []float64{1, 0, 0, -1.3}, []int{8}, Tanh, Linear, 1},
	{"relativistic", relativisticL, []float64{0.5, 0.2}, []int{10, 10}, Sin, Exponential, 0.7},
}

// elLossFor builds the Euler-Lagrange loss of c at k points on [0, 0.8]
// (the relativistic speed stays below 1 there for these networks).
func elLossFor(t *testing.T, c elCase, net *network, k int, withGrad, fused bool) (*lagrangianLoss, float64) {
	t.Helper()
	lp := LagrangianProblem{L: c.l, Q0: c.z0[:len(c.z0)/2], V0: c.z0[len(c.z0)/2:], T: 1}
	p := lp.Problem()
	e0, _, err := p.energyAt()
	if err != nil {
		t.Fatal(err)
	}
	ll, err := eulerLagrangeForm{L: c.l}.newLoss(p, net, k, c.lambda, e0, withGrad, fused)
	if err != nil {
		t.Fatal(err)
	}
	return ll.(*lagrangianLoss), e0
}

// smallNet is a network of c's shape with weights scaled down, so that the
// trial solution stays near its initial state on [0, 0.8].
func smallNet(c elCase, seed uint64) *network {
	rng := rand.New(rand.NewPCG(seed, 8))
	net := newNetwork(c.hidden, len(c.z0)/2, c.act)
	net.init(rng)
	for j := range net.params[len(net.params)-2] {
		net.params[len(net.params)-2][j] *= 0.2
	}
	return net
}

// TestEulerLagrangeLossGradientFiniteDifference: ∂L/∂θ of the
// Euler-Lagrange loss (second derivatives of L from the expression, then
// reverse mode through them), fused and plain, against central
// differences at 1e-6 relative.
func TestEulerLagrangeLossGradientFiniteDifference(t *testing.T) {
	for _, c := range elCases {
		for _, fused := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/fused=%v", c.name, fused), func(t *testing.T) {
				net := smallNet(c, 7)
				const k = 13
				ll, _ := elLossFor(t, c, net, k, true, fused)
				rng := rand.New(rand.NewPCG(1, 1))
				ts := make([]float64, k)
				for i := range ts {
					ts[i] = 0.8 * rng.Float64()
				}
				ll.setTimes(ts, c.param, 0)
				if l, err := ll.run(); err != nil || !isFinite(l) {
					t.Fatal(l, err)
				}
				gs, _ := ll.gradients()
				var grads [][]float64
				for _, g := range gs {
					grads = append(grads, slices.Clone(g))
				}
				const h = 1e-5
				for i, p := range net.params {
					for _, j := range sampleIndices(rng, len(p), 10) {
						old := p[j]
						p[j] = old + h
						lp, _ := ll.run()
						p[j] = old - h
						lm, _ := ll.run()
						p[j] = old
						fd := (lp - lm) / (2 * h)
						if d := math.Abs(grads[i][j] - fd); d > 1e-6*math.Max(math.Abs(fd), 1e-3) {
							t.Errorf("∂L/∂%s[%d] = %.12g, finite difference %.12g", net.paramName(i), j, grads[i][j], fd)
						}
					}
				}
			})
		}
	}
}

// TestEulerLagrangeMatchesPotential: L = v²/2 - V written as a general
// Lagrangian gives the loss of the potential formulation (Eq. 12) and its
// energy, to rounding.
func TestEulerLagrangeMatchesPotential(t *testing.T) {
	c := elCases[0]
	net := smallNet(c, 3)
	const k = 11
	ll, e0 := elLossFor(t, c, net, k, false, true)
	h := Potential(oscillatorV).Hamiltonian()
	if e := energyOf(t, h, c.z0); math.Abs(e-e0) > 1e-15 {
		t.Errorf("energy function %v, H %v", e0, e)
	}
	pl, err := buildLagrangianLoss(h, c.z0, net, k, c.lambda, e0, false, true)
	if err != nil {
		t.Fatal(err)
	}
	ts := make([]float64, k)
	for i := range ts {
		ts[i] = 0.1 * float64(i)
	}
	ll.setTimes(ts, c.param, 0)
	pl.setTimes(ts, c.param, 0)
	a, _ := ll.run()
	b, _ := pl.run()
	if math.Abs(a-b) > 1e-13*b {
		t.Errorf("Euler-Lagrange loss %.17g, potential loss %.17g", a, b)
	}
}

// TestEulerLagrangeLMJacobian: the LM residuals of a general L give the
// graph's loss, and their Jacobian (third derivatives of L from the
// expression) matches central differences.
func TestEulerLagrangeLMJacobian(t *testing.T) {
	for _, c := range elCases {
		t.Run(c.name, func(t *testing.T) {
			net := smallNet(c, 5)
			lp := LagrangianProblem{L: c.l, Q0: c.z0[:len(c.z0)/2], V0: c.z0[len(c.z0)/2:], T: 1}
			p := lp.Problem()
			e0, _, err := p.energyAt()
			if err != nil {
				t.Fatal(err)
			}
			ts := []float64{0.05, 0.2, 0.45, 0.7}
			lm, err := eulerLagrangeForm{L: c.l}.newLM(p, net, ts, c.param, c.lambda, e0)
			if err != nil {
				t.Fatal(err)
			}
			rows, nPar := lm.size()
			r := make([]float64, rows)
			loss, err := lm.residuals(r)
			if err != nil {
				t.Fatal(err)
			}
			ll, _ := elLossFor(t, c, net, len(ts), false, true)
			ll.setTimes(ts, c.param, 0)
			want, _ := ll.run()
			if math.Abs(loss-want) > 1e-12*want {
				t.Errorf("LM loss %.17g, graph loss %.17g", loss, want)
			}
			jac := make([]float64, rows*nPar)
			lm.jacobian(jac)
			theta := make([]float64, nPar)
			flatten(theta, net.params)
			rp, rm := make([]float64, rows), make([]float64, rows)
			const step = 1e-6
			rng := rand.New(rand.NewPCG(2, 2))
			for _, j := range sampleIndices(rng, nPar, 30) {
				old := theta[j]
				theta[j] = old + step
				unflatten(net.params, theta)
				lm.residuals(rp)
				theta[j] = old - step
				unflatten(net.params, theta)
				lm.residuals(rm)
				theta[j] = old
				unflatten(net.params, theta)
				for i := range rows {
					fd := (rp[i] - rm[i]) / (2 * step)
					if d := math.Abs(jac[i*nPar+j] - fd); d > 1e-6*math.Max(math.Abs(fd), 1e-2) {
						t.Errorf("∂r_%d/∂θ_%d = %.12g, finite difference %.12g", i, j, jac[i*nPar+j], fd)
					}
				}
			}
		})
	}
}

// TestEulerLagrangeSingular: a Lagrangian whose ∂²L/∂q̇² is singular at
// the initial state, or becomes singular along the solution, is an error
// wrapping ErrLagrangian, not a NaN.
func TestEulerLagrangeSingular(t *testing.T) {
	set := &Settings{Points: 10, Hidden: []int{4}, Epochs: 5}
	_, err := SolveLagrangian(LagrangianProblem{L: singularL, Q0: []float64{1}, V0: []float64{0.5}, T: 1}, set)
	if !errors.Is(err, ErrLagrangian) {
		t.Errorf("singular L: %v, want ErrLagrangian", err)
	}
	// L = v⁴/4 - x²/2 has ∂²L/∂v² = 3v², regular at v0 = 1 but singular
	// where v crosses 0, as the motion makes it do.
	quartic := func(q, v []*gorgonia.Node) (*gorgonia.Node, error) {
		return gorgonia.Sub(hp(mustC(0.25), sq(sq(v[0]))), hp(mustC(0.5), sq(q[0])))
	}
	if err := (eulerLagrangeForm{L: quartic}).checkInitial([]float64{0, 1}, 0); err != nil {
		t.Errorf("quartic L at v = 1: %v", err)
	}
	if err := (eulerLagrangeForm{L: quartic}).checkInitial([]float64{0, 0}, 0); !errors.Is(err, ErrLagrangian) {
		t.Errorf("quartic L at v = 0: %v, want ErrLagrangian", err)
	}
	// Along a segment whose q̇ crosses 0 (a network that drives it there).
	sol := &Solution{problem: LagrangianProblem{L: quartic, Q0: []float64{0}, V0: []float64{1}, T: 3}.Problem(),
		settings: Settings{Points: 20, Hidden: []int{3}, Param: Linear}, form: eulerLagrangeForm{L: quartic}}
	net := newNetwork([]int{3}, 1, Sin)
	net.params[3][0] = -1 // N = -1: q = τ - τ², q̇ = 1 - 2τ crosses 0 at τ = 1/2
	sol.segs = []segment{{t0: 0, t1: 3, z0: []float64{0, 1}, net: net}}
	if err := (eulerLagrangeForm{L: quartic}).checkRegularAt(sol, []float64{0.25, 0.5, 0.75}); !errors.Is(err, ErrLagrangian) {
		t.Errorf("q̇ crossing 0: %v, want ErrLagrangian", err)
	}
	// A bad L: typed errors.
	for name, l := range map[string]Lagrangian{
		"error":     func(q, v []*gorgonia.Node) (*gorgonia.Node, error) { return nil, errors.New("no") },
		"nil":       func(q, v []*gorgonia.Node) (*gorgonia.Node, error) { return nil, nil },
		"scalar":    func(q, v []*gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Sum(sq(v[0])) },
		"panics":    func(q, v []*gorgonia.Node) (*gorgonia.Node, error) { return sq(v[5]), nil },
		"nan at v0": func(q, v []*gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Log(v[0]) },
	} {
		if _, err := SolveLagrangian(LagrangianProblem{L: l, Q0: []float64{1}, V0: []float64{-1}, T: 1}, set); !errors.Is(err, ErrLagrangian) && !errors.Is(err, ErrHamiltonian) {
			t.Errorf("L %s: %v, want a typed error", name, err)
		}
	}
	if _, err := SolveLagrangian(LagrangianProblem{V: oscillatorV, L: oscillatorL, Q0: []float64{1}, V0: []float64{0}, T: 1}, set); !errors.Is(err, ErrLagrangian) {
		t.Errorf("V and L: %v, want ErrLagrangian", err)
	}
	if _, err := SolveLagrangian(LagrangianProblem{L: oscillatorL, Q0: []float64{1}, V0: []float64{0}, T: 1}, &Settings{TargetError: 1}); !errors.Is(err, ErrSettings) {
		t.Errorf("TargetError with L: %v, want ErrSettings", err)
	}
}
