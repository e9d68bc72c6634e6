// Package config reads paywall's settings from the environment, ./.env and
// the plans file, and checks every value before anything starts.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	pathpkg "path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/joho/godotenv"

	"github.com/paywall/paywall"
	pwmail "github.com/paywall/paywall/mail"
)

// Config is the validated configuration of one paywall process.
type Config struct {
	Addr         string
	BaseURL      *url.URL
	DatabasePath string // the SQLite file, or a postgres:// URL
	SiteDir      string // "" means the embedded example site
	ContentDir   string // "" means the embedded example content
	PlansFile    string // "" means the embedded example plans

	StripeSecretKey string   // "" means simulated checkout
	WebhookSecrets  []string // "" in simulated mode means generate one
	StripeAPIBase   string   // "" means Stripe's own
	// ReconcileEvery is how often serve compares local state with Stripe's
	// and repairs it; 0 means never.
	ReconcileEvery time.Duration
	// ClaimLease is how long a replica on PostgreSQL keeps the events and
	// mails it took up from the others; past it, work a crashed replica
	// claimed is taken up again (PAYWALL_CLAIM_LEASE).
	ClaimLease time.Duration
	// CancelDuplicates cancels and refunds a member's second live
	// subscription; off, it is only logged.
	CancelDuplicates bool

	Mail     string
	SMTPURL  *url.URL // with PAYWALL_MAIL=smtp
	SendGrid string   // the API key, with PAYWALL_MAIL=sendgrid
	// SendGridAPIBase is the API origin: "" for SendGrid's global one, or
	// its EU one for EU data residency.
	SendGridAPIBase string
	MailFrom        string // the From of every mail
	Auth            string
	Env             string
	LogFormat       string // "text", "json" or "" for text on a terminal, else JSON

	// Lifetimes of links and sessions.
	SetupLinkTTL  time.Duration
	SignInLinkTTL time.Duration
	SessionIdle   time.Duration
	SessionMax    time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For names the client,
	// for per-address rate limits behind a reverse proxy.
	TrustedProxies []netip.Prefix

	Catalog paywall.Catalog
	// Globs are the plans file's path rules, for sites not built with Hugo.
	Globs []paywall.Glob
	// AllowLeaks lets a production server start although the leak audit
	// found gated text in files anyone may fetch (PAYWALL_ALLOW_LEAKS).
	AllowLeaks bool

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
	// An empty variable does not hide .env: compose files often pass
	// X=${X} for variables the operator left unset.
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); v != "" {
			vars[k] = v
		}
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
			if raw := get("PAYWALL_BASE_URL", ""); raw != "" {
				c.BaseURL, err = parseBaseURL(raw)
				return
			}
			c.BaseURL, err = defaultBaseURL(c.Addr)
			return
		},
		func() (err error) {
			c.DatabasePath, err = parseDatabase(get("PAYWALL_DATABASE_URL", "sqlite:data/paywall.db"))
			return
		},
		func() error { return checkDir("PAYWALL_SITE_DIR", c.SiteDir) },
		func() error { return checkDir("PAYWALL_CONTENT_DIR", c.ContentDir) },
		func() error { return checkStripe(&c, get("STRIPE_WEBHOOK_SECRET", "")) },
		func() error { return checkMail(&c, get) },
		func() error { return checkLifetimes(&c, get) },
		func() (err error) {
			c.TrustedProxies, err = parseProxies(get("PAYWALL_TRUSTED_PROXIES", ""))
			return
		},
		func() (err error) {
			c.ReconcileEvery, err = parseEvery("PAYWALL_RECONCILE_EVERY", get("PAYWALL_RECONCILE_EVERY", ""))
			return
		},
		func() (err error) {
			c.ClaimLease, err = parseLease(get("PAYWALL_CLAIM_LEASE", "2m"))
			return
		},
		func() error {
			v := get("PAYWALL_CANCEL_DUPLICATES", "on")
			c.CancelDuplicates = v == "on"
			return oneOf("PAYWALL_CANCEL_DUPLICATES", v, "on", "off")
		},
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
		func() error { return parseLifecycle(&c, get) },
		func() error { return checkProduction(c, get) },
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

