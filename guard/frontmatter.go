package guard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/BurntSushi/toml"
	"go.yaml.in/yaml/v3"
)

// frontMatter is what the fallback reads of a content file.
type frontMatter struct {
	Title   string
	Plans   []string
	Slug    string
	URL     string
	Aliases []string
	Summary string
	Cascade []string // plans a section's cascade gives the pages below it
}

// readFrontMatter derives the site's pages from a Hugo content directory:
// front matter in YAML, TOML or JSON; `plans`; a section's `cascade` for
// the pages below it; `slug`, `url` and `aliases`. It is less exact than the
// manifest: permalink settings of the site config are not applied, and a
// cascade's `_target` is ignored, so it gates every page below it.
func readFrontMatter(content fs.FS) ([]page, error) {
	docs := map[string]frontMatter{}
	bodies := map[string][]byte{}
	err := fs.WalkDir(content, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !isContent(p) {
			return nil
		}
		data, err := fs.ReadFile(content, p)
		if err != nil {
			return err
		}
		fm, body, err := parseFrontMatter(data)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		docs[p], bodies[p] = fm, body
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the content directory: %w", err)
	}
	names := make([]string, 0, len(docs))
	for p := range docs {
		names = append(names, p)
	}
	sort.Strings(names)
	var pages []page
	for _, p := range names {
		// Drafts are gated too: a build with --buildDrafts publishes them.
		fm := docs[p]
		u := contentURL(p, fm)
		pg := page{URL: u, File: p, Plans: fm.Plans, Aliases: aliasURLs(u, fm.Aliases),
			Title: fm.Title}
		if pg.Plans == nil {
			pg.Plans = cascadeFor(p, docs)
		}
		if len(pg.Plans) > 0 {
			pg.Teaser, pg.Sentences = markdownTeaser(fm, bodies[p])
		}
		pages = append(pages, pg)
	}
	return pages, nil
}

func isContent(p string) bool {
	switch path.Ext(p) {
	case ".md", ".markdown", ".html", ".htm":
		return true
	}
	return false
}

// cascadeFor returns the plans the nearest section above p cascades, as
// Hugo applies a cascade to the section page itself and to all below it.
func cascadeFor(p string, docs map[string]frontMatter) []string {
	dir := path.Dir(p)
	if base := path.Base(p); base == "_index.md" || base == "index.md" {
		if fm := docs[path.Join(dir, "_index.md")]; fm.Cascade != nil {
			return fm.Cascade
		}
		dir = path.Dir(dir)
	}
	for ; ; dir = path.Dir(dir) {
		if fm, ok := docs[path.Join(dir, "_index.md")]; ok && fm.Cascade != nil {
			return fm.Cascade
		}
		if dir == "." {
			return nil
		}
	}
}

// contentURL is Hugo's default URL for the content file p: its path without
// the extension, lower-cased, a bundle's or section's at its directory;
// `slug` replaces the last segment and `url` replaces the whole.
func contentURL(p string, fm frontMatter) string {
	if fm.URL != "" {
		u := "/" + strings.TrimPrefix(fm.URL, "/")
		if path.Ext(u) == "" && !strings.HasSuffix(u, "/") {
			u += "/"
		}
		return u
	}
	dir, base := path.Split(p)
	var segs []string
	if dir != "" {
		segs = strings.Split(strings.TrimSuffix(dir, "/"), "/")
	}
	switch stem := strings.TrimSuffix(base, path.Ext(base)); stem {
	case "_index", "index":
	default:
		segs = append(segs, stem)
	}
	if fm.Slug != "" && len(segs) > 0 {
		segs[len(segs)-1] = fm.Slug
	}
	if len(segs) == 0 {
		return "/"
	}
	for i, seg := range segs {
		segs[i] = hugoPathSegment(seg)
	}
	return strings.ToLower("/" + strings.Join(segs, "/") + "/")
}

// hugoPathSegment sanitizes one segment of a path as Hugo does for the
// paths it derives from file names and slugs: spaces become hyphens, and
// only letters, digits, marks and a few punctuation characters stay.
func hugoPathSegment(seg string) string {
	seg = strings.ReplaceAll(strings.TrimSpace(seg), " ", "-")
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) ||
			strings.ContainsRune("%._-#+~@", r) {
			return r
		}
		return -1
	}, seg)
}

// aliasURLs returns the URLs Hugo publishes aliases at: a relative alias
// sits next to the page's own URL, and one without an extension is a
// directory.
func aliasURLs(pageURL string, aliases []string) []string {
	out := make([]string, len(aliases))
	for i, a := range aliases {
		if !strings.HasPrefix(a, "/") {
			a = path.Join(path.Dir(strings.TrimSuffix(pageURL, "/")), a)
		}
		if path.Ext(a) == "" && !strings.HasSuffix(a, "/") {
			a += "/"
		}
		out[i] = a
	}
	return out
}

