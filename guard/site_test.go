package guard_test

import (
	"reflect"
	"testing"

	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
	"github.com/paywall/paywall/guard"
)

// TestExampleSite checks the rules of the example site that ships embedded,
// as the default run serves it.
func TestExampleSite(t *testing.T) {
	c, err := config.Parse(map[string]string{}, site.Plans)
	if err != nil {
		t.Fatal(err)
	}
	g, err := guard.Load(site.Public(), guard.Options{Catalog: c.Catalog})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		path      string
		wantFile  string
		wantPlans []string // nil for a free page
	}{
		{"/posts/week0001/", "posts/week0001/index.html", []string{"basic", "pro"}},
		{"/posts/week0002/", "posts/week0002/index.html", []string{"basic"}},
		{"/posts/week0003/", "posts/week0003/index.html", []string{"elite"}},
		{"/posts/week0003/index.html", "posts/week0003/index.html", []string{"elite"}},
		{"/posts/welcome/", "posts/welcome/index.html", nil},
		{"/posts/hello/", "posts/hello/index.html", nil},
		{"/posts/", "posts/index.html", nil},
		{"/pricing/", "pricing/index.html", nil},
		{"/", "index.html", nil},
		{"/css/paywall.css", "css/paywall.css", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			tg := g.Resolve(tt.path)
			if tg.File != tt.wantFile {
				t.Errorf("File: got %q, want %q", tg.File, tt.wantFile)
			}
			var plans []string
			if tg.Rule != nil {
				plans = tg.Rule.Plans
				if tg.Rule.Teaser == "" {
					t.Errorf("rule %s has no teaser", tg.Rule.Path)
				}
			}
			if !reflect.DeepEqual(plans, tt.wantPlans) {
				t.Errorf("plans: got %q, want %q", plans, tt.wantPlans)
			}
		})
	}

	var paths []string
	for _, r := range g.Rules() {
		paths = append(paths, r.Path)
	}
	want := []string{"/posts/week0001/", "/posts/week0002/", "/posts/week0003/"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("Rules: got %q, want %q", paths, want)
	}
	if tg := g.Resolve("/" + guard.ManifestFile); tg.File != "" {
		t.Errorf("manifest: got File %q, want \"\"", tg.File)
	}
}
