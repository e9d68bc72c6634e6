package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/account"
	"github.com/paywall/paywall/sqlite"
	"github.com/paywall/paywall/web"
)

// stripeCall is one request stripe-go sent, as the wire carried it.
type stripeCall struct {
	method, path   string
	form           url.Values // the form body of a POST, the query of a GET
	idempotencyKey string
}

// recorder is an http.RoundTripper that remembers every request stripe-go
// sends before passing it on. stripe-mock checks each parameter against
// Stripe's OpenAPI spec but answers with fixtures, so the test reads what
// was asked for here.
type recorder struct {
	mu    sync.Mutex
	calls []stripeCall
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	call := stripeCall{method: req.Method, path: req.URL.Path, form: req.URL.Query(),
		idempotencyKey: req.Header.Get("Idempotency-Key")}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
		if len(body) > 0 {
			if call.form, err = url.ParseQuery(string(body)); err != nil {
				return nil, err
			}
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) client() *http.Client {
	return &http.Client{Transport: r, Timeout: 10 * time.Second}
}

// find returns the calls of method to path.
func (r *recorder) find(method, path string) []stripeCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []stripeCall
	for _, c := range r.calls {
		if c.method == method && c.path == path {
			out = append(out, c)
		}
	}
	return out
}

func (r *recorder) writes() []stripeCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []stripeCall
	for _, c := range r.calls {
		if c.method != http.MethodGet {
			out = append(out, c)
		}
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.calls = nil
	r.mu.Unlock()
}

// billingApp is a Stripe-mode app on the test plans, with its database
// open to the test and the Stripe calls it makes recorded.
type billingApp struct {
	*testApp
	store *sqlite.Store
	rec   *recorder
	api   string
}

func startBillingApp(t *testing.T, api string, vars map[string]string) *billingApp {
	t.Helper()
	db := filepath.Join(t.TempDir(), "paywall.db")
	env := map[string]string{
		"STRIPE_SECRET_KEY":     testKey,
		"STRIPE_WEBHOOK_SECRET": testSecret,
		"STRIPE_API_BASE":       api,
		"PAYWALL_CONFIG":        "testdata/plans.toml",
		"PAYWALL_DATABASE_URL":  "sqlite:" + db,
	}
	for k, v := range vars {
		env[k] = v
	}
	rec := &recorder{}
	app := startApp(t, env, options{stripeHTTP: rec.client()})
	store, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &billingApp{testApp: app, store: store, rec: rec, api: api}
}

