package hnnsolve

import (
	"errors"
	"fmt"
	"hash"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ParseHamiltonian parses a Hamiltonian written as text, such as
//
//	p^2/2 - cos(q)
//	(px^2 + py^2)/2 + (x^2 + y^2)/2 + x^2*y - y^3/3
//
// and returns it as a gorgonia expression, so that Solve, GradH and
// HessianH use it like a hand-built one (it is differentiated symbolically,
// twice during training). It is ParseExpression(expr, coords...).Hamiltonian().
//
// The grammar (EBNF; blanks, tabs and newlines separate tokens and are
// otherwise ignored):
//
//	H        = sum .
//	sum      = product { ( "+" | "-" ) product } .
//	product  = unary { ( "*" | "/" ) unary } .
//	unary    = { "+" | "-" } power .
//	power    = operand [ "^" unary ] .
//	operand  = number | name | function "(" sum ")" | "(" sum ")" .
//	function = "sin" | "cos" | "tan" | "exp" | "log" | "sqrt" | "tanh" | "abs" .
//	number   = ( digits [ "." [ digits ] ] | "." digits ) [ exponent ] .
//	exponent = ( "e" | "E" ) [ "+" | "-" ] digits .
//	name     = letter { letter | digit | "_" } .  (letter includes "_")
//
// So ^ binds tighter than unary minus and is right-associative: -x^2 is
// −(x²), 2^3^2 is 2⁹ and 2^-1 is 1/2; * and / are left-associative at one
// level (2*p^2/2 is p²), as are + and −. log is the natural logarithm, pi is
// π. Nesting (parentheses, calls, signs, powers) is limited to 200 levels.
//
// Names: coords names the coordinates q_1..q_d and then the momenta
// p_1..p_d, so it has an even length 2d >= 2, e.g.
// ParseHamiltonian("(px^2+py^2)/2 + x^2*y", "x", "y", "px", "py"). The names
// must be distinct names of the grammar other than pi and the function
// names. Without coords the names are q1..qd and p1..pd, d being the number
// of coordinates H is called with (len(q)), and for d = 1 also q and p; a
// name whose index exceeds that d makes H return an error (a *ParseError
// positioned at the name) when called. H may leave any coordinate out; a
// constant H is allowed too (∇H = 0).
//
// Errors: every error about expr or coords is a *ParseError, which carries
// the position and the reason (unknown name or function, wrong number of
// arguments, missing operand or operator, unbalanced parentheses, empty
// input, bad or non-finite number, a constant subexpression that is not
// finite such as log(0) or 1/0, nesting too deep, an invalid coordinate
// list); errors.Is(err, ErrHamiltonian) holds for it. Nothing panics.
//
// Constant subexpressions are folded into one float64. Integer powers up to
// 64 in magnitude are built from Square, Cube and products (so q^4 at
// q = −1.3 is exact and its derivative 4q³), x^0.5 is Sqrt, other constant
// powers are Pow with a constant exponent (NaN for a negative base, as
// math.Pow), and a power with a varying exponent is Pow, whose derivative
// with respect to the exponent, a^b log a, needs a > 0. tan is sin/cos, the
// other functions are gorgonia's, except abs: gorgonia cannot differentiate
// its Abs twice, as training needs, so abs is an element-wise operation of
// this package that implements gorgonia.SDOp, with derivative sign(x) (0 at
// x = 0) and second derivative 0.
func ParseHamiltonian(expr string, coords ...string) (Hamiltonian, error) {
	e, err := ParseExpression(expr, coords...)
	if err != nil {
		return nil, err
	}
	return e.Hamiltonian(), nil
}

// ParseError reports a malformed expression or coordinate list given to
// ParseHamiltonian or ParseExpression, or a name that a Hamiltonian parsed
// with the default names cannot resolve at the dimension it is called with.
// It wraps ErrHamiltonian.
type ParseError struct {
	Expr   string // the expression as given
	Offset int    // byte offset of the error in Expr; -1 when it is about the coordinate list
	Col    int    // 1-based column of the error in Expr, in characters; 0 when Offset is -1
	Msg    string // the reason
}

// Error returns "hnnsolve: parsing H: col N: reason".
func (e *ParseError) Error() string {
	if e.Offset < 0 {
		return "hnnsolve: parsing H: " + e.Msg
	}
	return fmt.Sprintf("hnnsolve: parsing H: col %d: %s", e.Col, e.Msg)
}

// Unwrap returns ErrHamiltonian.
func (e *ParseError) Unwrap() error { return ErrHamiltonian }

// Expression is a Hamiltonian parsed from text by ParseExpression. Its
// Hamiltonian method gives the gorgonia expression for Solve; Eval evaluates
// H, ∇H and D²H at a point from the same expression, compiled once per
// dimension, for classical integrators and checks. An Expression is safe for
// concurrent use.
type Expression struct {
	text   string
	coords []string // nil: the default names q1..qd, p1..pd
	root   *exprNode

	mu    sync.Mutex
	evals map[exprEvalKey]*hamiltonianEvaluator
}

type exprEvalKey struct {
	dim  int
	hess bool
}

// ParseExpression parses expr as ParseHamiltonian does and returns it as an
// Expression. The errors are ParseHamiltonian's.
func ParseExpression(expr string, coords ...string) (*Expression, error) {
	p := &exprParser{src: expr}
	if err := p.setCoords(coords); err != nil {
		return nil, err
	}
	root, err := p.parse()
	if err != nil {
		return nil, err
	}
	e := &Expression{text: expr, root: root}
	if len(coords) > 0 {
		e.coords = slices.Clone(coords)
	}
	return e, nil
}

// String returns the expression as it was given.
func (e *Expression) String() string { return e.text }

// Coords returns the coordinate names given to ParseExpression, nil for the
// default names.
func (e *Expression) Coords() []string { return slices.Clone(e.coords) }

// Dim returns D = 2d fixed by the coordinate names, or 0 for the default
// names, where H takes d from the call (see CheckDim).
func (e *Expression) Dim() int { return len(e.coords) }

// CheckDim reports whether H can be evaluated in a phase space of dimension
// dim = 2d: dim must be even and positive, equal to Dim when the names were
// given, and otherwise at least twice the highest index used (q2 needs
// d >= 2; a plain q or p needs d = 1). The error wraps ErrHamiltonian.
func (e *Expression) CheckDim(dim int) error {
	if dim < 2 || dim%2 != 0 {
		return fmt.Errorf("%w: phase-space dimension %d: want 2d with d >= 1", ErrHamiltonian, dim)
	}
	if e.coords != nil {
		if dim != len(e.coords) {
			return fmt.Errorf("%w: H of %s has dimension %d, not %d", ErrHamiltonian, strings.Join(e.coords, ", "), len(e.coords), dim)
		}
		return nil
	}
	var err error
	e.root.walk(func(n *exprNode) {
		if err == nil && n.kind == exVar {
			err = e.checkVar(n, dim/2)
		}
	})
	return err
}

// checkVar reports a default name that does not exist for d degrees of
// freedom.
func (e *Expression) checkVar(n *exprNode, d int) error {
	switch {
	case n.v.plain && d != 1:
		return e.errorAt(n.start, fmt.Sprintf("plain %s means d = 1, but H is called with d = %d (write %s1..%s%d)", n.nm, d, n.nm, n.nm, d))
	case n.v.idx >= d:
		return e.errorAt(n.start, fmt.Sprintf("%s needs d >= %d, H is called with d = %d", n.nm, n.v.idx+1, d))
	}
	return nil
}

func (e *Expression) errorAt(off int, msg string) *ParseError {
	return newParseError(e.text, off, msg)
}

// Eval returns H(z) and stores ∇H(z) in grad (length len(z)) and D²H(z)
// (row-major, len(z)×len(z)) in hess, each unless nil. The derivatives are
// those of the gorgonia expression, derived symbolically as in training.
// The error (for a z whose length CheckDim rejects) wraps ErrHamiltonian.
func (e *Expression) Eval(z, grad, hess []float64) (float64, error) {
	dim := len(z)
	if err := e.CheckDim(dim); err != nil {
		return 0, err
	}
	if grad != nil && len(grad) != dim || hess != nil && len(hess) != dim*dim {
		return 0, fmt.Errorf("%w: Eval: grad has length %d and hess %d, want %d and %d", ErrHamiltonian, len(grad), len(hess), dim, dim*dim)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	key := exprEvalKey{dim, hess != nil}
	ev := e.evals[key]
	if ev == nil {
		var err error
		if ev, err = newHamiltonianEvaluator(e.Hamiltonian(), dim, 1, key.hess); err != nil {
			return 0, err
		}
		if e.evals == nil {
			e.evals = map[exprEvalKey]*hamiltonianEvaluator{}
		}
		e.evals[key] = ev
	}
	var energy [1]float64
	if err := ev.eval([][]float64{z}, energy[:], grad, hess); err != nil {
		return 0, err
	}
	return energy[0], nil
}

// Separable reports whether H is, as written, a sum T(p) + V(q): a sum or
// difference of terms (possibly scaled by constants) each of which depends
// on momenta only or on coordinates only. Then ∂H/∂p does not depend on q,
// nor ∂H/∂q on p, as the explicit symplectic integrators need. An H that is
// separable only after expanding products, such as (p^2 + q^2)/2 is, is
// recognised; p*(p + q) is not separable and is reported so.
func (e *Expression) Separable() bool { return e.root.separable() }

// Hamiltonian returns H as a gorgonia expression (see ParseHamiltonian).
// Errors it returns when called (nodes missing, the wrong number of
// coordinates, a default name out of range) wrap ErrHamiltonian.
func (e *Expression) Hamiltonian() Hamiltonian {
	return func(q, p []*gorgonia.Node) (out *gorgonia.Node, err error) {
		defer recoverGorgonia(&err, ErrHamiltonian)
		if len(q) != len(p) || len(q) == 0 {
			return nil, fmt.Errorf("%w: H called with %d coordinates and %d momenta, want d >= 1 of each", ErrHamiltonian, len(q), len(p))
		}
		d := len(q)
		if err := e.CheckDim(2 * d); err != nil {
			return nil, err
		}
		z := append(slices.Clip(q), p...)
		for i, n := range z {
			if n == nil {
				return nil, fmt.Errorf("%w: H called with a nil node for coordinate %d", ErrHamiltonian, i)
			}
		}
		if e.root.kind == exNum {
			// A constant H: one value per point, like any other H.
			shape := q[0].Shape()
			if shape.IsScalar() {
				return gorgonia.NewConstant(e.root.val, gorgonia.In(q[0].Graph())), nil
			}
			vals := make([]float64, shape.TotalSize())
			for i := range vals {
				vals[i] = e.root.val
			}
			return gorgonia.NewConstant(tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(vals)), gorgonia.In(q[0].Graph())), nil
		}
		b := exprBuilder{z: z, d: d}
		if out, err = b.build(e.root); err != nil {
			return nil, fmt.Errorf("%w: building %q: %w", ErrHamiltonian, e.text, err)
		}
		return out, nil
	}
}

// Syntax tree.

type exprKind uint8

const (
	exNum  exprKind = iota // a constant: val
	exVar                  // a coordinate: v
	exNeg                  // −a
	exAdd                  // a + b
	exSub                  // a − b
	exMul                  // a · b
	exDiv                  // a / b
	exPow                  // a ^ b
	exCall                 // fn(a)
)

// exprVar is a coordinate: z index idx (q) or d+idx (p, mom). plain marks
// the default names q and p, which exist for d = 1 only.
type exprVar struct {
	mom   bool
	idx   int
	plain bool
}

type exprNode struct {
	kind       exprKind
	start, end int // byte offsets of the source text
	val        float64
	v          exprVar
	nm         string // exVar: the name as written
	fn         *exprFunc
	a, b       *exprNode
}

func (n *exprNode) walk(f func(*exprNode)) {
	if n == nil {
		return
	}
	f(n)
	n.a.walk(f)
	n.b.walk(f)
}

// deps reports whether n depends on some coordinate q (dq) or momentum p (dp).
func (n *exprNode) deps() (dq, dp bool) {
	n.walk(func(m *exprNode) {
		if m.kind == exVar {
			if m.v.mom {
				dp = true
			} else {
				dq = true
			}
		}
	})
	return dq, dp
}

func (n *exprNode) separable() bool {
	switch n.kind {
	case exAdd, exSub:
		return n.a.separable() && n.b.separable()
	case exNeg:
		return n.a.separable()
	case exMul:
		if n.a.kind == exNum {
			return n.b.separable()
		}
		if n.b.kind == exNum {
			return n.a.separable()
		}
	case exDiv:
		if n.b.kind == exNum {
			return n.a.separable()
		}
	}
	dq, dp := n.deps()
	return !(dq && dp)
}

// exprFunc is one of the functions of the grammar.
type exprFunc struct {
	name  string
	eval  func(float64) float64 // for constant folding
	build func(x *gorgonia.Node) (*gorgonia.Node, error)
}

var exprFuncs = map[string]*exprFunc{}

func init() {
	for _, f := range []*exprFunc{
		{"sin", math.Sin, gorgonia.Sin},
		{"cos", math.Cos, gorgonia.Cos},
		{"tan", func(x float64) float64 { return math.Sin(x) / math.Cos(x) }, func(x *gorgonia.Node) (*gorgonia.Node, error) {
			s, err := gorgonia.Sin(x)
			if err != nil {
				return nil, err
			}
			c, err := gorgonia.Cos(x)
			if err != nil {
				return nil, err
			}
			return gorgonia.HadamardDiv(s, c)
		}},
		{"exp", math.Exp, gorgonia.Exp},
		{"log", math.Log, gorgonia.Log},
		{"sqrt", math.Sqrt, gorgonia.Sqrt},
		{"tanh", math.Tanh, gorgonia.Tanh},
		{"abs", math.Abs, func(x *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.ApplyOp(exprUnaryOp{exAbs}, x) }},
	} {
		exprFuncs[f.name] = f
	}
}

// exprFuncNames lists the functions for messages.
func exprFuncNames() string {
	names := make([]string, 0, len(exprFuncs))
	for n := range exprFuncs {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// Lexer.

type exprTokKind uint8

const (
	tkEOF exprTokKind = iota
	tkNum
	tkName
	tkOp // + - * / ^
	tkLParen
	tkRParen
	tkComma
)

type exprToken struct {
	kind       exprTokKind
	start, end int
	text       string
	val        float64
}

func (t exprToken) describe() string {
	switch t.kind {
	case tkEOF:
		return "the end of the expression"
	case tkNum:
		return "number " + t.text
	case tkName:
		return "name " + strconv.Quote(t.text)
	}
	return strconv.Quote(t.text)
}

func (t exprToken) startsOperand() bool {
	return t.kind == tkNum || t.kind == tkName || t.kind == tkLParen
}

func isNameStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isNameRune(r rune) bool  { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
func isDigit(b byte) bool     { return '0' <= b && b <= '9' }

// isName reports whether s is one name token of the grammar.
func isName(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError || !isNameRune(r) || i == 0 && !isNameStart(r) {
			return false
		}
	}
	return s != ""
}

// Parser.

const exprMaxDepth = 200

type exprParser struct {
	src    string
	off    int // lexer position
	tok    exprToken
	prev   exprToken
	depth  int
	coords []string
	names  map[string]exprVar // nil: default names
	// default names: where a plain q/p and an indexed name were first used
	plainAt, indexedAt *exprNode
}

// exprBail carries a *ParseError up through the recursive descent.
type exprBail struct{ err *ParseError }

func newParseError(src string, off int, msg string) *ParseError {
	off = max(0, min(off, len(src)))
	return &ParseError{Expr: src, Offset: off, Col: utf8.RuneCountInString(src[:off]) + 1, Msg: msg}
}

func (p *exprParser) fail(off int, format string, args ...any) {
	panic(exprBail{newParseError(p.src, off, fmt.Sprintf(format, args...))})
}

func (p *exprParser) setCoords(coords []string) error {
	if len(coords) == 0 {
		return nil
	}
	bad := func(format string, args ...any) error {
		return &ParseError{Expr: p.src, Offset: -1, Msg: "coordinate names " + strconv.Quote(strings.Join(coords, ", ")) + ": " + fmt.Sprintf(format, args...)}
	}
	if len(coords)%2 != 0 {
		return bad("want an even number (q_1..q_d then p_1..p_d), got %d", len(coords))
	}
	d := len(coords) / 2
	p.names = make(map[string]exprVar, len(coords))
	for i, c := range coords {
		switch {
		case !isName(c):
			return bad("%q is not a name (a letter or _ then letters, digits, _)", c)
		case c == "pi" || exprFuncs[c] != nil:
			return bad("%q is reserved (pi and the functions %s)", c, exprFuncNames())
		}
		if _, dup := p.names[c]; dup {
			return bad("%q appears twice", c)
		}
		p.names[c] = exprVar{mom: i >= d, idx: i % d}
	}
	p.coords = coords
	return nil
}

func (p *exprParser) coordHint() string {
	if p.names != nil {
		return "coordinates: " + strings.Join(p.coords, ", ")
	}
	return "coordinates: q1..qd, p1..pd, or q, p when d = 1; other names must be given to ParseHamiltonian"
}

// next advances to the next token.
func (p *exprParser) next() {
	p.prev = p.tok
	src := p.src
	for p.off < len(src) {
		c := src[p.off]
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			break
		}
		p.off++
	}
	start := p.off
	if start >= len(src) {
		p.tok = exprToken{kind: tkEOF, start: start, end: start}
		return
	}
	c := src[start]
	switch {
	case isDigit(c) || c == '.':
		p.tok = p.lexNumber(start)
		return
	case strings.IndexByte("+-*/^(),", c) >= 0:
		p.off++
		kind := tkOp
		switch c {
		case '(':
			kind = tkLParen
		case ')':
			kind = tkRParen
		case ',':
			kind = tkComma
		}
		p.tok = exprToken{kind: kind, start: start, end: p.off, text: src[start:p.off]}
		return
	}
	r, w := utf8.DecodeRuneInString(src[start:])
	if r == utf8.RuneError && w <= 1 {
		p.fail(start, "invalid UTF-8 byte %#x", src[start])
	}
	if !isNameStart(r) {
		hint := ""
		switch r {
		case '²', '³', '⁴':
			hint = " (write powers with ^, e.g. p^2)"
		case '·', '×':
			hint = " (write products with *)"
		case '−':
			hint = " (write minus as -)"
		}
		p.fail(start, "unexpected character %q%s", r, hint)
	}
	end := start + w
	for end < len(src) {
		r, w := utf8.DecodeRuneInString(src[end:])
		if r == utf8.RuneError && w <= 1 || !isNameRune(r) {
			break
		}
		end += w
	}
	p.off = end
	p.tok = exprToken{kind: tkName, start: start, end: end, text: src[start:end]}
}

// lexNumber scans a number at start. A number that runs into letters,
// digits, dots or underscores ("1.2.3", "2x", "1e") is one bad token.
func (p *exprParser) lexNumber(start int) exprToken {
	src := p.src
	i := start
	digits := 0
	for i < len(src) && isDigit(src[i]) {
		i++
		digits++
	}
	if i < len(src) && src[i] == '.' {
		i++
		for i < len(src) && isDigit(src[i]) {
			i++
			digits++
		}
	}
	ok := digits > 0
	if ok && i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		k := j
		for k < len(src) && isDigit(src[k]) {
			k++
		}
		if k > j {
			i = k
		} else {
			ok = false
			i = j
		}
	}
	// Whatever sticks to the number belongs to the bad token.
	end := i
	for end < len(src) {
		r, w := utf8.DecodeRuneInString(src[end:])
		if r == '.' || isNameRune(r) {
			end += w
			ok = false
			continue
		}
		break
	}
	text := src[start:end]
	p.off = end
	if !ok {
		hint := ""
		if end > i && isNameStart(rune(src[i])) && digits > 0 && i > start {
			hint = " (a product needs *, e.g. 2*x)"
		}
		p.fail(start, "bad number %q%s", text, hint)
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(v, 0) {
		p.fail(start, "number %s is not a finite float64", text)
	}
	return exprToken{kind: tkNum, start: start, end: end, text: text, val: v}
}

func (p *exprParser) parse() (root *exprNode, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(exprBail)
			if !ok {
				panic(r)
			}
			root, err = nil, b.err
		}
	}()
	p.next()
	if p.tok.kind == tkEOF {
		p.fail(0, "empty expression")
	}
	root = p.parseSum()
	switch {
	case p.tok.kind == tkRParen:
		p.fail(p.tok.start, `unexpected ")" without a matching "("`)
	case p.tok.kind != tkEOF:
		p.unexpected()
	}
	return root, nil
}

