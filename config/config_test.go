package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/config"
)

// examplePlans returns the example site's plans file, the default catalog.
func examplePlans(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../examples/site/data/paywall.toml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, vars map[string]string) config.Config {
	t.Helper()
	c, err := config.Parse(vars, examplePlans(t))
	if err != nil {
		t.Fatalf("Parse(%v): %v", vars, err)
	}
	return c
}

// TestBaseURLFollowsAddr: with no PAYWALL_BASE_URL, links lead to where
// the server listens; a set one always wins.
func TestBaseURLFollowsAddr(t *testing.T) {
	for _, tt := range []struct{ addr, base, want string }{
		{"127.0.0.1:18080", "", "http://127.0.0.1:18080"},
		{":8080", "", "http://localhost:8080"},
		{"0.0.0.0:8080", "", "http://localhost:8080"},
		{"[::]:8080", "", "http://localhost:8080"},
		{"[::1]:8080", "", "http://[::1]:8080"},
		{"example.test:8080", "", "http://example.test:8080"},
		{"127.0.0.1:18080", "https://letters.example.com", "https://letters.example.com"},
	} {
		c := parse(t, map[string]string{"PAYWALL_ADDR": tt.addr, "PAYWALL_BASE_URL": tt.base})
		if got := c.BaseURL.String(); got != tt.want {
			t.Errorf("PAYWALL_ADDR=%s PAYWALL_BASE_URL=%q: base URL %s, want %s",
				tt.addr, tt.base, got, tt.want)
		}
	}
	// An address links cannot lead to needs the base URL said outright.
	for addr, variable := range map[string]string{
		"127.0.0.1:0":         "PAYWALL_BASE_URL",
		":http":               "PAYWALL_ADDR",
		"[fe80::1%eth0]:8080": "PAYWALL_ADDR",
	} {
		_, err := config.Parse(map[string]string{"PAYWALL_ADDR": addr}, examplePlans(t))
		if err == nil || !strings.HasPrefix(err.Error(), variable+":") || strings.Contains(err.Error(), "\n") {
			t.Errorf("PAYWALL_ADDR=%s without PAYWALL_BASE_URL: %v, want one line naming %s", addr, err, variable)
		}
	}
	if _, err := config.Parse(map[string]string{"PAYWALL_ADDR": "127.0.0.1:0",
		"PAYWALL_BASE_URL": "http://paywall.test"}, examplePlans(t)); err != nil {
		t.Errorf("port 0 with a base URL: %v", err)
	}
}

func TestParseDefaults(t *testing.T) {
	c := parse(t, map[string]string{})

	checks := []struct {
		name      string
		got, want any
	}{
		{"Addr", c.Addr, "localhost:5000"},
		{"BaseURL", c.BaseURL.String(), "http://localhost:5000"},
		{"DatabasePath", c.DatabasePath, "data/paywall.db"},
		{"ClaimLease", c.ClaimLease.String(), "2m0s"},
		{"SiteDir", c.SiteDir, ""},
		{"ContentDir", c.ContentDir, ""},
		{"PlansFile", c.PlansFile, ""},
		{"StripeSecretKey", c.StripeSecretKey, ""},
		{"WebhookSecrets", len(c.WebhookSecrets), 0},
		{"StripeAPIBase", c.StripeAPIBase, ""},
		{"Mail", c.Mail, "log"},
		{"Auth", c.Auth, "local"},
		{"Env", c.Env, "development"},
		{"LogFormat", c.LogFormat, ""},
		{"Simulated", c.Simulated(), true},
		{"Production", c.Production(), false},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}

	var ids []string
	for _, p := range c.Catalog.Plans {
		ids = append(ids, p.ID)
	}
	if want := []string{"basic", "pro", "elite"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("plans: got %v, want %v", ids, want)
	}
	want := paywall.Price{Interval: paywall.Year, LookupKey: "pro_year", Amount: 9000, Currency: "usd"}
	if pro, _ := c.Catalog.Plan("pro"); !reflect.DeepEqual(pro.Prices[1], want) {
		t.Errorf("pro yearly price: got %+v, want %+v", pro.Prices[1], want)
	}
}

