// Package web is paywall's HTTP face: the route table, the handlers for
// checkout, webhooks, accounts and the JSON API, and the catch-all that
// puts the content guard in front of every file of the site.
package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/paywall/paywall"
)

// Accounts is the identity provider: passwords, single-use links and
// sessions. The handlers know it only through this interface, so that
// another provider can take the local one's place. Errors carry a
// paywall.ErrorKind: NotFound for a link that is used, expired or unknown;
// Unauthorized for wrong credentials or no session; Invalid for a password
// the provider refuses; Conflict for an address another account holds.
type Accounts interface {
	// LinkMember returns the member a valid link of purpose is for, without
	// using the link.
	LinkMember(ctx context.Context, token, purpose string) (paywall.Member, error)
	SetPassword(ctx context.Context, token, password string) (session string, err error)
	SignIn(ctx context.Context, email, password string) (session string, err error)
	// RequestLink mails a sign-in link to email if it has an account, and
	// answers the same if it has none.
	RequestLink(ctx context.Context, email string) error
	SignInWithLink(ctx context.Context, token string) (session string, err error)
	RequestEmailChange(ctx context.Context, member int64, email string) error
	ChangeEmail(ctx context.Context, token string) (member int64, err error)
	// Session returns the member of a session and when it ends unless used.
	Session(ctx context.Context, token string) (paywall.Member, time.Time, error)
	SignOut(ctx context.Context, token string) error
	SignOutEverywhere(ctx context.Context, member int64) error
}

// Store is what handlers read and write directly.
type Store interface {
	Ping(ctx context.Context) error
	SaveEvent(ctx context.Context, e paywall.Event) (bool, error)
	Subscriptions(ctx context.Context, member int64) ([]paywall.Subscription, error)
	// Grants returns the member's grants that give access now.
	Grants(ctx context.Context, member int64) ([]paywall.Grant, error)
	Invoices(ctx context.Context, member int64) ([]paywall.Invoice, error)
	CustomerIDs(ctx context.Context, member int64) ([]string, error)
	CheckoutEmail(ctx context.Context, sessionID string) (email string, paid, found bool, err error)
	MemberByEmail(ctx context.Context, email string) (paywall.Member, error)
}

// Checkout starts purchases: Stripe Checkout, or the simulator.
type Checkout interface {
	StartCheckout(ctx context.Context, r paywall.CheckoutRequest) (paywall.CheckoutSession, error)
}

// Simulator completes simulated orders; nil when a Stripe key is set.
type Simulator interface {
	SimulatedCheckout(ctx context.Context, id string) (paywall.SimulatedCheckout, error)
	Complete(ctx context.Context, id, email string) (paywall.SimulatedCheckout, error)
}

// Portal opens Stripe's Customer Portal; nil in simulated mode.
type Portal interface {
	PortalURL(ctx context.Context, customer string) (string, error)
}

// Confirmer settles a checkout from Stripe's own record of it when its webhook
// has not arrived yet, applying what the webhook would; nil in simulated mode.
type Confirmer interface {
	ConfirmCheckout(ctx context.Context, sessionID string) (paywall.CheckoutStatus, error)
}

// Verifier checks a webhook's signature and returns the event it carries.
type Verifier interface {
	Verify(payload []byte, header string, now time.Time) (paywall.Event, error)
}

// Site resolves request paths to files of the built site and serves them.
type Site interface {
	Resolve(urlPath string) paywall.Target
	Serve(w http.ResponseWriter, r *http.Request, t paywall.Target) error
	NotFoundPage() ([]byte, bool)
}

// Server holds what the handlers need. Every field must be set except
// Simulator, or Portal and Confirmer, which are nil depending on the billing
// mode.
type Server struct {
	Log       *slog.Logger
	BaseURL   *url.URL
	Catalog   paywall.Catalog
	Accounts  Accounts
	Store     Store
	Checkout  Checkout
	Simulator Simulator
	Portal    Portal
	Confirmer Confirmer
	Verifier  Verifier
	Site      Site
	// Received is called after a webhook event was stored, to wake the worker.
	Received func()
	// Queued is called after a mail was written to the outbox, to wake it.
	Queued  func()
	Now     func() time.Time
	Metrics *prometheus.Registry
	// Limits are the request rates allowed per client address and per email;
	// the zero value means DefaultLimits.
	Limits Limits
	// Buckets, when set, holds the rate limits' buckets for every replica;
	// nil counts them in this process.
	Buckets Buckets
	// TrustedProxies are the peers whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	// SessionMax is the session cookie's lifetime, the sessions' absolute
	// expiry; 0 makes it a browser-session cookie.
	SessionMax time.Duration
	// CacheTTL bounds how long a session and its access are served from
	// memory; 0 means DefaultCacheTTL.
	CacheTTL time.Duration
	// Policy is the configurable part of the access decision.
	Policy paywall.Policy

	metrics  metrics
	cache    *readerCache
	limiters limiters
	routes   *http.ServeMux
}

