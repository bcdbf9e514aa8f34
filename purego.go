//go:build !openblas

package hnnsolve

// BLAS names the matrix-product library in use: gonum's pure Go by default;
// build with -tags openblas for OpenBLAS.
const BLAS = "gonum"
