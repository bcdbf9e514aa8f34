package gpu

// For the external tests (package gpu_test, which may import hostgpu).
const (
	NCLength = ncLength
	NCSeedLo = ncSeedLo
	NCSeedHi = ncSeedHi
	NCZ0     = ncZ0
)

// Philox is philox, for the known-answer test.
var Philox = philox
