package hnnsolve

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
)

// Test potentials, written here independently of package systems.

// oscillatorV is V = x²/2 + x⁴/4 (Eq. 23), with Pow.
func oscillatorV(q []*gorgonia.Node) (*gorgonia.Node, error) {
	x := q[0]
	a := gorgonia.Must(gorgonia.Mul(mustC(0.5), gorgonia.Must(gorgonia.Square(x))))
	b := gorgonia.Must(gorgonia.Mul(mustC(0.25), gorgonia.Must(gorgonia.Pow(x, mustC(4)))))
	return gorgonia.Add(a, b)
}

// henonHeilesV is V of Eq. 26, with Cube.
func henonHeilesV(q []*gorgonia.Node) (*gorgonia.Node, error) {
	x, y := q[0], q[1]
	sq := func(n *gorgonia.Node) *gorgonia.Node { return gorgonia.Must(gorgonia.Square(n)) }
	harm := gorgonia.Must(gorgonia.Mul(mustC(0.5), gorgonia.Must(gorgonia.Add(sq(x), sq(y)))))
	x2y := gorgonia.Must(gorgonia.HadamardProd(sq(x), y))
	y3 := gorgonia.Must(gorgonia.Mul(mustC(1.0/3), gorgonia.Must(gorgonia.Cube(y))))
	return gorgonia.Add(harm, gorgonia.Must(gorgonia.Sub(x2y, y3)))
}

// pendulumV is V = -cos x, summed over the points (a scalar V).
func pendulumScalarV(q []*gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.Sum(gorgonia.Must(gorgonia.Neg(gorgonia.Must(gorgonia.Cos(q[0])))))
}

type lagCase struct {
	name   string
	v      Potential
	z0     []float64 // (q0, v0)
	hidden []int
	act    Activation
	param  Param
	lambda float64
}

var lagCases = []lagCase{
	{"oscillator", oscillatorV, []float64{1.3, 1}, []int{16, 16}, Sin, Exponential, 0},
	{"oscillator+energy linear", oscillatorV, []float64{1.3, 1}, []int{16, 16}, Sin, Linear, 1},
	{"henon-heiles wide", henonHeilesV, []float64{0.3, -0.3, 0.3, 0.15}, []int{130, 140}, Sin, Exponential, 0.5},
	{"henon-heiles tanh", henonHeilesV, []float64{0.3, -0.3, 0.3, 0.15}, []int{12}, Tanh, Exponential, 0},
	{"henon-heiles sigmoid 3 layers", henonHeilesV, []float64{0.3, -0.3, 0.3, 0.15}, []int{9, 8, 7}, Sigmoid, Exponential, 0.3},
	{"pendulum scalar V", pendulumScalarV, []float64{0.5, 1}, []int{10, 10}, Sin, Exponential, 0},
}

// TestLagrangianLossGradientFiniteDifference checks ∂L/∂θ of Eq. 12 (+ Eq. 8)
// from the graph (through the second-order tangent and the symbolic ∇V),
// fused and plain, against central differences of L, at 1e-6 relative, as
// TestLossGradientFiniteDifference does for the Hamiltonian loss.
func TestLagrangianLossGradientFiniteDifference(t *testing.T) {
	for _, c := range lagCases {
		for _, fused := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/fused=%v", c.name, fused), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(7, 8))
				d := len(c.z0) / 2
				net := newNetwork(c.hidden, d, c.act)
				net.init(rng)
				const k = 17
				h := c.v.Hamiltonian()
				e0 := energyOf(t, h, c.z0)
				ll, err := buildLagrangianLoss(h, c.z0, net, k, c.lambda, e0, true, fused)
				if err != nil {
					t.Fatal(err)
				}
				ts := make([]float64, k)
				for i := range ts {
					ts[i] = 3 * rng.Float64()
				}
				ll.setTimes(ts, c.param, 0)
				if _, err := ll.run(); err != nil {
					t.Fatal(err)
				}
				gs, err := ll.gradients()
				if err != nil {
					t.Fatal(err)
				}
				grads := make([][]float64, len(gs))
				for i := range gs {
					grads[i] = slices.Clone(gs[i])
				}
				const step = 1e-5
				checked := 0
				for i, p := range net.params {
					for _, j := range sampleIndices(rng, len(p), 12) {
						old := p[j]
						p[j] = old + step
						lp, _ := ll.run()
						p[j] = old - step
						lm, _ := ll.run()
						p[j] = old
						fd := (lp - lm) / (2 * step)
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

// TestLagrangianFusedMatchesGraph: the fused second-order network Op gives
// the loss and gradient of the plain graph to 1e-12 relative.
func TestLagrangianFusedMatchesGraph(t *testing.T) {
	for _, c := range lagCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 9))
			net := newNetwork(c.hidden, len(c.z0)/2, c.act)
			net.init(rng)
			const k = 23
			h := c.v.Hamiltonian()
			e0 := energyOf(t, h, c.z0)
			ts := make([]float64, k)
			for i := range ts {
				ts[i] = 5 * rng.Float64()
			}
			var losses []float64
			var grads [][][]float64
			for _, fused := range []bool{false, true} {
				ll, err := buildLagrangianLoss(h, c.z0, net, k, c.lambda, e0, true, fused)
				if err != nil {
					t.Fatal(err)
				}
				ll.setTimes(ts, c.param, 0)
				l, err := ll.run()
				if err != nil {
					t.Fatal(err)
				}
				gs, _ := ll.gradients()
				var g [][]float64
				for _, x := range gs {
					g = append(g, slices.Clone(x))
				}
				losses, grads = append(losses, l), append(grads, g)
			}
			if d := math.Abs(losses[0] - losses[1]); d > 1e-12*math.Abs(losses[0]) {
				t.Errorf("loss: graph %.17g, fused %.17g", losses[0], losses[1])
			}
			for i := range grads[0] {
				scale := 0.0
				for _, v := range grads[0][i] {
					scale = math.Max(scale, math.Abs(v))
				}
				for j := range grads[0][i] {
					if d := math.Abs(grads[0][i][j] - grads[1][i][j]); d > 1e-12*math.Max(scale, 1e-3) {
						t.Errorf("∂L/∂%s[%d]: graph %.17g, fused %.17g", net.paramName(i), j, grads[0][i][j], grads[1][i][j])
						break
					}
				}
			}
		})
	}
}

