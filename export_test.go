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
func (s *Solution) AnalyzeGrid(n int) (*Report, error) {
	a, err := newAnalyzer(s)
	if err != nil {
		return nil, err
	}
	return a.analyze(uniformGrid(s.problem.T0, s.problem.T, n), nil, true)
}
