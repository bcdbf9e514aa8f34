package integrate

import (
	"fmt"
	"math"
)

// gaussTableau is an s-stage Gauss–Legendre collocation method written for
// the stage increments Z_i = Y_i - z_n:
//
//	Z_i = h Σ_j a_ij f(z_n + Z_j),   z_{n+1} = z_n + Σ_i d_i Z_i,
//
// where d = bᵀA⁻¹ (Hairer, Lubich & Wanner, Geometric Numerical Integration,
// Sec. VIII.6). The update through d needs no further evaluations of f.
type gaussTableau struct {
	s int
	a []float64 // s×s row-major
	d []float64 // len s
}

var (
	// Implicit midpoint: a = 1/2, b = 1, so d = 2 and z_{n+1} = 2Y - z_n.
	midpointTableau = gaussTableau{s: 1, a: []float64{0.5}, d: []float64{2}}

	// Two-stage Gauss–Legendre, order 4: b = (1/2, 1/2), d = (-√3, √3).
	gl4Tableau = gaussTableau{
		s: 2,
		a: []float64{
			0.25, 0.25 - math.Sqrt(3)/6,
			0.25 + math.Sqrt(3)/6, 0.25,
		},
		d: []float64{-math.Sqrt(3), math.Sqrt(3)},
	}
)

const (
	// maxFixedPoint and maxNewton cap the iterations of the stage solver.
	maxFixedPoint = 100
	maxNewton     = 30
	// stallTol is the largest relative increment at which an iteration
	// whose increments stop decreasing is taken as converged to round-off
	// rather than as failing.
	stallTol = 1e-11
)

// gaussSolver takes steps of a Gauss method, solving the stage equations
// to round-off by Newton's method (when the system provides the Hessian) or
// by fixed-point iteration.
type gaussSolver struct {
	st  *Stepper
	tab *gaussTableau

	z  []float64 // s*D stage increments Z_i
	f  []float64 // s*D f(z_n + Z_i)
	y  []float64 // D stage value
	hs []float64 // s*D*D: the Jacobians J ∇²H(Y_i), for Newton

	m []float64 // (sD)² Newton matrix
	r []float64 // sD Newton residual, then the correction
}

func newGaussSolver(st *Stepper, tab *gaussTableau) *gaussSolver {
	dim, s := st.dim, tab.s
	g := &gaussSolver{
		st:  st,
		tab: tab,
		z:   make([]float64, s*dim),
		f:   make([]float64, s*dim),
		y:   make([]float64, dim),
	}
	st.g = make([]float64, dim)
	if st.hes != nil {
		n := s * dim
		g.hs = make([]float64, s*dim*dim)
		g.m = make([]float64, n*n)
		g.r = make([]float64, n)
		st.tmp = make([]float64, dim*dim)
	}
	return g
}

// step takes one step from z and stores the result in dst (which may be z).
func (g *gaussSolver) step(dst, z []float64, h float64) error {
	for i := range g.z {
		g.z[i] = 0
	}
	var err error
	if g.hes() {
		err = g.newton(z, h)
	} else {
		err = g.fixedPoint(z, h)
	}
	if err != nil {
		return err
	}
	dim := g.st.dim
	for k := 0; k < dim; k++ {
		var inc float64
		for i, di := range g.tab.d {
			inc += di * g.z[i*dim+k]
		}
		dst[k] = z[k] + inc
	}
	return nil
}

func (g *gaussSolver) hes() bool { return g.st.hes != nil }

// evalStages stores f(z + Z_i) in g.f for all stages.
func (g *gaussSolver) evalStages(z []float64) {
	dim := g.st.dim
	for i := 0; i < g.tab.s; i++ {
		zi := g.z[i*dim : (i+1)*dim]
		for k := range g.y {
			g.y[k] = z[k] + zi[k]
		}
		g.st.field(g.f[i*dim:(i+1)*dim], g.y)
	}
}

// scale is the magnitude against which increments are measured: the
// max-norm of z, or 1 when z = 0.
func scale(z []float64) float64 {
	var m float64
	for _, v := range z {
		m = math.Max(m, math.Abs(v))
	}
	if m == 0 {
		return 1
	}
	return m
}

// converged decides, from the relative size delta of the latest increment
// and that of the one before (prev, +Inf at first), whether the iteration
// has converged (done), should go on, or failed.
func converged(delta, prev float64) (done bool, err error) {
	switch {
	case math.IsNaN(delta) || math.IsInf(delta, 0):
		return false, fmt.Errorf("non-finite iterate: %w", ErrNoConvergence)
	case delta <= 4*eps:
		return true, nil
	case delta >= prev:
		// The increments stopped decreasing: round-off level reached, or
		// divergence.
		if prev <= stallTol {
			return true, nil
		}
		return false, fmt.Errorf("increments stopped decreasing at %.3g: %w", delta, ErrNoConvergence)
	}
	return false, nil
}