func TestParseValues(t *testing.T) {
	site := t.TempDir()
	c := parse(t, map[string]string{
		"PAYWALL_ADDR":          `"0.0.0.0:8080"`,
		"PAYWALL_BASE_URL":      `'https://letters.example.com/'`,
		"PAYWALL_DATABASE_URL":  "sqlite:///var/lib/paywall/paywall.db",
		"PAYWALL_SITE_DIR":      site,
		"PAYWALL_CONTENT_DIR":   " " + site + " ",
		"STRIPE_SECRET_KEY":     "sk_live_abc",
		"STRIPE_WEBHOOK_SECRET": `"whsec_new, whsec_old"`,
		"STRIPE_API_BASE":       "https://stripe-proxy.example.com",
		"PAYWALL_ENV":           "production",
		"PAYWALL_LOG_FORMAT":    "json",
		"PAYWALL_MAIL":          "sendgrid",
		"SENDGRID_API_KEY":      "SG.test",
	})

	checks := []struct {
		name      string
		got, want any
	}{
		{"Addr", c.Addr, "0.0.0.0:8080"},
		{"BaseURL", c.BaseURL.String(), "https://letters.example.com"},
		{"DatabasePath", c.DatabasePath, "/var/lib/paywall/paywall.db"},
		{"SiteDir", c.SiteDir, site},
		{"ContentDir", c.ContentDir, site},
		{"StripeSecretKey", c.StripeSecretKey, "sk_live_abc"},
		{"StripeAPIBase", c.StripeAPIBase, "https://stripe-proxy.example.com"},
		{"LogFormat", c.LogFormat, "json"},
		{"Simulated", c.Simulated(), false},
		{"Production", c.Production(), true},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if want := []string{"whsec_new", "whsec_old"}; !reflect.DeepEqual(c.WebhookSecrets, want) {
		t.Errorf("WebhookSecrets: got %q, want %q", c.WebhookSecrets, want)
	}
}

func TestParseDatabaseURL(t *testing.T) {
	tests := []struct {
		url, want string
	}{
		{"sqlite:paywall.db", "paywall.db"},
		{"sqlite:data/x.db", "data/x.db"},
		{"sqlite://data/x.db", "data/x.db"},
		{"sqlite:/abs/x.db", "/abs/x.db"},
		{"postgres://pw@db.internal:5432/pw?sslmode=require",
			"postgres://pw@db.internal:5432/pw?sslmode=require"},
		{"postgresql://localhost/pw", "postgresql://localhost/pw"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c := parse(t, map[string]string{"PAYWALL_DATABASE_URL": tt.url})
			if c.DatabasePath != tt.want {
				t.Errorf("got %q, want %q", c.DatabasePath, tt.want)
			}
		})
	}
}

