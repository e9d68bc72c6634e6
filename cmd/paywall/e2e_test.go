package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
)

// publicOrigin is the base URL the test apps run under. The test's HTTP
// client dials the app's real address for it, as a browser reaching paywall
// through Caddy would: links in mail and redirects name the public origin,
// never the listen address.
const publicOrigin = "http://paywall.test"

// logBuffer collects the app's JSON log, where the log mailer prints mail.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns every log record with the given message.
func (b *logBuffer) records(msg string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(b.buf.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

type testApp struct {
	addr string
	logs *logBuffer
}

// startApp runs the same App as main on 127.0.0.1:0 with a temporary
// database, with vars added to the environment it is configured from.
func startApp(t *testing.T, vars map[string]string, opts ...options) *testApp {
	t.Helper()
	env := map[string]string{
		"PAYWALL_ADDR":         "127.0.0.1:0",
		"PAYWALL_BASE_URL":     publicOrigin,
		"PAYWALL_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "paywall.db"),
	}
	for k, v := range vars {
		env[k] = v
	}
	cfg, err := config.Parse(env, site.Plans)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	o := options{}
	if len(opts) > 0 {
		o = opts[0]
	}
	o.bcryptCost = bcrypt.MinCost
	app, err := NewApp(ctx, cfg, log, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("app.Run: %v", err)
		}
		app.Close()
		if t.Failed() {
			t.Logf("app log:\n%s", logs.buf.String())
		}
	})
	return &testApp{addr: app.Addr(), logs: logs}
}

// client is a browser: a cookie jar, no automatic redirects, and every
// request for the public origin sent to the app.
func (a *testApp) client(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Jar:     jar,
		Timeout: 20 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, a.addr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type response struct {
	status   int
	location string
	body     string
	header   http.Header
}

func do(t testing.TB, c *http.Client, method, path string, form url.Values) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	target := path
	if strings.HasPrefix(path, "/") {
		target = publicOrigin + path
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b),
		header: resp.Header}
}

func wantStatus(t testing.TB, what string, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d; body:\n%.600s", what, r.status, want, r.body)
	}
}

