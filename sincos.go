package hnnsolve

import "math"

// sincos is math.Sincos: one argument reduction for both values.
func sincos(x float64) (float64, float64) { return math.Sincos(x) }
