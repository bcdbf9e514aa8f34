package main

import (
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"

	"hnnsolve"
)

// bounds are the a-posteriori error figures of Sec. II.B (Eq. 14-22) from
// Solution.Analyze. A nil field is unknown (the analysis failed) or, for
// the bounds, vacuous.
type bounds struct {
	EllMax        *float64 // ℓ_max of Eq. 22: max √(|ℓ|² + λ ℓ_reg²)
	SigmaMin      *float64 // smallest singular value of D²H over the orbit
	EstimateEq22  *float64 // ℓ_max/σ_min (Eq. 22): an estimate, not a bound; nil when vacuous
	Eq22Holds     *bool    // EstimateEq22 >= the largest component error; nil when vacuous or unknown
	EstimateEq18  *float64 // max |δz(t)| predicted by integrating Eq. 18
	BoundGronwall *float64 // first-order Gronwall bound on |δz|, nil when vacuous
	TrueErrorMax  *float64 // max |δz(t)| (Euclidean norm) against the reference
	// BoundCertified is the certified bound on max |δz(t)| (certified.go);
	// nil when H is not a polynomial of degree <= 4 (then EstimateSampled
	// is the same construction with a sampled tube maximum, an estimate)
	// or when the bootstrap did not close (a bound of +Inf).
	BoundCertified  *float64
	EstimateSampled *float64

	Report *hnnsolve.Report // nil when the analysis failed
	Err    error            // why the analysis failed
}

// analyze runs the library's error analysis on the evaluation grid ts
// against the reference. A failed analysis (for instance the integration
// of Eq. 18 for a barely trained network) is not an error of the run: the
// fields stay nil and Err says why.
// certifiedStatus says what bound_certified is.
func certifiedStatus(rep *hnnsolve.Report) string {
	switch {
	case strings.HasPrefix(rep.CertifiedAssumptions, "not computed"):
		return rep.CertifiedAssumptions
	case rep.Certified && math.IsInf(rep.BoundCertified, 1):
		return "certified, +Inf: the bootstrap did not close"
	case rep.Certified:
		return "certified"
	}
	return "not certified: H is not a polynomial of degree <= 4; see estimate_sampled_tube"
}

func analyze(sol *hnnsolve.Solution, ts []float64, ref *mat.Dense) bounds {
	rep, err := sol.Analyze(&hnnsolve.AnalysisSettings{Grid: ts, Reference: ref})
	if err != nil {
		return bounds{Err: err}
	}
	b := bounds{
		EllMax:       num(rep.EllMax),
		SigmaMin:     num(rep.SigmaMinMin),
		EstimateEq18: num(rep.EstimateEq18Max),
		TrueErrorMax: num(rep.TrueErrorMax),
		Report:       rep,
	}
	if !rep.BoundEq22Vacuous && !math.IsInf(rep.BoundEq22, 0) {
		b.EstimateEq22 = num(rep.BoundEq22)
		if rep.TrueError != nil {
			holds := rep.Eq22Holds
			b.Eq22Holds = &holds
		}
	}
	if rep.Certified {
		b.BoundCertified = num(rep.BoundCertified)
	} else {
		b.EstimateSampled = num(rep.BoundSampled)
	}
	if !rep.GronwallVacuous {
		b.BoundGronwall = num(rep.GronwallMax)
	}
	return b
}
