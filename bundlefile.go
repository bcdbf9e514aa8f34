package hnnsolve

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// Bundle file format: a versioned JSON document like the model file of
// Solution.Save, with the boxes in place of Z0.
const (
	bundleFormat  = "hnnsolve-bundle"
	bundleVersion = 1
)

type bundleFile struct {
	Format    string          `json:"format"`
	Version   int             `json:"version"`
	Dtype     string          `json:"dtype"`
	Z0Min     []float64       `json:"z0_min"`
	Z0Max     []float64       `json:"z0_max"`
	ThetaMin  []float64       `json:"theta_min"`
	ThetaMax  []float64       `json:"theta_max"`
	T0        float64         `json:"t0"`
	T         float64         `json:"t"`
	Settings  modelSettings   `json:"settings"`
	EpochsRun int             `json:"epochs_run"`
	Segments  []bundleSegFile `json:"segments"`
	Loss      []float64       `json:"loss"`
	// Checksum is the SHA-256 of the document's JSON encoding with this
	// field empty, as in the model file.
	Checksum string `json:"checksum"`
}

type bundleSegFile struct {
	T0 float64 `json:"t0"`
	T  float64 `json:"t"`
	// InputMid and InputScale are the segment's input map.
	InputMid   []float64    `json:"input_mid"`
	InputScale []float64    `json:"input_scale"`
	Params     []modelParam `json:"params"`
}

func (m bundleFile) sum() (string, error) {
	m.Checksum = ""
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// Save writes the bundle's networks and what is needed to evaluate them as
// a versioned JSON document. Weights round-trip exactly.
func (b *Bundle) Save(w io.Writer) error {
	if len(b.segs) == 0 {
		return fmt.Errorf("%w: the Bundle holds no network", ErrModel)
	}
	p := b.problem
	m := bundleFile{Format: bundleFormat, Version: bundleVersion, Dtype: "float64",
		Z0Min: p.Z0Min, Z0Max: p.Z0Max, ThetaMin: nonNil(p.ThetaMin), ThetaMax: nonNil(p.ThetaMax), T0: p.T0, T: p.T,
		Settings: newModelSettings(b.settings), EpochsRun: b.EpochsRun, Loss: nonNil(b.loss)}
	for _, sg := range b.segs {
		ps, err := sg.net.modelParams()
		if err != nil {
			return err
		}
		m.Segments = append(m.Segments, bundleSegFile{T0: sg.t0, T: sg.t1, InputMid: sg.mid, InputScale: sg.scale, Params: ps})
	}
	if err := checkLossHistory(b.loss); err != nil {
		return err
	}
	sum, err := m.sum()
	if err != nil {
		return fmt.Errorf("hnnsolve: saving bundle: %w", err)
	}
	m.Checksum = sum
	if err := json.NewEncoder(w).Encode(m); err != nil {
		return fmt.Errorf("hnnsolve: saving bundle: %w", err)
	}
	return nil
}

func nonNil(v []float64) []float64 {
	if v == nil {
		return []float64{}
	}
	return v
}

// LoadBundle reads a bundle written by Bundle.Save for the BundleProblem p,
// which must be the one it was trained for (same boxes and interval; H is
// not stored and is taken from p). As Load, it reads at most MaxModelBytes,
// checks the checksum and every size before allocating, and returns an
// error wrapping ErrModel for anything else, never a panic.
func LoadBundle(r io.Reader, p BundleProblem) (b *Bundle, err error) {
	defer recoverGorgonia(&err, ErrModel)
	if err := p.validate(); err != nil {
		return nil, err
	}
	var m bundleFile
	if err := decodeModelFile(r, &m); err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) (*Bundle, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrModel}, args...)...)
	}
	switch {
	case m.Format != bundleFormat:
		return bad("format %q, want %q", m.Format, bundleFormat)
	case m.Version != bundleVersion:
		return bad("version %d, this library reads version %d", m.Version, bundleVersion)
	case m.Dtype != "float64":
		return bad("dtype %q, want float64", m.Dtype)
	case !slices.Equal(m.Z0Min, p.Z0Min) || !slices.Equal(m.Z0Max, p.Z0Max):
		return bad("bundle was trained for the box [%v, %v], problem has [%v, %v]", m.Z0Min, m.Z0Max, p.Z0Min, p.Z0Max)
	case !slices.Equal(m.ThetaMin, nonNil(p.ThetaMin)) || !slices.Equal(m.ThetaMax, nonNil(p.ThetaMax)):
		return bad("bundle was trained for the θ box [%v, %v], problem has [%v, %v]", m.ThetaMin, m.ThetaMax, p.ThetaMin, p.ThetaMax)
	case m.T0 != p.T0 || m.T != p.T:
		return bad("bundle was trained on [%v, %v], problem has [%v, %v]", m.T0, m.T, p.T0, p.T)
	}
	set, err := m.Settings.settings(Problem{T0: p.T0, T: p.T})
	if err != nil {
		return bad("settings: %v", err)
	}
	if len(m.Segments) == 0 || len(m.Segments) != set.Segments {
		return bad("%d segments, settings say %d", len(m.Segments), set.Segments)
	}
	if m.EpochsRun < 0 || len(m.Loss) != m.EpochsRun {
		return bad("epochs_run %d with %d losses", m.EpochsRun, len(m.Loss))
	}
	dim, mp := p.dim(), p.params()
	b = &Bundle{problem: p.cloned(), settings: set, EpochsRun: m.EpochsRun, loss: m.Loss}
	b.settings.BundleMargin = b.margin() // files before it was saved: the default
	b.newInputMap()
	widths := append(append([]int{1 + dim + mp}, set.Hidden...), dim)
	for k, ms := range m.Segments {
		prev := p.T0
		if k > 0 {
			prev = m.Segments[k-1].T
		}
		if ms.T0 != prev || !(ms.T > ms.T0) || (k == len(m.Segments)-1 && ms.T != p.T) {
			return bad("segment %d [%v, %v] does not continue the chain over [%v, %v]", k, ms.T0, ms.T, p.T0, p.T)
		}
		if len(ms.InputMid) != dim+mp || len(ms.InputScale) != dim+mp {
			return bad("segment %d: input map of %d and %d entries, want %d", k, len(ms.InputMid), len(ms.InputScale), dim+mp)
		}
		for i := range ms.InputMid {
			if !isFinite(ms.InputMid[i]) || !isFinite(ms.InputScale[i]) || ms.InputScale[i] < 0 {
				return bad("segment %d: input map entry %d (%v, %v) is not finite or has a negative scale", k, i, ms.InputMid[i], ms.InputScale[i])
			}
		}
		if err := checkModelParams(ms.Params, widths); err != nil {
			return bad("segment %d: %v", k, err)
		}
		net := newWideNetwork(1+dim+mp, set.Hidden, dim, set.Activation)
		if err := net.setModelParams(ms.Params); err != nil {
			return bad("segment %d: %v", k, err)
		}
		b.segs = append(b.segs, bundleSegment{t0: ms.T0, t1: ms.T, net: net, mid: ms.InputMid, scale: ms.InputScale})
	}
	if err := b.checkEnergy(); err != nil {
		return nil, err
	}
	return b, nil
}