// MaxWebhookBody is the largest webhook body accepted. Stripe's events are
// far smaller; a larger body is refused before it is read in full.
const MaxWebhookBody = 1 << 20

// Handler returns the route table wrapped in its middleware.
func (s *Server) Handler() http.Handler {
	s.metrics = newMetrics(s.Metrics)
	s.cache = newReaderCache(s.CacheTTL)
	s.limiters = newLimiters(s.Limits)
	csrf := http.NewCrossOriginProtection()
	mux := http.NewServeMux()
	s.routes = mux
	route := func(pattern string, h handlerFunc) { mux.Handle(pattern, s.adapt(h)) }
	// State-changing routes a browser posts to are refused cross-origin.
	form := func(pattern string, h handlerFunc) { mux.Handle(pattern, csrf.Handler(s.adapt(h))) }

	route("GET /healthz", s.healthz)
	route("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics, promhttp.HandlerOpts{}))
	route("GET /api/plans", s.plans)
	route("GET /api/me", s.me)
	route("GET /auth/check", s.authCheck)

	form("POST /api/checkout", s.limited(checkoutLimit, s.startCheckout))
	form("POST /api/create-checkout-session", s.limited(checkoutLimit, s.startCheckout))
	route("GET /checkout/success", s.checkoutSuccess)
	route("GET /checkout/simulated/{id}", s.simulatedPage)
	form("POST /checkout/simulated/{id}", s.simulatedComplete)

	route("GET /login", s.loginPage)
	form("POST /login", s.limited(signInLimit, s.login))
	form("POST /logout", s.logout)
	route("GET /login/link", s.linkPage)
	form("POST /login/link", s.limited(linkLimit, s.link))
	route("GET /account/setup", s.setupPage)
	form("POST /account/setup", s.limited(setupLimit, s.setup))
	route("GET /account", s.account)
	form("POST /account/portal", s.portal)
	form("POST /account/sessions/end", s.signOutEverywhere)
	form("POST /account/email", s.limited(linkLimit, s.requestEmailChange))
	route("GET /account/email", s.emailChangePage)
	form("POST /account/email/confirm", s.limited(setupLimit, s.confirmEmailChange))

	route("/", s.site)
	return s.requestID(s.recoverPanics(s.webhooksFirst(mux)))
}

// webhooksFirst answers the webhook paths before the route table sees them.
// Stripe never follows redirects, and ServeMux redirects unclean paths
// (/webhooks/stripe//), so every spelling is answered in place; any method
// other than POST gets 405 rather than the site's 404.
func (s *Server) webhooksFirst(next http.Handler) http.Handler {
	webhook := s.adapt(s.webhook)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch strings.TrimSuffix(path.Clean("/"+r.URL.Path), "/") {
		case "/webhooks/stripe", "/api/stripe-webhook":
			webhook.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// allowed lists, for a 405, the methods the route table answers at r's
// path: a dynamic route's own methods, or GET and HEAD for the site.
func (s *Server) allowed(r *http.Request) string {
	var methods []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
		probe := *r
		probe.Method = m
		if _, pattern := s.routes.Handler(&probe); pattern != "" && pattern != "/" {
			methods = append(methods, m)
		}
	}
	if len(methods) == 0 {
		return "GET, HEAD"
	}
	return strings.Join(methods, ", ")
}

// NewHTTPServer returns an http.Server for h with every timeout set: a slow
// client can hold a connection only so long.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	io.WriteString(w, "ok\n")
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.Log.Warn("database not ready", "error", err)
		http.Error(w, "database unavailable\n", http.StatusServiceUnavailable)
		return nil
	}
	io.WriteString(w, "ok\n")
	return nil
}

type metrics struct {
	webhooks  *prometheus.CounterVec
	decisions *prometheus.CounterVec
	checkouts *prometheus.CounterVec
	limited   prometheus.Counter
	sessions  *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) metrics {
	m := metrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paywall_webhook_requests_total",
			Help: "Webhook deliveries by result (stored, duplicate, bad_signature, too_large, unavailable).",
		}, []string{"result"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paywall_guard_decisions_total",
			Help: "Guard decisions on gated files by outcome (allow, sign_in, upgrade).",
		}, []string{"decision"}),
		checkouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paywall_checkouts_started_total",
			Help: "Checkouts started, by plan.",
		}, []string{"plan"}),
	}
	m.limited = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "paywall_rate_limited_total",
		Help: "Requests refused with 429 by the rate limits.",
	})
	m.sessions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paywall_session_lookups_total",
		Help: "Session lookups by where they were answered (cache, database).",
	}, []string{"source"})
	reg.MustRegister(m.webhooks, m.decisions, m.checkouts, m.limited, m.sessions)
	return m
}
