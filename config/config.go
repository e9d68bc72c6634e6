// Package config reads paywall's settings from the environment, ./.env and
// the plans file, and checks every value before anything starts.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	pathpkg "path"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/joho/godotenv"

	"github.com/paywall/paywall"
)

// Config is the validated configuration of one paywall process.
type Config struct {
	Addr         string
	BaseURL      *url.URL
	DatabasePath string // the SQLite file
	SiteDir      string // "" means the embedded example site
	ContentDir   string // "" means the embedded example content
	PlansFile    string // "" means the embedded example plans

	StripeSecretKey string   // "" means simulated checkout
	WebhookSecrets  []string // "" in simulated mode means generate one
	StripeAPIBase   string   // "" means Stripe's own

	Mail      string
	Auth      string
	Env       string
	LogFormat string // "text", "json" or "" for text on a terminal, else JSON

	Catalog paywall.Catalog
	// Globs are the plans file's path rules, for sites not built with Hugo.
	Globs []paywall.Glob
	// AllowLeaks lets a production server start although the leak audit
	// found gated text in files anyone may fetch (PAYWALL_ALLOW_LEAKS).
	AllowLeaks bool
}

// Simulated reports whether checkout is simulated because no Stripe key is set.
func (c Config) Simulated() bool { return c.StripeSecretKey == "" }

// Production reports whether PAYWALL_ENV is production.
func (c Config) Production() bool { return c.Env == "production" }

// Load reads the environment, with ./.env under it (the environment wins),
// and the plans file; defaultPlans is the embedded example's plans file.
func Load(defaultPlans []byte) (Config, error) {
	vars, err := readDotenv(".env")
	if err != nil {
		return Config{}, err
	}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return Parse(vars, defaultPlans)
}

func readDotenv(path string) (map[string]string, error) {
	vars, err := godotenv.Read(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return vars, nil
}

// Parse builds a Config from variables, reading the plans file they name.
// The error, if any, is one line naming the variable at fault.
func Parse(vars map[string]string, defaultPlans []byte) (Config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(unquote(vars[k])); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Addr:            get("PAYWALL_ADDR", "localhost:5000"),
		SiteDir:         get("PAYWALL_SITE_DIR", ""),
		ContentDir:      get("PAYWALL_CONTENT_DIR", ""),
		StripeSecretKey: get("STRIPE_SECRET_KEY", ""),
		StripeAPIBase:   get("STRIPE_API_BASE", ""),
		Mail:            get("PAYWALL_MAIL", "log"),
		Auth:            get("PAYWALL_AUTH", "local"),
		Env:             get("PAYWALL_ENV", "development"),
		LogFormat:       get("PAYWALL_LOG_FORMAT", ""),
	}
	checks := []func() error{
		func() error { return checkAddr(c.Addr) },
		func() (err error) {
			c.BaseURL, err = parseBaseURL(get("PAYWALL_BASE_URL", "http://localhost:5000"))
			return
		},
		func() (err error) {
			c.DatabasePath, err = parseDatabase(get("PAYWALL_DATABASE_URL", "sqlite:data/paywall.db"))
			return
		},
		func() error { return checkDir("PAYWALL_SITE_DIR", c.SiteDir) },
		func() error { return checkDir("PAYWALL_CONTENT_DIR", c.ContentDir) },
		func() error { return checkStripe(&c, get("STRIPE_WEBHOOK_SECRET", "")) },
		func() error { return oneOf("PAYWALL_MAIL", c.Mail, "log") },
		func() error { return oneOf("PAYWALL_AUTH", c.Auth, "local") },
		func() error { return oneOf("PAYWALL_ENV", c.Env, "development", "production") },
		func() error { return oneOf("PAYWALL_LOG_FORMAT", c.LogFormat, "", "text", "json") },
		func() (err error) {
			c.PlansFile, c.Catalog, c.Globs, err = loadPlans(get("PAYWALL_CONFIG", ""), defaultPlans)
			return
		},
		func() (err error) {
			c.AllowLeaks, err = parseBool("PAYWALL_ALLOW_LEAKS", get("PAYWALL_ALLOW_LEAKS", "false"))
			return
		},
		func() error { return checkProduction(c) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return Config{}, err
		}
	}
	return c, nil
}

// unquote strips one pair of surrounding quotes, as .env files and compose
// environment lists are often written with them.
func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

func checkAddr(addr string) error {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return fmt.Errorf("PAYWALL_ADDR: %q is not host:port (for example localhost:5000)", addr)
	}
	return nil
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("PAYWALL_BASE_URL: %q is not an http or https origin", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("PAYWALL_BASE_URL: %q must be an origin only, like https://example.com", raw)
	}
	u.Path = ""
	return u, nil
}

func parseDatabase(raw string) (string, error) {
	switch {
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" {
			return "", fmt.Errorf("PAYWALL_DATABASE_URL: %q names no file (sqlite:PATH)", raw)
		}
		return path, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		// TODO(#8): PostgreSQL through pgx, for several replicas.
		return "", fmt.Errorf("PAYWALL_DATABASE_URL: PostgreSQL is not supported yet; use sqlite:PATH")
	default:
		return "", fmt.Errorf("PAYWALL_DATABASE_URL: %q is neither sqlite:PATH nor postgres://…", raw)
	}
}

func checkDir(name, dir string) error {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return fmt.Errorf("%s: %q is not a directory", name, dir)
	}
	return nil
}

