package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestMethodNotAllowed: a method a path does not answer gets 405 with the
// methods it does answer, the dynamic route's own or the site's.
func TestMethodNotAllowed(t *testing.T) {
	f := newCacheFixture(t)
	for _, tt := range []struct{ method, path, allow string }{
		{"PUT", "/api/checkout", "POST"},
		{"DELETE", "/account/portal", "POST"},
		{"PUT", "/login", "GET, HEAD, POST"},
		{"PATCH", "/account", "GET, HEAD"},
		{"POST", "/posts/week0001/", "GET, HEAD"},
		{"DELETE", "/", "GET, HEAD"},
	} {
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d Allow %q, want 405 Allow %q", tt.method, tt.path,
				w.Code, w.Header().Get("Allow"), tt.allow)
		}
	}
}
