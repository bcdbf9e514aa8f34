// Package systems collects the Hamiltonian systems used with hnnsolve: the
// nonlinear oscillator (Eq. 23) and the Hénon-Heiles system (Eq. 26) of
// Mattheakis et al., and further test problems (harmonic oscillator,
// pendulum, double pendulum, Kepler problem, a non-separable Hamiltonian and
// the Fermi-Pasta-Ulam β chain).
//
// Each system lives in both worlds used by the project:
//
//   - Hamiltonian returns H as a gorgonia expression (hnnsolve.Hamiltonian),
//     built only from element-wise operations that implement gorgonia.SDOp,
//     so that hnnsolve can differentiate it symbolically. The expression
//     returns H per point (a length-K vector).
//   - Energy, Gradient and Hessian give H, ∇H and D²H in closed form, so the
//     system is an integrate.System and an integrate.Hessian; the separable
//     ones (H = T(p) + V(q)) also provide DT and DV (integrate.Separable).
//
// Phase-space points are z = (q_1..q_d, p_1..p_d), D = 2d, as in package
// integrate. The dynamics are Hamilton's equations ż = J ∇H(z),
// J = [[0, I], [-I, 0]] (Eq. 1-3 of the paper).
//
// The zero value of every system type is usable unless its documentation says
// otherwise; Lookup returns each system with the default parameters listed in
// its documentation.
package systems

import (
	"fmt"
	"sort"
	"strings"

	"gorgonia.org/gorgonia"

	"hnnsolve"
	"hnnsolve/integrate"
)

// System is a Hamiltonian system in both forms: the gorgonia expression for
// the network solver and closed forms for classical integrators and checks.
type System interface {
	// Dim, Energy, Gradient and Hessian give D = 2d, H(z), ∇H(z) and D²H(z)
	// (row-major D×D) in closed form. z and dst must have length D (D*D for
	// the Hessian).
	integrate.Hessian

	// Name returns the registry name of the system (see Names).
	Name() string

	// Hamiltonian returns H as a gorgonia expression of the length-K
	// coordinate nodes q[0..d-1] and momentum nodes p[0..d-1]; it returns H
	// per point (a length-K vector node). It fails if len(q) or len(p) is
	// not d or the parameters are invalid (see Validate).
	Hamiltonian() hnnsolve.Hamiltonian

	// Validate reports invalid parameters (nil for a usable system).
	Validate() error

	// Z0 returns a default initial state (length D): the paper's where the
	// paper has one (see PaperCase).
	Z0() []float64

	// Interval returns a default time interval [t0, t1] for Z0: the paper's
	// where the paper has one.
	Interval() (t0, t1 float64)

	// Invariants returns conserved quantities other than H at z (for example
	// the angular momentum of the Kepler problem), in the order of
	// InvariantNames; nil where there are none.
	Invariants(z []float64) []float64

	// InvariantNames names the values returned by Invariants.
	InvariantNames() []string
}

// PaperCase is implemented by the systems that the paper solves. It gives the
// paper's experiment: initial state, time interval and number K of training
// points.
type PaperCase interface {
	PaperZ0() []float64
	PaperInterval() (t0, t1 float64)
	PaperPoints() int
}

var registry = map[string]func() System{
	"harmonic":        func() System { return HarmonicOscillator{Omega: 1} },
	"oscillator":      func() System { return NewNonlinearOscillator() },
	"henon-heiles":    func() System { return HenonHeiles{} },
	"pendulum":        func() System { return Pendulum{G: 1, L: 1} },
	"double-pendulum": func() System { return DoublePendulum{G: 1} },
	"kepler":          func() System { return Kepler{Ecc: 0.5, A: 1} },
	"nonseparable":    func() System { return NonSeparable{} },
	"fpu":             func() System { return FPU{N: 8, Beta: 1} },
}

