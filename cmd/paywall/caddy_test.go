package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paywall/paywall/examples/site"
	"github.com/paywall/paywall/web"
)

// The Caddyfiles operators copy, and the tools module that pins Caddy.
var shippedCaddyfiles = []string{"../../deploy/Caddyfile", "../../deploy/Caddyfile.routed"}

const caddyModule = "../../tools/caddy"

var (
	caddyOnce sync.Once
	caddyBin  string
	caddyErr  error
)

// buildCaddy builds the Caddy pinned in tools/caddy/go.mod once, into the
// user's cache under its version, so that later test runs and CI reuse it.
func buildCaddy() (string, error) {
	caddyOnce.Do(func() {
		mod, err := os.ReadFile(filepath.Join(caddyModule, "go.mod"))
		if err != nil {
			caddyErr = err
			return
		}
		m := regexp.MustCompile(`github\.com/caddyserver/caddy/v2 (v\S+)`).FindSubmatch(mod)
		if m == nil {
			caddyErr = fmt.Errorf("%s/go.mod pins no Caddy version", caddyModule)
			return
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		version := string(m[1])
		dir := filepath.Join(cache, "paywall-caddy-"+version)
		bin := filepath.Join(dir, "caddy")
		if caddyVersionIs(bin, version) {
			caddyBin = bin
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			caddyErr = err
			return
		}
		tmp := fmt.Sprintf("%s.%d", bin, os.Getpid())
		cmd := exec.Command("go", "build", "-o", tmp, ".")
		cmd.Dir = caddyModule
		cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			caddyErr = fmt.Errorf("build Caddy %s: %v: %s", m[1], err, out)
			return
		}
		if caddyErr = os.Rename(tmp, bin); caddyErr != nil {
			return
		}
		if !caddyVersionIs(bin, version) {
			caddyErr = fmt.Errorf("the Caddy built from %s is not %s", caddyModule, version)
			return
		}
		caddyBin = bin
	})
	return caddyBin, caddyErr
}

// caddyVersionIs reports whether the binary at bin is Caddy at version, as
// its build information says (`caddy version` says "unknown" for a build
// from a module).
func caddyVersionIs(bin, version string) bool {
	out, err := exec.Command(bin, "build-info").Output()
	return err == nil && bytes.Contains(out, []byte("\tgithub.com/caddyserver/caddy/v2\t"+version+"\t"))
}

// caddyEnv is the environment Caddy runs in for a test: its home and data
// in a temporary directory, and the shipped files' placeholders.
func caddyEnv(t *testing.T, vars map[string]string) []string {
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"), "PATH=" + os.Getenv("PATH")}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// testOptions are the global options a test adds to a shipped Caddyfile:
// no admin endpoint, nothing saved, no certificates, loopback only.
const testOptions = "\tadmin off\n\tpersist_config off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n"

// startCaddy runs Caddy with a shipped Caddyfile in front of app, serving
// siteDir, and returns a testApp that reaches paywall through it.
func startCaddy(t *testing.T, caddyfile string, app *testApp, siteDir string) *testApp {
	t.Helper()
	bin, err := buildCaddy()
	if err != nil {
		missing(t, "Caddy unavailable: %v", err)
	}
	shipped, err := os.ReadFile(caddyfile)
	if err != nil {
		t.Fatal(err)
	}
	// The shipped file opens with its global options block: the test's go
	// first in it, and everything else is read as shipped.
	loc := regexp.MustCompile(`(?m)^\{\n`).FindIndex(shipped)
	if loc == nil {
		t.Fatalf("%s has no global options block", caddyfile)
	}
	text := string(shipped[:loc[1]]) + testOptions + string(shipped[loc[1]:])
	config := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// A port picked in advance can be taken before Caddy binds it; then
	// Caddy exits saying so, and another port is tried.
	for attempt := 1; ; attempt++ {
		addr, out, err := runCaddy(t, bin, config, app.addr, siteDir)
		if err == nil {
			return &testApp{addr: addr, logs: app.logs}
		}
		if attempt == 3 || !strings.Contains(out, "address already in use") {
			t.Fatalf("%v: %s", err, out)
		}
	}
}

// runCaddy starts Caddy on a free port and waits until it listens; it
// returns Caddy's output so far when Caddy exits or never listens.
func runCaddy(t *testing.T, bin, config, upstream, siteDir string) (addr, output string, err error) {
	t.Helper()
	port := freePort(t)
	var out bytes.Buffer
	cmd := exec.Command(bin, "run", "--adapter", "caddyfile", "--config", config)
	cmd.Env = caddyEnv(t, map[string]string{"CADDY_ADDRESS": ":" + port,
		"PAYWALL_UPSTREAM": upstream, "PAYWALL_SITE_ROOT": siteDir})
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		missing(t, "start Caddy: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	addr = "127.0.0.1:" + port
	for deadline := time.Now().Add(20 * time.Second); ; {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-exited:
			return "", out.String(), errors.New("Caddy exited")
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", out.String(), fmt.Errorf("Caddy did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("caddy log:\n%s", out.String())
		}
	})
	return addr, "", nil
}