// member makes a member through the same code a checkout's webhook runs,
// linked to customer unless it is "", and returns its ID.
func (a *billingApp) member(t *testing.T, email, customer string) int64 {
	t.Helper()
	id, err := a.store.ApplyChange(context.Background(), paywall.Change{Purchase: &paywall.Purchase{
		SessionID: "cs_seed_" + email, CustomerID: customer, Email: email, Paid: true}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (a *billingApp) subscribe(t *testing.T, id, customer string, st paywall.Status, plan string) {
	t.Helper()
	_, err := a.store.ApplyChange(context.Background(), paywall.Change{Subscription: &paywall.Subscription{
		ID: id, CustomerID: customer, Status: st, PlanID: plan, LookupKey: plan + "_month",
		PeriodEnd: time.Now().AddDate(0, 1, 0), Version: time.Now().Unix()}})
	if err != nil {
		t.Fatal(err)
	}
}

// signIn gives c a session for member, through the setup link the member
// would be mailed.
func (a *billingApp) signIn(t *testing.T, c *http.Client, member int64) {
	t.Helper()
	base, _ := url.Parse(publicOrigin)
	acc := account.NewLocal(a.store, base)
	acc.Cost = 4
	link, _, err := acc.NewLink(context.Background(), member, "setup")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	session, err := acc.SetPassword(context.Background(), u.Query().Get("token"), password)
	if err != nil {
		t.Fatal(err)
	}
	c.Jar.SetCookies(base, []*http.Cookie{{Name: web.SessionCookie, Value: session, Path: "/"}})
}

func postJSON(t *testing.T, c *http.Client, path string, v any) response {
	t.Helper()
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest("POST", publicOrigin+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"),
		body: string(body), header: resp.Header}
}

// TestCheckoutParameters asserts, for each rule of who buys what, the form
// stripe-go sent to stripe-mock when creating the Checkout Session.
func TestCheckoutParameters(t *testing.T) {
	api := startStripeMock(t)
	app := startBillingApp(t, api, nil)
	withCustomer := app.member(t, "customer@example.test", "cus_member")
	noCustomer := app.member(t, "granted@example.test", "")

	tests := []struct {
		name      string
		member    int64 // signed in as, or 0
		in        map[string]string
		lookupKey string
		want      map[string]string // "" means the parameter must be absent
	}{
		{name: "signed out, no email, default interval", in: map[string]string{"plan": "basic"},
			lookupKey: "basic_month", want: map[string]string{"metadata[plan]": "basic",
				"subscription_data[metadata][plan]": "basic", "customer_email": "", "customer": "",
				"client_reference_id": "", "allow_promotion_codes": "",
				"subscription_data[trial_period_days]": ""}},
		{name: "signed out, typed email, yearly",
			in:        map[string]string{"plan": "basic", "interval": "year", "email": "new@example.test"},
			lookupKey: "basic_year", want: map[string]string{"customer_email": "new@example.test",
				"customer": "", "client_reference_id": ""}},
		{name: "trial days and promotion codes", in: map[string]string{"plan": "pro", "interval": "month"},
			lookupKey: "pro_month", want: map[string]string{"metadata[plan]": "pro",
				"subscription_data[metadata][plan]": "pro", "allow_promotion_codes": "true",
				"subscription_data[trial_period_days]": "14"}},
		{name: "signed in with a Stripe customer", member: withCustomer,
			in:        map[string]string{"plan": "elite", "email": "typed@example.test"},
			lookupKey: "elite_month", want: map[string]string{"customer": "cus_member",
				"customer_email": "", "client_reference_id": strconv.FormatInt(withCustomer, 10)}},
		{name: "signed in without a Stripe customer", member: noCustomer,
			in:        map[string]string{"plan": "elite"},
			lookupKey: "elite_month", want: map[string]string{"customer": "",
				"customer_email":      "granted@example.test",
				"client_reference_id": strconv.FormatInt(noCustomer, 10)}},
	}
	keys := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := app.client(t)
			if tt.member != 0 {
				app.signIn(t, c, tt.member)
			}
			app.rec.reset()
			r := postJSON(t, c, "/api/checkout", tt.in)
			wantStatus(t, "checkout", r, http.StatusOK)
			var sess paywall.CheckoutSession
			if err := json.Unmarshal([]byte(r.body), &sess); err != nil || sess.ID == "" ||
				!strings.HasPrefix(sess.URL, "https://checkout.stripe.com/") {
				t.Fatalf("answer %s is not a Checkout Session (%v)", r.body, err)
			}
			calls := app.rec.find("POST", "/v1/checkout/sessions")
			if len(calls) != 1 {
				t.Fatalf("%d session creations, want 1", len(calls))
			}
			got := calls[0]
			base := map[string]string{
				"mode":                    "subscription",
				"line_items[0][price]":    "price_1PgafmB7WZ01zgkW6dKueIc5", // stripe-mock's price
				"line_items[0][quantity]": "1",
				"success_url":             publicOrigin + "/checkout/success?session_id={CHECKOUT_SESSION_ID}",
				"cancel_url":              publicOrigin + "/pricing/",
			}
			for k, v := range tt.want {
				base[k] = v
			}
			for k, want := range base {
				if _, present := got.form[k]; want == "" && present {
					t.Errorf("%s = %q, want it absent", k, got.form.Get(k))
				} else if g := got.form.Get(k); want != "" && g != want {
					t.Errorf("%s = %q, want %q", k, g, want)
				}
			}
			if !strings.HasPrefix(got.idempotencyKey, "checkout_") || keys[got.idempotencyKey] {
				t.Errorf("idempotency key %q is not a fresh checkout_ key", got.idempotencyKey)
			}
			keys[got.idempotencyKey] = true
			if tt.lookupKey != "" {
				for _, pc := range app.rec.find("GET", "/v1/prices") {
					if k := pc.form.Get("lookup_keys[0]"); k != tt.lookupKey {
						t.Errorf("price looked up by %q, want %q", k, tt.lookupKey)
					}
				}
			}
		})
	}
}

