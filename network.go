package hnnsolve

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Activation is the nonlinearity of the hidden layers.
type Activation int

const (
	// Sin is the paper's activation: its global support, like a Fourier
	// basis, speeds up convergence (Sec. II.A, Fig. 2, 5).
	Sin Activation = iota
	// Sigmoid is σ(a) = 1/(1+e^-a), Lagaris et al.'s choice, for the ablation.
	Sigmoid
	// Tanh is the hyperbolic tangent.
	Tanh
)

func (a Activation) String() string {
	switch a {
	case Sin:
		return "sin"
	case Sigmoid:
		return "sigmoid"
	case Tanh:
		return "tanh"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// ParseActivation is the inverse of Activation.String.
func ParseActivation(s string) (Activation, error) {
	for _, a := range []Activation{Sin, Sigmoid, Tanh} {
		if a.String() == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown activation %q (want sin, sigmoid or tanh)", ErrSettings, s)
}

func (a Activation) valid() bool { return a == Sin || a == Sigmoid || a == Tanh }

// eval returns the activation and its derivative at x.
func (a Activation) eval(x float64) (y, dy float64) {
	switch a {
	case Sigmoid:
		s := 1 / (1 + math.Exp(-x))
		return s, s * (1 - s)
	case Tanh:
		t := math.Tanh(x)
		return t, 1 - t*t
	}
	s, c := math.Sincos(x)
	return s, c
}

// network is the feed-forward net N: R → R^D of Fig. 1: one input t, hidden
// layers of the given widths, D linear outputs sharing all hidden weights.
// Weights are stored as W_l (rows: inputs, columns: outputs, row-major) and
// b_l, in the order W_1, b_1, ..., W_out, b_out.
//
// A bundle's network (bundle.go) has the wider input x = (τ, u) of
// widths[0] = 1+len(u) entries, u the member's scaled (z0, θ); the time τ
// stays the first input, so the time tangent of forward starts from
// ẋ = (1, 0, ..., 0). A network with inputs set is a member's view: u is
// fixed to inputs, and forward takes τ alone.
type network struct {
	widths []int // 1 (or 1+len(u) for a bundle), hidden..., D
	act    Activation
	params [][]float64
	inputs []float64 // a member's fixed u; nil for a network of τ alone
}

func newNetwork(hidden []int, dim int, act Activation) *network {
	return newWideNetwork(1, hidden, dim, act)
}

// newWideNetwork returns a network of in inputs: τ, then in-1 more.
func newWideNetwork(in int, hidden []int, dim int, act Activation) *network {
	widths := append(append([]int{in}, hidden...), dim)
	n := &network{widths: widths, act: act}
	for l := 0; l+1 < len(widths); l++ {
		n.params = append(n.params, make([]float64, widths[l]*widths[l+1]), make([]float64, widths[l+1]))
	}
	return n
}

// init draws the weights as PyTorch's nn.Linear does, U(-1/√fan_in, 1/√fan_in),
// so that the paper's settings start from the same distribution as the
// authors' code.
func (n *network) init(rng *rand.Rand) {
	for l := 0; l+1 < len(n.widths); l++ {
		bound := 1 / math.Sqrt(float64(n.widths[l]))
		for _, p := range n.params[2*l : 2*l+2] {
			for i := range p {
				p[i] = bound * (2*rng.Float64() - 1)
			}
		}
	}
}

func (n *network) shape(i int) tensor.Shape {
	l := i / 2
	if i%2 == 0 {
		return tensor.Shape{n.widths[l], n.widths[l+1]}
	}
	return tensor.Shape{1, n.widths[l+1]}
}

func (n *network) paramName(i int) string {
	l := i/2 + 1
	if l == len(n.widths)-1 {
		return [2]string{"Wout", "bout"}[i%2]
	}
	return fmt.Sprintf("%s%d", [2]string{"W", "b"}[i%2], l)
}

func (n *network) numParams() int {
	s := 0
	for _, p := range n.params {
		s += len(p)
	}
	return s
}

func (n *network) maxWidth() int {
	w := 0
	for _, x := range n.widths {
		w = max(w, x)
	}
	return w
}

// forward computes N(t) and its time derivative dN/dt at one t by
// forward-mode tangent propagation: a = h W + b, ȧ = ḣ W, h' = σ(a),
// ḣ' = σ'(a) ȧ, starting from h = t, ḣ = 1 (h = (t, inputs), ḣ = (1, 0)
// for a bundle member's view). buf must hold 4*maxWidth values.
func (n *network) forward(t float64, out, dout, buf []float64) {
	w := n.maxWidth()
	h, dh, a, da := buf[:w], buf[w:2*w], buf[2*w:3*w], buf[3*w:4*w]
	h[0], dh[0] = t, 1
	for i, u := range n.inputs {
		h[1+i], dh[1+i] = u, 0
	}
	last := len(n.widths) - 2
	for l := 0; l <= last; l++ {
		in, outW := n.widths[l], n.widths[l+1]
		W, b := n.params[2*l], n.params[2*l+1]
		for j := range outW {
			a[j], da[j] = b[j], 0
		}
		for i := range in {
			hi, dhi := h[i], dh[i]
			row := W[i*outW : (i+1)*outW]
			for j, wij := range row {
				a[j] += hi * wij
				da[j] += dhi * wij
			}
		}
		if l == last {
			copy(out, a[:outW])
			copy(dout, da[:outW])
			return
		}
		for j := range outW {
			y, dy := n.act.eval(a[j])
			h[j], dh[j] = y, dy*da[j]
		}
	}
}

// netGraph is the network built into a gorgonia graph for a batch of k
// times: the reference ("plain graph") path, with the time tangent carried as
// ordinary nodes because gorgonia cannot nest gradients.
type netGraph struct {
	t      *gorgonia.Node   // (k, 1) input times
	params []*gorgonia.Node // bound to network.params (shared backing)
	out    *gorgonia.Node   // N, (k, D); or [N | dN/dt], (k, 2D) when fused
	dout   *gorgonia.Node   // dN/dt, (k, D); nil when fused
	fused  *fusedNet
	// To second order (buildNetGraph2): out is [N | dN/dt | d²N/dt²],
	// (k, 3D), when fused2 is set; otherwise ddout is d²N/dt².
	ddout  *gorgonia.Node
	fused2 *fusedNet2
}

// columns returns N_i and dN_i/dt as length-k vectors.
func (ng *netGraph) columns(i int) (n, dn *gorgonia.Node, err error) {
	if n, err = columnOf(ng.out, i); err != nil {
		return nil, nil, err
	}
	if ng.fused != nil {
		dn, err = columnOf(ng.out, ng.fused.dim+i)
	} else {
		dn, err = columnOf(ng.dout, i)
	}
	return n, dn, err
}

// newNetInputs returns a netGraph holding the input nodes of the network n
// on k times in g: the times and the parameters, bound to n.params.
func newNetInputs(g *gorgonia.ExprGraph, n *network, k int) *netGraph {
	ng := &netGraph{}
	in := n.widths[0] // 1, or a bundle's 1+len(u): the rows of t are then x = (τ, u)
	ng.t = gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(k, in), gorgonia.WithName("t"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(k, in), tensor.WithBacking(make([]float64, k*in)))))
	for i, p := range n.params {
		s := n.shape(i)
		ng.params = append(ng.params, gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(s...), gorgonia.WithName(n.paramName(i)),
			gorgonia.WithValue(tensor.New(tensor.WithShape(s...), tensor.WithBacking(p)))))
	}
	return ng
}

