package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
)

// benchApp builds an App for handler benchmarks and returns its handler and
// the session cookie of an elite member who bought through the simulator.
func benchApp(b *testing.B) (http.Handler, *http.Cookie) {
	b.Helper()
	cfg, err := config.Parse(map[string]string{
		"PAYWALL_ADDR":         "127.0.0.1:0",
		"PAYWALL_BASE_URL":     publicOrigin,
		"PAYWALL_DATABASE_URL": "sqlite:" + filepath.Join(b.TempDir(), "paywall.db"),
	}, site.Plans)
	if err != nil {
		b.Fatal(err)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	app, err := NewApp(ctx, cfg, log, options{bcryptCost: bcrypt.MinCost})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done; app.Close() })

	ta := &testApp{addr: app.Addr(), logs: logs}
	t := testing.TB(b)
	c := ta.client(t)
	r := do(t, c, "POST", "/api/checkout", url.Values{"plan": {"elite"}, "email": {buyer}})
	do(t, c, "POST", r.location, url.Values{"email": {buyer}})
	_, link := ta.waitForMail(t, buyer)
	u, _ := url.Parse(link)
	do(t, c, "POST", "/account/setup", url.Values{"token": {u.Query().Get("token")}, "password": {password}})
	origin, _ := url.Parse(publicOrigin)
	for _, ck := range c.Jar.Cookies(origin) {
		if ck.Name == "paywall_session" {
			return app.server.Handler, ck
		}
	}
	b.Fatal("no session cookie after setup")
	return nil, nil
}

// BenchmarkPage measures one request through the whole handler stack
// (route table, guard, identity, access decision, file) without the network.
func BenchmarkPage(b *testing.B) {
	h, session := benchApp(b)
	cases := []struct {
		name, path string
		cookie     *http.Cookie
		want       int
	}{
		{"free", "/posts/welcome/", nil, http.StatusOK},
		{"gated_allowed", "/posts/week0003/", session, http.StatusOK},
		{"gated_signed_out", "/posts/week0003/", nil, http.StatusUnauthorized},
		{"gated_wrong_plan", "/posts/week0002/", session, http.StatusForbidden},
		{"auth_check", "/auth/check", session, http.StatusOK},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", c.path, nil)
			if c.path == "/auth/check" {
				req.Header.Set("X-Forwarded-Uri", "/posts/week0003/")
			}
			if c.cookie != nil {
				req.AddCookie(c.cookie)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != c.want {
					b.Fatalf("status %d, want %d", w.Code, c.want)
				}
			}
		})
	}
}
