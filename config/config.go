// Package config reads paywall's settings from the environment, ./.env and
// the plans file, and checks every value before anything starts.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
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
	// ReconcileEvery is how often serve compares local state with Stripe's
	// and repairs it; 0 means never.
	ReconcileEvery time.Duration
	// CancelDuplicates cancels and refunds a member's second live
	// subscription; off, it is only logged.
	CancelDuplicates bool

	Mail      string
	Auth      string
	Env       string
	LogFormat string // "text", "json" or "" for text on a terminal, else JSON

	Catalog paywall.Catalog
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
		func() (err error) {
			c.ReconcileEvery, err = parseEvery("PAYWALL_RECONCILE_EVERY", get("PAYWALL_RECONCILE_EVERY", ""))
			return
		},
		func() error {
			v := get("PAYWALL_CANCEL_DUPLICATES", "on")
			c.CancelDuplicates = v == "on"
			return oneOf("PAYWALL_CANCEL_DUPLICATES", v, "on", "off")
		},
		func() error { return oneOf("PAYWALL_MAIL", c.Mail, "log") },
		func() error { return oneOf("PAYWALL_AUTH", c.Auth, "local") },
		func() error { return oneOf("PAYWALL_ENV", c.Env, "development", "production") },
		func() error { return oneOf("PAYWALL_LOG_FORMAT", c.LogFormat, "", "text", "json") },
		func() (err error) {
			c.PlansFile, c.Catalog, err = loadPlans(get("PAYWALL_CONFIG", ""), defaultPlans)
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
	if c.StripeAPIBase != "" {
		u, err := url.Parse(c.StripeAPIBase)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("STRIPE_API_BASE: %q is not an http or https URL", c.StripeAPIBase)
		}
	}
	return nil
}

// CheckServe reports what serving needs beyond what every command needs: with
// a Stripe key, the webhook's signing secret. Other commands (`paywall stripe
// setup-webhook`, which prints that secret) run without it.
func (c Config) CheckServe() error {
	if !c.Simulated() && len(c.WebhookSecrets) == 0 {
		return fmt.Errorf("STRIPE_WEBHOOK_SECRET: required with STRIPE_SECRET_KEY " +
			"(from `paywall stripe setup-webhook`, the Stripe dashboard or `stripe listen`)")
	}
	return nil
}

// parseEvery reads an interval such as 6h; empty, "0" and "off" mean never.
func parseEvery(name, raw string) (time.Duration, error) {
	if raw == "" || raw == "0" || raw == "off" {
		return 0, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < time.Minute {
		return 0, fmt.Errorf("%s: %q is not a duration of at least 1m (for example 6h), or off", name, raw)
	}
	return d, nil
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
		TrialDays      int64 `toml:"trial_days"`
		PromotionCodes bool  `toml:"promotion_codes"`
	} `toml:"plans"`
	Portal *portalFile `toml:"portal"`
}

// portalFile is paywall.toml's [portal] table.
type portalFile struct {
	SwitchPlans         []string `toml:"switch_plans"`
	Cancel              *string  `toml:"cancel"`
	PaymentMethodUpdate *bool    `toml:"payment_method_update"`
	InvoiceHistory      *bool    `toml:"invoice_history"`
}

// portal returns the configuration with Stripe's defaults for what is unset.
func (f *portalFile) portal() *paywall.Portal {
	if f == nil {
		return nil
	}
	p := &paywall.Portal{SwitchPlans: f.SwitchPlans, Cancel: paywall.CancelAtPeriodEnd,
		PaymentMethodUpdate: true, InvoiceHistory: true}
	if f.Cancel != nil {
		p.Cancel = *f.Cancel
	}
	if f.PaymentMethodUpdate != nil {
		p.PaymentMethodUpdate = *f.PaymentMethodUpdate
	}
	if f.InvoiceHistory != nil {
		p.InvoiceHistory = *f.InvoiceHistory
	}
	return p
}

func (f plansFile) catalog() paywall.Catalog {
	var cat paywall.Catalog
	for _, p := range f.Plans {
		plan := paywall.Plan{ID: p.ID, Name: p.Name, Description: p.Description,
			TrialDays: p.TrialDays, PromotionCodes: p.PromotionCodes}
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
	cat.Portal = f.Portal.portal()
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