// unexpected fails at a token that cannot follow a complete operand.
func (p *exprParser) unexpected() {
	t := p.tok
	switch {
	case t.startsOperand():
		p.fail(t.start, "missing operator before %s", t.describe())
	case t.kind == tkComma:
		p.fail(t.start, `unexpected "," (only function calls take arguments, and these functions take one)`)
	}
	p.fail(t.start, "unexpected %s", t.describe())
}

func (p *exprParser) parseSum() *exprNode {
	n := p.parseProduct()
	for p.tok.kind == tkOp && (p.tok.text == "+" || p.tok.text == "-") {
		kind := exAdd
		if p.tok.text == "-" {
			kind = exSub
		}
		p.next()
		n = p.binary(kind, n, p.parseProduct())
	}
	return n
}

func (p *exprParser) parseProduct() *exprNode {
	n := p.parseUnary()
	for p.tok.kind == tkOp && (p.tok.text == "*" || p.tok.text == "/") {
		kind := exMul
		if p.tok.text == "/" {
			kind = exDiv
		}
		p.next()
		if p.tok.kind == tkOp && p.tok.text == "*" && kind == exMul && p.tok.start == p.prev.end {
			p.fail(p.prev.start, `"**" is not an operator: write powers with ^, e.g. p^2`)
		}
		n = p.binary(kind, n, p.parseUnary())
	}
	return n
}

