package cuda

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGPUBuild makes sure the gpu build vets and compiles wherever the
// tests run (CI need not pass -tags gpu): go vet -tags gpu on this package
// and pointwise, and the static test binary that is carried to a GPU
// machine (which has no Go toolchain), CGO_ENABLED=0 go test -c -tags gpu.
// It needs the go command; -short skips it.
func TestGPUBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not building the gpu variant")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command here (a GPU machine runs the prebuilt test binary)")
	}
	if _, err := os.Stat("nogpu.go"); err != nil {
		t.Skip("not run in the package's source directory (a prebuilt test binary)")
	}
	run := func(env []string, args ...string) {
		t.Helper()
		cmd := exec.Command(goCmd, args...)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run(nil, "vet", "-tags", "gpu", ".", "../pointwise")
	bin := filepath.Join(t.TempDir(), "cuda.test")
	run([]string{"CGO_ENABLED=0"}, "test", "-c", "-tags", "gpu", "-o", bin, ".")
	if st, err := os.Stat(bin); err != nil || st.Size() == 0 {
		t.Fatalf("no test binary: %v", err)
	}
}
