package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
)

// runCLI runs paywall with args in an environment of vars only.
func runCLI(t *testing.T, vars map[string]string, args ...string) (stdout string, err error) {
	t.Helper()
	for _, k := range []string{"PAYWALL_SITE_DIR", "PAYWALL_CONTENT_DIR", "PAYWALL_CONFIG",
		"PAYWALL_ENV", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "PAYWALL_ALLOW_LEAKS"} {
		t.Setenv(k, "")
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	err = run(context.Background(), args, &out, &errb)
	return out.String(), err
}

func TestGuardExplain(t *testing.T) {
	db := filepath.Join(t.TempDir(), "paywall.db")
	vars := map[string]string{"PAYWALL_DATABASE_URL": "sqlite:" + db}
	app := startApp(t, vars)
	becomeMember(t, app, "elite", "elite@example.test")
	becomeMember(t, app, "basic", "basic@example.test")

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"allowed", []string{"/posts/week0003/", "--email", "elite@example.test"}, []string{
			"canonical: posts/week0003/index.html",
			"rule:      /posts/week0003/ (from manifest posts/week0003/index.md)",
			"plans:     elite (unlocked by elite)",
			"reader:    elite@example.test, plan elite, status active",
			"decision:  allow (200): plan elite unlocks the page",
		}},
		{"signed out, odd spelling", []string{"/posts//welcome/../week0003/shopping-list.txt"}, []string{
			"canonical: posts/week0003/shopping-list.txt",
			"rule:      /posts/week0003/ (from manifest posts/week0003/index.md)",
			"reader:    signed out",
			"decision:  sign in (401): the page is gated and nobody is signed in",
		}},
		{"wrong plan", []string{"--email", "basic@example.test", "/letters/3/"}, []string{
			"canonical: letters/3/index.html",
			"rule:      /posts/week0003/",
			"reader:    basic@example.test, plan basic, status active",
			"decision:  upgrade (403): plan basic is not one that unlocks the page",
		}},
		{"free", []string{"/posts/welcome/"}, []string{
			"rule:      none: the file is free", "decision:  allow (200)"}},
		{"redirect", []string{"/posts/week0003"}, []string{"canonical: redirect to /posts/week0003/"}},
		{"manifest", []string{"/paywall-manifest.json"}, []string{"canonical: no file (404)"}},
		{"encoded, as a browser may send it", []string{"/posts%2f%77eek0003%2f"}, []string{
			"canonical: posts/week0003/index.html",
			"decision:  sign in (401)",
		}},
	}
	for _, tt := range tests {
		out, err := runCLI(t, vars, append([]string{"guard", "explain"}, tt.args...)...)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tt.name, w, out)
			}
		}
	}
	_, err := runCLI(t, vars, "guard", "explain", "/posts/week0003/", "--email", "nobody@example.test")
	if err == nil || !strings.Contains(err.Error(), "no member with the email nobody@example.test") {
		t.Errorf("unknown member: %v", err)
	}
	if _, err := runCLI(t, vars, "guard", "explain"); !errors.Is(err, errUsage) {
		t.Errorf("explain without a path: %v, want a usage error", err)
	}
}

// buildLeaky builds the guard's leaky fixture site with Hugo.
func buildLeaky(t *testing.T) string {
	t.Helper()
	hugo, err := exec.LookPath("hugo")
	if err != nil {
		missing(t, "hugo is not installed (apt-get install hugo)")
	}
	src := t.TempDir()
	if err := os.CopyFS(src, os.DirFS("../../guard/testdata/leaky")); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(src, "themes", "paywall"),
		os.DirFS("../../examples/site/themes/paywall")); err != nil {
		t.Fatal(err)
	}
	public := filepath.Join(t.TempDir(), "public")
	if b, err := exec.Command(hugo, "--quiet", "--source", src, "--destination", public,
		"--cacheDir", t.TempDir()).CombinedOutput(); err != nil {
		t.Fatalf("hugo: %v\n%s", err, b)
	}
	return public
}

