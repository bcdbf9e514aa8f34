//go:build openblas

package hnnsolve

// With -tags openblas, every matrix product (the fused network's, and
// gorgonia's own) goes to OpenBLAS through gonum's netlib bindings, run on
// one thread: training runs one network per goroutine, and at these sizes
// OpenBLAS's threads cost more than they give. Needs Debian's libopenblas-dev.

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
*/
import "C"

import (
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/gorgonia"
)

func init() {
	C.openblas_set_num_threads(1)
	blas64.Use(netlib.Implementation{})
	gorgonia.Use(netlib.Implementation{})
}

// BLAS names the matrix-product library in use.
const BLAS = "openblas"