// siteOnDisk writes the example site where Caddy can serve it.
func siteOnDisk(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "public")
	if err := os.CopyFS(dir, site.Public()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCaddyValidate: Caddy accepts both shipped files exactly as shipped.
func TestCaddyValidate(t *testing.T) {
	bin, err := buildCaddy()
	if err != nil {
		missing(t, "Caddy unavailable: %v", err)
	}
	for _, f := range shippedCaddyfiles {
		cmd := exec.Command(bin, "validate", "--adapter", "caddyfile", "--config", f)
		cmd.Env = caddyEnv(t, nil)
		if out, err := cmd.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("Valid configuration")) {
			t.Errorf("caddy validate %s: %v\n%s", f, err, out)
		}
	}
}

// TestCaddy runs real Caddy with each shipped Caddyfile in front of paywall
// and checks what an operator relies on: webhooks arrive intact and are
// never redirected, the body limit is paywall's, every gated spelling is
// decided as paywall decides it directly, and no client header names a
// reader or a client address.
func TestCaddy(t *testing.T) {
	if _, err := buildCaddy(); err != nil {
		missing(t, "Caddy unavailable: %v", err)
	}
	siteDir := siteOnDisk(t)
	limits := web.DefaultLimits
	limits.SignInIP = web.Limit{N: 3, Per: time.Hour}
	app := startApp(t, map[string]string{"PAYWALL_SITE_DIR": siteDir,
		"STRIPE_WEBHOOK_SECRET": testSecret, "PAYWALL_TRUSTED_PROXIES": "127.0.0.1"},
		options{limits: limits})
	members := map[string]string{
		"basic": becomeMember(t, app, "basic", "basic@example.test"),
		"elite": becomeMember(t, app, "elite", "elite@example.test"),
	}
	direct := directDecisions(t, app, members)
	for i, f := range shippedCaddyfiles {
		t.Run(filepath.Base(f), func(t *testing.T) {
			proxy := startCaddy(t, f, app, siteDir)
			checkWebhooksThrough(t, app, proxy)
			checkSpellingsThrough(t, proxy, members, direct)
			checkIdentityHeaders(t, proxy, members)
			checkInternal(t, proxy)
			checkClientAddress(t, proxy, fmt.Sprintf("127.0.0.%d", 10+2*i), fmt.Sprintf("127.0.0.%d", 11+2*i))
		})
	}
}

// webhookPaths are every spelling paywall answers a webhook on.
var webhookPaths = []string{"/webhooks/stripe", "/webhooks/stripe/", "/api/stripe-webhook", "/api/stripe-webhook/"}

var eventSeq int

func checkWebhooksThrough(t *testing.T, app, proxy *testApp) {
	t.Helper()
	c := proxy.client(t)
	for _, p := range webhookPaths {
		eventSeq++
		id := fmt.Sprintf("evt_caddy_%d", eventSeq)
		payload, sig := signedEvent(t, id, "customer.created", map[string]any{"id": "cus_caddy", "object": "customer"})
		// Once with a length, once chunked: Caddy must pass both on byte for byte.
		r := postBody(t, c, p, bytes.NewReader(payload), sig)
		if r.status != http.StatusOK {
			t.Errorf("signed webhook to %s: %d %s", p, r.status, r.body)
		}
		if !eventStored(app, id) {
			t.Errorf("signed webhook to %s: event %s not stored", p, id)
		}
		eventSeq++
		id = fmt.Sprintf("evt_caddy_%d", eventSeq)
		payload, sig = signedEvent(t, id, "customer.created", map[string]any{"id": "cus_caddy", "object": "customer"})
		if r := postBody(t, c, p, io.MultiReader(bytes.NewReader(payload)), sig); r.status != http.StatusOK {
			t.Errorf("chunked signed webhook to %s: %d %s", p, r.status, r.body)
		}
		tampered := bytes.Replace(payload, []byte("cus_caddy"), []byte("cus_other"), 1)
		if r := postBody(t, c, p, bytes.NewReader(tampered), sig); r.status != http.StatusBadRequest {
			t.Errorf("tampered webhook to %s: %d, want 400", p, r.status)
		}
		// The limit is paywall's: 1 MiB reaches paywall (which refuses the
		// signature), a byte more and 2 MB are refused with 413.
		for size, want := range map[int]int{web.MaxWebhookBody: 400, web.MaxWebhookBody + 1: 413, 2_000_000: 413} {
			body := bytes.Repeat([]byte("x"), size)
			r := postBody(t, c, p, bytes.NewReader(body), sig)
			if r.status != want {
				t.Errorf("%d-byte webhook to %s: %d, want %d", size, p, r.status, want)
			}
			// Caddy refuses it itself: the answer was not proxied from paywall.
			if via := r.header.Get("Via"); want == 413 && via != "" {
				t.Errorf("%d-byte webhook to %s: 413 came from paywall (Via %q), not Caddy", size, p, via)
			}
		}
		for _, m := range []string{"GET", "HEAD", "PUT"} {
			r := do(t, c, m, p, nil)
			if r.status/100 == 3 || r.location != "" {
				t.Errorf("%s %s redirects: %d to %q", m, p, r.status, r.location)
			}
			if r.status != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405", m, p, r.status)
			}
		}
	}
}

