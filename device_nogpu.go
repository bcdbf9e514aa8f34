//go:build !gpu

package hnnsolve

import "fmt"

// openDevice checks that training can run on d.
func openDevice(d Device) error {
	if d == CPU {
		return nil
	}
	return fmt.Errorf("%w: %v: this build has no GPU engine (build with -tags gpu)", ErrDevice, d)
}