// TestForward2FiniteDifference: the network's second-order tangent (the
// single-time forward2, used by the Solution) against central differences
// of its first-order tangent, and that against differences of N; and both
// tangents equal to those of the first-order forward pass.
func TestForward2FiniteDifference(t *testing.T) {
	for _, act := range []Activation{Sin, Tanh, Sigmoid} {
		rng := rand.New(rand.NewPCG(11, uint64(act)))
		net := newNetwork([]int{13, 9, 11}, 3, act)
		net.init(rng)
		w := net.maxWidth()
		buf := make([]float64, 6*w)
		n, dn, ddn := make([]float64, 3), make([]float64, 3), make([]float64, 3)
		np, dnp, ddnp := make([]float64, 3), make([]float64, 3), make([]float64, 3)
		nm, dnm, ddnm := make([]float64, 3), make([]float64, 3), make([]float64, 3)
		n1, dn1 := make([]float64, 3), make([]float64, 3)
		const h = 1e-5
		for _, tau := range []float64{0, 0.3, 1.7, 4} {
			net.forward2(tau, n, dn, ddn, buf)
			net.forward2(tau+h, np, dnp, ddnp, buf)
			net.forward2(tau-h, nm, dnm, ddnm, buf)
			net.forward(tau, n1, dn1, buf)
			for i := range 3 {
				if n[i] != n1[i] || math.Abs(dn[i]-dn1[i]) > 1e-14*math.Max(1, math.Abs(dn1[i])) {
					t.Errorf("%v τ=%v: forward2 N, Ṅ = %v, %v; forward %v, %v", act, tau, n[i], dn[i], n1[i], dn1[i])
				}
				fd2 := (dnp[i] - dnm[i]) / (2 * h)
				if d := math.Abs(ddn[i] - fd2); d > 1e-7*math.Max(1, math.Abs(fd2)) {
					t.Errorf("%v τ=%v: N̈_%d = %.12g, finite difference of Ṅ %.12g", act, tau, i, ddn[i], fd2)
				}
				fd1 := (np[i] - nm[i]) / (2 * h)
				if d := math.Abs(dn[i] - fd1); d > 1e-7*math.Max(1, math.Abs(fd1)) {
					t.Errorf("%v τ=%v: Ṅ_%d = %.12g, finite difference of N %.12g", act, tau, i, dn[i], fd1)
				}
			}
		}
	}
}

