package hnnsolve

import "testing"

// TestAdamStopStalled checks the rule of adamStop on made-up loss curves:
// it stops only at a window's end, from Min on, when the last window's
// lowest loss is less than Gain below the one before; the zero value never
// stops.
func TestAdamStopStalled(t *testing.T) {
	s := adamStop{Min: 6, Window: 2, Gain: 1.5}
	// Windows' lowest losses 8, 4, 2, 1.5: gains 2, 2, 1.33.
	losses := []float64{9, 8, 5, 4, 3, 2, 1.6, 1.5}
	for _, c := range []struct {
		n    int
		want bool
		gain float64
	}{
		{4, false, 0},      // before Min
		{5, false, 0},      // not at a window's end
		{6, false, 2},      // gain 2 >= 1.5
		{7, false, 0},      // not at a window's end
		{8, true, 2 / 1.5}, // gain 1.33 < 1.5
	} {
		got, gain := s.stalled(losses[:c.n])
		if got != c.want || (c.gain > 0 && gain != c.gain) {
			t.Errorf("%d epochs: stalled %v (gain %v), want %v (%v)", c.n, got, gain, c.want, c.gain)
		}
	}
	if got, _ := (adamStop{}).stalled(losses); got {
		t.Error("the zero adamStop stopped Adam")
	}
}