// TestCheckoutPriceCache: a lookup key's price is fetched once, and fetched
// again after a price or product event.
func TestCheckoutPriceCache(t *testing.T) {
	api := startStripeMock(t)
	app := startBillingApp(t, api, nil)
	c := app.client(t)
	for range 2 {
		wantStatus(t, "checkout", postJSON(t, c, "/api/checkout", map[string]string{"plan": "basic"}),
			http.StatusOK)
	}
	if n := len(app.rec.find("GET", "/v1/prices")); n != 1 {
		t.Fatalf("two checkouts looked the price up %d times, want once", n)
	}

	price := fixture(t, api, "/v1/prices/price_1PgafmB7WZ01zgkW6dKueIc5")
	payload, header := signedEvent(t, "evt_price_updated", "price.updated", price)
	wantStatus(t, "price event", postEvent(t, c, payload, header), http.StatusOK)
	deadline := time.Now().Add(10 * time.Second)
	for len(app.logs.records("event ignored")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	wantStatus(t, "checkout after the event",
		postJSON(t, c, "/api/checkout", map[string]string{"plan": "basic"}), http.StatusOK)
	if n := len(app.rec.find("GET", "/v1/prices")); n != 2 {
		t.Errorf("price looked up %d times after a price.updated event, want 2", n)
	}
}

// TestOneLiveSubscription: a member with a live subscription is sent to the
// Customer Portal instead of a second checkout; a stranger typing that
// member's address learns nothing but that it cannot start one.
func TestOneLiveSubscription(t *testing.T) {
	api := startStripeMock(t)
	app := startBillingApp(t, api, nil)
	live := app.member(t, "live@example.test", "cus_live")
	app.subscribe(t, "sub_live", "cus_live", paywall.PastDue, "basic")
	lapsed := app.member(t, "lapsed@example.test", "cus_lapsed")
	app.subscribe(t, "sub_lapsed", "cus_lapsed", paywall.Canceled, "basic")

	c := app.client(t)
	app.signIn(t, c, live)
	r := postJSON(t, c, "/api/checkout", map[string]string{"plan": "pro"})
	wantStatus(t, "live member, JSON", r, http.StatusConflict)
	var got map[string]string
	json.Unmarshal([]byte(r.body), &got)
	if !strings.Contains(got["portal_url"], "customer_portal") {
		t.Errorf("409 portal_url %q, want a Customer Portal session", got["portal_url"])
	}
	portal := app.rec.find("POST", "/v1/billing_portal/sessions")
	if len(portal) != 1 || portal[0].form.Get("customer") != "cus_live" ||
		portal[0].form.Get("return_url") != publicOrigin+"/account" {
		t.Errorf("portal sessions %+v, want one for cus_live returning to /account", portal)
	}
	form := do(t, c, "POST", "/api/checkout", url.Values{"plan": {"pro"}})
	wantStatus(t, "live member, form", form, http.StatusSeeOther)
	if !strings.Contains(form.location, "customer_portal") {
		t.Errorf("form redirects to %q, want the portal", form.location)
	}

	anon := app.client(t)
	taken := postJSON(t, anon, "/api/checkout", map[string]string{"plan": "pro", "email": "live@example.test"})
	wantStatus(t, "stranger with a member's email", taken, http.StatusConflict)
	for _, secret := range []string{"Basic", "basic", "past_due", "portal", "billing.stripe.com"} {
		if strings.Contains(taken.body, secret) {
			t.Errorf("409 for a typed email reveals %q: %s", secret, taken.body)
		}
	}
	if n := len(app.rec.find("POST", "/v1/checkout/sessions")); n != 0 {
		t.Errorf("%d checkout sessions created for members with a live subscription", n)
	}

	c2 := app.client(t)
	app.signIn(t, c2, lapsed)
	wantStatus(t, "lapsed member", postJSON(t, c2, "/api/checkout", map[string]string{"plan": "pro"}),
		http.StatusOK)
	wantStatus(t, "lapsed member's email typed",
		postJSON(t, anon, "/api/checkout", map[string]string{"plan": "pro", "email": "lapsed@example.test"}),
		http.StatusOK)
}

// rowCounts counts the rows of every table a checkout could write to.
func rowCounts(t *testing.T, store *sqlite.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"members", "customers", "subscriptions", "invoices", "checkouts",
		"events", "sessions", "links", "outbox", "simulated_checkouts", "settings"} {
		n, err := store.CountRows(context.Background(), table)
		if err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// TestCheckoutStripeDown: with stripe-mock stopped, a checkout answers 503
// in the client's format after stripe-go's two retries under one
// idempotency key, and leaves no row behind.
func TestCheckoutStripeDown(t *testing.T) {
	api, stop := runStripeMock(t)
	app := startBillingApp(t, api, nil)
	c := app.client(t)
	wantStatus(t, "checkout while up", postJSON(t, c, "/api/checkout", map[string]string{"plan": "basic"}),
		http.StatusOK)
	stop()
	app.rec.reset()
	before := rowCounts(t, app.store)

	r := postJSON(t, c, "/api/checkout", map[string]string{"plan": "basic", "email": "x@example.test"})
	wantStatus(t, "JSON checkout while down", r, http.StatusServiceUnavailable)
	var got map[string]string
	if json.Unmarshal([]byte(r.body), &got); !strings.Contains(got["error"], "unavailable") ||
		got["request_id"] == "" {
		t.Errorf("503 body %s, want an unavailable message and a request ID", r.body)
	}
	tries := app.rec.find("POST", "/v1/checkout/sessions")
	if len(tries) != 3 {
		t.Errorf("%d attempts, want 1 and 2 retries", len(tries))
	}
	for _, try := range tries {
		if try.idempotencyKey == "" || try.idempotencyKey != tries[0].idempotencyKey {
			t.Errorf("retry with idempotency key %q, want %q", try.idempotencyKey, tries[0].idempotencyKey)
		}
	}
	f := do(t, c, "POST", "/api/checkout", url.Values{"plan": {"pro"}})
	wantStatus(t, "form checkout while down", f, http.StatusServiceUnavailable)
	if !strings.Contains(f.body, "Payments are unavailable") || !strings.Contains(f.header.Get("Content-Type"), "text/html") {
		t.Errorf("form 503 is not the HTML page saying payments are unavailable")
	}
	if after := rowCounts(t, app.store); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("rows after failed checkouts %v, before %v", after, before)
	}
}