// waitForMail returns the first link in the mail to addr, waiting for the
// webhook worker and the outbox to do their work.
func (a *testApp) waitForMail(t testing.TB, to string) (subject, link string) {
	t.Helper()
	linkRE := regexp.MustCompile(`https?://\S+`)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, rec := range a.logs.records("mail sent") {
			if rec["to"] == to {
				text, _ := rec["text"].(string)
				subject, _ = rec["subject"].(string)
				return subject, linkRE.FindString(text)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no mail to %s", to)
	return "", ""
}

// gatedBody returns the sentences of a post's gated body: the paragraphs of
// its built page below the teaser.
func gatedBody(t *testing.T, post string) []string {
	t.Helper()
	page, err := fs.ReadFile(site.Public(), "posts/"+post+"/index.html")
	if err != nil {
		t.Fatal(err)
	}
	_, body, ok := strings.Cut(string(page), `class="paywall-body">`)
	if !ok {
		t.Fatalf("%s has no paywall-body", post)
	}
	paras := regexp.MustCompile(`(?s)<p>(.*?)</p>`).FindAllStringSubmatch(body, -1)
	if len(paras) < 3 {
		t.Fatalf("%s: %d paragraphs, want a teaser and a body", post, len(paras))
	}
	var sentences []string
	for _, p := range paras[1:] { // the first paragraph is the teaser
		for _, s := range regexp.MustCompile(`[.!?]\s+`).Split(p[1], -1) {
			if s = strings.TrimSpace(s); len(s) > 20 {
				sentences = append(sentences, s)
			}
		}
	}
	return sentences
}

// wantNoBody fails if the response carries any sentence of post's gated body.
func wantNoBody(t *testing.T, what string, r response, post string) {
	t.Helper()
	for _, s := range gatedBody(t, post) {
		if strings.Contains(r.body, s) {
			t.Errorf("%s leaks a sentence of %s: %q", what, post, s)
		}
	}
}

func wantFullBody(t *testing.T, what string, r response, post string) {
	t.Helper()
	for _, s := range gatedBody(t, post) {
		if !strings.Contains(r.body, s) {
			t.Errorf("%s lacks a sentence of %s: %q", what, post, s)
		}
	}
}

const (
	buyer    = "reader@example.test"
	password = "correct horse battery"
	// teasers of the example posts, as the built site prints them
	teaser2 = "Most bread recipes assume you will be home all day"
	teaser3 = "A jar of preserved lemons on the counter"
)

// TestJourneySimulated walks the whole journey without a Stripe key: the
// pricing page, simulated checkout, the events it sends through the
// webhook, the setup mail, a password, the dashboard and the guard.
func TestJourneySimulated(t *testing.T) {
	app := startApp(t, nil)
	c := app.client(t)

	pricing := do(t, c, "GET", "/pricing/", nil)
	wantStatus(t, "pricing page", pricing, http.StatusOK)
	for _, plan := range []string{"basic", "pro", "elite"} {
		if !strings.Contains(pricing.body, `name="plan" value="`+plan+`"`) {
			t.Errorf("pricing page has no form for %s", plan)
		}
	}

	r := do(t, c, "POST", "/api/checkout", url.Values{"plan": {"elite"}, "email": {buyer}})
	wantStatus(t, "checkout", r, http.StatusSeeOther)
	if !strings.HasPrefix(r.location, publicOrigin+"/checkout/simulated/cs_sim_") {
		t.Fatalf("checkout redirects to %q, want the simulated checkout", r.location)
	}
	order := do(t, c, "GET", r.location, nil)
	wantStatus(t, "simulated checkout page", order, http.StatusOK)
	if !strings.Contains(order.body, "SIMULATED") || !strings.Contains(order.body, "$19") {
		t.Errorf("simulated checkout page does not say SIMULATED and $19:\n%s", order.body)
	}
	orderID := r.location[strings.LastIndex(r.location, "/")+1:]
	early := do(t, c, "GET", "/checkout/success?session_id="+orderID, nil)
	if !strings.Contains(early.body, "not completed") {
		t.Errorf("success page before the order is completed: %.300s", early.body)
	}
	wantStatus(t, "success page for no order", do(t, c, "GET",
		"/checkout/success?session_id=cs_sim_000000000000000000000000", nil), http.StatusNotFound)
	done := do(t, c, "POST", r.location, url.Values{"email": {buyer}})
	wantStatus(t, "complete simulated checkout", done, http.StatusSeeOther)
	if !strings.Contains(done.location, "/checkout/success?session_id=cs_sim_") {
		t.Fatalf("completed checkout redirects to %q", done.location)
	}
	wantStatus(t, "success page", do(t, c, "GET", done.location, nil), http.StatusOK)

	walkFromSetupMail(t, app, c)

	events := app.logs.records("event received")
	if len(events) != 3 {
		t.Errorf("webhook received %d events, want checkout, subscription and invoice", len(events))
	}
	// A second click sends the same events again: nothing more happens.
	again := do(t, c, "POST", r.location, url.Values{"email": {buyer}})
	wantStatus(t, "second click", again, http.StatusSeeOther)
	if n := len(app.logs.records("event duplicate")); n != 3 {
		t.Errorf("second click: %d duplicate events, want 3", n)
	}
	if n := len(app.logs.records("mail sent")); n != 1 {
		t.Errorf("%d mails sent, want one setup mail", n)
	}
}

// walkFromSetupMail continues the journey from the setup mail: set a
// password, see the dashboard, read the elite post, be refused the others.
func walkFromSetupMail(t *testing.T, app *testApp, c *http.Client) {
	t.Helper()
	subject, link := app.waitForMail(t, buyer)
	if !strings.Contains(subject, "password") {
		t.Errorf("setup mail subject %q", subject)
	}
	if !strings.HasPrefix(link, publicOrigin+"/account/setup?token=") {
		t.Fatalf("setup link %q is not on the public origin", link)
	}
	u, _ := url.Parse(link)
	token := u.Query().Get("token")

	// The GET shows a form and does not use the link; only the POST does.
	for range 2 {
		form := do(t, c, "GET", link, nil)
		wantStatus(t, "setup page", form, http.StatusOK)
		if !strings.Contains(form.body, buyer) {
			t.Errorf("setup page does not name the account %s", buyer)
		}
	}
	short := do(t, c, "POST", "/account/setup", url.Values{"token": {token}, "password": {"short"}})
	wantStatus(t, "short password", short, http.StatusBadRequest)
	set := do(t, c, "POST", "/account/setup", url.Values{"token": {token}, "password": {password}})
	wantStatus(t, "set password", set, http.StatusSeeOther)
	reuse := do(t, app.client(t), "POST", "/account/setup",
		url.Values{"token": {token}, "password": {password}})
	wantStatus(t, "setup link used twice", reuse, http.StatusNotFound)

	account := do(t, c, "GET", "/account", nil)
	wantStatus(t, "dashboard", account, http.StatusOK)
	for _, want := range []string{buyer, "Elite", "active"} {
		if !strings.Contains(account.body, want) {
			t.Errorf("dashboard does not show %q", want)
		}
	}

	elite := do(t, c, "GET", "/posts/week0003/", nil)
	wantStatus(t, "elite post as elite member", elite, http.StatusOK)
	wantFullBody(t, "elite post as elite member", elite, "week0003")
	if got := elite.header.Get("Cache-Control"); got != "private, no-store" {
		t.Errorf("gated page Cache-Control %q, want private, no-store", got)
	}

	basic := do(t, c, "GET", "/posts/week0002/", nil)
	wantStatus(t, "basic post as elite member", basic, http.StatusForbidden)
	if !strings.Contains(basic.body, teaser2) {
		t.Errorf("403 page does not show the teaser")
	}
	wantNoBody(t, "basic post as elite member", basic, "week0002")

	anon := app.client(t)
	out := do(t, anon, "GET", "/posts/week0003/", nil)
	wantStatus(t, "elite post signed out", out, http.StatusUnauthorized)
	if !strings.Contains(out.body, teaser3) || !strings.Contains(out.body, "/login") {
		t.Errorf("401 page lacks the teaser or the sign-in link")
	}
	wantNoBody(t, "elite post signed out", out, "week0003")
	if !strings.Contains(out.body, `/login?next=%2fposts%2fweek0003%2f"`) {
		t.Errorf("401 page's sign-in link does not return to the post")
	}
	if !strings.Contains(out.body, `"isAccessibleForFree": false`) {
		t.Errorf("401 page does not tell search engines the post is not free")
	}

	free := do(t, anon, "GET", "/posts/welcome/", nil)
	wantStatus(t, "free post signed out", free, http.StatusOK)

	wantStatus(t, "sign out", do(t, c, "POST", "/logout", url.Values{}), http.StatusSeeOther)
	wantStatus(t, "elite post after sign-out", do(t, c, "GET", "/posts/week0003/", nil),
		http.StatusUnauthorized)

	login := do(t, c, "POST", "/login", url.Values{"email": {buyer}, "password": {password}})
	wantStatus(t, "sign in", login, http.StatusSeeOther)
	wantStatus(t, "elite post after sign-in", do(t, c, "GET", "/posts/week0003/", nil), http.StatusOK)
}

func TestMain(m *testing.M) {
	// The tests run the app's HTTP client against the app itself; nothing
	// may reach a proxy.
	os.Unsetenv("HTTP_PROXY")
	os.Unsetenv("HTTPS_PROXY")
	os.Exit(m.Run())
}
