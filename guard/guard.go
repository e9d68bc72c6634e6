// Package guard decides, for every request path, which file of the built
// site it names and which rule protects that file, and serves the file only
// after the decision. The rules come from the manifest that the paywall Hugo
// theme component writes: Hugo itself says which URL each page has and
// which plans it needs after cascades.
package guard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/paywall/paywall"
)

// ManifestFile is the manifest's name at the root of the built site. It is
// never served: it is for paywall, not for readers.
const ManifestFile = "paywall-manifest.json"

type manifest struct {
	Generator string         `json:"generator"`
	Pages     []manifestPage `json:"pages"`
}

type manifestPage struct {
	URL       string   `json:"url"`
	File      string   `json:"file"`
	Kind      string   `json:"kind"`
	Title     string   `json:"title"`
	Plans     []string `json:"plans"`
	Aliases   []string `json:"aliases"`
	Teaser    string   `json:"teaser"`
	Resources []string `json:"resources"`
}

// Guard holds the rules of one built site.
type Guard struct {
	site fs.FS
	// pages maps the directory of every page (and alias) the manifest lists,
	// as a path inside site, to its rule; free pages map to nil so that the
	// nearest enclosing page decides for every file.
	pages map[string]*paywall.Rule
	rules []paywall.Rule
}

// Load reads the manifest of site and checks every plan it names against cat.
func Load(site fs.FS, cat paywall.Catalog) (*Guard, error) {
	data, err := fs.ReadFile(site, ManifestFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no %s in the site: build it with the paywall theme component "+
			"(see examples/site/themes/paywall/README.md)", ManifestFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ManifestFile, err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", ManifestFile, err)
	}
	g := &Guard{site: site, pages: map[string]*paywall.Rule{}}
	for _, p := range m.Pages {
		if err := g.add(p, cat); err != nil {
			return nil, err
		}
	}
	sort.Slice(g.rules, func(i, j int) bool { return g.rules[i].Path < g.rules[j].Path })
	return g, nil
}

func (g *Guard) add(p manifestPage, cat paywall.Catalog) error {
	dir, ok := pageDir(p.URL)
	if !ok {
		return fmt.Errorf("%s: page %q has a URL paywall cannot map to a file: %q",
			ManifestFile, p.File, p.URL)
	}
	var rule *paywall.Rule
	if len(p.Plans) > 0 {
		for _, plan := range p.Plans {
			if _, ok := cat.Plan(plan); !ok {
				return fmt.Errorf("%s: page %s names the unknown plan %q", ManifestFile, p.URL, plan)
			}
		}
		rule = &paywall.Rule{Path: p.URL, Plans: slices.Clone(p.Plans), Title: p.Title,
			Teaser: p.Teaser, Source: "manifest " + p.File}
		g.rules = append(g.rules, *rule)
	}
	g.pages[dir] = rule
	for _, a := range p.Aliases {
		if d, ok := pageDir(a); ok {
			g.pages[d] = rule
		}
	}
	return nil
}

// pageDir maps a page URL like /posts/week0001/ to its directory in the
// built site, posts/week0001; the home page is ".".
func pageDir(u string) (string, bool) {
	if !strings.HasPrefix(u, "/") || strings.Contains(u, "://") {
		return "", false
	}
	clean := strings.TrimPrefix(path.Clean(u), "/")
	if clean == "" {
		return ".", true
	}
	if strings.HasSuffix(clean, ".html") {
		clean = path.Dir(clean)
	}
	return clean, true
}

// Rules returns the site's gated pages, sorted by path.
func (g *Guard) Rules() []paywall.Rule { return g.rules }

// Site returns the file system the guard serves.
func (g *Guard) Site() fs.FS { return g.site }

// ruleFor returns the rule of the page nearest above file, or nil.
func (g *Guard) ruleFor(file string) *paywall.Rule {
	for dir := path.Dir(file); ; dir = path.Dir(dir) {
		if rule, ok := g.pages[dir]; ok {
			return rule
		}
		if dir == "." || dir == "/" {
			return nil
		}
	}
}
