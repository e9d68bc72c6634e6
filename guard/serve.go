package guard

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/paywall/paywall"
)

// Serve writes t's file. HEAD, Range and conditional requests are answered
// by http.ServeContent from the same file, so they never reach a file the
// decision did not cover. Gated files are marked private to every cache.
func (g *Guard) Serve(w http.ResponseWriter, r *http.Request, t paywall.Target) error {
	f, err := g.site.Open(t.File)
	if err != nil {
		return fmt.Errorf("open %s: %w", t.File, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", t.File, err)
	}
	content, ok := f.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(f)
		if err != nil {
			return fmt.Errorf("read %s: %w", t.File, err)
		}
		content = bytes.NewReader(b)
	}
	if t.Rule != nil {
		Private(w.Header())
	}
	http.ServeContent(w, r, fi.Name(), fi.ModTime(), content)
	return nil
}

// Private marks a response that depends on who asks: no shared cache may
// keep it, and none may hand it to another reader.
func Private(h http.Header) {
	h.Set("Cache-Control", "private, no-store")
	h.Add("Vary", "Cookie")
}
