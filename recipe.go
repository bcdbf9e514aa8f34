package hnnsolve

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"
)

// The TargetError recipe: Settings.TargetError alone chooses the training.
//
// The interval is solved by a chain of small networks (Settings.Segments),
// each trained by Adam and then Levenberg-Marquardt. The error of the chain
// is, to first order, the solution of Eq. 18 forced by the residual of
// every segment; by linearity it is the sum of each segment's own Eq. 18
// error (started from zero at its start, the segment trained alone),
// carried to later times by the flow of Eq. 18. The recipe therefore
//
//   - gives each segment [t_i, t_i + L_i] a share of the target,
//     share_i = s·TargetError·√(L_i/(T-T0)) (the segments' errors add with
//     signs that vary; s <= 1 is the safety factor), and accepts a trained
//     segment when its own integrated Eq. 18 error max|δz_i| is within it;
//   - otherwise retrains it from a new initialisation (at most
//     recipeRetries times); keeps the best try when it is within
//     recipeNear·share_i after a retry (a network's error has a floor that
//     a shorter segment does not lower: it only adds segments); else halves
//     L_i (down to recipeMinLength·L_0) and starts again. A segment whose
//     error is far inside its share (below recipeRoom·share_i) lets the
//     next one be 1.5× longer (up to recipeMaxLength·L_0);
//   - after each segment integrates Eq. 18 over the chain so far, [T0, t],
//     and, from a quarter of the interval on, lowers s when that estimate,
//     extrapolated linearly to T, would exceed 0.9·TargetError (the
//     carried errors grow), or raises it back when there is room;
//   - stops Levenberg-Marquardt by progress: when the loss, the mean of
//     |ℓ|², is below (recipeFloor·share_i/L_i)², whose residual would give
//     a small part of the share, or when recipeLMWindow steps gained less
//     than a factor recipeLMGain;
//   - ends when the chain reaches T and checks the integrated Eq. 18
//     estimate over [T0, T] against TargetError (Solution.Target). After
//     recipeMisses segments that missed their share at the shortest length
//     the target is taken to be out of reach: the rest of the chain is
//     trained at L_0 without shrinking, and Solve returns the chain with
//     an error wrapping ErrTarget (as it does when the final check fails).
//
// L_0 = min(T - T0, π/(3ω)), ω the spectral radius of J D²H(Z0): a sixth
// of the period of the linearised motion at the start. Settings fields
// given explicitly (Points, Hidden, Energy, LearnRate, ...) are used for
// every segment; the zero ones take the recipe's values (recipePoints
// points, 2×8 networks, Adam (0.9, 0.999) with the step decaying from 8e-3
// to 1e-4 over recipeEpochs epochs, 2×Points refinement points, the energy
// regulariser λ = recipeEnergy). The chain estimates use the training
// checks' fixed-step integration on 10×Points+1 times per segment
// (measured 20% and 4% above Analyze's on the oscillator and
// Hénon-Heiles runs of the README).
// Solution.Recipe records every decision.
const (
	recipePoints      = 50
	recipeEpochs      = 2000
	recipeMaxLM       = 800
	recipeLMWindow    = 300
	recipeLMGain      = 2
	recipeFloor       = 0.02
	recipeRetries     = 2
	recipeMinLength   = 0.25
	recipeMaxLength   = 4.0
	recipeRoom        = 0.3
	recipeNear        = 3
	recipeSafety      = 1.0
	recipeEnergy      = 1
	recipeMinSafety   = 0.1
	recipeMisses      = 3
	recipeProjectFrom = 0.25
	recipeMaxSegs     = 2000
)

// Recipe records what Settings.TargetError chose (Solution.Recipe).
type Recipe struct {
	// Target is Settings.TargetError; Omega the frequency scale ω and
	// Length0 the first segment length L_0 = min(T - T0, π/(6ω)).
	Target, Omega, Length0 float64
	// Segments are the segments kept, in time order.
	Segments []RecipeSegment
	// Estimate is the integrated Eq. 18 estimate of max|δz| over [T0, T]
	// of the whole chain (the figure compared with Target), and Met
	// whether it is below Target. GaveUp reports that a segment could not
	// meet its share even at the shortest length.
	Estimate    float64
	Met, GaveUp bool
	// Trainings counts the networks trained, kept or not.
	Trainings int

	perturb float64 // the first segment's Settings.Perturb
}