// defaultBaseURL is the origin a server listening on addr is reached at
// from the same machine, for when PAYWALL_BASE_URL is unset: links in mail
// and Stripe's return URLs then lead back to where it listens.
func defaultBaseURL(addr string) (*url.URL, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("PAYWALL_ADDR: %q is not host:port (for example localhost:5000)", addr)
	}
	if port == "0" {
		return nil, fmt.Errorf("PAYWALL_BASE_URL: must be set when PAYWALL_ADDR's port is 0: " +
			"the port is chosen at start-up, so links could not name it")
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	u, err := parseBaseURL("http://" + net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("PAYWALL_ADDR: %q names no address links could lead to; "+
			"set PAYWALL_BASE_URL", addr)
	}
	return u, nil
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
		// Several replicas share one PostgreSQL database; the store opens
		// the URL as it is, so pgx reads its parameters (sslmode,
		// search_path …).
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("PAYWALL_DATABASE_URL: %q is not a postgres://HOST/DATABASE URL",
				redacted(raw, u))
		}
		return raw, nil
	default:
		scheme, _, _ := strings.Cut(raw, ":")
		return "", fmt.Errorf("PAYWALL_DATABASE_URL: a %q URL is neither sqlite:PATH nor postgres://…",
			scheme)
	}
}