// Names returns the registry names accepted by Lookup, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the system registered under name (case-insensitive) with
// its default parameters:
//
//	harmonic         HarmonicOscillator{Omega: 1}
//	oscillator       NonlinearOscillator{Lambda: 1} (Eq. 23)
//	henon-heiles     HenonHeiles{} (Eq. 26)
//	pendulum         Pendulum{G: 1, L: 1}
//	double-pendulum  DoublePendulum{G: 1}
//	kepler           Kepler{Ecc: 0.5, A: 1}
//	nonseparable     NonSeparable{} (H = p²(1+q²)/2)
//	fpu              FPU{N: 8, Beta: 1}
func Lookup(name string) (System, error) {
	mk, ok := registry[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return nil, fmt.Errorf("systems: unknown system %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return mk(), nil
}

// checkArgs verifies the number of coordinate and momentum nodes.
func checkArgs(name string, d int, q, p []*gorgonia.Node) error {
	if len(q) != d || len(p) != d {
		return fmt.Errorf("systems: %s Hamiltonian needs %d coordinates and %d momenta, got %d and %d", name, d, d, len(q), len(p))
	}
	for i := 0; i < d; i++ {
		if q[i] == nil || p[i] == nil {
			return fmt.Errorf("systems: %s Hamiltonian: nil node for degree of freedom %d", name, i)
		}
	}
	return nil
}

// expr builds a gorgonia expression with a sticky error: after the first
// failure every method returns nil and err keeps the failure. Only
// element-wise SDOps are used; a scalar factor c·x is HadamardProd(x, c) with
// a scalar constant c.
type expr struct {
	err error
}

func (e *expr) do(op string, f func() (*gorgonia.Node, error)) *gorgonia.Node {
	if e.err != nil {
		return nil
	}
	n, err := f()
	if err != nil {
		e.err = fmt.Errorf("systems: %s: %w", op, err)
		return nil
	}
	return n
}

func (e *expr) add(a, b *gorgonia.Node) *gorgonia.Node {
	return e.do("Add", func() (*gorgonia.Node, error) { return gorgonia.Add(a, b) })
}

func (e *expr) sub(a, b *gorgonia.Node) *gorgonia.Node {
	return e.do("Sub", func() (*gorgonia.Node, error) { return gorgonia.Sub(a, b) })
}

func (e *expr) mul(a, b *gorgonia.Node) *gorgonia.Node {
	return e.do("HadamardProd", func() (*gorgonia.Node, error) { return gorgonia.HadamardProd(a, b) })
}

func (e *expr) div(a, b *gorgonia.Node) *gorgonia.Node {
	return e.do("HadamardDiv", func() (*gorgonia.Node, error) { return gorgonia.HadamardDiv(a, b) })
}

func (e *expr) sq(a *gorgonia.Node) *gorgonia.Node {
	return e.do("Square", func() (*gorgonia.Node, error) { return gorgonia.Square(a) })
}

func (e *expr) cube(a *gorgonia.Node) *gorgonia.Node {
	return e.do("Cube", func() (*gorgonia.Node, error) { return gorgonia.Cube(a) })
}

func (e *expr) sqrt(a *gorgonia.Node) *gorgonia.Node {
	return e.do("Sqrt", func() (*gorgonia.Node, error) { return gorgonia.Sqrt(a) })
}

func (e *expr) sin(a *gorgonia.Node) *gorgonia.Node {
	return e.do("Sin", func() (*gorgonia.Node, error) { return gorgonia.Sin(a) })
}

func (e *expr) cos(a *gorgonia.Node) *gorgonia.Node {
	return e.do("Cos", func() (*gorgonia.Node, error) { return gorgonia.Cos(a) })
}

// scale returns c·a (a itself when c == 1).
func (e *expr) scale(c float64, a *gorgonia.Node) *gorgonia.Node {
	if e.err != nil || c == 1 {
		return a
	}
	return e.mul(a, gorgonia.NewConstant(c))
}

// sum returns terms[0] + terms[1] + ...; it needs at least one term.
func (e *expr) sum(terms ...*gorgonia.Node) *gorgonia.Node {
	if e.err != nil {
		return nil
	}
	if len(terms) == 0 {
		e.err = fmt.Errorf("systems: empty sum")
		return nil
	}
	acc := terms[0]
	for _, t := range terms[1:] {
		acc = e.add(acc, t)
	}
	return acc
}

// kinetic returns Σ_i p_i²/2.
func (e *expr) kinetic(p []*gorgonia.Node) *gorgonia.Node {
	sq := make([]*gorgonia.Node, len(p))
	for i, pi := range p {
		sq[i] = e.sq(pi)
	}
	return e.scale(0.5, e.sum(sq...))
}

// result returns n, or the first error met while building it.
func (e *expr) result(n *gorgonia.Node) (*gorgonia.Node, error) {
	if e.err != nil {
		return nil, e.err
	}
	return n, nil
}

// Compile-time checks of the interfaces each system satisfies.
var (
	_ System = NonlinearOscillator{}
	_ System = HarmonicOscillator{}
	_ System = HenonHeiles{}
	_ System = Pendulum{}
	_ System = DoublePendulum{}
	_ System = Kepler{}
	_ System = NonSeparable{}
	_ System = FPU{}

	_ integrate.Separable = NonlinearOscillator{}
	_ integrate.Separable = HarmonicOscillator{}
	_ integrate.Separable = HenonHeiles{}
	_ integrate.Separable = Pendulum{}
	_ integrate.Separable = Kepler{}
	_ integrate.Separable = FPU{}

	_ PaperCase = NonlinearOscillator{}
	_ PaperCase = HenonHeiles{}
)