// RecipeSegment is one segment of the chain and why it is so.
type RecipeSegment struct {
	T0, T1 float64
	Points int
	// Epochs (Adam) and LMSteps of the kept network; Tries the networks
	// trained on this segment (all lengths tried), the kept one included.
	Epochs, LMSteps, Tries int
	// Share is the part of the target given to it and Estimate its own
	// integrated Eq. 18 error; Chain the Eq. 18 estimate of the chain up
	// to T1, and Safety the factor s in use.
	Share, Estimate, Chain, Safety float64
	// Decision says what happened: accepted, retried, shrunk, lengthened.
	Decision string
}

// resolveAdaptive resolves settings whose TargetError drives the recipe.
func (s *Settings) resolveAdaptive(p Problem) (Settings, error) {
	if !isFinite(s.TargetError) {
		return Settings{}, fmt.Errorf("%w: TargetError = %v is out of range", ErrSettings, s.TargetError)
	}
	a := *s
	if a.Points == 0 {
		a.Points = recipePoints
	}
	if a.Hidden == nil {
		a.Hidden = []int{8, 8}
	}
	if a.Beta1 == 0 {
		a.Beta1 = 0.9
	}
	if a.Beta2 == 0 {
		a.Beta2 = 0.999
	}
	if a.LearnRateFinal == 0 {
		a.LearnRateFinal = 1e-4
	}
	if a.RefinePoints == 0 {
		a.RefinePoints = 2 * a.Points
	}
	if a.Energy == 0 {
		a.Energy = recipeEnergy
	}
	a.Epochs, a.LM, a.Segments = recipeEpochs, recipeMaxLM, 1
	// Each network trains without a target of its own: the recipe checks.
	a.TargetError = 0
	r, err := a.resolve(p)
	if err != nil {
		return Settings{}, err
	}
	if r.Checkpoint.Path != "" {
		return Settings{}, fmt.Errorf("%w: Checkpoint cannot save the TargetError recipe's state (it adapts segment lengths as it goes): set Segments, Epochs and LM to checkpoint a fixed recipe", ErrSettings)
	}
	if s.Perturb == 0 {
		r.Perturb = 0 // three grid spacings of each segment, set per segment
	}
	r.TargetError, r.adaptive = s.TargetError, true
	return r, nil
}

// frequencyScale returns ω, the spectral radius of J D²H(z0) (1 when it
// is 0 or cannot be computed: time then has no scale but its unit).
func (r *run) frequencyScale() float64 {
	dim := len(r.p.Z0)
	ev, err := newHamiltonianEvaluator(r.p.H, dim, 1, true)
	if err != nil {
		return 1
	}
	h := make([]float64, dim*dim)
	if err := ev.eval([][]float64{r.p.Z0}, nil, nil, h); err != nil {
		return 1
	}
	symmetrize(h, dim)
	m := make([]float64, dim*dim)
	jTimes(m, h, dim)
	var eig mat.Eigen
	if !eig.Factorize(mat.NewDense(dim, dim, m), mat.EigenNone) {
		return 1
	}
	w := 0.0
	for _, v := range eig.Values(nil) {
		w = max(w, math.Hypot(real(v), imag(v)))
	}
	if !(w > 0) || !isFinite(w) {
		return 1
	}
	return w
}

