package guard_test

import (
	"encoding/json"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/guard"
)

// page is one entry of a paywall-manifest.json, as the Hugo theme writes it.
type page struct {
	URL     string   `json:"url"`
	File    string   `json:"file"`
	Kind    string   `json:"kind"`
	Title   string   `json:"title"`
	Plans   []string `json:"plans"`
	Aliases []string `json:"aliases"`
	Teaser  string   `json:"teaser"`
}

func manifest(t *testing.T, pages ...page) *fstest.MapFile {
	t.Helper()
	b, err := json.Marshal(map[string]any{"generator": "hugo test", "pages": pages})
	if err != nil {
		t.Fatal(err)
	}
	return &fstest.MapFile{Data: b}
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

var catalog = paywall.Catalog{Plans: []paywall.Plan{{ID: "basic"}, {ID: "pro"}}}

// testSite is a small built site: a section gated for basic, a page in it
// gated for pro with a bundle and an alias, a free page inside the section,
// and free pages outside it.
func testSite(t *testing.T) fstest.MapFS {
	t.Helper()
	return fstest.MapFS{
		guard.ManifestFile: manifest(t,
			page{URL: "/", File: "_index.md", Kind: "home"},
			page{URL: "/posts/", File: "posts/_index.md", Kind: "section", Plans: []string{"basic"}},
			page{URL: "/posts/a/", File: "posts/a/index.md", Kind: "page", Title: "A",
				Plans: []string{"pro"}, Aliases: []string{"/old/a/"}, Teaser: "<p>A teaser</p>"},
			page{URL: "/posts/free/", File: "posts/free.md", Kind: "page"},
			page{URL: "/about/", File: "about.md", Kind: "page"},
		),
		"index.html":             file("home"),
		"404.html":               file("not found"),
		"css/site.css":           file("body{}"),
		"about/index.html":       file("about"),
		"posts/index.html":       file("posts list"),
		"posts/a/index.html":     file("the gated body of a"),
		"posts/a/img.png":        file("png"),
		"posts/a/images/x.png":   file("nested png"),
		"posts/b/index.html":     file("unlisted page under the section"),
		"posts/free/index.html":  file("free inside the section"),
		"posts/empty/notes.txt":  file("a directory without index.html"),
		"old/a/index.html":       file("alias redirect page"),
		"paywall-manifest.jsonx": file("not the manifest"),
	}
}

func load(t *testing.T, site fs.FS) *guard.Guard {
	t.Helper()
	g, err := guard.Load(site, guard.Options{Catalog: catalog})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return g
}

// target is a Target with its rule reduced to the rule's path, for comparison.
type target struct {
	File, Redirect, Rule string
}

func summary(tg paywall.Target) target {
	s := target{File: tg.File, Redirect: tg.Redirect}
	if tg.Rule != nil {
		s.Rule = tg.Rule.Path
	}
	return s
}

func TestResolve(t *testing.T) {
	g := load(t, testSite(t))
	a := target{File: "posts/a/index.html", Rule: "/posts/a/"}

	tests := []struct {
		name string
		path string
		want target
	}{
		{"page", "/posts/a/", a},
		{"page without slash", "/posts/a", target{Redirect: "/posts/a/"}},
		{"page index", "/posts/a/index.html", a},
		{"double slash", "/posts//a/", a},
		{"dot segment", "/posts/./a/", a},
		{"dot-dot segment", "/posts/b/../a/", a},
		{"dot-dot above the root", "/../posts/a/", a},
		{"dot-dot without slash", "/posts/b/../a", target{Redirect: "/posts/a/"}},
		{"relative", "posts/a/", a},
		{"bundle file", "/posts/a/img.png", target{File: "posts/a/img.png", Rule: "/posts/a/"}},
		{"nested bundle file", "/posts/a/images/x.png",
			target{File: "posts/a/images/x.png", Rule: "/posts/a/"}},
		{"alias", "/old/a/", target{File: "old/a/index.html", Rule: "/posts/a/"}},
		{"section", "/posts/", target{File: "posts/index.html", Rule: "/posts/"}},
		{"section without slash", "/posts", target{Redirect: "/posts/"}},
		{"unlisted page in a gated section", "/posts/b/",
			target{File: "posts/b/index.html", Rule: "/posts/"}},
		{"listed free page in a gated section", "/posts/free/", target{File: "posts/free/index.html"}},
		{"home", "/", target{File: "index.html"}},
		{"home index", "/index.html", target{File: "index.html"}},
		{"free page", "/about/", target{File: "about/index.html"}},
		{"free asset", "/css/site.css", target{File: "css/site.css"}},
		{"manifest", "/paywall-manifest.json", target{}},
		{"manifest through dot-dot", "/posts/../paywall-manifest.json", target{}},
		{"manifest with slash", "/paywall-manifest.json/", target{}},
		{"file next to the manifest", "/paywall-manifest.jsonx", target{File: "paywall-manifest.jsonx"}},
		{"missing file", "/posts/a/missing.png", target{}},
		{"missing page", "/posts/missing/", target{}},
		{"directory without index", "/posts/empty/", target{}},
		{"outside the site", "/../../etc/passwd", target{}},
		{"NUL", "/posts/a/\x00", target{}},
		{"NUL in the middle", "/posts/a\x00/index.html", target{}},
		{"backslash", "/posts\\a\\", target{}},
		{"backslash dot-dot", "/posts/b/..\\a/", target{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summary(g.Resolve(tt.path)); got != tt.want {
				t.Errorf("Resolve(%q) = %+v, want %+v", tt.path, got, tt.want)
			}
		})
	}
}

func TestResolveRule(t *testing.T) {
	g := load(t, testSite(t))
	got := g.Resolve("/posts/a/").Rule
	want := &paywall.Rule{Path: "/posts/a/", Plans: []string{"pro"}, Unlocks: []string{"pro"}, Title: "A",
		Teaser: "<p>A teaser</p>", Source: "manifest posts/a/index.md"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestRules(t *testing.T) {
	g := load(t, testSite(t))
	var got []string
	for _, r := range g.Rules() {
		got = append(got, r.Path+"="+strings.Join(r.Plans, ","))
	}
	want := []string{"/posts/=basic", "/posts/a/=pro"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLoadError(t *testing.T) {
	tests := []struct {
		name   string
		site   func(t *testing.T) fstest.MapFS
		wantIn []string
	}{
		{
			name: "unknown plan",
			site: func(t *testing.T) fstest.MapFS {
				return fstest.MapFS{guard.ManifestFile: manifest(t,
					page{URL: "/posts/a/", Plans: []string{"basic", "gold"}})}
			},
			wantIn: []string{`"gold"`, "/posts/a/"},
		},
		{
			name:   "missing manifest",
			site:   func(t *testing.T) fstest.MapFS { return fstest.MapFS{"index.html": file("home")} },
			wantIn: []string{guard.ManifestFile},
		},
		{
			name: "manifest not JSON",
			site: func(t *testing.T) fstest.MapFS {
				return fstest.MapFS{guard.ManifestFile: file("<html>")}
			},
			wantIn: []string{guard.ManifestFile},
		},
		{
			name: "absolute page URL",
			site: func(t *testing.T) fstest.MapFS {
				return fstest.MapFS{guard.ManifestFile: manifest(t,
					page{URL: "https://example.com/posts/a/", File: "posts/a.md", Plans: []string{"pro"}})}
			},
			wantIn: []string{"https://example.com/posts/a/", "posts/a.md"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := guard.Load(tt.site(t), guard.Options{Catalog: catalog})
			if err == nil {
				t.Fatalf("got %v, nil, want an error", g)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestNotFoundPage(t *testing.T) {
	b, ok := load(t, testSite(t)).NotFoundPage()
	if !ok || string(b) != "not found" {
		t.Errorf("got %q, %v, want \"not found\", true", b, ok)
	}

	site := testSite(t)
	delete(site, "404.html")
	if b, ok := load(t, site).NotFoundPage(); ok {
		t.Errorf("without 404.html: got %q, true, want false", b)
	}
}