// TestLagrangianParamDerivatives: the parametric functions of Eq. 11 and
// their derivatives against central differences, and their values at τ = 0
// that make both initial conditions hold.
func TestLagrangianParamDerivatives(t *testing.T) {
	for _, p := range []Param{Exponential, Linear} {
		f0 := p.eval2(5, 5)
		if f0[0] != 0 || f0[1] != 1 || f0[3] != 0 || f0[4] != 0 {
			t.Errorf("%v at τ = 0: f1 %v, f1' %v, f2 %v, f2' %v; want 0, 1, 0, 0", p, f0[0], f0[1], f0[3], f0[4])
		}
		const h = 1e-5
		for _, tau := range []float64{0.01, 0.5, 2, 7} {
			f, fp, fm := p.eval2(tau, 0), p.eval2(tau+h, 0), p.eval2(tau-h, 0)
			for _, k := range []int{0, 1, 3, 4} {
				fd := (fp[k] - fm[k]) / (2 * h)
				if math.Abs(f[k+1]-fd) > 1e-8 {
					t.Errorf("%v τ=%v: derivative %d = %.12g, finite difference %.12g", p, tau, k+1, f[k+1], fd)
				}
			}
		}
	}
}

// TestLagrangianTrialInitialConditions: whatever the network, the trial
// solution holds q(T0) = Q0 and q̇(T0) = V0 exactly (bit for bit), for both
// parametrisations; dẑ/dt = (q̇, q̈) there.
func TestLagrangianTrialInitialConditions(t *testing.T) {
	for _, p := range []Param{Exponential, Linear} {
		rng := rand.New(rand.NewPCG(5, 6))
		z0 := []float64{0.3, -0.3, 0.3, 0.15}
		net := newNetwork([]int{8, 8}, 2, Sin)
		net.init(rng)
		for i := range net.params {
			for j := range net.params[i] {
				net.params[i][j] *= 5 // large outputs: nothing hides behind small N
			}
		}
		sol := &Solution{problem: Problem{H: Potential(henonHeilesV).Hamiltonian(), Z0: z0, T0: 2, T: 4},
			settings: Settings{Param: p, Hidden: []int{8, 8}}, form: lagrangianForm{},
			segs: []segment{{t0: 2, t1: 4, z0: z0, net: net}}}
		if got := sol.At(2); !slices.Equal(got, z0) {
			t.Errorf("%v: At(T0) = %v, want (Q0, V0) = %v exactly", p, got, z0)
		}
		vel := sol.Velocity([]float64{2, 3})
		if vel.At(0, 0) != z0[2] || vel.At(0, 1) != z0[3] {
			t.Errorf("%v: q̇(T0) = (%v, %v), want V0 = %v", p, vel.At(0, 0), vel.At(0, 1), z0[2:])
		}
		z := sol.At(3)
		if z[0] == z0[0] || vel.At(1, 0) != z[2] || vel.At(1, 1) != z[3] {
			t.Errorf("%v: at t = 3, z = %v, velocity row %v: want dq/dt = p", p, z, vel.RawRowView(1))
		}
	}
}

