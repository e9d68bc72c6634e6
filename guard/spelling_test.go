package guard_test

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/guard"
)

// TestResolveUglyURLs covers a site built with Hugo's uglyURLs, where a page
// is the file /posts/a.html rather than the directory /posts/a/. Every page
// must keep its own rule, whatever the order of the manifest.
func TestResolveUglyURLs(t *testing.T) {
	site := fstest.MapFS{
		guard.ManifestFile: manifest(t,
			page{URL: "/posts/a.html", File: "posts/a.md", Plans: []string{"pro"}},
			page{URL: "/posts/b.html", File: "posts/b.md"},
		),
		"posts/a.html": file("the gated body of a"),
		"posts/b.html": file("free b"),
	}
	g := load(t, site)

	tests := []struct {
		path     string
		wantRule string
	}{
		{"/posts/a.html", "/posts/a.html"},
		{"/posts/b.html", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := summary(g.Resolve(tt.path))
			want := target{File: strings.TrimPrefix(tt.path, "/"), Rule: tt.wantRule}
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

// foldFS is a file system that ignores case, as macOS and Windows do by
// default when the site is read from disk with PAYWALL_SITE_DIR.
type foldFS struct{ m fstest.MapFS }

func (f foldFS) Open(name string) (fs.File, error) { return f.m.Open(strings.ToLower(name)) }

// TestResolveCaseInsensitiveFS checks that no spelling of a gated path is
// served without its rule on a file system that ignores case.
func TestResolveCaseInsensitiveFS(t *testing.T) {
	g := load(t, foldFS{testSite(t)})

	// The file system finds each spelling; the guard maps it to the file's
	// own name and so to its page's rule.
	for p, file := range map[string]string{
		"/posts/a/":           "posts/a/index.html",
		"/POSTS/A/":           "posts/a/index.html",
		"/Posts/a/index.html": "posts/a/index.html",
		"/posts/A/img.png":    "posts/a/img.png",
	} {
		t.Run(p, func(t *testing.T) {
			tg := g.Resolve(p)
			if tg.File != file || tg.Rule == nil || !equalPlans(tg.Rule, "pro") {
				t.Errorf("Resolve(%q) = %+v, want %s under the pro rule", p, summary(tg), file)
			}
		})
	}
	if tg := g.Resolve("/PAYWALL-MANIFEST.JSON"); tg.File != "" {
		t.Errorf("manifest in capitals: got File %q, want \"\"", tg.File)
	}
}

func equalPlans(r *paywall.Rule, plans ...string) bool {
	return strings.Join(r.Plans, ",") == strings.Join(plans, ",")
}

// slashFS treats a backslash as a separator, as Windows does.
type slashFS struct{ m fstest.MapFS }

func (f slashFS) Open(name string) (fs.File, error) {
	return f.m.Open(strings.ReplaceAll(name, `\`, "/"))
}

// TestResolveBackslashFS checks that a backslash never reaches a file system
// that would read it as a separator: the rule is looked up by slashes only.
func TestResolveBackslashFS(t *testing.T) {
	g := load(t, slashFS{testSite(t)})

	for _, p := range []string{`/posts\a\index.html`, `/posts/a\index.html`, `/posts\a\img.png`} {
		t.Run(p, func(t *testing.T) {
			if got := summary(g.Resolve(p)); got != (target{}) {
				t.Errorf("Resolve(%q) = %+v, want nothing", p, got)
			}
		})
	}
}

// TestResolveWithoutHome checks files outside every listed page when the
// manifest does not list the home page: they are free.
func TestResolveWithoutHome(t *testing.T) {
	site := fstest.MapFS{
		guard.ManifestFile:   manifest(t, page{URL: "/posts/a/", Plans: []string{"pro"}}),
		"index.html":         file("home"),
		"css/site.css":       file("body{}"),
		"posts/a/index.html": file("gated"),
	}
	g := load(t, site)

	tests := []struct {
		path string
		want target
	}{
		{"/", target{File: "index.html"}},
		{"/css/site.css", target{File: "css/site.css"}},
		{"/posts/a/", target{File: "posts/a/index.html", Rule: "/posts/a/"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := summary(g.Resolve(tt.path)); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