func (p *exprParser) enter() {
	p.depth++
	if p.depth > exprMaxDepth {
		p.fail(p.tok.start, "expression nested too deeply (more than %d levels)", exprMaxDepth)
	}
}

func (p *exprParser) parseUnary() *exprNode {
	p.enter()
	defer func() { p.depth-- }()
	if p.tok.kind == tkOp && (p.tok.text == "-" || p.tok.text == "+") {
		op := p.tok
		p.next()
		a := p.parseUnary()
		if op.text == "+" {
			return a
		}
		return p.fold(&exprNode{kind: exNeg, start: op.start, end: a.end, a: a})
	}
	return p.parsePower()
}

func (p *exprParser) parsePower() *exprNode {
	n := p.parseOperand()
	if p.tok.kind == tkOp && p.tok.text == "^" {
		p.next()
		n = p.binary(exPow, n, p.parseUnary())
	}
	return n
}

func (p *exprParser) parseOperand() *exprNode {
	t := p.tok
	switch t.kind {
	case tkNum:
		p.next()
		return &exprNode{kind: exNum, start: t.start, end: t.end, val: t.val}
	case tkLParen:
		p.next()
		n := p.parseSum()
		if p.tok.kind != tkRParen {
			if p.tok.kind == tkEOF {
				p.fail(t.start, `unclosed "(": missing ")"`)
			}
			p.unexpected()
		}
		n.start, n.end = t.start, p.tok.end
		p.next()
		return n
	case tkName:
		p.next()
		return p.name(t)
	}
	// No operand where one is needed.
	switch {
	case t.kind == tkEOF && p.prev.kind == tkOp:
		p.fail(t.start, "missing operand after %q", p.prev.text)
	case t.kind == tkEOF:
		p.fail(t.start, "missing operand at the end of the expression")
	case p.prev.kind == tkOp:
		p.fail(t.start, "missing operand between %q and %s", p.prev.text, t.describe())
	}
	p.fail(t.start, "missing operand before %s", t.describe())
	return nil
}

