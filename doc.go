// Package hnnsolve solves Hamilton's equations of motion with a data-free
// Hamiltonian neural network, after Mattheakis, Sondak, Dogra and Protopapas,
// "Hamiltonian neural networks for solving equations of motion".
//
// The user gives the Hamiltonian H(q, p) as a gorgonia expression
// (type Hamiltonian); hnnsolve builds the rest:
//
//   - one feed-forward network N(t): R → R^D, D = 2d, with shared hidden
//     weights and sin activation (Fig. 1);
//
//   - the trial solution ẑ(t) = Z0 + f(t) N(t - T0) with f(t) = 1 - e^-(t-T0)
//     (Eq. 6, 9), so the initial condition holds exactly; the network sees
//     the time since the start of its interval (the paper's t0 = 0), so a
//     problem shifted in time trains to the same network;
//
//   - the loss (Eq. 7, 8)
//
//     L = 1/K Σ_n |dẑ/dt(t_n) - J ∇H(ẑ(t_n))|² + λ/K Σ_n (H(ẑ(t_n)) - E0)²,
//
//     where dẑ/dt comes from forward-mode differentiation through the network
//     and ∇H from symbolic differentiation of the user's expression (gorgonia
//     cannot nest gradients, so neither uses gorgonia.Grad); the gradient of
//     L with respect to the weights is gorgonia's reverse mode;
//
//   - training by Adam over K times perturbed at random every epoch.
//
// No data from any solver is used. The result, a Solution, is a continuous,
// differentiable function of t: At, Trajectory and Velocity evaluate it,
// Energy and Residual measure how well it keeps H and satisfies Hamilton's
// equations (ℓ of Eq. 14), and Save/Load keep it.
//
// On the CPU the network and its tangent run as one fused gorgonia Op with a
// hand-written backward pass: its matrix products on a register-blocked
// kernel and the sine activation four lanes at a time, both in AVX2 and FMA
// assembly where the CPU has them (internal/asm; pure Go elsewhere and with
// -tags purego), or its products on OpenBLAS with -tags openblas. The rest
// of the loss, including everything derived from H, is an ordinary gorgonia
// graph, run by the package's own allocation-free executor. The plain-graph
// network is kept as the reference and tested to agree with the fused one
// to 1e-12.
//
// Beyond the paper's Adam training, Settings offers refinement stages that
// reach far lower losses (L-BFGS; Levenberg-Marquardt on the
// sum-of-squares loss, its Jacobian from per-time reverse passes and D²H),
// time-domain chaining (one network per segment of [T0, T], each starting
// exactly at the previous end state) and retries of poorly trained
// segments; together they take the paper's systems to errors of 1e-5 to
// 1e-7 (see the README). Solution.Analyze computes the paper's error
// analysis (Eq. 18, 22) and rigorous first-order bounds from the network's
// own residual.
//
// Package integrate holds the classical integrators the paper compares with
// (symplectic Euler, Eq. 4-5, and higher-order methods) and the adaptive
// DOP853 reference; package systems holds the paper's systems and others,
// both as gorgonia expressions and in closed form.
//
// SolveLagrangian is the paper's other solver (Sec. II.A, Eq. 11-12): one
// network of d outputs whose trial solution q = Q0 + f1 V0 + f2 N holds
// both initial conditions, trained on q̈ + ∇V(q) with q̈ from forward-mode
// tangents to second order, or on the Euler-Lagrange residual of a general
// Lagrangian L(q, q̇); its result is an ordinary Solution in phase space.
//
// Long runs: SolveContext stops on cancellation or a deadline within one
// epoch and returns what was trained; Settings.Checkpoint writes the whole
// training state as it goes, and Resume continues a killed run to the same
// bits. SolveBatch trains many problems of one Hamiltonian on all cores.
// Settings.Device selects where the epochs run (the CPU; CUDA with -tags
// gpu, see internal/engine for the boundary).
//
// Concurrency: a Solution's methods are safe for concurrent use, and so
// are Solve, SolveBatch, Resume, Load and Analyze called from many
// goroutines (gorgonia's package-level state is only touched while graphs
// are built, which the package serialises). Settings.Progress is called
// from the goroutine that trains (from one goroutine at a time in
// SolveBatch). Problem and Settings are plain values; a Hamiltonian must be
// safe to call from several goroutines if it is shared (a function that
// only builds nodes from its arguments is).
//
// Everything is float64 and deterministic given Settings.Seed. Invalid input
// is reported by errors wrapping ErrProblem, ErrSettings, ErrHamiltonian,
// ErrDiverged, ErrModel or ErrDevice; panics inside gorgonia are recovered
// at the API. Model files (Load) are checked as if hostile: sizes are
// bounded before anything is allocated and a checksum detects corruption.
package hnnsolve
