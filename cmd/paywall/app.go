package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/paywall/paywall/account"
	"github.com/paywall/paywall/billing"
	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
	"github.com/paywall/paywall/guard"
	"github.com/paywall/paywall/mail"
	"github.com/paywall/paywall/sqlite"
	"github.com/paywall/paywall/web"
)

// options are the knobs tests turn; the zero value is production's.
type options struct {
	bcryptCost int
	limits     web.Limits
	stripeHTTP *http.Client // the client stripe-go uses; tests record requests with it
	// reconcileEvery, when set, replaces PAYWALL_RECONCILE_EVERY, whose
	// floor of a minute a test cannot wait for.
	reconcileEvery time.Duration
}

// App is one running paywall: every part built from the config and wired
// together. main and the end-to-end tests start the same value.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	store    *sqlite.Store
	listener net.Listener
	server   *http.Server
	worker   *billing.Worker
	outbox   *mail.Outbox
	stripe   *billing.Stripe // nil in simulated mode
	web      *web.Server
	// reconcile is how often serve reconciles with Stripe; 0 never.
	reconcile time.Duration
}

// NewApp opens the database, applies migrations, loads the site's rules and
// starts listening, so that Addr is known before Run.
func NewApp(ctx context.Context, cfg config.Config, log *slog.Logger, opts options) (*App, error) {
	if err := cfg.CheckServe(); err != nil {
		return nil, err
	}
	store, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	if store.Dialect() == "postgres" {
		// Replicas share the inbox and the outbox: each claims what it
		// takes up. One process on its own SQLite file has no one to
		// share with, and after a crash retries at once.
		store.Lease = cfg.ClaimLease
	}
	a := &App{cfg: cfg, log: log, store: store, reconcile: cmp.Or(opts.reconcileEvery, cfg.ReconcileEvery)}
	if err := a.build(ctx, opts); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context, opts options) error {
	cfg, log := a.cfg, a.log
	n, err := a.store.Migrate(ctx)
	if err != nil {
		return err
	}
	log.Info("database ready", "database", sqlite.Describe(cfg.DatabasePath), "migrations_applied", n)

	g, err := loadGuard(cfg)
	if err != nil {
		return err
	}
	if g.From != "manifest" {
		log.Warn("rules without a manifest", "source", g.From, "note",
			"front matter and path rules are less exact than the paywall manifest Hugo writes")
	}
	for _, r := range g.Rules() {
		log.Info("rule", "path", r.Path, "plans", strings.Join(r.Plans, ","), "source", r.Source)
	}
	if err := auditAtStart(cfg, g, log); err != nil {
		return err
	}

	a.listener, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("PAYWALL_ADDR: cannot listen on %s: %w", cfg.Addr, err)
	}

	accounts := account.NewLocal(a.store, cfg.BaseURL)
	accounts.Lifetimes = account.Lifetimes{SetupLink: cfg.SetupLinkTTL, SignInLink: cfg.SignInLinkTTL,
		SessionIdle: cfg.SessionIdle, SessionMax: cfg.SessionMax}
	if opts.bcryptCost != 0 {
		accounts.Cost = opts.bcryptCost
	}
	mailer, err := newMailer(cfg, log.With("component", "mail"))
	if err != nil {
		return err
	}
	a.outbox = mail.NewOutbox(a.store, accounts, mailer, cfg.BaseURL.Host,
		log.With("component", "outbox"))
	a.outbox.BaseURL = cfg.BaseURL.String()
	a.outbox.Lease = a.store.Lease
	a.worker = billing.NewWorker(a.store, cfg.Catalog, log.With("component", "events"))

	srv := &web.Server{
		Log: log.With("component", "web"), BaseURL: cfg.BaseURL, Catalog: cfg.Catalog,
		Accounts: accounts, Store: a.store, Site: g, Received: a.worker.Poke, Now: time.Now,
		Queued: a.outbox.Poke, Metrics: newRegistry(), Limits: opts.limits,
		TrustedProxies: cfg.TrustedProxies, SessionMax: cfg.SessionMax,
		Policy: cfg.Policy,
	}
	// A change to a member's subscriptions may queue mail and changes what
	// they may read: wake the outbox and drop the member's cached access.
	a.worker.Applied = func(member int64) {
		srv.Forget(member)
		a.outbox.Poke()
	}
	if err := a.billing(ctx, srv, opts); err != nil {
		return err
	}
	a.web = srv
	if a.store.Dialect() == "postgres" {
		srv.Buckets = a.store // replicas share the rate limits' budget
	}
	a.server = web.NewHTTPServer(srv.Handler(), log)
	return nil
}

// newMailer builds the mailer PAYWALL_MAIL names.
func newMailer(cfg config.Config, log *slog.Logger) (mail.Mailer, error) {
	switch cfg.Mail {
	case "smtp":
		m, err := mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom, nil)
		if err != nil {
			return nil, fmt.Errorf("SMTP_URL: %w", err)
		}
		log.Info("mailer", "mailer", "smtp", "host", cfg.SMTPURL.Host, "from", cfg.MailFrom)
		return m, nil
	case "sendgrid":
		m := mail.NewSendGrid(cfg.SendGrid, cfg.MailFrom)
		m.Host = cfg.SendGridAPIBase
		log.Info("mailer", "mailer", "sendgrid", "from", cfg.MailFrom, "api_base", m.Host)
		return m, nil
	default:
		return mail.Log{Logger: log}, nil
	}
}

func loadGuard(cfg config.Config) (*guard.Guard, error) {
	return loadGuardFrom(cfg, cfg.SiteDir)
}