// name resolves a name token: pi, a function call or a coordinate.
func (p *exprParser) name(t exprToken) *exprNode {
	if f := exprFuncs[t.text]; f != nil {
		if p.tok.kind != tkLParen {
			p.fail(t.start, "function %s needs its argument in parentheses: %s(...)", f.name, f.name)
		}
		p.enter()
		defer func() { p.depth-- }()
		p.next()
		var args []*exprNode
		if p.tok.kind != tkRParen {
			args = append(args, p.parseSum())
			for p.tok.kind == tkComma {
				p.next()
				args = append(args, p.parseSum())
			}
		}
		if p.tok.kind != tkRParen {
			if p.tok.kind == tkEOF {
				p.fail(t.end, `unclosed "(" of %s: missing ")"`, f.name)
			}
			p.unexpected()
		}
		end := p.tok.end
		p.next()
		if len(args) != 1 {
			p.fail(t.start, "%s takes 1 argument, got %d", f.name, len(args))
		}
		return p.fold(&exprNode{kind: exCall, start: t.start, end: end, fn: f, a: args[0]})
	}
	if p.tok.kind == tkLParen {
		switch {
		case t.text == "pi":
			p.fail(t.start, "pi is a constant, not a function (missing operator?)")
		case p.lookup(t) != nil:
			p.fail(t.start, "%s is a coordinate, not a function (missing operator?)", t.text)
		}
		p.fail(t.start, "unknown function %q (functions: %s)", t.text, exprFuncNames())
	}
	if t.text == "pi" {
		return &exprNode{kind: exNum, start: t.start, end: t.end, val: math.Pi}
	}
	n := p.lookup(t)
	if n == nil {
		hint := p.coordHint()
		if p.names == nil && len(t.text) > 1 && (t.text[0] == 'q' || t.text[0] == 'p') && strings.Trim(t.text[1:], "0123456789") == "" {
			hint = "indices run from 1 without leading zeros: q1..qd, p1..pd"
		}
		p.fail(t.start, "unknown name %q (%s)", t.text, hint)
	}
	if p.names == nil {
		if n.v.plain {
			if p.plainAt == nil {
				p.plainAt = n
			}
		} else if n.v.idx > 0 && p.indexedAt == nil {
			p.indexedAt = n
		}
		if p.plainAt != nil && p.indexedAt != nil {
			p.fail(n.start, "%s and %s cannot be used together: plain q and p mean d = 1",
				p.plainAt.nm, p.indexedAt.nm)
		}
	}
	return n
}

