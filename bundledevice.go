package hnnsolve

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"hnnsolve/internal/gpu"
)

// bundleDeviceChunk is the most members one call of the device's bundle
// evaluator holds: 2^18 members of a 2×64 chain take about 0.4 GB.
const bundleDeviceChunk = 1 << 18

// atMembersDevice is AtMembers on b.Device.
func (b *Bundle) atMembersDevice(t float64, rows []float64) (*mat.Dense, error) {
	dev, err := openBundleDevice(b.Device)
	if err != nil {
		return nil, err
	}
	return b.atMembersOn(dev, t, rows, bundleDeviceChunk)
}

// atMembersOn evaluates the rows (row-major, 2d + m values each) at time t
// on dev with internal/gpu's BundleEvaluator, chunk members per call, every
// one in the same segment. The evaluator's sums run in another order than
// the CPU's, so the states agree with the CPU's to rounding (tested in the
// host emulation), not bit for bit.
func (b *Bundle) atMembersOn(dev gpu.Device, t float64, rows []float64, chunk int) (*mat.Dense, error) {
	dim, n := b.problem.dim(), len(b.mid)
	count := len(rows) / n
	if count == 0 {
		return &mat.Dense{}, nil
	}
	act, err := gpuActivation(b.settings.Activation)
	if err != nil {
		return nil, err
	}
	cfg := gpu.BundleConfig{Dim: dim, Act: act, Members: min(count, chunk)}
	k := 0 // the segment of t: the last that starts at or before it
	for j, sg := range b.segs {
		length := sg.t1 - sg.t0
		fEnd, _ := b.settings.Param.eval(length, 0)
		cfg.Segments = append(cfg.Segments, gpu.BundleSegment{Widths: sg.net.widths, Params: sg.net.params,
			Mid: sg.mid, Scale: sg.scale, Length: length, FEnd: fEnd})
		if sg.t0 <= t {
			k = j
		}
	}
	tau := t - b.segs[k].t0
	fTau, _ := b.settings.Param.eval(tau, 0)
	ev, err := gpu.NewBundleEvaluator(dev, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v: %w", ErrDevice, b.Device, err)
	}
	defer ev.Close()
	N := cfg.Members
	members, zc := make([]float64, N*n), make([]float64, N*dim)
	z := make([]float64, count*dim)
	for c0 := 0; c0 < count; c0 += N {
		c1 := min(c0+N, count)
		for i := range N {
			// a short last chunk repeats its last member
			r := min(c0+i, c1-1)
			copy(members[i*n:(i+1)*n], rows[r*n:(r+1)*n])
		}
		if err := ev.States(k, tau, fTau, members, zc); err != nil {
			return nil, fmt.Errorf("%w: %v: %w", ErrDevice, b.Device, err)
		}
		copy(z[c0*dim:c1*dim], zc[:(c1-c0)*dim])
	}
	return mat.NewDense(count, dim, z), nil
}
