// Package sinact holds the vector kernel of hnnsolve's sine activation. It is
// a package of its own because Go assembly cannot be in a package using cgo,
// as hnnsolve does with -tags openblas.
package sinact
