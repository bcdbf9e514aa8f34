package hnnsolve

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// columnOp takes column col of a rows×cols matrix as a length-rows vector:
// the network output's columns N_i and dN_i/dt. gorgonia's own Slice cannot
// be used: its hash keeps only the low byte of each offset, so slices 256
// columns apart hash alike and gorgonia merges them into one node (wrong
// losses and gradients from d = 65 on). This op hashes the whole offset.
type columnOp struct{ rows, cols, col int }

// columnGradOp places a length-rows vector into column col of a zero
// rows×cols matrix: the gradient of columnOp.
type columnGradOp columnOp

func columnOf(m *gorgonia.Node, col int) (*gorgonia.Node, error) {
	s := m.Shape()
	if s.Dims() != 2 || col < 0 || col >= s[1] {
		return nil, fmt.Errorf("hnnsolve: column %d of a %v node", col, s)
	}
	return gorgonia.ApplyOp(columnOp{rows: s[0], cols: s[1], col: col}, m)
}

func tensorType(dims int) gorgonia.TensorType {
	return gorgonia.TensorType{Dims: dims, Of: tensor.Float64}
}

func (op columnOp) Arity() int    { return 1 }
func (op columnOp) Type() hm.Type { return hm.NewFnType(tensorType(2), tensorType(1)) }
func (op columnOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.rows}, nil
}
func (op columnOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, ok := vals[0].Data().([]float64)
	if !ok || len(in) != op.rows*op.cols {
		return nil, fmt.Errorf("hnnsolve: column %d: input is not %d×%d float64", op.col, op.rows, op.cols)
	}
	out := make([]float64, op.rows)
	op.kernel()([][]float64{in}, out)
	return tensor.New(tensor.WithShape(op.rows), tensor.WithBacking(out)), nil
}
func (op columnOp) kernel() kernel {
	return func(in [][]float64, out []float64) {
		for r := range out[:op.rows] {
			out[r] = in[0][r*op.cols+op.col]
		}
	}
}
func (op columnOp) ReturnsPtr() bool     { return false }
func (op columnOp) CallsExtern() bool    { return false }
func (op columnOp) OverwritesInput() int { return -1 }
func (op columnOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "hnnsolve.column(%d,%d)[%d]", op.rows, op.cols, op.col)
}
func (op columnOp) Hashcode() uint32   { return hashOf(op) }
func (op columnOp) String() string     { return fmt.Sprintf("column[%d]", op.col) }
func (op columnOp) DiffWRT(int) []bool { return []bool{true} }
func (op columnOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := gorgonia.ApplyOp(columnGradOp(op), grad)
	return gorgonia.Nodes{g}, err
}

func (op columnGradOp) Arity() int    { return 1 }
func (op columnGradOp) Type() hm.Type { return hm.NewFnType(tensorType(1), tensorType(2)) }
func (op columnGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.rows, op.cols}, nil
}
func (op columnGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, ok := vals[0].Data().([]float64)
	if !ok || len(in) != op.rows {
		return nil, fmt.Errorf("hnnsolve: gradient of column %d: input is not %d float64", op.col, op.rows)
	}
	out := make([]float64, op.rows*op.cols)
	op.kernel()([][]float64{in}, out)
	return tensor.New(tensor.WithShape(op.rows, op.cols), tensor.WithBacking(out)), nil
}
func (op columnGradOp) kernel() kernel {
	return func(in [][]float64, out []float64) {
		clear(out)
		for r, g := range in[0][:op.rows] {
			out[r*op.cols+op.col] = g
		}
	}
}
func (op columnGradOp) ReturnsPtr() bool     { return false }
func (op columnGradOp) CallsExtern() bool    { return false }
func (op columnGradOp) OverwritesInput() int { return -1 }
func (op columnGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "hnnsolve.columnGrad(%d,%d)[%d]", op.rows, op.cols, op.col)
}
func (op columnGradOp) Hashcode() uint32 { return hashOf(op) }
func (op columnGradOp) String() string   { return fmt.Sprintf("columnGrad[%d]", op.col) }
