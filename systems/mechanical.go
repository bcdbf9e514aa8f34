package systems

import (
	"fmt"

	"gorgonia.org/gorgonia"

	"hnnsolve"
)

// Mechanical is implemented by the systems whose Hamiltonian is
// H = |p|²/2 + V(q) with unit masses, so that the Lagrangian formulation
// (hnnsolve.SolveLagrangian, L = |q̇|²/2 - V) solves them from V alone:
// Potential().Hamiltonian() is the system's H.
type Mechanical interface {
	// Potential returns V(q) as a gorgonia expression of the length-K
	// coordinate nodes q[0..d-1], per point.
	Potential() hnnsolve.Potential
}

var (
	_ Mechanical = NonlinearOscillator{}
	_ Mechanical = HarmonicOscillator{}
	_ Mechanical = HenonHeiles{}
)

// checkCoords verifies the number of coordinate nodes of a potential.
func checkCoords(name string, d int, q []*gorgonia.Node) error {
	if len(q) != d {
		return fmt.Errorf("systems: %s potential needs %d coordinates, got %d", name, d, len(q))
	}
	for i, qi := range q {
		if qi == nil {
			return fmt.Errorf("systems: %s potential: nil node for coordinate %d", name, i)
		}
	}
	return nil
}

// Potential returns V = x²/2 + Λ x⁴/4 (Eq. 23) per point.
func (o NonlinearOscillator) Potential() hnnsolve.Potential {
	return func(q []*gorgonia.Node) (*gorgonia.Node, error) {
		if err := checkCoords(o.Name(), 1, q); err != nil {
			return nil, err
		}
		if err := o.Validate(); err != nil {
			return nil, err
		}
		var e expr
		x2 := e.sq(q[0])
		v := e.scale(0.5, x2)
		if o.Lambda != 0 {
			v = e.add(v, e.scale(o.Lambda/4, e.sq(x2)))
		}
		return e.result(v)
	}
}

// Potential returns V = ω² q²/2 per point.
func (h HarmonicOscillator) Potential() hnnsolve.Potential {
	return func(q []*gorgonia.Node) (*gorgonia.Node, error) {
		if err := checkCoords(h.Name(), 1, q); err != nil {
			return nil, err
		}
		if err := h.Validate(); err != nil {
			return nil, err
		}
		var e expr
		return e.result(e.scale(h.Omega*h.Omega/2, e.sq(q[0])))
	}
}

// Potential returns V = (x² + y²)/2 + x²y - y³/3 (Eq. 26) per point.
func (hh HenonHeiles) Potential() hnnsolve.Potential {
	return func(q []*gorgonia.Node) (*gorgonia.Node, error) {
		if err := checkCoords(hh.Name(), 2, q); err != nil {
			return nil, err
		}
		var e expr
		x, y := q[0], q[1]
		x2 := e.sq(x)
		quad := e.scale(0.5, e.add(x2, e.sq(y)))
		cubic := e.sub(e.mul(x2, y), e.scale(1.0/3, e.cube(y)))
		return e.result(e.add(quad, cubic))
	}
}
