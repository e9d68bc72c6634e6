package guard

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/paywall/paywall"
)

// catalog has the example's plans; elite includes pro in some tests.
var catalog = paywall.Catalog{Plans: []paywall.Plan{{ID: "basic"}, {ID: "pro"}, {ID: "elite"}}}

// missing skips, or fails under CI=true, when a needed program is absent.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// buildSite builds the Hugo site testdata/name with the paywall theme of the
// example site and returns the built site's directory and a copy of its
// sources.
func buildSite(t *testing.T, name string) (public, src string) {
	t.Helper()
	hugo, err := exec.LookPath("hugo")
	if err != nil {
		missing(t, "hugo is not installed (apt-get install hugo)")
	}
	if v, _ := exec.Command(hugo, "version").Output(); !bytes.Contains(v, []byte("v0.1")) {
		missing(t, "hugo 0.111 or newer wanted, found %s", bytes.TrimSpace(v))
	}
	src = t.TempDir()
	if err := os.CopyFS(src, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	theme := filepath.Join(src, "themes", "paywall")
	if err := os.CopyFS(theme, os.DirFS("../examples/site/themes/paywall")); err != nil {
		t.Fatal(err)
	}
	public = filepath.Join(t.TempDir(), "public")
	cmd := exec.Command(hugo, "--quiet", "--source", src, "--destination", public,
		"--cacheDir", t.TempDir())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hugo: %v\n%s", err, b)
	}
	return public, src
}

func load(t *testing.T, site string, opts Options) *Guard {
	t.Helper()
	if opts.Catalog.Plans == nil {
		opts.Catalog = catalog
	}
	g, err := Load(os.DirFS(site), opts)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
