package guard

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/paywall/paywall"
)

const testManifest = `{"pages":[
 {"url":"/","plans":[]},
 {"url":"/posts/gated/","file":"posts/gated.md","plans":["pro"],"aliases":["/old/"],
  "resources":["/posts/gated/a.pdf"],"teaser":"<p>Teaser.</p>"},
 {"url":"/posts/free/","plans":[]},
 {"url":"/posts/x/","plans":[],"resources":["/posts/x/own.pdf"]},
 {"url":"/files/paid.html","plans":["basic"]},
 {"url":"/files/open.html","plans":[]}
]}`

func testSite() fstest.MapFS {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	return fstest.MapFS{
		ManifestFile:                 f(testManifest),
		"index.html":                 f("home"),
		"posts/gated/index.html":     f("gated body"),
		"posts/gated/a.pdf":          f("%PDF"),
		"posts/gated/sub/deep.txt":   f("deep"),
		"posts/free/index.html":      f("free"),
		"posts/x/own.pdf":            f("own"),
		"old/index.html":             f("alias"),
		"files/paid.html":            f("paid"),
		"files/open.html":            f("open"),
		"members/report.pdf":         f("report"),
		"members/sub/deeper.pdf":     f("deeper"),
		"posts/gated/Photo.JPG":      f("jpg"),
		"posts/gated/empty/.keep":    f(""),
		"posts/nodir-index/page.txt": f("x"),
	}
}

// foldFS is a file system that ignores letter case, as macOS's and
// Windows' usually do. It has only Open, so fs.Stat and fs.WalkDir use it.
type foldFS struct{ m fstest.MapFS }

func (f foldFS) Open(name string) (fs.File, error) {
	if name == "." {
		return f.m.Open(name)
	}
	lower := strings.ToLower(name)
	for k := range f.m {
		switch lk := strings.ToLower(k); {
		case lk == lower:
			return f.m.Open(k)
		case strings.HasPrefix(lk, lower+"/"):
			return f.m.Open(k[:len(name)]) // a directory, implied by its files
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func TestResolve(t *testing.T) {
	site := testSite()
	globs := []paywall.Glob{{Pattern: "/members/**", Plans: []string{"elite"}},
		{Pattern: "/posts/x/*.pdf", Plans: []string{"basic"}}}
	g, err := Load(site, Options{Catalog: catalog, Globs: globs})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, file, redirect, rule string
	}{
		{"/", "index.html", "", ""},
		{"/posts/gated/", "posts/gated/index.html", "", "/posts/gated/"},
		{"/posts/gated", "", "/posts/gated/", ""},
		{"/posts/gated/index.html", "posts/gated/index.html", "", "/posts/gated/"},
		{"/posts/gated/index.html/", "posts/gated/index.html", "", "/posts/gated/"},
		{"/posts/free/../gated/", "posts/gated/index.html", "", "/posts/gated/"},
		{"//posts//gated//", "posts/gated/index.html", "", "/posts/gated/"},
		{"/posts/gated/a.pdf", "posts/gated/a.pdf", "", "/posts/gated/"},
		{"/posts/gated/sub/deep.txt", "posts/gated/sub/deep.txt", "", "/posts/gated/"},
		{"/posts/gated/empty/", "", "", ""}, // a directory without index.html
		{"/old/", "old/index.html", "", "/posts/gated/"},
		{"/files/paid.html", "files/paid.html", "", "/files/paid.html"},
		{"/files/open.html", "files/open.html", "", ""},
		// path rules come before pages
		{"/members/report.pdf", "members/report.pdf", "", "/members/**"},
		{"/members/sub/deeper.pdf", "members/sub/deeper.pdf", "", "/members/**"},
		{"/posts/x/own.pdf", "posts/x/own.pdf", "", "/posts/x/*.pdf"},
		// case, on a file system that does not ignore it
		{"/Posts/Gated/", "", "", ""},
		{"/posts/gated/photo.jpg", "", "", ""},
		// never served
		{"/" + ManifestFile, "", "", ""},
		{"/./paywall-manifest.json", "", "", ""},
		{"/posts\\gated/", "", "", ""},
		{"/posts/gated/\x00", "", "", ""},
		{"/missing/", "", "", ""},
		{"/../../etc/passwd", "", "", ""},
	}
	for _, tt := range tests {
		got := g.Resolve(tt.path)
		rule := ""
		if got.Rule != nil {
			rule = got.Rule.Path
		}
		if got.File != tt.file || got.Redirect != tt.redirect || rule != tt.rule {
			t.Errorf("Resolve(%q) = %q %q %q, want %q %q %q", tt.path, got.File, got.Redirect, rule,
				tt.file, tt.redirect, tt.rule)
		}
	}
}

// On a file system that ignores letter case, another spelling reaches the
// same file, so it must get the same rule and be served under its own name.
func TestResolveCaseInsensitive(t *testing.T) {
	g, err := Load(foldFS{testSite()}, Options{Catalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	for path, file := range map[string]string{
		"/Posts/Gated/":             "posts/gated/index.html",
		"/POSTS/GATED/INDEX.HTML":   "posts/gated/index.html",
		"/posts/gated/photo.jpg":    "posts/gated/Photo.JPG",
		"/OLD/":                     "old/index.html",
		"/PAYWALL-MANIFEST.JSON":    "",
		"/Files/Paid.HTML":          "files/paid.html",
		"/posts/Gated/sub/DEEP.txt": "posts/gated/sub/deep.txt",
	} {
		got := g.Resolve(path)
		if got.File != file {
			t.Errorf("Resolve(%q).File = %q, want %q", path, got.File, file)
		}
		if file != "" && got.Rule == nil {
			t.Errorf("Resolve(%q) is free, want the gated page's rule", path)
		}
	}
	if got := g.Resolve("/Posts/Gated"); got.Redirect != "/posts/gated/" {
		t.Errorf("redirect %q, want the canonical /posts/gated/", got.Redirect)
	}
}

func TestLoadConflicts(t *testing.T) {
	site := testSite()
	site[ManifestFile] = &fstest.MapFile{Data: []byte(`{"pages":[
		{"url":"/a/","plans":["pro"]},{"url":"/b/","plans":[],"aliases":["/a/"]}]}`)}
	_, err := Load(site, Options{Catalog: catalog})
	if err == nil || !strings.Contains(err.Error(), "same path /a/") {
		t.Errorf("an alias over a gated page: %v", err)
	}
}

func TestNestedPlansUnlock(t *testing.T) {
	cat := paywall.Catalog{Plans: []paywall.Plan{{ID: "basic"}, {ID: "pro", Includes: []string{"basic"}},
		{ID: "elite", Includes: []string{"pro"}}}}
	g, err := Load(testSite(), Options{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	paid := g.Resolve("/files/paid.html").Rule // basic
	if got := strings.Join(paid.Unlocking(), ","); got != "basic,pro,elite" {
		t.Errorf("basic page unlocked by %s, want basic,pro,elite", got)
	}
	gated := g.Resolve("/posts/gated/").Rule // pro
	for plan, want := range map[string]paywall.Decision{"basic": paywall.Upgrade,
		"pro": paywall.Allow, "elite": paywall.Allow} {
		a := paywall.Access{PlanID: plan, Status: paywall.Active}
		if got := paywall.Decide(gated, true, a); got != want {
			t.Errorf("%s member on a pro page: %v, want %v", plan, got, want)
		}
	}
}