// solveAdaptive trains the chain as the recipe above says.
func (r *run) solveAdaptive() (*Solution, error) {
	p, base := r.p, r.set
	total := p.T - p.T0
	target := base.TargetError
	rec := &Recipe{Target: target, Omega: r.frequencyScale()}
	rec.Length0 = min(total, math.Pi/(3*rec.Omega))
	sol := r.chain
	sol.Recipe = rec
	var segA, chainA *analyzer
	view := &Solution{settings: base, form: r.form, e0: sol.e0, eval: sol.eval}
	view.problem = sol.problem
	safety, length := recipeSafety, rec.Length0
	gaveUp, misses := false, 0
	z, t := slices.Clone(p.Z0), p.T0
	for t < p.T {
		if len(rec.Segments) >= recipeMaxSegs {
			// The chain so far, ending where it ends.
			sol.endChain()
			return sol, fmt.Errorf("%w: %d segments reached only %v of [%v, %v]", ErrTarget, recipeMaxSegs, t, p.T0, p.T)
		}
		var best *Solution
		var bestRec RecipeSegment
		tries := 0
		decision := ""
		l := length
	lengths:
		for {
			t1 := t + l
			if p.T-t1 < 0.25*l {
				t1 = p.T // no sliver at the end
			}
			share := safety * target * math.Sqrt((t1-t)/total)
			for try := 0; try <= recipeRetries; try++ {
				cand, err := r.trainRecipeSegment(Problem{H: p.H, Z0: z, T0: t, T: t1}, share, gaveUp)
				rec.Trainings++
				tries++
				if err != nil {
					if best != nil && r.ctx.Err() != nil {
						break lengths
					}
					return r.stopped(sol, t, err)
				}
				if rec.perturb == 0 {
					rec.perturb = cand.settings.Perturb
				}
				if segA == nil {
					if segA, err = newAnalyzer(cand); err != nil {
						return nil, fmt.Errorf("%w: the TargetError recipe needs the error analysis: %w", ErrSettings, err)
					}
				}
				est := segmentEstimate(segA, cand)
				sr := RecipeSegment{T0: t, T1: t1, Points: cand.settings.Points, Epochs: cand.EpochsRun,
					LMSteps: lmSteps(cand), Share: share, Estimate: est, Safety: safety}
				if best == nil || est < bestRec.Estimate {
					best, bestRec = cand, sr
				}
				if est <= share {
					break lengths
				}
				if try >= 1 && bestRec.Estimate <= recipeNear*share {
					// Near the share after a retry: the networks are at their
					// floor, which a shorter segment does not lower (it only
					// adds segments) and more retries seldom do; keep the best.
					decision = fmt.Sprintf("kept near the share: best error %.3g, share %.3g", bestRec.Estimate, share)
					break lengths
				}
				decision = fmt.Sprintf("retried: error %.3g above the share %.3g", est, share)
			}
			if gaveUp || bestRec.Estimate <= recipeNear*share {
				// Out of reach, or near the share: shortening would not help.
				decision = fmt.Sprintf("share %.3g not met after %d tries; kept the best, %.3g", bestRec.Share, tries, bestRec.Estimate)
				break
			}
			if l <= recipeMinLength*rec.Length0*(1+1e-9) || t1-t <= recipeMinLength*rec.Length0*(1+1e-9) {
				// Missed at the shortest length: keep the best; after
				// recipeMisses such segments the target is out of reach,
				// and the chain is finished cheaply.
				misses++
				gaveUp = misses >= recipeMisses
				decision = fmt.Sprintf("share %.3g not met at the shortest length after %d tries (miss %d of %d)", bestRec.Share, tries, misses, recipeMisses)
				break
			}
			l = max(l/2, recipeMinLength*rec.Length0)
			best = nil
			decision = fmt.Sprintf("shrunk to %.3g: error above the share", l)
		}
		if decision == "" || bestRec.Estimate <= bestRec.Share && !strings.HasPrefix(decision, "kept") {
			switch {
			case tries > 1:
				decision = fmt.Sprintf("accepted after %d tries", tries)
			default:
				decision = "accepted"
			}
		}
		if bestRec.Estimate < recipeRoom*bestRec.Share && !gaveUp {
			length = min(1.5*(bestRec.T1-bestRec.T0), recipeMaxLength*rec.Length0)
			decision += fmt.Sprintf("; next lengthened to %.3g", length)
		} else {
			length = bestRec.T1 - bestRec.T0
		}
		if gaveUp {
			length = rec.Length0
		}
		r.chain.appendSegment(best, len(rec.Segments))
		t = bestRec.T1
		z = best.At(t)
		if err := checkState(z); err != nil {
			return nil, fmt.Errorf("%w: end state of segment %d: %w", ErrDiverged, len(rec.Segments), err)
		}
		// The chain so far, [T0, t]: its Eq. 18 estimate, extrapolated.
		view.segs, view.problem.T = sol.segs, t
		var err error
		if chainA == nil {
			if chainA, err = newAnalyzer(view); err != nil {
				return nil, err
			}
		}
		bestRec.Chain = chainEstimate(chainA, view, len(sol.segs))
		if !gaveUp && t < p.T && t-p.T0 >= recipeProjectFrom*total {
			// From a quarter of the interval on: earlier, one segment's
			// error would dominate the projection.
			proj := bestRec.Chain * total / (t - p.T0)
			switch {
			case proj > 0.9*target:
				safety = max(recipeMinSafety, safety*max(0.8, 0.9*target/proj))
				decision += fmt.Sprintf("; chain estimate %.3g heads for %.3g: safety %.3g", bestRec.Chain, proj, safety)
			case proj < 0.5*target:
				safety = min(recipeSafety, safety*1.25)
			}
		}
		bestRec.Decision, bestRec.Tries = decision, tries
		rec.Segments = append(rec.Segments, bestRec)
	}
	n := len(rec.Segments)
	sol.endChain()
	rec.Estimate = rec.Segments[n-1].Chain
	rec.Met, rec.GaveUp = rec.Estimate <= target, gaveUp
	sol.Target = &TargetResult{Check: TargetEq18, Target: target, Met: rec.Met, Figure: rec.Estimate, Eq18: rec.Estimate, Checks: n}
	if !rec.Met {
		return sol, fmt.Errorf("%w: integrated Eq. 18 estimate %.3g over [%v, %v], target %.3g (%d segments, %d networks trained)",
			ErrTarget, rec.Estimate, p.T0, p.T, target, n, rec.Trainings)
	}
	return sol, nil
}

