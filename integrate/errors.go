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

	// ErrNonFinite reports an infinite or NaN value: in the solution of a
	// fixed-step method, or in the right-hand side at the initial point of
	// the adaptive integrator. Later in an adaptive integration a step
	// with non-finite values is rejected and retried smaller, as for any
	// large error estimate, so a blow-up there ends in ErrStepSize.
	ErrNonFinite = errors.New("non-finite value in the solution")

	// ErrStepSize reports that the adaptive step size fell below the
	// round-off level of the current time.
	ErrStepSize = errors.New("step size too small")

	// ErrMaxSteps reports that the adaptive integrator used up its step
	// budget (AdaptiveSettings.MaxSteps) before reaching the final time.
	ErrMaxSteps = errors.New("too many steps")
)
