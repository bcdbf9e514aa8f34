//go:build !gpu

package cuda

import (
	"errors"
	"strings"
	"testing"
)

func TestOpenWithoutTag(t *testing.T) {
	d, err := Open()
	if d != nil || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "-tags gpu") {
		t.Fatalf("Open() = %v, %v; want nil and an error wrapping ErrUnavailable that names the gpu tag", d, err)
	}
	var nd *Device
	if _, err := nd.Alloc(1); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Alloc: %v", err)
	}
	if err := nd.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
