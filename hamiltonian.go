package hnnsolve

import "gorgonia.org/gorgonia"

// Hamiltonian builds H from phase-space coordinates as a gorgonia expression.
//
// q[i] and p[i] are nodes of one graph holding one value per time point
// (length-K float64 vectors). The result holds H at each point (a length-K
// vector) or the sum of H over the points (a scalar). Only the element-wise
// operations of gorgonia that implement gorgonia.SDOp may be used (Add, Sub,
// HadamardProd, HadamardDiv, Pow, Square, Cube, Sqrt, Sin, Cos, Exp, Log,
// Neg, Sum and scalar constants); hnnsolve differentiates the expression
// itself to obtain ∇H (Eq. 3 of the paper).
type Hamiltonian func(q, p []*gorgonia.Node) (*gorgonia.Node, error)