const eps = 0x1p-52

// fixedPoint solves Z_i = h Σ_j a_ij f(z + Z_j) by fixed-point iteration.
func (g *gaussSolver) fixedPoint(z []float64, h float64) error {
	dim, s, a := g.st.dim, g.tab.s, g.tab.a
	sc := scale(z)
	prev := math.Inf(1)
	for it := 0; it < maxFixedPoint; it++ {
		g.evalStages(z)
		var delta float64
		for i := 0; i < s; i++ {
			for k := 0; k < dim; k++ {
				var v float64
				for j := 0; j < s; j++ {
					v += a[i*s+j] * g.f[j*dim+k]
				}
				v *= h
				delta = math.Max(delta, math.Abs(v-g.z[i*dim+k]))
				g.z[i*dim+k] = v
			}
		}
		done, err := converged(delta/sc, prev)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		prev = delta / sc
	}
	return fmt.Errorf("fixed-point iteration: no convergence in %d iterations: %w", maxFixedPoint, ErrNoConvergence)
}

// newton solves G(Z) = 0, G_i(Z) = Z_i - h Σ_j a_ij f(z + Z_j), by Newton's
// method with the exact Jacobian δ_ij I - h a_ij J ∇²H(z + Z_j).
func (g *gaussSolver) newton(z []float64, h float64) error {
	dim, s, a := g.st.dim, g.tab.s, g.tab.a
	d := g.st.d
	n := s * dim
	sc := scale(z)
	prev := math.Inf(1)
	hess := g.st.tmp
	for it := 0; it < maxNewton; it++ {
		// Stage fields and their Jacobians J ∇²H: rows q take the p rows
		// of the Hessian, rows p the negated q rows.
		for j := 0; j < s; j++ {
			zj := g.z[j*dim : (j+1)*dim]
			for k := range g.y {
				g.y[k] = z[k] + zj[k]
			}
			g.st.field(g.f[j*dim:(j+1)*dim], g.y)
			g.st.hes.Hessian(hess, g.y)
			g.st.evals++
			jac := g.hs[j*dim*dim : (j+1)*dim*dim]
			for r := 0; r < d; r++ {
				copy(jac[r*dim:(r+1)*dim], hess[(d+r)*dim:(d+r+1)*dim])
				for c := 0; c < dim; c++ {
					jac[(d+r)*dim+c] = -hess[r*dim+c]
				}
			}
		}
		// Residual -G and the Newton matrix.
		for i := 0; i < s; i++ {
			for k := 0; k < dim; k++ {
				var v float64
				for j := 0; j < s; j++ {
					v += a[i*s+j] * g.f[j*dim+k]
				}
				g.r[i*dim+k] = h*v - g.z[i*dim+k]
			}
			for j := 0; j < s; j++ {
				haij := h * a[i*s+j]
				jac := g.hs[j*dim*dim : (j+1)*dim*dim]
				for r := 0; r < dim; r++ {
					row := g.m[(i*dim+r)*n+j*dim : (i*dim+r)*n+(j+1)*dim]
					for c := range row {
						row[c] = -haij * jac[r*dim+c]
					}
					if i == j {
						row[r]++
					}
				}
			}
		}
		if !luSolve(g.m, g.r, n) {
			return fmt.Errorf("singular Newton matrix: %w", ErrNoConvergence)
		}
		var delta float64
		for k, v := range g.r {
			g.z[k] += v
			delta = math.Max(delta, math.Abs(v))
		}
		done, err := converged(delta/sc, prev)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		prev = delta / sc
	}
	//lint:ignore ST1005 Newton is a name
	return fmt.Errorf("Newton iteration: no convergence in %d iterations: %w", maxNewton, ErrNoConvergence)
}

// luSolve solves m x = b in place (x overwrites b) by Gaussian elimination
// with partial pivoting; m is n×n row-major and is overwritten. It reports
// false for a singular matrix.
func luSolve(m, b []float64, n int) bool {
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r*n+c]) > math.Abs(m[p*n+c]) {
				p = r
			}
		}
		if m[p*n+c] == 0 {
			return false
		}
		if p != c {
			for k := 0; k < n; k++ {
				m[c*n+k], m[p*n+k] = m[p*n+k], m[c*n+k]
			}
			b[c], b[p] = b[p], b[c]
		}
		inv := 1 / m[c*n+c]
		for r := c + 1; r < n; r++ {
			l := m[r*n+c] * inv
			if l == 0 {
				continue
			}
			m[r*n+c] = l
			for k := c + 1; k < n; k++ {
				m[r*n+k] -= l * m[c*n+k]
			}
			b[r] -= l * b[c]
		}
	}
	for r := n - 1; r >= 0; r-- {
		v := b[r]
		for k := r + 1; k < n; k++ {
			v -= m[r*n+k] * b[k]
		}
		b[r] = v / m[r*n+r]
	}
	return true
}