// redacted hides a URL's password, for an error message.
func redacted(raw string, u *url.URL) string {
	if u == nil {
		return "postgres://…"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
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

func checkMail(c *Config, get func(k, def string) string) error {
	if err := oneOf("PAYWALL_MAIL", c.Mail, "log", "smtp", "sendgrid"); err != nil {
		return err
	}
	domain := c.BaseURL.Hostname()
	if strings.Contains(domain, ":") {
		domain = "[" + domain + "]" // an IPv6 address literal, as RFC 5321 writes it
	}
	c.MailFrom = get("PAYWALL_MAIL_FROM", "noreply@"+domain)
	if a, err := mail.ParseAddress(c.MailFrom); err != nil || !strings.Contains(a.Address, "@") {
		return fmt.Errorf("PAYWALL_MAIL_FROM: %q is not an email address", c.MailFrom)
	}
	switch c.Mail {
	case "smtp":
		raw := get("SMTP_URL", "")
		if raw == "" {
			return fmt.Errorf("SMTP_URL: required with PAYWALL_MAIL=smtp " +
				"(smtp://user:password@host:587)")
		}
		u, err := pwmail.ParseSMTPURL(raw)
		if err != nil {
			return fmt.Errorf("SMTP_URL: %v", err)
		}
		c.SMTPURL = u
	case "sendgrid":
		c.SendGrid = get("SENDGRID_API_KEY", "")
		if c.SendGrid == "" {
			return fmt.Errorf("SENDGRID_API_KEY: required with PAYWALL_MAIL=sendgrid")
		}
		if !strings.HasPrefix(c.SendGrid, "SG.") {
			return fmt.Errorf("SENDGRID_API_KEY: does not look like a SendGrid key (SG.…)")
		}
		c.SendGridAPIBase = get("SENDGRID_API_BASE", "")
		if c.SendGridAPIBase != "" {
			u, err := url.Parse(c.SendGridAPIBase)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("SENDGRID_API_BASE: %q is not an http or https origin "+
					"(like https://api.eu.sendgrid.com)", c.SendGridAPIBase)
			}
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

// checkLifetimes reads the link and session lifetimes, each a Go duration
// such as 48h or 15m.
func checkLifetimes(c *Config, get func(k, def string) string) error {
	for _, d := range []struct {
		name, def string
		min       time.Duration
		dst       *time.Duration
	}{
		{"PAYWALL_SETUP_LINK_TTL", "48h", time.Minute, &c.SetupLinkTTL},
		{"PAYWALL_SIGNIN_LINK_TTL", "15m", time.Minute, &c.SignInLinkTTL},
		{"PAYWALL_SESSION_IDLE", "336h", time.Minute, &c.SessionIdle},
		{"PAYWALL_SESSION_MAX", "2160h", time.Minute, &c.SessionMax},
	} {
		v, err := time.ParseDuration(get(d.name, d.def))
		if err != nil || v < d.min {
			return fmt.Errorf("%s: %q is not a duration of at least a minute (like 15m or 48h)",
				d.name, get(d.name, d.def))
		}
		*d.dst = v
	}
	if c.SessionIdle > c.SessionMax {
		return fmt.Errorf("PAYWALL_SESSION_IDLE: %s is longer than PAYWALL_SESSION_MAX (%s)",
			c.SessionIdle, c.SessionMax)
	}
	return nil
}

// parseProxies reads comma-separated addresses or CIDR prefixes.
func parseProxies(raw string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(raw, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("PAYWALL_TRUSTED_PROXIES: %q is not an address or CIDR prefix", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
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

// parseLease reads PAYWALL_CLAIM_LEASE: long enough to apply a batch of
// events or send a batch of mails, which a second or more always is.
func parseLease(raw string) (time.Duration, error) {
	d, err := time.ParseDuration(raw)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("PAYWALL_CLAIM_LEASE: %q is not a duration of at least 1s (for example 2m)", raw)
	}
	return d, nil
}

// checkProduction refuses the settings that are only safe on a laptop, each
// with one line naming its variable.
func checkProduction(c Config, get func(k, def string) string) error {
	if !c.Production() {
		return nil
	}
	if c.Simulated() {
		return fmt.Errorf("STRIPE_SECRET_KEY: required when PAYWALL_ENV=production " +
			"(simulated checkout takes no payment)")
	}
	if !stripeKey.MatchString(c.StripeSecretKey) {
		return fmt.Errorf("STRIPE_SECRET_KEY: not a whole Stripe key (sk_live_…, sk_test_…, rk_live_… " +
			"or rk_test_… and letters and digits only) when PAYWALL_ENV=production")
	}
	for _, s := range c.WebhookSecrets {
		if !webhookSecret.MatchString(s) {
			return fmt.Errorf("STRIPE_WEBHOOK_SECRET: not a whole signing secret (whsec_ and letters " +
				"and digits only) when PAYWALL_ENV=production")
		}
	}
	if c.StripeAPIBase != "" && !strings.HasPrefix(c.StripeAPIBase, "https://") {
		return fmt.Errorf("STRIPE_API_BASE: must be unset or https when PAYWALL_ENV=production " +
			"(a test server takes no payment)")
	}
	if c.BaseURL.Scheme != "https" {
		return fmt.Errorf("PAYWALL_BASE_URL: must be https when PAYWALL_ENV=production")
	}
	if get("FIREBASE_AUTH_EMULATOR_HOST", "") != "" {
		return fmt.Errorf("FIREBASE_AUTH_EMULATOR_HOST: must be unset when PAYWALL_ENV=production " +
			"(with it, Firebase's SDK accepts unsigned tokens)")
	}
	if c.Mail == "log" {
		return fmt.Errorf("PAYWALL_MAIL: log only prints mail; use smtp or sendgrid " +
			"when PAYWALL_ENV=production")
	}
	if c.SMTPURL != nil && c.SMTPURL.Query().Get("tls") == "none" && !loopback(c.SMTPURL.Hostname()) {
		return fmt.Errorf("SMTP_URL: tls=none sends passwords and links in the clear; " +
			"refused for a remote host when PAYWALL_ENV=production")
	}
	if c.SendGridAPIBase != "" && !strings.HasPrefix(c.SendGridAPIBase, "https://") {
		return fmt.Errorf("SENDGRID_API_BASE: must be unset or https when PAYWALL_ENV=production")
	}
	return nil
}

var (
	stripeKey     = regexp.MustCompile(`^[sr]k_(live|test)_[A-Za-z0-9]+$`)
	webhookSecret = regexp.MustCompile(`^whsec_[A-Za-z0-9]+$`)
)

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
		Includes       []string `toml:"includes"` // plans this one covers too
		TrialDays      int64    `toml:"trial_days"`
		PromotionCodes bool     `toml:"promotion_codes"`
	} `toml:"plans"`
	// Rules gate files by path, for sites not built with Hugo.
	Rules []struct {
		Path  string   `toml:"path"`
		Plans []string `toml:"plans"`
	} `toml:"rules"`
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
	cat.Portal = f.Portal.portal()
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

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
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
