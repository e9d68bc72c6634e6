package site

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// hugoVersion built the committed public/: Debian bookworm's hugo.
const hugoVersion = "v0.111.3"

// missing skips, or fails under CI=true, when a needed program is absent.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// TestBuiltOutputIsCurrent rebuilds the example site with Hugo and checks
// that the committed public/ is exactly what Hugo makes of the sources, so
// the embedded site never drifts from its content and plans file.
func TestBuiltOutputIsCurrent(t *testing.T) {
	hugo, err := exec.LookPath("hugo")
	if err != nil {
		missing(t, "hugo is not installed (apt-get install hugo)")
	}
	// The committed output names its generator, so only the same Hugo can
	// reproduce it byte for byte.
	if v, _ := exec.Command(hugo, "version").Output(); !bytes.Contains(v, []byte(hugoVersion)) {
		missing(t, "hugo %s wanted to rebuild the example site, found %s", hugoVersion, bytes.TrimSpace(v))
	}
	// Build a copy: Hugo writes a resources/ cache next to its sources.
	src := t.TempDir()
	if err := os.CopyFS(src, os.DirFS(".")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "public")
	cmd := exec.Command(hugo, "--quiet", "--source", src, "--destination", out,
		"--cacheDir", t.TempDir())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hugo: %v\n%s", err, b)
	}
	built := os.DirFS(out)
	compare := func(a, b fs.FS, what string) {
		fs.WalkDir(a, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			want, _ := fs.ReadFile(a, p)
			got, err := fs.ReadFile(b, p)
			if err != nil {
				t.Errorf("%s: %s missing", what, p)
			} else if !bytes.Equal(got, want) {
				t.Errorf("%s: %s differs; rebuild with hugo in examples/site", what, p)
			}
			return nil
		})
	}
	compare(built, Public(), "committed public/")
	compare(Public(), built, "fresh build")
}
