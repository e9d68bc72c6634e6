package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/paywall/paywall"
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

// TestMeComped: /api/me names a subscription's status in Stripe's words,
// and "comped" for access a grant gives.
func TestMeComped(t *testing.T) {
	f := newCacheFixture(t)
	me := func(token string) map[string]any {
		t.Helper()
		r := httptest.NewRequest("GET", "/api/me", nil)
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: token})
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, r)
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK {
			t.Fatalf("/api/me: %d %s", w.Code, w.Body)
		}
		return got
	}
	if got := me("tok-1"); got["status"] != "active" || got["plan"] != "basic" {
		t.Errorf("subscriber: %v", got)
	}
	f.store.grant(2, paywall.Grant{PlanID: "pro"})
	if got := me("tok-3"); got["status"] != "comped" || got["plan"] != "pro" {
		t.Errorf("comped member: %v", got)
	}
}

// TestWriteJSONUnencodable: a value JSON cannot hold is a 500 with a whole
// body, never a 200 with half of one.
func TestWriteJSONUnencodable(t *testing.T) {
	w := httptest.NewRecorder()
	writeJSON(w, http.StatusOK, map[string]any{"until": time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	var got map[string]string
	if w.Code != http.StatusInternalServerError || json.Unmarshal(w.Body.Bytes(), &got) != nil ||
		got["error"] == "" {
		t.Errorf("writeJSON of a year-10000 time: %d %q, want 500 with a JSON error", w.Code, w.Body)
	}
}
