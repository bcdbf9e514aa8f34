package hnnsolve

// HessianAlong returns D²H(ẑ(t)) at ts, derived from the expression by the
// analysis' evaluator (row-major, len(ts)·D·D), for the tests.
func (s *Solution) HessianAlong(ts []float64) ([]float64, error) {
	a, err := newAnalyzer(s)
	if err != nil {
		return nil, err
	}
	dim := s.dim()
	out := make([]float64, len(ts)*dim*dim)
	ell := make([]float64, dim)
	for k, t := range ts {
		if err := a.pointResidual(t, ell); err != nil {
			return nil, err
		}
		copy(out[k*dim*dim:], a.h)
	}
	return out, nil
}

// AnalyzeGrid is the analysis the training checks run: the fixed-step
// integration on a uniform grid of n points (n odd).
func (s *Solution) AnalyzeGrid(n int, withTransfer bool) (*Report, error) {
	a, err := newAnalyzer(s)
	if err != nil {
		return nil, err
	}
	return a.analyze(uniformGrid(s.problem.T0, s.problem.T, n), nil, true, withTransfer)
}

// TransferFor returns ∫_T0^t ‖Φ(t)Φ(s)⁻¹‖ f(s) ds at the times of grid
// (which must start at T0) for a forcing f given on the grid: the transfer
// bound with |ℓ| replaced by f, for the tests' second-order terms.
func (s *Solution) TransferFor(grid, f []float64) ([]float64, error) {
	a, err := newAnalyzer(s)
	if err != nil {
		return nil, err
	}
	r := &Report{Grid: grid}
	if err := a.gridValues(r); err != nil {
		return nil, err
	}
	if err := a.integrate(r); err != nil {
		return nil, err
	}
	return transferBound(grid, a.phis, f, s.dim())
}

// PolynomialDegree is polynomialDegree for the H of dimension dim, for the
// tests.
func PolynomialDegree(h Hamiltonian, dim int) (int, bool, error) {
	ev, err := newHamiltonianEvaluator(h, dim, 4, false)
	if err != nil {
		return 0, false, err
	}
	d, ok := polynomialDegree(ev)
	return d, ok, nil
}
