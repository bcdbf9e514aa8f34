//go:build !amd64 || purego

package asm

// SinActivation does nothing and returns 0.
func SinActivation(a, da, h, d1, dh []float64) int { return 0 }

// SinValues does nothing and returns 0.
func SinValues(x, dst []float64) int { return 0 }
