package integrate

import "errors"

// Errors returned by the integrators. They are wrapped with a description of
// the problem; test for them with errors.Is.
var (
	// ErrBadInput reports invalid arguments: a state of the wrong length or
	// with non-finite entries, a system of odd or zero dimension, bad times,
	// a step count below one or non-positive tolerances.
	ErrBadInput = errors.New("bad input")

	// ErrNotSeparable reports that a method for separable Hamiltonians
	// H = T(p) + V(q) was asked to integrate a System that does not
	// implement Separable.
	ErrNotSeparable = errors.New("method needs a Separable system")

	// ErrNoConvergence reports that the nonlinear stage equations of an
	// implicit method could not be solved to round-off within the iteration
	// cap, typically because the step is too large.
	ErrNoConvergence = errors.New("implicit stage equations did not converge")

	// ErrNonFinite reports that the solution or the right-hand side became
	// infinite or NaN during the integration.
	ErrNonFinite = errors.New("non-finite value in the solution")

	// ErrStepSize reports that the adaptive step size fell below the
	// round-off level of the current time.
	ErrStepSize = errors.New("step size too small")

	// ErrMaxSteps reports that the adaptive integrator used up its step
	// budget (AdaptiveSettings.MaxSteps) before reaching the final time.
	ErrMaxSteps = errors.New("too many steps")
)
