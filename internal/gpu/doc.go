// Package gpu is hnnsolve's GPU training engine: whole Adam epochs of one
// or many networks of one Hamiltonian on an NVIDIA GPU, in float64, with
// the host looking at the device only between chunks of epochs.
//
// An Engine (engine.go) trains B networks that share the Hamiltonian, the
// architecture and the settings; each has its own Z0, interval, seed and
// weights. Every kernel and product of an epoch serves all B networks at
// once (strided-batched cuBLAS products, batched element-wise kernels), and
// the epoch is captured once as a CUDA graph and replayed. hnnsolve's
// engine.Trainer is the case B = 1 (the root's gpuTrainer).
//
// The kernels (kernels.cu) are one CUDA C source that also compiles as C99
// on the host, through internal/pointwise's Prelude; Source puts H's
// per-point program (internal/pointwise, translated from the CPU's
// executor by the root package) in front of it. A Device runs them: CUDA
// (internal/cuda: NVRTC, the driver API and cuBLAS, loaded at run time) on
// the GPU, or package hostgpu's emulation, which compiles the same source
// with the host's C compiler and runs the products in Go, so that the
// whole epoch is tested against the CPU engine on any machine with a C
// compiler. Their arithmetic agrees with the CPU engine's to the rounding
// of the math libraries and of the products' summation order: losses and
// gradients to about 1e-15 relative.
//
// The times' perturbations are drawn on the device by Philox4x32-10 and
// Box-Muller (philox.go is the reference in Go), keyed by each network's
// seed with the counter (epoch, point): deterministic for a seed, but not
// the stream of the CPU engine, which draws from math/rand.
//
// Limits: the phase-space dimension is at most MaxDim (each thread holds
// its point's D²H); H must have a per-point program (the root's
// translation rejects what has none).
package gpu
