// Command hnnsolve reproduces the experiments of Mattheakis et al.,
// "Hamiltonian neural networks for solving equations of motion" (Sec. III,
// Fig. 2-7), and solves the equations of motion of any built-in Hamiltonian
// system with a data-free Hamiltonian network.
//
// Usage:
//
//	hnnsolve reproduce oscillator|oscillator-long|henon-heiles|henon-heiles-long|all [-accurate] [flags]
//	hnnsolve solve -system NAME [-z0 a,b,...] [-t0 T0] [-t1 T1] [flags]
//	hnnsolve ablation oscillator|henon-heiles [flags]
//	hnnsolve systems
//
// Each run writes PNG figures, a CSV file of every curve, summary.json and
// model.json to its output directory (default out/EXPERIMENT/) and prints a
// summary table. With -accurate, reproduce replaces the paper's settings by
// a preset per experiment (accuratePresets in experiments.go: L-BFGS after
// Adam, chained segments of length ~1) and writes to out/EXPERIMENT-accurate/.
// Run "hnnsolve help" for the flags.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
