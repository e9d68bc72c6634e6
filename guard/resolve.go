package guard

import (
	"io/fs"
	"net/url"
	"path"
	"strings"

	"github.com/paywall/paywall"
)

// Resolve maps a request path, percent-decoded as net/http decodes it, to
// the one file it would serve and the rule that protects it. It is the only
// place a path becomes a file: dot segments and repeated slashes are
// cleaned, a directory means its index.html (asked for without its trailing
// slash, a redirect), and a spelling the file system would take in another
// letter case is mapped to the file's own name. Deciding and serving both
// use the Target, so what is decided is exactly what is sent.
func (g *Guard) Resolve(urlPath string) paywall.Target {
	if strings.ContainsAny(urlPath, "\\\x00") {
		return paywall.Target{}
	}
	trailing := strings.HasSuffix(urlPath, "/")
	clean := path.Clean("/" + urlPath)
	name := strings.TrimPrefix(clean, "/")
	if name == "" {
		name = "."
	}
	if !fs.ValidPath(name) {
		return paywall.Target{}
	}
	name, ok := g.canonical(name)
	if !ok || name == ManifestFile {
		return paywall.Target{}
	}
	if g.dirs[name] {
		if !trailing && name != "." {
			return paywall.Target{Redirect: (&url.URL{Path: "/" + name + "/"}).EscapedPath()}
		}
		name = path.Join(name, "index.html")
		if !g.files[name] {
			return paywall.Target{}
		}
	}
	return paywall.Target{File: name, Rule: g.ruleFor(name)}
}

// canonical returns the site's own name for name: name itself when the
// site has it, else the one entry differing only in letter case, provided
// the file system too finds it under name (a case-insensitive one does).
func (g *Guard) canonical(name string) (string, bool) {
	if g.files[name] || g.dirs[name] {
		return name, true
	}
	own, ok := g.fold[strings.ToLower(name)]
	if !ok {
		return "", false
	}
	if _, err := fs.Stat(g.site, name); err != nil {
		return "", false
	}
	return own, true
}

// NotFoundPage returns the site's 404 page, if it has one.
func (g *Guard) NotFoundPage() ([]byte, bool) {
	b, err := fs.ReadFile(g.site, "404.html")
	if err != nil {
		return nil, false
	}
	return b, true
}