func postBody(t *testing.T, c *http.Client, path string, body io.Reader, sig string) response {
	t.Helper()
	req, err := http.NewRequest("POST", publicOrigin+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sig)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 == 3 {
		t.Errorf("POST %s redirects: %d to %q", path, resp.StatusCode, resp.Header.Get("Location"))
	}
	return response{status: resp.StatusCode, body: string(b), header: resp.Header}
}

func eventStored(app *testApp, id string) bool {
	for _, rec := range app.logs.records("event received") {
		if rec["event_id"] == id {
			return true
		}
	}
	return false
}

// decision is what a reader got for a spelling once redirects were
// followed: the last response and what it means.
type decision struct {
	verdict string
	last    rawResponse
}

func verdictOf(status int) string {
	switch {
	case status == http.StatusOK, status == http.StatusPartialContent, status == http.StatusNotModified:
		return "allow"
	case status == http.StatusUnauthorized:
		return "sign in"
	case status == http.StatusForbidden:
		return "upgrade"
	case status/100 == 4:
		return "not served"
	}
	return fmt.Sprintf("status %d", status)
}

type spellingKey struct {
	post, name, who string
}

var readers = []string{"signed out", "without the plan", "with the plan"}

func cookieOf(p gatedPost, members map[string]string, who string) string {
	return map[string]string{"without the plan": members[p.lacks], "with the plan": members[p.has]}[who]
}

// directDecisions asks paywall itself for every spelling of the guard's
// table, for each reader.
func directDecisions(t *testing.T, app *testApp, members map[string]string) map[spellingKey]decision {
	t.Helper()
	out := map[spellingKey]decision{}
	for _, p := range gatedPosts {
		for _, sp := range spellings(p) {
			for _, who := range readers {
				chain := send(t, app, sp.method, sp.target, sp.header, cookieOf(p, members, who))
				last := chain[len(chain)-1]
				out[spellingKey{p.dir, sp.name, who}] = decision{verdictOf(last.status), last}
			}
		}
	}
	return out
}

