package hnnsolve

import (
	"errors"
	"fmt"
	"sync"
)

// Errors returned by Solve, Load and the Solution methods wrap one of these,
// so callers can test the kind with errors.Is.
var (
	// ErrProblem: the Problem is invalid (Z0, T0, T).
	ErrProblem = errors.New("hnnsolve: invalid problem")
	// ErrSettings: a Settings field is out of range or not finite.
	ErrSettings = errors.New("hnnsolve: invalid settings")
	// ErrHamiltonian: the Hamiltonian expression is nil, failed, has the
	// wrong shape or dtype, cannot be differentiated, or is not finite at Z0.
	ErrHamiltonian = errors.New("hnnsolve: invalid Hamiltonian")
	// ErrLagrangian: the potential or Lagrangian expression of a
	// LagrangianProblem is nil, failed, has the wrong shape or dtype, or
	// cannot be differentiated. (Errors found in the Hamiltonian built
	// from it also wrap ErrHamiltonian.)
	ErrLagrangian = errors.New("hnnsolve: invalid Lagrangian")
	// ErrDiverged: the loss became NaN or Inf during training.
	ErrDiverged = errors.New("hnnsolve: training diverged")
	// ErrModel: a saved model cannot be read or does not match the Problem.
	ErrModel = errors.New("hnnsolve: invalid model")
	// ErrDevice: the device asked for (Settings.Device) cannot run
	// training: the build lacks it, or a library, the driver or the GPU is
	// missing; the message names which.
	ErrDevice = errors.New("hnnsolve: device unavailable")
	// ErrTarget: Settings.TargetError drove the recipe (recipe.go) and the
	// integrated Eq. 18 estimate over [T0, T] did not reach it; the best
	// Solution trained is returned with the error.
	ErrTarget = errors.New("hnnsolve: target error not reached")
)

// DivergedError reports the epoch at which the loss stopped being finite.
type DivergedError struct {
	Epoch int
	Loss  float64
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("hnnsolve: training diverged: loss is %v at epoch %d", e.Loss, e.Epoch)
}

// Is makes errors.Is(err, ErrDiverged) true.
func (e *DivergedError) Is(target error) bool { return target == ErrDiverged }

// graphMu serialises graph construction: gorgonia caches hashes of shared
// constants while building, which races between goroutines.
var graphMu sync.Mutex
