// Package guard decides, for every request path, which file of the built
// site it names and which rule protects that file, and serves the file only
// after the decision. The rules come from the manifest that the paywall Hugo
// theme component writes: Hugo itself says which URL each page has and
// which plans it needs after cascades. Sites without a manifest fall back to
// the front matter of their content directory, and path globs in the plans
// file gate files of sites not built with Hugo at all.
package guard

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/paywall/paywall"
)

// ManifestFile is the manifest's name at the root of the built site. It is
// never served: it is for paywall, not for readers.
const ManifestFile = "paywall-manifest.json"

// Options are the rule sources besides the site's own manifest.
type Options struct {
	Catalog paywall.Catalog
	// Content is the Hugo content directory, read for front matter only when
	// the site has no manifest; nil for none.
	Content fs.FS
	// Globs gate files by path, before any page rule; the first match wins.
	Globs []paywall.Glob
}

// page is one page of the site as a rule source knows it.
type page struct {
	URL       string
	File      string // source file, for explain
	Plans     []string
	Aliases   []string
	Resources []string
	Title     string
	Teaser    string
	Sentences []string // hashes of the gated body's sentences, for the audit
}

// Guard holds the rules of one built site.
type Guard struct {
	site fs.FS
	// From says where the page rules came from: "manifest", "front matter"
	// or "" when only globs gate the site.
	From string

	// files holds every file of the site at load: a file added later is not
	// served until paywall restarts and reads its rule. fold maps each
	// lower-cased path to it, for file systems that ignore letter case.
	files map[string]bool
	dirs  map[string]bool
	fold  map[string]string

	exact map[string]*paywall.Rule // page files and resources, by path in site
	pages map[string]*paywall.Rule // page directories; free pages map to nil
	globs []globRule
	rules []*paywall.Rule
	gated []gatedPage
}

type globRule struct {
	pattern string
	rule    *paywall.Rule
}

// gatedPage is a gated page's body as the audit knows it.
type gatedPage struct {
	rule      *paywall.Rule
	sentences map[string]bool
}

// Load reads the rules of site: its manifest, or else the front matter of
// opts.Content, plus opts.Globs. Every plan a rule names must be in the
// catalog, and the site must be gated by something.
func Load(site fs.FS, opts Options) (*Guard, error) {
	g := &Guard{site: site, exact: map[string]*paywall.Rule{}, pages: map[string]*paywall.Rule{}}
	if err := g.index(); err != nil {
		return nil, err
	}
	pages, from, err := readPages(site, opts.Content)
	if err != nil {
		return nil, err
	}
	g.From = from
	for _, p := range pages {
		if err := g.add(p, opts.Catalog); err != nil {
			if from == "manifest" {
				return nil, fmt.Errorf("%s: %w", ManifestFile, err)
			}
			return nil, err
		}
	}
	for _, gl := range opts.Globs {
		if err := g.addGlob(gl, opts.Catalog); err != nil {
			return nil, err
		}
	}
	if from == "" && len(opts.Globs) == 0 {
		return nil, fmt.Errorf("no %s in the site and no content directory or path rules: "+
			"build it with the paywall theme component (see examples/site/themes/paywall/README.md)",
			ManifestFile)
	}
	sort.Slice(g.rules, func(i, j int) bool { return g.rules[i].Path < g.rules[j].Path })
	return g, nil
}

// readPages returns the site's pages from its manifest, or from the front
// matter of content when there is none.
func readPages(site, content fs.FS) ([]page, string, error) {
	pages, err := readManifest(site)
	switch {
	case err == nil:
		return pages, "manifest", nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, "", err
	case content != nil:
		pages, err := readFrontMatter(content)
		return pages, "front matter", err
	}
	return nil, "", nil
}

// index lists every file and directory of the site.
func (g *Guard) index() error {
	g.files, g.dirs, g.fold = map[string]bool{}, map[string]bool{}, map[string]string{}
	return fs.WalkDir(g.site, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read the site: %w", err)
		}
		if d.IsDir() {
			g.dirs[p] = true
		} else {
			g.files[p] = true
		}
		g.fold[strings.ToLower(p)] = p
		return nil
	})
}

func (g *Guard) add(p page, cat paywall.Catalog) error {
	var rule *paywall.Rule
	if len(p.Plans) > 0 {
		for _, plan := range p.Plans {
			if _, ok := cat.Plan(plan); !ok {
				return fmt.Errorf("page %s (%s) names the unknown plan %q", p.URL, p.File, plan)
			}
		}
		// The rule names the page by its decoded path, /posts/café/, as
		// logs, explain and the front-matter fallback do.
		shown, err := url.PathUnescape(p.URL)
		if err != nil {
			shown = p.URL
		}
		rule = &paywall.Rule{Path: shown, Plans: slices.Clone(p.Plans),
			Unlocks: cat.Unlocking(p.Plans), Title: p.Title, Teaser: p.Teaser,
			Source: g.sourceOf(p)}
		g.rules = append(g.rules, rule)
		if len(p.Sentences) > 0 {
			g.gated = append(g.gated, gatedPage{rule: rule, sentences: set(p.Sentences)})
		}
	}
	if p.URL != "" {
		if err := g.claim(p.URL, rule, p); err != nil {
			return err
		}
	}
	for _, a := range p.Aliases {
		if err := g.claim(a, rule, p); err != nil {
			return err
		}
	}
	for _, r := range p.Resources {
		if name, ok := sitePath(r); ok {
			g.exact[name] = rule
		}
	}
	return nil
}