func TestParseBadValue(t *testing.T) {
	file := filepath.Join(t.TempDir(), "site.txt")
	if err := os.WriteFile(file, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	stripe := map[string]string{"STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec_1"}
	with := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{k: v}
		for bk, bv := range base {
			m[bk] = bv
		}
		return m
	}

	tests := []struct {
		name    string
		vars    map[string]string
		wantVar string // the error starts with it
		wantIn  string // and contains this
	}{
		{"addr without port", map[string]string{"PAYWALL_ADDR": "localhost"}, "PAYWALL_ADDR", `"localhost"`},
		{"addr with empty port", map[string]string{"PAYWALL_ADDR": "localhost:"}, "PAYWALL_ADDR", ""},
		{"base URL with a path", map[string]string{"PAYWALL_BASE_URL": "https://example.com/blog"},
			"PAYWALL_BASE_URL", "origin"},
		{"base URL with a query", map[string]string{"PAYWALL_BASE_URL": "https://example.com?a=1"},
			"PAYWALL_BASE_URL", "origin"},
		{"base URL ftp", map[string]string{"PAYWALL_BASE_URL": "ftp://example.com"},
			"PAYWALL_BASE_URL", "http or https"},
		{"base URL without host", map[string]string{"PAYWALL_BASE_URL": "example.com"},
			"PAYWALL_BASE_URL", ""},
		{"database unknown scheme", map[string]string{"PAYWALL_DATABASE_URL": "mysql://localhost/db"},
			"PAYWALL_DATABASE_URL", "mysql"},
		{"database sqlite without file", map[string]string{"PAYWALL_DATABASE_URL": "sqlite:"},
			"PAYWALL_DATABASE_URL", "no file"},
		{"claim lease too short", map[string]string{"PAYWALL_CLAIM_LEASE": "10ms"},
			"PAYWALL_CLAIM_LEASE", "at least 1s"},
		{"claim lease not a duration", map[string]string{"PAYWALL_CLAIM_LEASE": "soon"},
			"PAYWALL_CLAIM_LEASE", "soon"},
		{"database postgres without host", map[string]string{"PAYWALL_DATABASE_URL": "postgres:///pw"},
			"PAYWALL_DATABASE_URL", "postgres://HOST/DATABASE"},
		{"database postgres unparsable", map[string]string{
			"PAYWALL_DATABASE_URL": "postgres://pw:secret@localhost:port/pw"},
			"PAYWALL_DATABASE_URL", "postgres://HOST/DATABASE"},
		{"site dir is a file", map[string]string{"PAYWALL_SITE_DIR": file}, "PAYWALL_SITE_DIR", file},
		{"site dir missing", map[string]string{"PAYWALL_SITE_DIR": file + ".d"}, "PAYWALL_SITE_DIR", ""},
		{"content dir missing", map[string]string{"PAYWALL_CONTENT_DIR": file + ".d"},
			"PAYWALL_CONTENT_DIR", ""},
		{"publishable key", map[string]string{"STRIPE_SECRET_KEY": "pk_test_1",
			"STRIPE_WEBHOOK_SECRET": "whsec_1"}, "STRIPE_SECRET_KEY", "sk_"},
		{"webhook secret without whsec_", map[string]string{"STRIPE_WEBHOOK_SECRET": "secret"},
			"STRIPE_WEBHOOK_SECRET", "whsec_"},
		{"second webhook secret without whsec_",
			map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_1,other"}, "STRIPE_WEBHOOK_SECRET", ""},
		{"API base without scheme", map[string]string{"STRIPE_API_BASE": "localhost:12111"},
			"STRIPE_API_BASE", `"localhost:12111"`},
		{"mail", map[string]string{"PAYWALL_MAIL": "pigeon"}, "PAYWALL_MAIL", `"pigeon"`},
		{"auth", map[string]string{"PAYWALL_AUTH": "ldap"}, "PAYWALL_AUTH", `"ldap"`},
		{"env", map[string]string{"PAYWALL_ENV": "staging"}, "PAYWALL_ENV", "development, production"},
		{"env with mismatched quotes", map[string]string{"PAYWALL_ENV": `"production'`}, "PAYWALL_ENV", ""},
		{"log format", map[string]string{"PAYWALL_LOG_FORMAT": "xml"}, "PAYWALL_LOG_FORMAT", "text, json"},
		{"production without a key", map[string]string{"PAYWALL_ENV": "production",
			"PAYWALL_BASE_URL": "https://example.com"}, "STRIPE_SECRET_KEY", "PAYWALL_ENV=production"},
		{"production over http", with(stripe, "PAYWALL_ENV", "production"),
			"PAYWALL_BASE_URL", "https"},
		{"missing plans file", map[string]string{"PAYWALL_CONFIG": file + ".toml"},
			"PAYWALL_CONFIG", "cannot read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse(tt.vars, examplePlans(t))
			if err == nil {
				t.Fatalf("got nil, want an error starting with %s", tt.wantVar)
			}
			checkOneLine(t, err, tt.wantVar, tt.wantIn)
		})
	}
}

// checkOneLine checks that err is one line that starts with the variable's
// name and contains want.
func checkOneLine(t *testing.T, err error, variable, want string) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, variable+": ") {
		t.Errorf("got %q, want it to start with %q", msg, variable+": ")
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("got %q, want one line", msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("got %q, want it to contain %q", msg, want)
	}
}

func TestParseProductionAccepted(t *testing.T) {
	c := parse(t, map[string]string{
		"PAYWALL_ENV":           "production",
		"PAYWALL_BASE_URL":      "https://letters.example.com",
		"STRIPE_SECRET_KEY":     "rk_live_1",
		"STRIPE_WEBHOOK_SECRET": "whsec_1",
		"PAYWALL_MAIL":          "smtp",
		"SMTP_URL":              "smtps://user:pass@smtp.example.com:465",
	})
	if !c.Production() || c.Simulated() {
		t.Errorf("got Production %v, Simulated %v, want true, false", c.Production(), c.Simulated())
	}
}