func TestGuardAudit(t *testing.T) {
	vars := map[string]string{"PAYWALL_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "db")}
	out, err := runCLI(t, vars, "guard", "audit")
	if err != nil || !strings.Contains(out, "no leaks: 3 gated pages checked") {
		t.Errorf("example site: %v\n%s", err, out)
	}

	leaky := buildLeaky(t)
	out, err = runCLI(t, vars, "guard", "audit", "--site", leaky)
	if !errors.Is(err, errLeaks) {
		t.Errorf("leaky site: %v, want the leaks error", err)
	}
	var files []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[2] == `""` {
			t.Errorf("line %q is not file, post, snippet", line)
			continue
		}
		files = append(files, f[0]+" "+f[1])
	}
	want := "index.xml /posts/no-divider/,posts/index.xml /posts/no-divider/," +
		"search.json /posts/no-divider/,search.json /posts/with-divider/"
	if got := strings.Join(files, ","); got != want {
		t.Errorf("audit reports %s, want %s", got, want)
	}
}

// TestStartUpAudit: serve warns about leaks, and in production refuses to
// start unless PAYWALL_ALLOW_LEAKS is set.
func TestStartUpAudit(t *testing.T) {
	leaky := buildLeaky(t)
	base := map[string]string{
		"PAYWALL_ADDR": "127.0.0.1:0", "PAYWALL_SITE_DIR": leaky,
		"PAYWALL_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "paywall.db"),
	}
	app := startApp(t, base)
	if n := len(app.logs.records("gated text outside its protection")); n != 4 {
		t.Errorf("%d leak warnings at start-up, want 4", n)
	}

	prod := map[string]string{"PAYWALL_ENV": "production", "PAYWALL_BASE_URL": "https://paywall.test",
		"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_test",
		"PAYWALL_MAIL": "smtp", "SMTP_URL": "smtp://127.0.0.1:2525?tls=none"}
	for k, v := range base {
		prod[k] = v
	}
	cfg, err := config.Parse(prod, site.Plans)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewApp(context.Background(), cfg, slog.New(slog.DiscardHandler), options{bcryptCost: bcrypt.MinCost})
	if err == nil || !strings.HasPrefix(err.Error(), "PAYWALL_ALLOW_LEAKS: 3 files of the site repeat gated text") {
		t.Fatalf("production with leaks: %v", err)
	}
	prod["PAYWALL_ALLOW_LEAKS"] = "true"
	startApp(t, prod)
}

// TestPathRules serves a site not built with Hugo, gated by the plans
// file's path rules alone.
func TestPathRules(t *testing.T) {
	dir := t.TempDir()
	siteDir := filepath.Join(dir, "site")
	for name, body := range map[string]string{
		"index.html":              "<p>Welcome to a hand-made site.</p>",
		"members/report.txt":      "The quarterly report is for pro members only.",
		"members/2026/annual.txt": "The annual report is for pro members only too.",
	} {
		p := filepath.Join(siteDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plans := string(site.Plans) + "\n[[rules]]\npath = \"/members/**\"\nplans = [\"pro\"]\n"
	plansFile := filepath.Join(dir, "paywall.toml")
	if err := os.WriteFile(plansFile, []byte(plans), 0o644); err != nil {
		t.Fatal(err)
	}
	app := startApp(t, map[string]string{"PAYWALL_SITE_DIR": siteDir, "PAYWALL_CONFIG": plansFile})
	if len(app.logs.records("rules without a manifest")) != 1 {
		t.Errorf("no warning that the rules are less exact")
	}
	for path, want := range map[string]int{
		"/": 200, "/members/report.txt": 401, "/members//2026/./annual.txt": 401,
		"/members/": 404, "/Members/report.txt": 404,
	} {
		chain := send(t, app, "GET", path, nil, "")
		r := chain[len(chain)-1]
		if r.status != want || (want != 200 && bytes.Contains(r.body, []byte("report is for"))) {
			t.Errorf("GET %s: %d, want %d without the report", path, r.status, want)
		}
	}
}