// stopped returns what was trained when a segment failed: on cancellation
// the chain so far, with the error.
func (r *run) stopped(sol *Solution, t float64, err error) (*Solution, error) {
	if r.ctx.Err() != nil && len(sol.segs) > 0 {
		sol.endChain()
		return sol, fmt.Errorf("hnnsolve: stopped at t = %v: %w", t, err)
	}
	return nil, err
}

// endChain makes the recipe's chain a Solution of what it holds: its
// problem ends where its last segment ends, and its Settings are those of
// a segment (Perturb the first segment's) with Segments counting them and
// no TargetError (the target is in Solution.Recipe), so that Save and Load
// take it as any chain.
func (sol *Solution) endChain() {
	sol.problem.T = sol.segs[len(sol.segs)-1].t1
	sol.settings.Segments = len(sol.segs)
	sol.settings.Perturb = sol.Recipe.perturb
	sol.settings.TargetError, sol.settings.adaptive = 0, false
}

// trainRecipeSegment trains one network on the segment sp with the
// recipe's per-segment settings, LM stopped by progress against share.
func (r *run) trainRecipeSegment(sp Problem, share float64, cheap bool) (*Solution, error) {
	base := r.set
	seg := base
	seg.Segments, seg.TargetError, seg.adaptive = 1, 0, false
	if base.Perturb == 0 {
		seg.Perturb = 3 * (sp.T - sp.T0) / float64(seg.Points-1)
	}
	r.set = seg
	defer func() { r.set = base }()
	l := sp.T - sp.T0
	r.lmStop = lmStop{Floor: math.Pow(recipeFloor*share/l, 2), Window: recipeLMWindow, Gain: recipeLMGain}
	if cheap {
		r.lmStop.Floor = 0
	}
	defer func() { r.lmStop = lmStop{} }()
	start := time.Now()
	cand, err := r.fitSegment(sp)
	if err != nil {
		return cand, err
	}
	cand.TrainTime = max(cand.TrainTime, time.Since(start))
	return cand, nil
}

func lmSteps(s *Solution) int {
	n := 0
	for _, st := range s.Stages {
		if st.Name == "lm" {
			n += st.Iterations
		}
	}
	return n
}

// segmentEstimate is the integrated Eq. 18 error of the segment Solution
// seg alone, from zero at its start (the fast grid integration on
// 10×Points+1 times); +Inf when the analysis fails.
func segmentEstimate(a *analyzer, seg *Solution) float64 {
	a.sol = seg
	rep, err := a.analyze(uniformGrid(seg.problem.T0, seg.problem.T, 10*seg.settings.Points+1), nil, true, false)
	if err != nil || !isFinite(rep.EstimateEq18Max) {
		return math.Inf(1)
	}
	return rep.EstimateEq18Max
}

// chainEstimate is the integrated Eq. 18 estimate of the chain view (its
// first n segments) over [T0, its T].
func chainEstimate(a *analyzer, view *Solution, n int) float64 {
	a.sol = view
	rep, err := a.analyze(uniformGrid(view.problem.T0, view.problem.T, 10*view.settings.Points*n+1), nil, true, false)
	if err != nil || !isFinite(rep.EstimateEq18Max) {
		return math.Inf(1)
	}
	return rep.EstimateEq18Max
}