var moreDivider = regexp.MustCompile(`(?i)<!--\s*more\s*-->`)

// markdownTeaser returns a page's teaser (its `summary`, else the text above
// <!--more-->) as escaped HTML, and the sentence hashes of the rest.
func markdownTeaser(fm frontMatter, body []byte) (string, []string) {
	text := string(body)
	teaser, rest, found := "", text, false
	if loc := moreDivider.FindStringIndex(text); loc != nil {
		teaser, rest, found = text[:loc[0]], text[loc[1]:], true
	}
	if fm.Summary != "" {
		teaser = fm.Summary
		if !found {
			rest = text
		}
	}
	teaser = strings.TrimSpace(teaser)
	if teaser != "" {
		teaser = "<p>" + html.EscapeString(plainMarkdown(teaser)) + "</p>"
	}
	return teaser, sentenceHashes(plainMarkdown(rest))
}

var markdownMarks = regexp.MustCompile("(?m)^\\s{0,3}(#+|>|[-*+]|\\d+\\.)\\s+|[*_`]|!?\\[([^\\]]*)\\]\\([^)]*\\)")

var blankLine = regexp.MustCompile(`\n[ \t]*\n`)

// plainMarkdown removes the commonest Markdown marks, keeping link texts,
// and puts each paragraph on one line, as the theme's sentences are cut.
func plainMarkdown(s string) string {
	s = markdownMarks.ReplaceAllStringFunc(s, func(m string) string {
		if sub := markdownMarks.FindStringSubmatch(m); strings.HasSuffix(m, ")") && sub[2] != "" {
			return sub[2]
		}
		return ""
	})
	paras := blankLine.Split(strings.ReplaceAll(s, "\r\n", "\n"), -1)
	for i, p := range paras {
		paras[i] = strings.ReplaceAll(p, "\n", " ")
	}
	return strings.Join(paras, "\n")
}

// parseFrontMatter splits a content file into its front matter (YAML
// between ---, TOML between +++, or a JSON object) and its body.
func parseFrontMatter(data []byte) (frontMatter, []byte, error) {
	raw := map[string]any{}
	body := data
	var err error
	switch {
	case bytes.HasPrefix(data, []byte("---")):
		var fm []byte
		fm, body = splitFence(data, "---")
		err = yaml.Unmarshal(fm, &raw)
	case bytes.HasPrefix(data, []byte("+++")):
		var fm []byte
		fm, body = splitFence(data, "+++")
		err = toml.Unmarshal(fm, &raw)
	case bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")):
		dec := json.NewDecoder(bytes.NewReader(data))
		err = dec.Decode(&raw)
		body = data[dec.InputOffset():]
	}
	if err != nil {
		return frontMatter{}, nil, fmt.Errorf("front matter: %w", err)
	}
	return decodeFrontMatter(raw), body, nil
}

func splitFence(data []byte, fence string) ([]byte, []byte) {
	rest := data[len(fence):]
	i := bytes.Index(rest, []byte("\n"+fence))
	if i < 0 {
		return rest, nil
	}
	body := rest[i+1+len(fence):]
	if j := bytes.IndexByte(body, '\n'); j >= 0 {
		body = body[j+1:]
	}
	return rest[:i], body
}

func decodeFrontMatter(raw map[string]any) frontMatter {
	fm := frontMatter{Plans: stringList(lookup(raw, "plans")), Slug: str(lookup(raw, "slug")),
		URL: str(lookup(raw, "url")), Aliases: stringList(lookup(raw, "aliases")),
		Summary: str(lookup(raw, "summary"))}
	fm.Title = str(lookup(raw, "title"))
	switch c := lookup(raw, "cascade").(type) {
	case map[string]any:
		fm.Cascade = stringList(lookup(c, "plans"))
	case []any:
		// Each entry may carry a _target; the fallback gates for all of them.
		for _, e := range c {
			if m, ok := e.(map[string]any); ok {
				fm.Cascade = append(fm.Cascade, stringList(lookup(m, "plans"))...)
			}
		}
	case []map[string]any: // TOML arrays of tables
		for _, m := range c {
			fm.Cascade = append(fm.Cascade, stringList(lookup(m, "plans"))...)
		}
	}
	return fm
}

// lookup finds a key as Hugo does, ignoring letter case.
func lookup(m map[string]any, key string) any {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// stringList reads a string or a list of strings; nil when absent.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := []string{}
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	case []string:
		return v
	}
	return nil
}
