// Command hnnsolve reproduces the experiments of Mattheakis et al.,
// "Hamiltonian neural networks for solving equations of motion" (Sec. III,
// Fig. 2-7), and solves the equations of motion of any built-in Hamiltonian
// system with a data-free Hamiltonian network.
//
// Usage:
//
//	hnnsolve demo [-out DIR] [-epochs-scale F] [-seed N] [-device cpu|cuda] [-quiet]
//	hnnsolve reproduce oscillator|oscillator-long|henon-heiles|henon-heiles-long|all [-accurate] [flags]
//	hnnsolve solve -system NAME [-z0 a,b,...] [-t0 T0] [-t1 T1] [flags]
//	hnnsolve ablation oscillator|henon-heiles [flags]
//	hnnsolve systems
//
// Each run writes PNG figures, a CSV file of every curve, summary.json,
// model.json and index.html (the table and every figure on one page) to its
// output directory (default out/EXPERIMENT/) and prints a summary table.
// demo runs the oscillator of Fig. 3 at the paper's settings, with
// -lambda 1 -lr-final 8e-5 and with -accurate, concurrently, into
// out/demo/{paper,improved,accurate}/, and prints one table of the three
// against the paper's figure and symplectic Euler. With -accurate,
// reproduce is -target-error 1e-6 (1e-5 for the long runs): the library's
// TargetError recipe (a chain of small networks, Adam then
// Levenberg-Marquardt, chosen as it goes) instead of the paper's settings,
// written to out/EXPERIMENT-accurate/.
// Run "hnnsolve help" for the flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	signals = ctx
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
