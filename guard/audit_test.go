package guard

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/paywall/paywall/examples/site"
)

func TestAuditExampleSiteIsClean(t *testing.T) {
	g, err := Load(site.Public(), Options{Catalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	leaks, err := g.Audit()
	if err != nil {
		t.Fatal(err)
	}
	if len(leaks) != 0 {
		t.Errorf("the example site leaks: %v", leaks)
	}
	if len(g.gated) != 3 {
		t.Errorf("%d gated pages with a known body, want week0001 to week0003", len(g.gated))
	}
}

func TestAuditLeakyFixture(t *testing.T) {
	public, _ := buildSite(t, "leaky")
	g := load(t, public, Options{})
	leaks, err := g.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range leaks {
		got = append(got, l.File+" "+l.Page)
		if l.Snippet == "" {
			t.Errorf("%s: no snippet", l.File)
		}
	}
	want := []string{
		"index.xml /posts/no-divider/",
		"posts/index.xml /posts/no-divider/",
		"search.json /posts/no-divider/",
		"search.json /posts/with-divider/",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("leaks (-want +got):\n%s\n%v", diff, leaks)
	}
}

// TestSentencesMatchOwnPage checks that the theme's template and the audit
// normalize text alike: every sentence hash the manifest lists for a gated
// page is found in that page's own built file, entities, emphasis and all.
func TestSentencesMatchOwnPage(t *testing.T) {
	cases, src := buildSite(t, "cases")
	leaky, _ := buildSite(t, "leaky")
	fallback := t.TempDir()
	if err := os.CopyFS(fallback, os.DirFS(cases)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(fallback, ManifestFile))
	for _, s := range []struct {
		name string
		g    *Guard
	}{
		{"example", mustLoad(t, site.Public())},
		{"cases", load(t, cases, Options{})},
		{"leaky", load(t, leaky, Options{})},
		{"front matter", load(t, fallback, Options{Content: os.DirFS(filepath.Join(src, "content"))})},
	} {
		for _, p := range s.g.gated {
			file := s.g.Resolve(p.rule.Path).File
			if file == "" {
				continue // the front matter's guess of a permalink URL; see TestFrontMatterFallback
			}
			data, err := fs.ReadFile(s.g.site, file)
			if err != nil {
				t.Fatal(err)
			}
			found := map[string]bool{}
			for _, sn := range fileSentences(data) {
				found[sn.hash] = true
			}
			missing := 0
			for h := range p.sentences {
				if !found[h] {
					missing++
				}
			}
			if missing > 0 {
				t.Errorf("%s %s: %d of %d body sentences not found in %s",
					s.name, p.rule.Path, missing, len(p.sentences), file)
			}
		}
	}
}

func mustLoad(t *testing.T, site fs.FS) *Guard {
	t.Helper()
	g, err := Load(site, Options{Catalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestSplitSentences(t *testing.T) {
	got := fileSentences([]byte(`<p>First <em>para</em> ends with <strong>bold</strong>. Second sentence
wraps a line, doesn&rsquo;t it? Yes it does &amp; more.</p><li>Short one.</li>`))
	var texts []string
	for _, s := range got {
		texts = append(texts, s.text)
	}
	want := []string{"first para ends with bold.", "second sentence wraps a line, doesn’t it?",
		"yes it does & more."}
	if diff := cmp.Diff(want, texts); diff != "" {
		t.Errorf("sentences (-want +got):\n%s", diff)
	}
	feed := fileSentences([]byte(`<description>&lt;p&gt;Escaped &lt;em&gt;HTML&lt;/em&gt; in a feed item body.&lt;/p&gt;</description>`))
	if len(feed) != 1 || feed[0].text != "escaped html in a feed item body." {
		t.Errorf("feed sentences %v", feed)
	}
	js := fileSentences([]byte(`[{"content":"Stored as JSON with \u0026amp; an escaped ampersand."}]`))
	if len(js) != 1 || js[0].text != "stored as json with & an escaped ampersand." {
		t.Errorf("JSON sentences %v", fmt.Sprint(js))
	}
}
