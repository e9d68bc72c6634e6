package guard

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paywall/paywall"
)

// want is what a request path must resolve to.
type want struct {
	path  string
	file  string   // "" for nothing servable
	rule  string   // the rule's page, "" for a free file
	plans []string // the plans the rule names
}

// casesTable is how the paywall manifest makes Hugo's URLs and plans of
// testdata/cases known to the guard.
var casesTable = []want{
	{"/", "index.html", "", nil},
	{"/index.xml", "index.xml", "", nil},
	{"/posts/", "posts/index.html", "", nil},
	{"/posts/free/", "posts/free/index.html", "", nil},
	{"/posts/plain/", "posts/plain/index.html", "/posts/plain/", []string{"basic"}},
	// slug renames the page's directory; the file name is not a URL.
	{"/posts/renamed/", "posts/renamed/index.html", "/posts/renamed/", []string{"pro"}},
	{"/posts/slugged/", "", "", nil},
	// Hugo makes a slug with spaces a path with hyphens, and writes a
	// non-ASCII URL percent-encoded, its file under the decoded name.
	{"/posts/my-secret-post/", "posts/my-secret-post/index.html", "/posts/my-secret-post/", []string{"basic"}},
	{"/posts/café/", "posts/café/index.html", "/posts/café/", []string{"pro"}},
	// url moves the page out of its section, to a directory or to a file.
	{"/special/offer/", "special/offer/index.html", "/special/offer/", []string{"elite"}},
	{"/files/gated.html", "files/gated.html", "/files/gated.html", []string{"basic"}},
	{"/files/free.html", "files/free.html", "", nil},
	// aliases, absolute and relative, share the page's rule.
	{"/posts/aliased/", "posts/aliased/index.html", "/posts/aliased/", []string{"basic"}},
	{"/old/aliased/", "old/aliased/index.html", "/posts/aliased/", []string{"basic"}},
	{"/posts/moved-here/", "posts/moved-here/index.html", "/posts/aliased/", []string{"basic"}},
	// a bundle's files share its rule.
	{"/posts/bundle/", "posts/bundle/index.html", "/posts/bundle/", []string{"elite"}},
	{"/posts/bundle/notes.txt", "posts/bundle/notes.txt", "/posts/bundle/", []string{"elite"}},
	// TOML and JSON front matter.
	{"/posts/toml/", "posts/toml/index.html", "/posts/toml/", []string{"pro"}},
	{"/posts/json/", "posts/json/index.html", "/posts/json/", []string{"basic", "pro"}},
	{"/posts/summary/", "posts/summary/index.html", "/posts/summary/", []string{"basic"}},
	// a section's cascade gates the section and the pages below it, unless
	// a page names its own plans.
	{"/premium/", "premium/index.html", "/premium/", []string{"pro"}},
	{"/premium/index.xml", "premium/index.xml", "/premium/", []string{"pro"}},
	{"/premium/deep/", "premium/deep/index.html", "/premium/deep/", []string{"pro"}},
	{"/premium/override/", "premium/override/index.html", "/premium/override/", []string{"elite"}},
	// permalinks in the site config: notes are published under /n/.
	{"/n/entry-one/", "n/entry-one/index.html", "/n/entry-one/", []string{"basic"}},
	{"/paywall-manifest.json", "", "", nil},
}

func checkTable(t *testing.T, g *Guard, table []want) {
	t.Helper()
	for _, w := range table {
		got := g.Resolve(w.path)
		var rule string
		var plans []string
		if got.Rule != nil {
			rule, plans = got.Rule.Path, got.Rule.Plans
		}
		if got.File != w.file || rule != w.rule || !slices.Equal(plans, w.plans) {
			t.Errorf("Resolve(%q) = file %q, rule %q %v; want file %q, rule %q %v",
				w.path, got.File, rule, plans, w.file, w.rule, w.plans)
		}
	}
}

func TestManifestCases(t *testing.T) {
	public, _ := buildSite(t, "cases")
	g := load(t, public, Options{})
	if g.From != "manifest" {
		t.Errorf("rules from %q, want the manifest", g.From)
	}
	checkTable(t, g, casesTable)

	summary := g.Resolve("/posts/summary/").Rule
	if !strings.Contains(summary.Teaser, "A summary written for the teaser") {
		t.Errorf("summary page teaser %q, want its front-matter summary", summary.Teaser)
	}
	plain := g.Resolve("/posts/plain/").Rule
	if !strings.Contains(plain.Teaser, "opens with a teaser") || strings.Contains(plain.Teaser, "gated") {
		t.Errorf("teaser %q, want the text above <!--more--> only", plain.Teaser)
	}
	if plain.Source != "manifest posts/plain.md" {
		t.Errorf("source %q", plain.Source)
	}
	if leaks, err := g.Audit(); err != nil || len(leaks) != 0 {
		t.Errorf("Audit() = %v, %v; want no leaks", leaks, err)
	}
}

// TestFrontMatterFallback reads the same site's rules from its content
// directory, as for a site built without the manifest. It gets every case
// but the permalinks setting, which only Hugo knows: that is why the
// manifest is the first source.
func TestFrontMatterFallback(t *testing.T) {
	public, src := buildSite(t, "cases")
	if err := os.Remove(filepath.Join(public, ManifestFile)); err != nil {
		t.Fatal(err)
	}
	g := load(t, public, Options{Content: os.DirFS(filepath.Join(src, "content"))})
	if g.From != "front matter" {
		t.Errorf("rules from %q, want front matter", g.From)
	}
	var table []want
	for _, w := range casesTable {
		switch {
		case w.path == "/n/entry-one/":
			w.rule, w.plans = "", nil // published by permalinks under /n/, not /notes/
		case w.path == "/paywall-manifest.json":
			continue
		}
		table = append(table, w)
	}
	checkTable(t, g, table)
	if r := g.Resolve("/posts/plain/").Rule; r.Source != "front matter posts/plain.md" {
		t.Errorf("source %q", r.Source)
	}
}

func TestLoadRefuses(t *testing.T) {
	public, src := buildSite(t, "cases")
	site := os.DirFS(public)
	few := paywall.Catalog{Plans: []paywall.Plan{{ID: "basic"}, {ID: "pro"}}}
	if _, err := Load(site, Options{Catalog: few}); err == nil ||
		!strings.Contains(err.Error(), `unknown plan "elite"`) {
		t.Errorf("unknown plan in the manifest: %v", err)
	}
	if _, err := Load(site, Options{Catalog: catalog,
		Globs: []paywall.Glob{{Pattern: "/x/**", Plans: []string{"gold"}}}}); err == nil ||
		!strings.Contains(err.Error(), `unknown plan "gold"`) {
		t.Errorf("unknown plan in a path rule: %v", err)
	}
	os.Remove(filepath.Join(public, ManifestFile))
	if _, err := Load(site, Options{Catalog: catalog}); err == nil ||
		!strings.Contains(err.Error(), "no "+ManifestFile) {
		t.Errorf("no manifest, no content: %v", err)
	}
	if _, err := Load(site, Options{Catalog: few, Content: os.DirFS(filepath.Join(src, "content"))}); err == nil ||
		!strings.Contains(err.Error(), `unknown plan "elite"`) {
		t.Errorf("unknown plan in front matter: %v", err)
	}
}