// loadGuardFrom loads the rules of the built site in dir, or of the
// embedded example when dir is "".
func loadGuardFrom(cfg config.Config, dir string) (*guard.Guard, error) {
	var siteFS fs.FS = site.Public()
	if dir != "" {
		siteFS = os.DirFS(dir)
	}
	opts := guard.Options{Catalog: cfg.Catalog, Globs: cfg.Globs}
	if cfg.ContentDir != "" {
		opts.Content = os.DirFS(cfg.ContentDir)
	}
	g, err := guard.Load(siteFS, opts)
	if err != nil && dir != "" {
		return nil, fmt.Errorf("PAYWALL_SITE_DIR: %w", err)
	}
	return g, err
}

// billing wires Stripe, or the simulator when no key is set.
func (a *App) billing(ctx context.Context, srv *web.Server, opts options) error {
	cfg := a.cfg
	secrets := cfg.WebhookSecrets
	if cfg.Simulated() {
		local, err := a.store.Setting(ctx, "simulated_webhook_secret", billing.NewSecret())
		if err != nil {
			return err
		}
		secrets = append(secrets, local)
		srv.Checkout = &billing.Simulator{
			Store: a.store, Catalog: cfg.Catalog, BaseURL: cfg.BaseURL, Secret: local,
			WebhookURL: "http://" + a.listener.Addr().String() + "/webhooks/stripe",
			Client:     &http.Client{Timeout: 10 * time.Second}, Now: time.Now,
		}
		srv.Simulator = srv.Checkout.(*billing.Simulator)
		a.log.Warn("billing mode", "mode", "simulated",
			"note", "checkout is SIMULATED: no payment is taken; set STRIPE_SECRET_KEY to use Stripe")
		if cfg.ReconcileEvery > 0 {
			a.log.Warn("reconcile off", "note", "PAYWALL_RECONCILE_EVERY needs STRIPE_SECRET_KEY")
		}
	} else {
		st := newStripe(cfg, opts.stripeHTTP)
		srv.Checkout, srv.Portal = st, st
		applied := a.worker.Applied
		srv.Confirmer = &billing.Confirmer{Stripe: st, Store: a.store, Catalog: cfg.Catalog,
			Now: time.Now, Applied: applied}
		dups := &billing.Duplicates{Stripe: st, Store: a.store, Now: time.Now,
			Log: a.log.With("component", "duplicates"), Cancel: cfg.CancelDuplicates,
			Applied: applied}
		a.worker.Inbox = dups.Watch(st.WatchCatalog(a.worker.Inbox))
		a.stripe = st
		if cfg.WebhookRefetch {
			a.worker.Refetch = st
		}
		mode := "test"
		if live(cfg.StripeSecretKey) {
			mode = "live"
		}
		a.log.Info("billing mode", "mode", "stripe", "stripe_mode", mode, "api_base", apiBase(cfg),
			"webhook_refetch", cfg.WebhookRefetch)
	}
	srv.Verifier = billing.Verifier{Secrets: secrets, Tolerance: cfg.WebhookTolerance,
		Livemode: live(cfg.StripeSecretKey)}
	return nil
}

// live reports whether key is a live-mode Stripe key.
func live(key string) bool {
	return strings.HasPrefix(key, "sk_live_") || strings.HasPrefix(key, "rk_live_")
}

func apiBase(cfg config.Config) string {
	if cfg.StripeAPIBase == "" {
		return "https://api.stripe.com"
	}
	return cfg.StripeAPIBase
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Addr is the address the app listens on.
func (a *App) Addr() string { return a.listener.Addr().String() }

// Run serves requests and runs the workers until ctx ends, then shuts down
// gracefully: requests in flight get ten seconds to finish.
func (a *App) Run(ctx context.Context) error {
	a.log.Info("listening", "addr", a.Addr(), "base_url", a.cfg.BaseURL.String())
	var wg sync.WaitGroup
	workers, stop := context.WithCancel(context.WithoutCancel(ctx))
	wg.Go(func() { a.worker.Run(workers) })
	wg.Go(func() { a.outbox.Run(workers) })
	wg.Go(func() { a.listen(workers) })
	if a.stripe != nil && a.reconcile > 0 {
		wg.Go(func() { a.reconcileEvery(workers, a.reconcile) })
	}

	errc := make(chan error, 1)
	go func() { errc <- a.server.Serve(a.listener) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = a.server.Shutdown(shutdown)
		cancel()
	}
	stop()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close releases the database.
func (a *App) Close() error {
	if a.listener != nil && a.server == nil {
		a.listener.Close()
	}
	return a.store.Close()
}

// listen drops the cache entries of members other replicas changed, for as
// long as ctx lasts, reconnecting after a second when the connection fails.
func (a *App) listen(ctx context.Context) {
	forget := func(member int64) {
		if member == 0 {
			a.web.ForgetAll()
			return
		}
		a.web.Forget(member)
	}
	for {
		err := a.store.Listen(ctx, forget)
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("listen for changes", "error", err, "retry_in", "1s")
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// openMigrated opens the configured database with every migration
// applied, as the commands that read or change its rows need it.
func openMigrated(ctx context.Context, cfg config.Config) (*sqlite.Store, error) {
	store, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// openStore opens the configured database; a failure is one line naming
// the variable, as every configuration error is.
func openStore(cfg config.Config) (*sqlite.Store, error) {
	s, err := sqlite.Open(cfg.DatabasePath)
	if err != nil {
		return nil, fmt.Errorf("PAYWALL_DATABASE_URL: %s: %s", sqlite.Describe(cfg.DatabasePath),
			strings.Join(strings.Fields(err.Error()), " "))
	}
	return s, nil
}
