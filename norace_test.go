//go:build !race

package hnnsolve_test

const raceEnabled = false