func (g *Guard) sourceOf(p page) string {
	if p.File == "" {
		return g.From
	}
	return g.From + " " + p.File
}

// claim records that the page at URL u (or an alias of it) has rule. A URL
// ending in a file name gates that file alone; any other URL gates its
// directory and everything below that no nearer page claims.
func (g *Guard) claim(u string, rule *paywall.Rule, p page) error {
	name, ok := sitePath(u)
	if !ok {
		return fmt.Errorf("page %q has a URL paywall cannot map to a file: %q", p.File, u)
	}
	table := g.pages
	if path.Ext(name) == ".html" || path.Ext(name) == ".htm" {
		table = g.exact
	}
	if old, ok := table[name]; ok && !sameRule(old, rule) {
		return fmt.Errorf("page %s (%s) and %s are published at the same path %s with different plans",
			p.URL, p.File, ruleName(old), u)
	}
	table[name] = rule
	return nil
}

func sameRule(a, b *paywall.Rule) bool {
	if a == nil || b == nil {
		return a == b
	}
	return slices.Equal(a.Plans, b.Plans)
}

func ruleName(r *paywall.Rule) string {
	if r == nil {
		return "a free page"
	}
	return r.Path
}

func (g *Guard) addGlob(gl paywall.Glob, cat paywall.Catalog) error {
	if _, err := path.Match(gl.Pattern, "/"); err != nil || !strings.HasPrefix(gl.Pattern, "/") {
		return fmt.Errorf("path rule %q is not a path pattern like /members/*", gl.Pattern)
	}
	for _, plan := range gl.Plans {
		if _, ok := cat.Plan(plan); !ok {
			return fmt.Errorf("path rule %q names the unknown plan %q", gl.Pattern, plan)
		}
	}
	rule := &paywall.Rule{Path: gl.Pattern, Plans: slices.Clone(gl.Plans),
		Unlocks: cat.Unlocking(gl.Plans), Title: gl.Pattern, Source: "path rule " + gl.Pattern}
	g.globs = append(g.globs, globRule{pattern: gl.Pattern, rule: rule})
	g.rules = append(g.rules, rule)
	return nil
}

// sitePath maps a URL path like /posts/week0001/ to its place in the built
// site, posts/week0001; the home page is ".".
func sitePath(u string) (string, bool) {
	if !strings.HasPrefix(u, "/") || strings.Contains(u, "://") {
		return "", false
	}
	// Hugo writes URLs percent-encoded (/posts/caf%C3%A9/) and files under
	// their decoded names (posts/café/index.html): rules are kept by file.
	u, err := url.PathUnescape(u)
	if err != nil {
		return "", false
	}
	clean := strings.TrimPrefix(path.Clean(u), "/")
	if clean == "" {
		return ".", true
	}
	return clean, fs.ValidPath(clean)
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Rules returns the site's gated pages and path rules, sorted by path.
func (g *Guard) Rules() []paywall.Rule {
	out := make([]paywall.Rule, len(g.rules))
	for i, r := range g.rules {
		out[i] = *r
	}
	return out
}

// Site returns the file system the guard serves.
func (g *Guard) Site() fs.FS { return g.site }

// ruleFor returns the rule protecting file, a path in the site: the first
// path rule matching it, else the page it belongs to (its own file or
// resource), else the page nearest above it, else nil.
func (g *Guard) ruleFor(file string) *paywall.Rule {
	for _, gl := range g.globs {
		for _, name := range urlPaths(file) {
			if globMatch(gl.pattern, name) {
				return gl.rule
			}
		}
	}
	if rule, ok := g.exact[file]; ok {
		return rule
	}
	for dir := path.Dir(file); ; dir = path.Dir(dir) {
		if rule, ok := g.pages[dir]; ok {
			return rule
		}
		if dir == "." || dir == "/" {
			return nil
		}
	}
}

// urlPaths returns the URL paths that serve file: /premium/index.html is
// also /premium/, so a path rule written either way gates it.
func urlPaths(file string) []string {
	name := "/" + file
	if path.Base(file) != "index.html" {
		return []string{name}
	}
	dir := path.Dir(name)
	if dir != "/" {
		dir += "/"
	}
	return []string{name, dir}
}

// globMatch matches name against pattern with path.Match, where a pattern
// ending in /** also matches everything below its prefix.
func globMatch(pattern, name string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/**"); ok {
		return name == prefix || strings.HasPrefix(name, prefix+"/")
	}
	ok, _ := path.Match(pattern, name)
	return ok
}