// checkSpellingsThrough asks Caddy for every spelling of the guard's table
// and wants paywall's own decision: no reader without the plan gets a
// gated sentence, and a reader with it gets the same file.
func checkSpellingsThrough(t *testing.T, proxy *testApp, members map[string]string, direct map[spellingKey]decision) {
	t.Helper()
	n := 0
	for _, p := range gatedPosts {
		secret := bodySentences(t, p.dir+"/index.html")
		if p.attachment != "" {
			secret = append(secret, attachmentLines(t, p.dir+"/"+p.attachment)...)
		}
		for _, sp := range spellings(p) {
			for _, who := range readers {
				what := fmt.Sprintf("%s %s %q (%s)", who, sp.method, sp.target, sp.name)
				chain := send(t, proxy, sp.method, sp.target, sp.header, cookieOf(p, members, who))
				last := chain[len(chain)-1]
				want := direct[spellingKey{p.dir, sp.name, who}]
				n++
				// Caddy names itself in Server, or in Via when it proxied the answer.
				if last.header.Get("Server") != "Caddy" && !strings.Contains(last.header.Get("Via"), "Caddy") {
					t.Fatalf("%s: not answered through Caddy: %v", what, last.header)
				}
				if got := verdictOf(last.status); last.status != want.last.status {
					t.Errorf("%s: through Caddy %d (%s), directly %d (%s)", what, last.status, got,
						want.last.status, want.verdict)
				}
				// What paywall marks private (a gated file, the file itself
				// included) is private through Caddy too, whoever serves it.
				private := want.last.header.Get("Cache-Control") == "private, no-store"
				if private && last.status < 300 && (last.header.Get("Cache-Control") != "private, no-store" ||
					!strings.Contains(strings.Join(last.header.Values("Vary"), ","), "Cookie")) {
					t.Errorf("%s: %d through Caddy with Cache-Control %q, Vary %q; want private, no-store and Cookie",
						what, last.status, last.header.Get("Cache-Control"), last.header.Values("Vary"))
				}
				if who != "with the plan" {
					// A refused reader gets paywall's own answer: the teaser and its plans.
					if last.status == want.last.status && sp.method == "GET" && !bytes.Equal(last.body, want.last.body) {
						t.Errorf("%s: through Caddy the %d page differs from paywall's:\n%.300s", what,
							last.status, last.body)
					}
					for _, r := range chain {
						for _, s := range secret {
							if bytes.Contains(r.body, []byte(s)) {
								t.Errorf("%s: through Caddy, status %d carries %.60q", what, r.status, s)
							}
						}
					}
				} else if last.status == http.StatusOK && sp.method == "GET" &&
					want.last.status == http.StatusOK && !bytes.Equal(last.body, want.last.body) {
					t.Errorf("%s: through Caddy the body differs (%d bytes, directly %d)", what,
						len(last.body), len(want.last.body))
				}
			}
		}
	}
	t.Logf("%d requests through Caddy decided as directly", n)
}

// checkIdentityHeaders: headers that name a user elsewhere make no reader
// of anyone here, through Caddy.
func checkIdentityHeaders(t *testing.T, proxy *testApp, members map[string]string) {
	t.Helper()
	claims := map[string]string{
		"X-Forwarded-User": "elite@example.test", "X-Forwarded-Email": "elite@example.test",
		"X-Remote-User": "elite@example.test", "Remote-User": "elite@example.test",
		"X-Auth-Request-Email": "elite@example.test", "X-Paywall-Plan": "elite",
		"Authorization":   "Bearer " + strings.TrimPrefix(members["elite"], "paywall_session="),
		"X-Forwarded-Uri": "/", "X-Forwarded-Method": "GET", "X-Original-URL": "/",
		"X-Forwarded-For": "127.0.0.1",
	}
	for target, want := range map[string]int{"/posts/week0003/": 401, "/api/me": 401,
		"/posts/week0003/shopping-list.txt": 401} {
		r := sendOnce(t, proxy, "GET", target, claims, "")
		if r.status != want {
			t.Errorf("GET %s signed out with identity headers: %d, want %d", target, r.status, want)
		}
		r = sendOnce(t, proxy, "GET", target, claims, members["basic"])
		if target == "/api/me" {
			if !bytes.Contains(r.body, []byte(`"email":"basic@example.test"`)) {
				t.Errorf("GET /api/me as basic with identity headers: %d %s", r.status, r.body)
			}
		} else if r.status != http.StatusForbidden {
			t.Errorf("GET %s as basic with identity headers: %d, want 403", target, r.status)
		}
	}
}

// checkInternal: paywall's metrics and its forward_auth target are not
// served to the public, however they are spelled.
func checkInternal(t *testing.T, proxy *testApp) {
	t.Helper()
	for _, target := range []string{"/metrics", "//metrics", "/./metrics", "/%6detrics", "/METRICS",
		"/auth/check", "/auth//check", "/Auth/Check"} {
		h := map[string]string{"X-Forwarded-Uri": "/posts/welcome/", "X-Forwarded-Method": "GET"}
		r := sendOnce(t, proxy, "GET", target, h, "")
		if r.status != http.StatusNotFound || bytes.Contains(r.body, []byte("paywall_")) {
			t.Errorf("GET %s through Caddy: %d, want 404 without metrics", target, r.status)
		}
	}
}

