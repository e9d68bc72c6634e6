package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
)

// runBenchApp starts an App for benchmarks on a fresh database.
func runBenchApp(b *testing.B) (*App, *testApp) {
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
	return app, &testApp{addr: app.Addr(), logs: logs}
}

// benchApp builds an App for handler benchmarks and returns its handler and
// the session cookie of an elite member who bought through the simulator.
func benchApp(b *testing.B) (http.Handler, *http.Cookie) {
	b.Helper()
	app, ta := runBenchApp(b)
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

// BenchmarkPurchaseToMail measures how soon a buyer holds their way in:
// from the simulated checkout's completing POST (which posts the signed
// events through the webhook, as Stripe would) to the setup mail sent.
func BenchmarkPurchaseToMail(b *testing.B) {
	_, ta := runBenchApp(b)
	t := testing.TB(b)
	c := ta.client(t)
	n := 0
	for b.Loop() {
		n++
		email := fmt.Sprintf("bench-%d@example.test", n)
		b.StopTimer()
		r := do(t, c, "POST", "/api/checkout", url.Values{"plan": {"basic"}, "email": {email}})
		if r.status != http.StatusSeeOther {
			b.Fatalf("checkout: %d", r.status)
		}
		b.StartTimer()
		do(t, c, "POST", r.location, url.Values{"email": {email}})
		for deadline := time.Now().Add(30 * time.Second); ta.mailCount(email) == 0; {
			if time.Now().After(deadline) {
				b.Fatalf("no setup mail to %s", email)
			}
			time.Sleep(time.Millisecond)
		}
	}
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