// TestLagrangianLMJacobian: the Levenberg-Marquardt residuals give the loss
// of the graph at the same times, and their Jacobian (per-time reverse
// passes through the second-order tangent) matches central differences.
func TestLagrangianLMJacobian(t *testing.T) {
	for _, c := range lagCases {
		if c.name == "pendulum scalar V" || len(c.hidden) > 0 && c.hidden[0] > 100 {
			continue // a scalar V has no Hessian per point; the wide net is slow here
		}
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 4))
			net := newNetwork(c.hidden, len(c.z0)/2, c.act)
			net.init(rng)
			h := c.v.Hamiltonian()
			e0 := energyOf(t, h, c.z0)
			ts := []float64{0.1, 0.7, 1.3, 2.2, 3.1}
			lm, err := lagrangianForm{}.newLM(Problem{H: h, Z0: c.z0, T: 4}, net, ts, c.param, c.lambda, e0)
			if err != nil {
				t.Fatal(err)
			}
			rows, nPar := lm.size()
			r := make([]float64, rows)
			loss, err := lm.residuals(r)
			if err != nil {
				t.Fatal(err)
			}
			ll, err := buildLagrangianLoss(h, c.z0, net, len(ts), c.lambda, e0, false, true)
			if err != nil {
				t.Fatal(err)
			}
			ll.setTimes(ts, c.param, 0)
			want, err := ll.run()
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(loss-want) > 1e-12*want {
				t.Errorf("LM loss %.17g, graph loss %.17g", loss, want)
			}
			jac := make([]float64, rows*nPar)
			lm.jacobian(jac)
			theta := make([]float64, nPar)
			flatten(theta, net.params)
			rp, rm := make([]float64, rows), make([]float64, rows)
			const step = 1e-6
			for _, j := range sampleIndices(rng, nPar, 40) {
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

// TestLagrangianLossMatchesDirectEvaluation recomputes Eq. 12 + Eq. 8 from
// the Solution's own trial solution (forward2 at single times) and the
// closed-form ∇V and H, independently of the graph; and checks the
// Solution's q̈ (Velocity) against central differences of its q̇, so that a
// wrong term in the trial solution's derivatives shows in one or the other.
func TestLagrangianLossMatchesDirectEvaluation(t *testing.T) {
	for _, p := range []Param{Exponential, Linear} {
		for _, fused := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(3, 4))
			z0 := []float64{0.3, -0.3, 0.3, 0.15}
			net := newNetwork([]int{9, 7}, 2, Sin)
			net.init(rng)
			const k, lambda, t0 = 13, 0.7, 1.5
			h := Potential(henonHeilesV).Hamiltonian()
			e0 := energyOf(t, h, z0)
			ll, err := buildLagrangianLoss(h, z0, net, k, lambda, e0, false, fused)
			if err != nil {
				t.Fatal(err)
			}
			ts := make([]float64, k)
			for i := range ts {
				ts[i] = t0 + 3*rng.Float64()
			}
			ll.setTimes(ts, p, t0)
			got, err := ll.run()
			if err != nil {
				t.Fatal(err)
			}
			sol := &Solution{problem: Problem{H: h, Z0: z0, T0: t0, T: t0 + 3}, settings: Settings{Param: p, Hidden: []int{9, 7}},
				form: lagrangianForm{}, segs: []segment{{t0: t0, t1: t0 + 3, z0: z0, net: net}}}
			zs, vel := sol.Trajectory(ts), sol.Velocity(ts)
			want := 0.0
			for n := range ts {
				z := zs.RawRowView(n)
				g := henonHeilesGrad(z)
				for i := range 2 {
					r := vel.At(n, 2+i) + g[i]
					want += r * r
				}
				e := 0.5*(z[2]*z[2]+z[3]*z[3]) + 0.5*(z[0]*z[0]+z[1]*z[1]) + z[0]*z[0]*z[1] - z[1]*z[1]*z[1]/3
				want += lambda * (e - e0) * (e - e0)
			}
			want /= k
			if math.Abs(got-want) > 1e-12*want {
				t.Errorf("%v fused=%v: graph loss %.17g, direct %.17g", p, fused, got, want)
			}
			// q̈ against differences of q̇, q̇ against differences of q.
			const step = 1e-5
			for _, tt := range ts[:4] {
				vp, vm := sol.Velocity([]float64{tt + step}), sol.Velocity([]float64{tt - step})
				v := sol.Velocity([]float64{tt})
				zp, zm := sol.At(tt+step), sol.At(tt-step)
				for i := range 2 {
					fd := (vp.At(0, i) - vm.At(0, i)) / (2 * step)
					if math.Abs(v.At(0, 2+i)-fd) > 1e-7*math.Max(1, math.Abs(fd)) {
						t.Errorf("%v t=%v: q̈_%d = %.12g, finite difference of q̇ %.12g", p, tt, i, v.At(0, 2+i), fd)
					}
					fd = (zp[i] - zm[i]) / (2 * step)
					if math.Abs(v.At(0, i)-fd) > 1e-7*math.Max(1, math.Abs(fd)) {
						t.Errorf("%v t=%v: q̇_%d = %.12g, finite difference of q %.12g", p, tt, i, v.At(0, i), fd)
					}
				}
			}
		}
	}
}

// TestLagrangianEpochAllocatesNothing: in steady state a Lagrangian
// training epoch (perturb, loss and gradient on the fused second-order
// Op, Adam step) allocates nothing, with and without the energy term, for
// a potential and for a general Lagrangian.
func TestLagrangianEpochAllocatesNothing(t *testing.T) {
	for _, c := range []struct {
		name string
		lp   LagrangianProblem
		lam  float64
	}{
		{"henon-heiles+energy", LagrangianProblem{V: henonHeilesV, Q0: []float64{0.3, -0.3}, V0: []float64{0.3, 0.15}, T: 6}, 0.5},
		{"magnetic L", LagrangianProblem{L: magneticL, Q0: []float64{1, 0}, V0: []float64{0, -1.3}, T: 6}, 0},
	} {
		p, set, err := c.lp.prepare(&Settings{Points: 50, Hidden: []int{16, 16}, Energy: c.lam, LearnRateFinal: 1e-4})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		net := newNetwork(set.Hidden, 2, set.Activation)
		net.init(rng)
		lg, err := c.lp.form().newLoss(p, net, set.Points, set.Energy, 0.1, true, true)
		if err != nil {
			t.Fatal(err)
		}
		tr := newCPUTrainer(lg, net, set, p.T0, p.T, rng, 0)
		losses := make([]float64, 100)
		epoch := 0
		allocs := testing.AllocsPerRun(50, func() {
			if _, err := tr.Run(context.Background(), epoch, epoch+1, 0, losses); err != nil {
				t.Fatal(err)
			}
			epoch++
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per epoch, want 0", c.name, allocs)
		}
	}
}
