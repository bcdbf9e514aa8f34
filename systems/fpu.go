package systems

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"

	"hnnsolve"
)

// FPU is the Fermi-Pasta-Ulam β chain of N unit masses with unit linear
// springs and fixed ends, z = (q_1..q_N, p_1..p_N), q_0 = q_{N+1} = 0:
//
//	H = Σ_{i=1..N} p_i²/2 + Σ_{i=0..N} [ d_i²/2 + β d_i⁴/4 ],  d_i = q_{i+1} − q_i,
//	q̇_i = p_i,  ṗ_i = F(d_i) − F(d_{i−1}),  F(d) = d + β d³.
//
// N must be at least 1: the zero value is not usable; Lookup uses N = 8,
// β = 1.
type FPU struct {
	N    int
	Beta float64
}

// Name returns "fpu".
func (FPU) Name() string { return "fpu" }

// Dim returns 2N.
func (f FPU) Dim() int { return 2 * f.N }

// Validate reports N < 1 or a non-finite β.
func (f FPU) Validate() error {
	if f.N < 1 || math.IsNaN(f.Beta) || math.IsInf(f.Beta, 0) {
		return fmt.Errorf("systems: fpu needs N ≥ 1 and finite Beta, got N = %d, Beta = %v", f.N, f.Beta)
	}
	return nil
}

// Hamiltonian returns H per point. The bond lengths are built node by node:
// d_0 = q_1, d_i = q_{i+1} − q_i and, since only even powers enter, q_N for
// the last bond d_N = −q_N; d⁴ is (d²)². The quartic terms are left out when
// β = 0.
func (f FPU) Hamiltonian() hnnsolve.Hamiltonian {
	return func(q, p []*gorgonia.Node) (*gorgonia.Node, error) {
		if err := f.Validate(); err != nil {
			return nil, err
		}
		n := f.N
		if err := checkArgs(f.Name(), n, q, p); err != nil {
			return nil, err
		}
		var e expr
		quad := make([]*gorgonia.Node, 0, 2*n+1)
		quart := make([]*gorgonia.Node, 0, n+1)
		for _, pi := range p {
			quad = append(quad, e.sq(pi))
		}
		for i := 0; i <= n; i++ {
			var d *gorgonia.Node
			switch i {
			case 0:
				d = q[0]
			case n:
				d = q[n-1]
			default:
				d = e.sub(q[i], q[i-1])
			}
			d2 := e.sq(d)
			quad = append(quad, d2)
			if f.Beta != 0 {
				quart = append(quart, e.sq(d2))
			}
		}
		h := e.scale(0.5, e.sum(quad...))
		if f.Beta != 0 {
			h = e.add(h, e.scale(f.Beta/4, e.sum(quart...)))
		}
		return e.result(h)
	}
}

// bond returns d_i = q_{i+1} − q_i (1-based chain indices, i = 0..N) for the
// coordinates q[0..N-1] = (q_1..q_N).
func bond(q []float64, i int) float64 {
	var left, right float64
	if i > 0 {
		left = q[i-1]
	}
	if i < len(q) {
		right = q[i]
	}
	return right - left
}

// Energy returns H.
func (f FPU) Energy(z []float64) float64 {
	n := f.N
	q, p := z[:n], z[n:2*n]
	var kin, pot float64
	for _, pi := range p {
		kin += pi * pi
	}
	for i := 0; i <= n; i++ {
		d2 := bond(q, i)
		d2 *= d2
		pot += 0.5*d2 + f.Beta/4*d2*d2
	}
	return 0.5*kin + pot
}

// Gradient stores ∇H = (DV(q), p).
func (f FPU) Gradient(dst, z []float64) {
	n := f.N
	f.DV(dst[:n], z[:n])
	f.DT(dst[n:2*n], z[n:2*n])
}

// Hessian stores D²H: the q block is tridiagonal with H_ii = F'(d_{i−1}) +
// F'(d_i), H_{i,i+1} = −F'(d_i), F'(d) = 1 + 3β d²; the p block is the
// identity.
func (f FPU) Hessian(dst []float64, z []float64) {
	n := f.N
	dim := 2 * n
	q := z[:n]
	clear(dst[:dim*dim])
	fp := func(i int) float64 { d := bond(q, i); return 1 + 3*f.Beta*d*d }
	for i := 0; i < n; i++ {
		// Coordinate q[i] is q_{i+1}: bonds i (to the left) and i+1.
		dst[i*dim+i] = fp(i) + fp(i+1)
		if i+1 < n {
			k := -fp(i + 1)
			dst[i*dim+i+1] = k
			dst[(i+1)*dim+i] = k
		}
		dst[(n+i)*dim+n+i] = 1
	}
}

// DT stores dT/dp = p.
func (f FPU) DT(dst, p []float64) { copy(dst[:f.N], p[:f.N]) }

// DV stores dV/dq_i = F(d_{i−1}) − F(d_i), F(d) = d + β d³.
func (f FPU) DV(dst, q []float64) {
	q = q[:f.N]
	force := func(i int) float64 { d := bond(q, i); return d + f.Beta*d*d*d }
	right := force(0)
	for i := range q {
		left := right
		right = force(i + 1)
		dst[i] = left - right
	}
}

// ModeEnergies returns the energies E_k = (P_k² + ω_k² Q_k²)/2, k = 1..N, of
// the normal modes of the linear chain, Q_k = sqrt(2/(N+1)) Σ_i q_i
// sin(ikπ/(N+1)) (P_k likewise), ω_k = 2 sin(kπ/(2(N+1))). Their sum is the
// quadratic part of H; for β = 0 each is conserved. The transfer of energy
// between them is the classic FPU observable.
func (f FPU) ModeEnergies(z []float64) []float64 {
	n := f.N
	q, p := z[:n], z[n:2*n]
	norm := math.Sqrt(2 / float64(n+1))
	e := make([]float64, n)
	for k := 1; k <= n; k++ {
		var qk, pk float64
		for i := 1; i <= n; i++ {
			s := math.Sin(float64(i*k) * math.Pi / float64(n+1))
			qk += q[i-1] * s
			pk += p[i-1] * s
		}
		qk *= norm
		pk *= norm
		w := 2 * math.Sin(float64(k)*math.Pi/float64(2*(n+1)))
		e[k-1] = 0.5 * (pk*pk + w*w*qk*qk)
	}
	return e
}

// Invariants returns nil: with fixed ends H is the only invariant.
func (FPU) Invariants([]float64) []float64 { return nil }

// InvariantNames returns nil.
func (FPU) InvariantNames() []string { return nil }

// Z0 returns the lowest normal mode with unit amplitude at rest:
// q_i = sin(iπ/(N+1)), p_i = 0.
func (f FPU) Z0() []float64 {
	z := make([]float64, 2*f.N)
	for i := 1; i <= f.N; i++ {
		z[i-1] = math.Sin(float64(i) * math.Pi / float64(f.N+1))
	}
	return z
}

// Interval returns [0, 100].
func (FPU) Interval() (t0, t1 float64) { return 0, 100 }