// writePlans writes a plans file into a temporary directory and returns its path.
func writePlans(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plans.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const goldPlans = `
[[plans]]
id = "gold"
  [[plans.prices]]
  interval = "month"
  lookup_key = "gold_month"
  amount = 1200
  currency = "EUR"
`

func TestParsePlansFile(t *testing.T) {
	path := writePlans(t, goldPlans)
	c := parse(t, map[string]string{"PAYWALL_CONFIG": path})

	if c.PlansFile != path {
		t.Errorf("PlansFile: got %q, want %q", c.PlansFile, path)
	}
	want := paywall.Catalog{Plans: []paywall.Plan{{
		ID:   "gold",
		Name: "gold", // the ID stands in for a missing name
		Prices: []paywall.Price{
			{Interval: paywall.Month, LookupKey: "gold_month", Amount: 1200, Currency: "eur"},
		},
	}}}
	if !reflect.DeepEqual(c.Catalog, want) {
		t.Errorf("Catalog: got %+v, want %+v", c.Catalog, want)
	}
}

func TestParseBadPlansFile(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		wantIn []string
	}{
		{
			name:   "unknown key",
			text:   strings.Replace(goldPlans, `id = "gold"`, "id = \"gold\"\ncolour = \"yellow\"", 1),
			wantIn: []string{"unknown key", "colour"},
		},
		{
			name: "duplicate lookup key",
			text: goldPlans + strings.Replace(
				strings.Replace(goldPlans, `id = "gold"`, `id = "silver"`, 1), "amount = 1200", "amount = 800", 1),
			wantIn: []string{`"silver"`, `"gold_month"`, "twice"},
		},
		{
			name:   "not TOML",
			text:   "[[plans]\nid = ",
			wantIn: []string{},
		},
		{
			name:   "no plans",
			text:   "# nothing on sale\n",
			wantIn: []string{"no plans"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writePlans(t, tt.text)
			_, err := config.Parse(map[string]string{"PAYWALL_CONFIG": path}, examplePlans(t))
			if err == nil {
				t.Fatal("got nil, want an error")
			}
			checkOneLine(t, err, "PAYWALL_CONFIG", "")
			for _, w := range tt.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// knownVars are the variables Load reads; clearEnv unsets them so that the
// developer's own environment cannot leak in. They must be unset, not empty:
// a variable set in the environment wins over .env even when it is empty.
var knownVars = []string{
	"PAYWALL_ADDR", "PAYWALL_BASE_URL", "PAYWALL_DATABASE_URL", "PAYWALL_SITE_DIR",
	"PAYWALL_CONTENT_DIR", "PAYWALL_CONFIG", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
	"STRIPE_API_BASE", "PAYWALL_MAIL", "PAYWALL_AUTH", "PAYWALL_ENV", "PAYWALL_LOG_FORMAT",
}

func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range knownVars {
		t.Setenv(k, "") // restores the original value after the test
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoad(t *testing.T) {
	plans := examplePlans(t)
	clearEnv(t)
	t.Chdir(t.TempDir())

	dotenv := "PAYWALL_ADDR=127.0.0.1:7000\nPAYWALL_BASE_URL=\"https://from-dotenv.example.com\"\n"
	if err := os.WriteFile(".env", []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PAYWALL_ADDR", "127.0.0.1:9000")
	if err := os.WriteFile("paywall.toml", []byte(goldPlans), 0o600); err != nil {
		t.Fatal(err)
	}

	c, err := config.Load(plans)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" {
		t.Errorf("Addr: got %q, want the environment's 127.0.0.1:9000", c.Addr)
	}
	if got := c.BaseURL.String(); got != "https://from-dotenv.example.com" {
		t.Errorf("BaseURL: got %q, want .env's https://from-dotenv.example.com", got)
	}
	if c.PlansFile != "paywall.toml" {
		t.Errorf("PlansFile: got %q, want paywall.toml from the working directory", c.PlansFile)
	}
	if _, ok := c.Catalog.Plan("gold"); !ok {
		t.Errorf("Catalog: got %+v, want the gold plan of ./paywall.toml", c.Catalog)
	}
}

func TestLoadWithoutDotenv(t *testing.T) {
	plans := examplePlans(t)
	clearEnv(t)
	t.Chdir(t.TempDir())

	c, err := config.Load(plans)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "localhost:5000" || c.PlansFile != "" || len(c.Catalog.Plans) != 3 {
		t.Errorf("got Addr %q, PlansFile %q, %d plans, want localhost:5000, \"\", 3",
			c.Addr, c.PlansFile, len(c.Catalog.Plans))
	}
}

func TestLoadBadValueInDotenv(t *testing.T) {
	plans := examplePlans(t)
	clearEnv(t)
	t.Chdir(t.TempDir())
	if err := os.WriteFile(".env", []byte("PAYWALL_MAIL=pigeon\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	_, err := config.Load(plans)
	if err == nil {
		t.Fatal("got nil, want an error")
	}
	checkOneLine(t, err, "PAYWALL_MAIL", "pigeon")
}
