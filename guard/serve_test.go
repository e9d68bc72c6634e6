package guard_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestServe(t *testing.T) {
	g := load(t, testSite(t))
	const body = "the gated body of a"

	tests := []struct {
		name        string
		method      string
		path        string
		rangeHeader string
		wantStatus  int
		wantBody    string
		wantPrivate bool
	}{
		{"GET gated", http.MethodGet, "/posts/a/", "", http.StatusOK, body, true},
		{"HEAD gated", http.MethodHead, "/posts/a/", "", http.StatusOK, "", true},
		{"Range gated", http.MethodGet, "/posts/a/", "bytes=4-8", http.StatusPartialContent, body[4:9], true},
		{"GET gated bundle file", http.MethodGet, "/posts/a/img.png", "", http.StatusOK, "png", true},
		{"GET free", http.MethodGet, "/about/", "", http.StatusOK, "about", false},
		{"HEAD free", http.MethodHead, "/about/", "", http.StatusOK, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := g.Resolve(tt.path)
			if tg.File == "" {
				t.Fatalf("Resolve(%q) names no file", tt.path)
			}
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.rangeHeader != "" {
				r.Header.Set("Range", tt.rangeHeader)
			}
			w := httptest.NewRecorder()
			if err := g.Serve(w, r, tg); err != nil {
				t.Fatal(err)
			}

			if w.Code != tt.wantStatus {
				t.Errorf("status: got %d, want %d", w.Code, tt.wantStatus)
			}
			if got := w.Body.String(); got != tt.wantBody {
				t.Errorf("body: got %q, want %q", got, tt.wantBody)
			}
			cc, vary := w.Header().Get("Cache-Control"), w.Header().Values("Vary")
			if tt.wantPrivate {
				if cc != "private, no-store" {
					t.Errorf("Cache-Control: got %q, want \"private, no-store\"", cc)
				}
				if !strings.Contains(strings.Join(vary, ","), "Cookie") {
					t.Errorf("Vary: got %q, want Cookie", vary)
				}
			} else if cc != "" || len(vary) != 0 {
				t.Errorf("free file: got Cache-Control %q, Vary %q, want neither", cc, vary)
			}
		})
	}
}

func TestServeHeaders(t *testing.T) {
	g := load(t, testSite(t))

	r := httptest.NewRequest(http.MethodHead, "/posts/a/", nil)
	w := httptest.NewRecorder()
	if err := g.Serve(w, r, g.Resolve("/posts/a/")); err != nil {
		t.Fatal(err)
	}
	if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
		t.Errorf("Content-Type: got %q, want text/html", got)
	}
	if got, want := w.Header().Get("Content-Length"), "19"; got != want {
		t.Errorf("Content-Length: got %q, want %q", got, want)
	}

	r = httptest.NewRequest(http.MethodGet, "/posts/a/", nil)
	r.Header.Set("Range", "bytes=4-8")
	w = httptest.NewRecorder()
	if err := g.Serve(w, r, g.Resolve("/posts/a/")); err != nil {
		t.Fatal(err)
	}
	if got, want := w.Header().Get("Content-Range"), "bytes 4-8/19"; got != want {
		t.Errorf("Content-Range: got %q, want %q", got, want)
	}
}

func TestServeNoFile(t *testing.T) {
	g := load(t, testSite(t))
	w := httptest.NewRecorder()
	err := g.Serve(w, httptest.NewRequest(http.MethodGet, "/posts/missing/", nil), g.Resolve("/posts/missing/"))
	if err == nil {
		t.Errorf("got nil, want an error for a target without a file")
	}
	if w.Body.Len() != 0 {
		t.Errorf("body: got %q, want nothing written", w.Body.String())
	}
}
