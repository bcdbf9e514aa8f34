//go:build !amd64 || purego

package sinact

// Available is whether Kernel runs here.
const Available = false

// Kernel does nothing and returns 0.
func Kernel(a, da, h, d1, dh []float64) int { return 0 }
