// Package config reads paywall's settings from the environment, ./.env and
// the plans file, and checks every value before anything starts.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

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

	WebhookTolerance time.Duration  // PAYWALL_WEBHOOK_TOLERANCE: signature age accepted
	WebhookRefetch   bool           // PAYWALL_WEBHOOK_REFETCH: read objects back from Stripe
	Policy           paywall.Policy // PAYWALL_PAST_DUE_GRACE, PAYWALL_REFUND_POLICY
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
			c.PlansFile, c.Catalog, err = loadPlans(get("PAYWALL_CONFIG", ""), defaultPlans)
			return
		},
		func() error { return checkProduction(c) },
		func() error { return parseLifecycle(&c, get) },
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
	} `toml:"plans"`
}

func (f plansFile) catalog() paywall.Catalog {
	var cat paywall.Catalog
	for _, p := range f.Plans {
		plan := paywall.Plan{ID: p.ID, Name: p.Name, Description: p.Description}
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

func loadPlans(path string, defaultPlans []byte) (string, paywall.Catalog, error) {
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
			return "", paywall.Catalog{}, fmt.Errorf("%s: cannot read %q", name, path)
		}
	}
	var f plansFile
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return "", paywall.Catalog{}, fmt.Errorf("%s: %s", name, oneLine(err))
	}
	if und := md.Undecoded(); len(und) > 0 {
		return "", paywall.Catalog{}, fmt.Errorf("%s: unknown key %q", name, und[0].String())
	}
	cat := f.catalog()
	if err := cat.Validate(); err != nil {
		return "", paywall.Catalog{}, fmt.Errorf("%s: %w", name, err)
	}
	return path, cat, nil
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// parseLifecycle reads the webhook and access-policy settings.
func parseLifecycle(c *Config, get func(k, def string) string) error {
	var err error
	if c.WebhookTolerance, err = parseDuration("PAYWALL_WEBHOOK_TOLERANCE",
		get("PAYWALL_WEBHOOK_TOLERANCE", "300s")); err != nil {
		return err
	}
	if c.WebhookTolerance == 0 {
		return fmt.Errorf("PAYWALL_WEBHOOK_TOLERANCE: must be more than 0s")
	}
	c.Policy.PastDueGrace, err = parseDuration("PAYWALL_PAST_DUE_GRACE",
		get("PAYWALL_PAST_DUE_GRACE", paywall.PastDueGrace.String()))
	if err != nil {
		return err
	}
	c.Policy.Refund = paywall.RefundPolicy(get("PAYWALL_REFUND_POLICY", string(paywall.RefundKeep)))
	if err := oneOf("PAYWALL_REFUND_POLICY", string(c.Policy.Refund), "keep", "revoke"); err != nil {
		return err
	}
	def := "false"
	if !c.Simulated() {
		def = "true"
	}
	refetch := get("PAYWALL_WEBHOOK_REFETCH", def)
	if c.WebhookRefetch, err = strconv.ParseBool(refetch); err != nil {
		return fmt.Errorf("PAYWALL_WEBHOOK_REFETCH: %q is not true or false", refetch)
	}
	if c.WebhookRefetch && c.Simulated() {
		return fmt.Errorf("PAYWALL_WEBHOOK_REFETCH: needs STRIPE_SECRET_KEY to read from Stripe")
	}
	return nil
}

// parseDuration reads a Go duration (90s, 72h) that may not be negative.
func parseDuration(name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %q is not a duration like 300s or 72h", name, v)
	}
	return d, nil
}