// applyFused makes the fused network f the graph's output.
func (ng *netGraph) applyFused(f fusedCore) (err error) {
	ng.out, err = gorgonia.ApplyOp(fusedNetOp{f}, append([]*gorgonia.Node{ng.t}, ng.params...)...)
	return err
}

// onesColumn is a k×1 constant of ones: the first layer's input tangent.
func onesColumn(k int) *gorgonia.Node {
	ones := make([]float64, k)
	for i := range ones {
		ones[i] = 1
	}
	return gorgonia.NewConstant(tensor.New(tensor.WithShape(k, 1), tensor.WithBacking(ones)), gorgonia.WithName("ones"))
}

// buildNetGraph builds the network on k times into g: as one fused Op
// (fused), or as plain gorgonia nodes, the reference.
func buildNetGraph(g *gorgonia.ExprGraph, n *network, k int, fused bool) (*netGraph, error) {
	ng := newNetInputs(g, n, k)
	if fused {
		ng.fused = newFusedNet(n, k)
		return ng, ng.applyFused(ng.fused)
	}
	if n.widths[0] != 1 {
		return nil, fmt.Errorf("hnnsolve: the plain network graph takes the time alone, not %d inputs", n.widths[0])
	}
	onesCol := onesColumn(k)

	h, dh := ng.t, onesCol
	last := len(n.widths) - 2
	for l := 0; l <= last; l++ {
		W, b := ng.params[2*l], ng.params[2*l+1]
		hw, err := gorgonia.Mul(h, W)
		if err != nil {
			return nil, err
		}
		a, err := gorgonia.BroadcastAdd(hw, b, nil, []byte{0})
		if err != nil {
			return nil, err
		}
		da, err := gorgonia.Mul(dh, W)
		if err != nil {
			return nil, err
		}
		if l == last {
			ng.out, ng.dout = a, da
			return ng, nil
		}
		y, dy, err := activationNodes(n.act, a)
		if err != nil {
			return nil, err
		}
		dda, err := gorgonia.HadamardProd(dy, da)
		if err != nil {
			return nil, err
		}
		h, dh = y, dda
	}
	return ng, nil
}

// activationNodes returns σ(a) and σ'(a) as graph nodes.
func activationNodes(act Activation, a *gorgonia.Node) (y, dy *gorgonia.Node, err error) {
	switch act {
	case Sin:
		if y, err = gorgonia.Sin(a); err != nil {
			return
		}
		dy, err = gorgonia.Cos(a)
	case Tanh:
		if y, err = gorgonia.Tanh(a); err != nil {
			return
		}
		var y2 *gorgonia.Node
		if y2, err = gorgonia.Square(y); err != nil {
			return
		}
		dy, err = gorgonia.Sub(gorgonia.NewConstant(1.0), y2)
	case Sigmoid:
		if y, err = gorgonia.Sigmoid(a); err != nil {
			return
		}
		var one *gorgonia.Node
		if one, err = gorgonia.Sub(gorgonia.NewConstant(1.0), y); err != nil {
			return
		}
		dy, err = gorgonia.HadamardProd(y, one)
	}
	return
}