// checkClientAddress: paywall trusts Caddy's X-Forwarded-For, and Caddy
// names the client itself, so a client cannot pick a fresh address to
// escape a rate limit, and clients behind one Caddy do not share one. Each
// run signs in from two loopback addresses of its own.
func checkClientAddress(t *testing.T, proxy *testApp, from, other string) {
	t.Helper()
	// An email of its own, so that only the per-address limit can refuse.
	form := url.Values{"email": {"nobody-" + from + "@example.test"}, "password": {"wrong password"}}.Encode()
	status := func(src string, i int) int {
		h := map[string]string{"Content-Type": "application/x-www-form-urlencoded",
			"Content-Length": fmt.Sprint(len(form)), "X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i),
			"X-Real-IP": fmt.Sprintf("198.51.100.%d", i)}
		return sendFrom(t, proxy.addr, src, "POST", "/login", h, form).status
	}
	var got []int
	for i := range 4 {
		got = append(got, status(from, i+1))
	}
	// The test's limit is three sign-ins an hour per address.
	if got[2] == http.StatusTooManyRequests || got[3] != http.StatusTooManyRequests {
		t.Errorf("sign-ins from %s with a new X-Forwarded-For each: %v, want the 4th refused", from, got)
	}
	if s := status(other, 9); s == http.StatusTooManyRequests {
		t.Errorf("sign-in from %s after %s was limited: %d, want its own limit", other, from, s)
	}
}

// sendFrom sends one request exactly as written, target unnormalised, with
// body, from the local address from ("" for any), and reads the answer.
func sendFrom(t *testing.T, addr, from, method, target string, header map[string]string, body string) rawResponse {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: paywall.test\r\nConnection: close\r\n", method, target)
	for k, v := range header {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	req.WriteString("\r\n" + body)
	if _, err := conn.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %q: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestAssetsFree: the files the routed Caddyfile serves without asking
// paywall are free in the example site: paywall gives them to anyone.
func TestAssetsFree(t *testing.T) {
	shipped, err := os.ReadFile("../../deploy/Caddyfile.routed")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*@assets path (.+)$`).FindSubmatch(shipped)
	if m == nil {
		t.Fatal("Caddyfile.routed has no @assets path matcher")
	}
	patterns := strings.Fields(string(m[1]))
	app := startApp(t, nil)
	n := 0
	err = fs.WalkDir(site.Public(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, pat := range patterns {
			if pre, ok := strings.CutSuffix(pat, "*"); (ok && strings.HasPrefix("/"+p, pre)) || pat == "/"+p {
				n++
				if r := sendOnce(t, app, "GET", "/"+p, nil, ""); r.status != http.StatusOK {
					t.Errorf("asset /%s: %d signed out, want 200", p, r.status)
				}
			}
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("no asset of the example site under %v: %v", patterns, err)
	}
}

// TestCaddyDropsIdentityHeaders puts each shipped Caddyfile in front of a
// server that records what arrives: headers naming a user never reach the
// upstream, and X-Forwarded-For names the client as Caddy saw it.
func TestCaddyDropsIdentityHeaders(t *testing.T) {
	if _, err := buildCaddy(); err != nil {
		missing(t, "Caddy unavailable: %v", err)
	}
	got := make(chan http.Header, 10)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		io.WriteString(w, "recorded\n")
	}))
	defer upstream.Close()
	siteDir := siteOnDisk(t)
	claims := map[string]string{
		"X-Forwarded-User": "elite@example.test", "X-Forwarded-Email": "elite@example.test",
		"X-Forwarded-Groups": "admins", "X-Forwarded-Preferred-Username": "elite",
		"X-Auth-Request-User": "elite", "X-Auth-Request-Email": "elite@example.test",
		"X-Remote-User": "elite", "Remote-User": "elite", "Authorization": "Bearer anything",
		"X-Original-URL": "/posts/week0003/", "X-Rewrite-URL": "/posts/week0003/",
		"X-Forwarded-Uri": "/posts/week0003/", "X-Forwarded-Method": "GET", "X-Paywall-Plan": "elite",
		"X-Forwarded-For": "203.0.113.7",
	}
	for _, f := range shippedCaddyfiles {
		t.Run(filepath.Base(f), func(t *testing.T) {
			proxy := startCaddy(t, f, &testApp{addr: strings.TrimPrefix(upstream.URL, "http://")}, siteDir)
			r := sendFrom(t, proxy.addr, "127.0.0.20", "GET", "/api/me", claims, "")
			if r.status != http.StatusOK {
				t.Fatalf("GET /api/me through Caddy: %d", r.status)
			}
			h := <-got
			for k := range claims {
				if k != "X-Forwarded-For" && h.Get(k) != "" {
					t.Errorf("%s reached the upstream: %q", k, h.Get(k))
				}
			}
			if xff := h.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != "127.0.0.20" {
				t.Errorf("X-Forwarded-For at the upstream %q, want the client's 127.0.0.20 alone", xff)
			}
		})
	}
}