// lookup returns the coordinate named by t, nil if there is none.
func (p *exprParser) lookup(t exprToken) *exprNode {
	n := &exprNode{kind: exVar, start: t.start, end: t.end, nm: t.text}
	if p.names != nil {
		v, ok := p.names[t.text]
		if !ok {
			return nil
		}
		n.v = v
		return n
	}
	s := t.text
	if s == "" || s[0] != 'q' && s[0] != 'p' {
		return nil
	}
	n.v.mom = s[0] == 'p'
	if len(s) == 1 {
		n.v.plain = true
		return n
	}
	if s[1] == '0' || len(s) > 8 {
		return nil
	}
	k, err := strconv.Atoi(s[1:])
	if err != nil || k < 1 || strings.Trim(s[1:], "0123456789") != "" {
		return nil
	}
	n.v.idx = k - 1
	return n
}

func (p *exprParser) binary(kind exprKind, a, b *exprNode) *exprNode {
	if kind == exPow && b.kind == exNum && b.val == 0 {
		// x^0 = 1 for every x (math.Pow): a constant, like 3 is.
		return &exprNode{kind: exNum, start: a.start, end: b.end, val: 1}
	}
	return p.fold(&exprNode{kind: kind, start: a.start, end: b.end, a: a, b: b})
}

