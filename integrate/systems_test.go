package integrate

import (
	"math"
	"testing"
)

// harmonic is H = p²/2 + ω²q²/2 (one degree of freedom).
type harmonic struct{ w float64 }

func (harmonic) Dim() int { return 2 }
func (s harmonic) Energy(z []float64) float64 {
	return z[1]*z[1]/2 + s.w*s.w*z[0]*z[0]/2
}
func (s harmonic) Gradient(dst, z []float64) { dst[0] = s.w * s.w * z[0]; dst[1] = z[1] }
func (harmonic) DT(dst, p []float64)         { dst[0] = p[0] }
func (s harmonic) DV(dst, q []float64)       { dst[0] = s.w * s.w * q[0] }
func (s harmonic) Hessian(dst, _ []float64) {
	dst[0], dst[1], dst[2], dst[3] = s.w*s.w, 0, 0, 1
}

// exact returns the solution at time t from z0 at time 0.
func (s harmonic) exact(z0 []float64, t float64) (q, p float64) {
	c, sn := math.Cos(s.w*t), math.Sin(s.w*t)
	return z0[0]*c + z0[1]/s.w*sn, -z0[0]*s.w*sn + z0[1]*c
}

// duffing is the paper's nonlinear oscillator H = p²/2 + q²/2 + q⁴/4 (Eq. 23).
type duffing struct{}

func (duffing) Dim() int { return 2 }
func (duffing) Energy(z []float64) float64 {
	q, p := z[0], z[1]
	return p*p/2 + q*q/2 + q*q*q*q/4
}
func (duffing) Gradient(dst, z []float64) { dst[0] = z[0] + z[0]*z[0]*z[0]; dst[1] = z[1] }
func (duffing) DT(dst, p []float64)       { dst[0] = p[0] }
func (duffing) DV(dst, q []float64)       { dst[0] = q[0] + q[0]*q[0]*q[0] }
func (duffing) Hessian(dst, z []float64) {
	dst[0], dst[1], dst[2], dst[3] = 1+3*z[0]*z[0], 0, 0, 1
}

// nonsep is the non-separable H = (q² + p² + q²p²)/2, whose level sets are
// bounded (q², p² <= 2H).
type nonsep struct{}

func (nonsep) Dim() int { return 2 }
func (nonsep) Energy(z []float64) float64 {
	q, p := z[0], z[1]
	return (q*q + p*p + q*q*p*p) / 2
}
func (nonsep) Gradient(dst, z []float64) {
	q, p := z[0], z[1]
	dst[0] = q * (1 + p*p)
	dst[1] = p * (1 + q*q)
}
func (nonsep) Hessian(dst, z []float64) {
	q, p := z[0], z[1]
	dst[0], dst[1] = 1+p*p, 2*p*q
	dst[2], dst[3] = 2*p*q, 1+q*q
}

// gradOnly hides every method of a system but those of System, so that
// the integrators see neither Separable nor Hessian.
type gradOnly struct{ System }

// kepler is the planar Kepler problem H = |p|²/2 - 1/|q|, z = (q1, q2, p1, p2).
type kepler struct{}

func (kepler) Dim() int { return 4 }
func (kepler) Energy(z []float64) float64 {
	return (z[2]*z[2]+z[3]*z[3])/2 - 1/math.Hypot(z[0], z[1])
}
func (k kepler) Gradient(dst, z []float64) { k.DV(dst[:2], z[:2]); k.DT(dst[2:], z[2:]) }
func (kepler) DT(dst, p []float64)         { dst[0], dst[1] = p[0], p[1] }
func (kepler) DV(dst, q []float64) {
	r := math.Hypot(q[0], q[1])
	r3 := r * r * r
	dst[0], dst[1] = q[0]/r3, q[1]/r3
}

// keplerOrbit returns the initial state at pericentre and the exact state at
// time t of the orbit of eccentricity e and semi-major axis 1 (period 2π),
// from Kepler's equation E - e sin E = t solved by Newton's method.
func keplerOrbit(e float64) (z0 []float64, exact func(t float64) []float64) {
	z0 = []float64{1 - e, 0, 0, math.Sqrt((1 + e) / (1 - e))}
	exact = func(t float64) []float64 {
		E := t
		if e > 0.8 {
			E = math.Pi
		}
		for i := 0; i < 50; i++ {
			dE := (E - e*math.Sin(E) - t) / (1 - e*math.Cos(E))
			E -= dE
			if math.Abs(dE) <= 1e-16*math.Max(1, math.Abs(E)) {
				break
			}
		}
		s, c := math.Sin(E), math.Cos(E)
		b := math.Sqrt(1 - e*e)
		dE := 1 / (1 - e*c)
		return []float64{c - e, b * s, -s * dE, b * c * dE}
	}
	return z0, exact
}

// slope returns the least-squares slope of log(y) against log(x).
func slope(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += math.Log(x[i])
		my += math.Log(y[i])
	}
	n := float64(len(x))
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for i := range x {
		dx := math.Log(x[i]) - mx
		sxy += dx * (math.Log(y[i]) - my)
		sxx += dx * dx
	}
	return sxy / sxx
}

func TestKeplerExact(t *testing.T) {
	z0, exact := keplerOrbit(0.5)
	z := exact(0)
	for i := range z0 {
		if math.Abs(z[i]-z0[i]) > 1e-15 {
			t.Fatalf("exact(0) = %v, want %v", z, z0)
		}
	}
	k := kepler{}
	h0 := k.Energy(z0)
	for _, tt := range []float64{0.3, 1, 2.5, 4, 6} {
		if dh := math.Abs(k.Energy(exact(tt)) - h0); dh > 1e-14 {
			t.Errorf("energy of exact solution at t = %v off by %g", tt, dh)
		}
	}
}
