package hnnsolve

import (
	"fmt"
	"math"
)

// Param selects the parametric function f of the trial solution
//
//	ẑ(t) = z(T0) + f(t) N(t),  f(T0) = 0,   (Eq. 6)
//
// which makes the initial condition hold exactly whatever the network N.
type Param int

const (
	// Exponential is f(t) = 1 - e^-(t-T0) (Eq. 9), the paper's choice: bounded,
	// so N need not shrink like 1/t at late times.
	Exponential Param = iota
	// Linear is f(t) = t - T0, Lagaris et al.'s choice, kept for the ablation
	// of Fig. 2 and 5.
	Linear
)

func (p Param) String() string {
	switch p {
	case Exponential:
		return "exponential"
	case Linear:
		return "linear"
	}
	return fmt.Sprintf("Param(%d)", int(p))
}

// ParseParam is the inverse of Param.String.
func ParseParam(s string) (Param, error) {
	for _, p := range []Param{Exponential, Linear} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown parametrisation %q (want exponential or linear)", ErrSettings, s)
}

func (p Param) valid() bool { return p == Exponential || p == Linear }

// eval returns f(t) and f'(t) for the trial solution started at t0.
func (p Param) eval(t, t0 float64) (f, df float64) {
	if p == Linear {
		return t - t0, 1
	}
	// -expm1 keeps f accurate near t0, where 1 - e^-x cancels.
	return -math.Expm1(-(t - t0)), math.Exp(-(t - t0))
}