// fold replaces a node whose operands are all constants by its value,
// which must be finite.
func (p *exprParser) fold(n *exprNode) *exprNode {
	if n.a.kind != exNum || n.b != nil && n.b.kind != exNum {
		return n
	}
	x := n.a.val
	var v float64
	switch n.kind {
	case exNeg:
		v = -x
	case exCall:
		v = n.fn.eval(x)
	case exAdd:
		v = x + n.b.val
	case exSub:
		v = x - n.b.val
	case exMul:
		v = x * n.b.val
	case exDiv:
		v = x / n.b.val
	case exPow:
		v = math.Pow(x, n.b.val)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		p.fail(n.start, "constant %s is %v, not a finite number", strings.TrimSpace(p.src[n.start:n.end]), v)
	}
	return &exprNode{kind: exNum, start: n.start, end: n.end, val: v}
}

// Building the gorgonia expression.

type exprBuilder struct {
	z []*gorgonia.Node // q then p
	d int
}

func (b *exprBuilder) build(n *exprNode) (*gorgonia.Node, error) {
	switch n.kind {
	case exNum:
		return gorgonia.NewConstant(n.val), nil
	case exVar:
		i := n.v.idx
		if n.v.mom {
			i += b.d
		}
		return b.z[i], nil
	case exPow:
		x, err := b.build(n.a)
		if err != nil {
			return nil, err
		}
		if n.b.kind == exNum {
			return exprPowConst(x, n.b.val)
		}
		y, err := b.build(n.b)
		if err != nil {
			return nil, err
		}
		return gorgonia.Pow(x, y)
	}
	x, err := b.build(n.a)
	if err != nil {
		return nil, err
	}
	switch n.kind {
	case exNeg:
		return gorgonia.Neg(x)
	case exCall:
		return n.fn.build(x)
	}
	y, err := b.build(n.b)
	if err != nil {
		return nil, err
	}
	switch n.kind {
	case exAdd:
		if n.a.kind == exNum { // c + x as x + c: the same number
			return gorgonia.Add(y, x)
		}
		return gorgonia.Add(x, y)
	case exSub:
		return gorgonia.Sub(x, y)
	case exMul:
		if n.a.kind == exNum {
			return gorgonia.HadamardProd(y, x)
		}
		return gorgonia.HadamardProd(x, y)
	case exDiv:
		return gorgonia.HadamardDiv(x, y)
	}
	return nil, fmt.Errorf("hnnsolve: unknown expression node %d", n.kind)
}