func oneOf(name, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	var shown []string
	for _, a := range allowed {
		if a != "" {
			shown = append(shown, a)
		}
	}
	return fmt.Errorf("%s: %q is not one of %s", name, v, strings.Join(shown, ", "))
}

func checkStripe(c *Config, secrets string) error {
	key := c.StripeSecretKey
	if key != "" && !strings.HasPrefix(key, "sk_") && !strings.HasPrefix(key, "rk_") {
		return fmt.Errorf("STRIPE_SECRET_KEY: does not look like a Stripe key (sk_… or rk_…)")
	}
	for _, s := range strings.Split(secrets, ",") {
		s = strings.TrimSpace(unquote(s))
		if s == "" {
			continue
		}
		if !strings.HasPrefix(s, "whsec_") {
			return fmt.Errorf("STRIPE_WEBHOOK_SECRET: each secret must start with whsec_")
		}
		c.WebhookSecrets = append(c.WebhookSecrets, s)
	}
	if key != "" && len(c.WebhookSecrets) == 0 {
		return fmt.Errorf("STRIPE_WEBHOOK_SECRET: required with STRIPE_SECRET_KEY " +
			"(from the Stripe dashboard or `stripe listen`)")
	}
	if c.StripeAPIBase != "" {
		u, err := url.Parse(c.StripeAPIBase)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("STRIPE_API_BASE: %q is not an http or https URL", c.StripeAPIBase)
		}
	}
	return nil
}

// checkProduction refuses the settings that are only safe on a laptop.
func checkProduction(c Config) error {
	if !c.Production() {
		return nil
	}
	if c.Simulated() {
		return fmt.Errorf("STRIPE_SECRET_KEY: required when PAYWALL_ENV=production " +
			"(simulated checkout takes no payment)")
	}
	if c.BaseURL.Scheme != "https" {
		return fmt.Errorf("PAYWALL_BASE_URL: must be https when PAYWALL_ENV=production")
	}
	return nil
}

// plansFile is the shape of paywall.toml.
type plansFile struct {
	Plans []struct {
		ID          string `toml:"id"`
		Name        string `toml:"name"`
		Description string `toml:"description"`
		Prices      []struct {
			Interval  string `toml:"interval"`
			LookupKey string `toml:"lookup_key"`
			Amount    int64  `toml:"amount"`
			Currency  string `toml:"currency"`
		} `toml:"prices"`
		Includes []string `toml:"includes"` // plans this one covers too
	} `toml:"plans"`
	// Rules gate files by path, for sites not built with Hugo.
	Rules []struct {
		Path  string   `toml:"path"`
		Plans []string `toml:"plans"`
	} `toml:"rules"`
}

func (f plansFile) catalog() paywall.Catalog {
	var cat paywall.Catalog
	for _, p := range f.Plans {
		plan := paywall.Plan{ID: p.ID, Name: p.Name, Description: p.Description}
		plan.Includes = p.Includes
		for _, pr := range p.Prices {
			plan.Prices = append(plan.Prices, paywall.Price{
				Interval:  paywall.Interval(pr.Interval),
				LookupKey: pr.LookupKey,
				Amount:    pr.Amount,
				Currency:  strings.ToLower(pr.Currency),
			})
		}
		if plan.Name == "" {
			plan.Name = plan.ID
		}
		cat.Plans = append(cat.Plans, plan)
	}
	return cat
}

func loadPlans(path string, defaultPlans []byte) (string, paywall.Catalog, []paywall.Glob, error) {
	name := "PAYWALL_CONFIG"
	data := defaultPlans
	switch {
	case path != "":
	case fileExists("paywall.toml"):
		path, name = "paywall.toml", "paywall.toml"
	default:
		path = ""
	}
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return "", paywall.Catalog{}, nil, fmt.Errorf("%s: cannot read %q", name, path)
		}
	}
	var f plansFile
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return "", paywall.Catalog{}, nil, fmt.Errorf("%s: %s", name, oneLine(err))
	}
	if und := md.Undecoded(); len(und) > 0 {
		return "", paywall.Catalog{}, nil, fmt.Errorf("%s: unknown key %q", name, und[0].String())
	}
	cat := f.catalog()
	if err := cat.Validate(); err != nil {
		return "", paywall.Catalog{}, nil, fmt.Errorf("%s: %w", name, err)
	}
	globs, err := f.globs(cat)
	if err != nil {
		return "", paywall.Catalog{}, nil, fmt.Errorf("%s: %w", name, err)
	}
	return path, cat, globs, nil
}

// globs checks the path rules: a path pattern and known plans each.
func (f plansFile) globs(cat paywall.Catalog) ([]paywall.Glob, error) {
	var out []paywall.Glob
	for _, r := range f.Rules {
		if _, err := pathpkg.Match(r.Path, "/"); err != nil || !strings.HasPrefix(r.Path, "/") {
			return nil, fmt.Errorf("rule path %q is not a pattern like /members/**", r.Path)
		}
		if len(r.Plans) == 0 {
			return nil, fmt.Errorf("rule %q names no plans", r.Path)
		}
		for _, p := range r.Plans {
			if _, ok := cat.Plan(p); !ok {
				return nil, fmt.Errorf("rule %q names the unknown plan %q", r.Path, p)
			}
		}
		out = append(out, paywall.Glob{Pattern: r.Path, Plans: r.Plans})
	}
	return out, nil
}

func parseBool(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("%s: %q is not true or false", name, v)
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
