package guard_test

import (
	"testing"
	"testing/fstest"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/guard"
)

// TestNonASCIIURL: Hugo writes a page's URL percent-encoded in the manifest
// and its file under the decoded name; the rule must reach the file, and
// names the page by its decoded path.
func TestNonASCIIURL(t *testing.T) {
	site := fstest.MapFS{
		guard.ManifestFile: manifest(t,
			page{URL: "/posts/caf%C3%A9/", File: "posts/café.md", Kind: "page", Title: "Café",
				Plans: []string{"pro"}},
			page{URL: "/posts/cr%C3%A8me-br%C3%BBl%C3%A9e/", File: "posts/creme.md", Kind: "page",
				Plans: []string{"basic"}, Aliases: []string{"/%C3%A9t%C3%A9/"}}),
		"posts/café/index.html":         file("secret café body"),
		"posts/café/photo.jpg":          file("jpg"),
		"posts/crème-brûlée/index.html": file("secret crème body"),
		"été/index.html":                file("alias page"),
	}
	g := load(t, site)
	for path, want := range map[string]string{
		"/posts/café/":           "/posts/café/",
		"/posts/café/index.html": "/posts/café/",
		"/posts/café/photo.jpg":  "/posts/café/",
		"/posts/crème-brûlée/":   "/posts/crème-brûlée/",
		"/été/":                  "/posts/crème-brûlée/",
	} {
		got := g.Resolve(path)
		if got.File == "" || got.Rule == nil || got.Rule.Path != want {
			t.Errorf("Resolve(%q) = %+v, want a file under the rule of %s", path, got, want)
		}
	}
}

// TestPathRuleOnDirectory: a path rule written as the URL of a directory
// gates the index.html that serves it, as the README says.
func TestPathRuleOnDirectory(t *testing.T) {
	site := fstest.MapFS{
		"index.html":               file("home"),
		"premium/index.html":       file("premium secret"),
		"premium/notes/index.html": file("nested"),
		"members/guide/index.html": file("guide secret"),
		"members/guide/a.pdf":      file("pdf"),
		"free/index.html":          file("free"),
	}
	globs := []paywall.Glob{
		{Pattern: "/premium/", Plans: []string{"pro"}},
		{Pattern: "/members/*/", Plans: []string{"basic"}},
	}
	g, err := guard.Load(site, guard.Options{Catalog: catalog, Globs: globs})
	if err != nil {
		t.Fatal(err)
	}
	for path, gated := range map[string]bool{
		"/premium/":            true,
		"/premium/index.html":  true,
		"/members/guide/":      true,
		"/free/":               false,
		"/":                    false,
		"/premium/notes/":      false, // "/premium/" names that directory's page only
		"/members/guide/a.pdf": false, // "/members/*/" names pages, not their files
	} {
		got := g.Resolve(path)
		if got.File == "" {
			t.Errorf("Resolve(%q) found no file", path)
			continue
		}
		if (got.Rule != nil) != gated {
			t.Errorf("Resolve(%q) rule %+v, want gated %v", path, got.Rule, gated)
		}
	}
}