// exprPowConst builds x^c for a constant c.
func exprPowConst(x *gorgonia.Node, c float64) (*gorgonia.Node, error) {
	switch {
	case c == 1:
		return x, nil
	case c == 0.5:
		return gorgonia.Sqrt(x)
	case c == math.Trunc(c) && math.Abs(c) <= 64:
		n := int(math.Abs(c))
		if n == 0 {
			return gorgonia.NewConstant(1.0), nil
		}
		xn, err := exprPowInt(x, n)
		if err != nil || c > 0 {
			return xn, err
		}
		return gorgonia.HadamardDiv(gorgonia.NewConstant(1.0), xn)
	}
	return gorgonia.Pow(x, gorgonia.NewConstant(c))
}

// exprPowInt builds x^n, n >= 1, from squares, cubes and products.
func exprPowInt(x *gorgonia.Node, n int) (*gorgonia.Node, error) {
	switch {
	case n == 1:
		return x, nil
	case n == 2:
		return gorgonia.Square(x)
	case n == 3:
		return gorgonia.Cube(x)
	case n%2 == 0:
		h, err := exprPowInt(x, n/2)
		if err != nil {
			return nil, err
		}
		return gorgonia.Square(h)
	}
	h, err := exprPowInt(x, n-1)
	if err != nil {
		return nil, err
	}
	return gorgonia.HadamardProd(h, x)
}

