//go:build gpu

package cuda

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ebitengine/purego"
)

// library says how to find one of the three libraries.
type library struct {
	role    string   // libcuda, libnvrtc, libcublas
	sonames []string // in order of preference
	// companion is loaded first (RTLD_GLOBAL), from the same directory or
	// by the matching soname, so that the pair has one version: NVRTC's
	// builtins, cuBLAS's cublasLt. companionFor maps a soname of the
	// library to the companion's soname.
	companion    string
	companionFor func(soname string) string
}

var (
	libCUDA  = library{role: "libcuda", sonames: []string{"libcuda.so.1", "libcuda.so"}}
	libNVRTC = library{role: "libnvrtc", sonames: []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"},
		companion: "libnvrtc-builtins"} // by soname, libnvrtc finds its builtins itself

	libCublas = library{role: "libcublas", sonames: []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"},
		companion:    "libcublasLt",
		companionFor: func(s string) string { return strings.Replace(s, "libcublas.", "libcublasLt.", 1) }}
)

// searchDirs are the directories searched after $HNNSOLVE_CUDA_LIB and the
// sonames. The CUDA stubs/ directories are not among them: the stub
// libcuda only returns errors.
func searchDirs() []string {
	var pats []string
	for _, v := range []string{"CUDA_HOME", "CUDA_PATH"} {
		if d := os.Getenv(v); d != "" {
			pats = append(pats, d+"/lib64", d+"/targets/*/lib", d+"/lib")
		}
	}
	if v := os.Getenv("VIRTUAL_ENV"); v != "" {
		pats = append(pats, v+"/lib/python3*/site-packages/nvidia/*/lib")
	}
	pats = append(pats,
		"/usr/local/cuda/lib64", "/usr/local/cuda/targets/*/lib", "/usr/local/cuda-*/lib64", "/usr/local/cuda-*/targets/*/lib",
		"/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/wsl/lib",
		"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
		"/usr/local/lib/python3*/dist-packages/nvidia/*/lib", "/usr/lib/python3/dist-packages/nvidia/*/lib",
		"/opt/*/.venv/lib/python3*/site-packages/nvidia/*/lib")
	return globDirs(pats)
}

// envDirs are the directories in $HNNSOLVE_CUDA_LIB.
func envDirs() []string { return globDirs(filepath.SplitList(os.Getenv(LibraryEnv))) }

func globDirs(pats []string) []string {
	var dirs []string
	for _, p := range pats {
		if p == "" {
			continue
		}
		m, _ := filepath.Glob(p)
		slices.Sort(m)
		slices.Reverse(m) // the newest versioned directory first (cuda-13.0 before cuda-12.4)
		for _, d := range m {
			d = filepath.Clean(d)
			if st, err := os.Stat(d); err == nil && st.IsDir() && !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

// loaded is one library found: its handle and the files loaded.
type loaded struct {
	handle uintptr
	files  map[string]string // role (and companion) -> path
}

// load finds and dlopens lib: in $HNNSOLVE_CUDA_LIB, by soname, then in
// dirs. On failure the error lists what was tried.
func load(lib library, dirs []string) (loaded, error) {
	var tried []string
	open := func(p string) uintptr {
		h, err := purego.Dlopen(p, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			tried = append(tried, err.Error())
			return 0
		}
		return h
	}
	found := func(h uintptr, p string, files map[string]string) loaded {
		if !strings.Contains(p, "/") {
			p = mappedPath(p)
		}
		files[lib.role] = p
		return loaded{handle: h, files: files}
	}
	inDir := func(d string) (loaded, bool) {
		var files []string
		for _, s := range lib.sonames {
			if f := filepath.Join(d, s); exists(f) {
				files = append(files, f)
			}
		}
		more, _ := filepath.Glob(filepath.Join(d, lib.role+".so.*"))
		slices.Sort(more)
		slices.Reverse(more)
		for _, f := range more {
			if !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
		if len(files) == 0 {
			return loaded{}, false
		}
		comp := map[string]string{}
		if lib.companion != "" {
			cs, _ := filepath.Glob(filepath.Join(d, lib.companion+".so*"))
			slices.Sort(cs)
			slices.Reverse(cs)
			for _, c := range cs {
				if open(c) != 0 {
					comp[lib.companion] = c
					break
				}
			}
		}
		for _, f := range files {
			if h := open(f); h != 0 {
				return found(h, f, comp), true
			}
		}
		return loaded{}, false
	}
	for _, d := range envDirs() {
		if l, ok := inDir(d); ok {
			return l, nil
		}
	}
	for _, s := range lib.sonames {
		comp := map[string]string{}
		if lib.companionFor != nil {
			if c := lib.companionFor(s); c != "" && open(c) != 0 {
				comp[lib.companion] = mappedPath(c)
			}
		}
		if h := open(s); h != 0 {
			return found(h, s, comp), nil
		}
	}
	for _, d := range dirs {
		if l, ok := inDir(d); ok {
			return l, nil
		}
	}
	detail := "not found (set " + LibraryEnv + " to the directory that holds it)"
	if e := os.Getenv(LibraryEnv); e != "" {
		detail += "; " + LibraryEnv + "=" + e
	}
	detail += "; searched the sonames " + strings.Join(lib.sonames, ", ") + " and the directories " + strings.Join(dirs, ", ")
	if len(tried) > 0 {
		detail += "; dlopen said: " + strings.Join(tried, "; ")
	}
	return loaded{}, unavailable("load "+lib.role, detail)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// mappedPath finds, in /proc/self/maps, the file behind a library opened
// by soname; the soname itself where that fails.
func mappedPath(soname string) string {
	stem, _, _ := strings.Cut(soname, ".so")
	b, _ := os.ReadFile("/proc/self/maps")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 6 && strings.HasPrefix(filepath.Base(f[5]), stem+".so") {
			return f[5]
		}
	}
	return soname
}
