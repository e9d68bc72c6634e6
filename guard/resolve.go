package guard

import (
	"io/fs"
	"path"
	"strings"

	"github.com/paywall/paywall"
)

// Resolve maps a request path, as net/http decoded it, to the one file it
// would serve and the rule that protects it. Deciding and serving both use
// the Target, so what is decided is exactly what is sent.
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
	if name == ManifestFile || !fs.ValidPath(name) {
		return paywall.Target{}
	}
	fi, err := fs.Stat(g.site, name)
	if err != nil {
		return paywall.Target{}
	}
	if fi.IsDir() {
		if !trailing && name != "." {
			return paywall.Target{Redirect: clean + "/"}
		}
		name = path.Join(name, "index.html")
		if fi, err := fs.Stat(g.site, name); err != nil || fi.IsDir() {
			return paywall.Target{}
		}
	}
	return paywall.Target{File: name, Rule: g.ruleFor(name)}
}

// NotFoundPage returns the site's 404 page, if it has one.
func (g *Guard) NotFoundPage() ([]byte, bool) {
	b, err := fs.ReadFile(g.site, "404.html")
	if err != nil {
		return nil, false
	}
	return b, true
}