// exprUnaryOp is abs in a form the training can differentiate twice
// (gorgonia's Abs has the derivative Sign, which gorgonia cannot
// differentiate), and its derivative sign, whose derivative is 0. Their
// names are those of gorgonia's element-wise abs and sign.
type exprUnaryOp struct{ fn exprUnaryFn }

type exprUnaryFn uint8

const (
	exAbs exprUnaryFn = iota
	exSign
)

func (f exprUnaryFn) String() string {
	return [...]string{"abs", "sign"}[f]
}

func (f exprUnaryFn) apply(x float64) float64 {
	if f == exAbs {
		return math.Abs(x)
	}
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x // ±0, NaN
}

func (op exprUnaryOp) Arity() int { return 1 }
func (op exprUnaryOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op exprUnaryOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("hnnsolve: %v takes 1 input, got %d", op, len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("hnnsolve: %v: input shape %v", op, in[0])
	}
	return s.Clone(), nil
}
func (op exprUnaryOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != 1 {
		return nil, fmt.Errorf("hnnsolve: %v takes 1 input, got %d", op, len(vals))
	}
	switch v := vals[0].(type) {
	case *gorgonia.F64:
		return gorgonia.NewF64(op.fn.apply(float64(*v))), nil
	case tensor.Tensor:
		in, ok := v.Data().([]float64)
		if !ok {
			return nil, fmt.Errorf("hnnsolve: %v: input is %v, want float64", op, v.Dtype())
		}
		out := make([]float64, len(in))
		op.kernel()([][]float64{in}, out)
		return tensor.New(tensor.WithShape(v.Shape().Clone()...), tensor.WithBacking(out)), nil
	}
	return nil, fmt.Errorf("hnnsolve: %v: input %T is not float64", op, vals[0])
}
func (op exprUnaryOp) ReturnsPtr() bool      { return false }
func (op exprUnaryOp) CallsExtern() bool     { return false }
func (op exprUnaryOp) OverwritesInput() int  { return -1 }
func (op exprUnaryOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "hnnsolve.expr.%v", op.fn) }
func (op exprUnaryOp) Hashcode() uint32      { return hashOf(op) }
func (op exprUnaryOp) String() string        { return op.fn.String() }
func (op exprUnaryOp) DiffWRT(inputs int) []bool {
	return []bool{true}
}

// SymDiff: d|x| = sign(x) dx, d sign(x) = 0.
func (op exprUnaryOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("hnnsolve: %v takes 1 input, got %d", op, len(inputs))
	}
	x := inputs[0]
	var d *gorgonia.Node
	var err error
	switch op.fn {
	case exAbs:
		if d, err = gorgonia.ApplyOp(exprUnaryOp{exSign}, x); err != nil {
			return nil, err
		}
	case exSign:
		shape := x.Shape()
		if shape.IsScalar() {
			return gorgonia.Nodes{gorgonia.NewConstant(0.0, gorgonia.In(x.Graph()))}, nil
		}
		zeros := tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(make([]float64, shape.TotalSize())))
		return gorgonia.Nodes{gorgonia.NewConstant(zeros, gorgonia.In(x.Graph()))}, nil
	default:
		return nil, errors.New("hnnsolve: unknown function")
	}
	g, err := gorgonia.HadamardProd(grad, d)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// kernel runs the op in the program (exec.go) without allocating.
func (op exprUnaryOp) kernel() kernel {
	f := op.fn
	return func(in [][]float64, out []float64) {
		for i, x := range in[0] {
			out[i] = f.apply(x)
		}
	}
}
