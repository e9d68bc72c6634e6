package main

import (
	"bytes"
	"context"
	"database/sql"
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
	"github.com/paywall/paywall/billing"
	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
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
	// edit, when set, may change stripe-mock's answer to a call before
	// stripe-go reads it. stripe-mock is stateless and answers with fixtures,
	// so a state its fixture never has (a paid session, a payment naming its
	// PaymentIntent, a refusal) is the test's input, set here and decoded by
	// the real stripe-go.
	edit func(call stripeCall, resp *http.Response) error
}

// answer sets how the recorder edits stripe-mock's answers.
func (r *recorder) answer(edit func(call stripeCall, resp *http.Response) error) {
	r.mu.Lock()
	r.edit = edit
	r.mu.Unlock()
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
	edit := r.edit
	r.mu.Unlock()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || edit == nil {
		return resp, err
	}
	if err := edit(call, resp); err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("edit answer to %s %s: %w", call.method, call.path, err)
	}
	return resp, nil
}

// editJSON changes the JSON object resp carries with change.
func editJSON(resp *http.Response, change func(obj map[string]any)) error {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return err
	}
	change(obj)
	if body, err = json.Marshal(obj); err != nil {
		return err
	}
	setBody(resp, body)
	return nil
}

func setBody(resp *http.Response, body []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
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
	db    string
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
		// stripe-mock answers every subscription read with one fixture of
		// another customer: reading events' objects back would replace ours.
		"PAYWALL_WEBHOOK_REFETCH": "false",
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
	return &billingApp{testApp: app, store: store, db: db, rec: rec, api: api}
}

// member makes a member through the same code a checkout's webhook runs,
// linked to customer unless it is "", and returns its ID.
// cfgCatalog is the catalog of the test plans, as the app loaded it.
func (a *billingApp) cfgCatalog(t *testing.T) paywall.Catalog {
	t.Helper()
	cfg, err := config.Parse(map[string]string{"PAYWALL_CONFIG": "testdata/plans.toml"}, site.Plans)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Catalog
}

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
	link, _, err := acc.NewLink(context.Background(), member, "setup", "")
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
	// The address's owner, and only they, get a way in: a link by mail.
	if _, link := app.waitForMail(t, "live@example.test"); !strings.Contains(link, "/login/link?token=") &&
		!strings.Contains(link, "/account/setup?token=") {
		t.Errorf("mail to the member's address carries %q, want a sign-in link", link)
	}

	c2 := app.client(t)
	app.signIn(t, c2, lapsed)
	wantStatus(t, "lapsed member", postJSON(t, c2, "/api/checkout", map[string]string{"plan": "pro"}),
		http.StatusOK)
	wantStatus(t, "lapsed member's email typed",
		postJSON(t, anon, "/api/checkout", map[string]string{"plan": "pro", "email": "lapsed@example.test"}),
		http.StatusOK)
}

// rowCounts counts the rows of every table of the app's database.
func (a *billingApp) rowCounts(t *testing.T) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+a.db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]int{}
	for _, table := range []string{"members", "customers", "subscriptions", "invoices", "checkouts",
		"events", "sessions", "links", "outbox", "simulated_checkouts", "settings"} {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
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
	before := app.rowCounts(t)

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
	if after := app.rowCounts(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("rows after failed checkouts %v, before %v", after, before)
	}
}

// TestSuccessPageConfirms: the success page asks Stripe about a checkout
// whose webhook has not arrived. stripe-mock's session is open, so nothing
// is applied and the buyer is told so.
func TestSuccessPageConfirms(t *testing.T) {
	api := startStripeMock(t)
	app := startBillingApp(t, api, nil)
	c := app.client(t)
	before := app.rowCounts(t)
	r := do(t, c, "GET", "/checkout/success?session_id=cs_test_open", nil)
	wantStatus(t, "success page", r, http.StatusOK)
	if !strings.Contains(r.body, "not completed") {
		t.Errorf("success page for an open session does not say it was not completed:\n%.400s", r.body)
	}
	calls := app.rec.find("GET", "/v1/checkout/sessions/cs_test_open")
	if len(calls) != 1 || calls[0].form.Get("expand[0]") != "subscription" {
		t.Errorf("session fetched %v, want once with its subscription expanded", calls)
	}
	if after := app.rowCounts(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("rows %v after an open session, before %v", after, before)
	}
	for _, bad := range []string{"", "../../v1/customers", "cs_a/b", "pi_123"} {
		r := do(t, c, "GET", "/checkout/success?session_id="+url.QueryEscape(bad), nil)
		wantStatus(t, "session_id "+bad, r, http.StatusBadRequest)
	}
	if n := len(app.rec.find("GET", "/v1/checkout/sessions/cs_a/b")); n != 0 {
		t.Errorf("a malformed session ID reached Stripe")
	}
}

// TestConfirmedCheckoutIsTheWebhooks: a paid session read from Stripe (the
// success page's path) applies what its webhook applies, and either order,
// or both twice, leaves one member, one subscription and one setup mail.
func TestConfirmedCheckoutIsTheWebhooks(t *testing.T) {
	api := startStripeMock(t)
	app := startBillingApp(t, api, nil)
	c := app.client(t)

	session := fixture(t, api, "/v1/checkout/sessions/cs_paid")
	sub := fixture(t, api, "/v1/subscriptions/sub_paid")
	sub["id"], sub["customer"], sub["status"] = "sub_paid", "cus_paid", "active"
	sub["cancel_at"], sub["cancel_at_period_end"] = nil, false
	item := sub["items"].(map[string]any)["data"].([]any)[0].(map[string]any)
	item["price"].(map[string]any)["lookup_key"] = "elite_month"
	item["current_period_end"] = time.Now().AddDate(0, 1, 0).Unix()
	session["id"], session["mode"], session["status"] = "cs_paid", "subscription", "complete"
	session["payment_status"], session["customer"], session["subscription"] = "paid", "cus_paid", sub
	session["customer_details"] = map[string]any{"email": buyer}
	raw, _ := json.Marshal(session)

	change, err := billing.SessionChange(raw, app.cfgCatalog(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if change.Purchase == nil || change.Purchase.Email != buyer || change.Subscription == nil ||
		change.Subscription.PlanID != "elite" {
		t.Fatalf("change %+v, want the purchase by %s and the elite subscription", change, buyer)
	}
	ctx := context.Background()
	member, err := app.store.ApplyChange(ctx, change)
	if err != nil || member == 0 {
		t.Fatalf("apply: member %d, %v", member, err)
	}
	once := app.rowCounts(t)
	if _, err := app.store.ApplyChange(ctx, change); err != nil {
		t.Fatal(err)
	}
	if again := app.rowCounts(t); fmt.Sprint(again) != fmt.Sprint(once) {
		t.Errorf("applying the same session twice: rows %v, then %v", once, again)
	}

	// The webhook arrives afterwards, carrying the same session.
	session["subscription"] = "sub_paid"
	payload, header := signedEvent(t, "evt_paid_checkout", "checkout.session.completed", session)
	wantStatus(t, "webhook", postEvent(t, c, payload, header), http.StatusOK)
	deadline := time.Now().Add(10 * time.Second)
	for len(app.logs.records("event processed")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	app.waitForMail(t, buyer)
	after := app.rowCounts(t)
	once["events"]++
	once["links"] = 1 // the setup mail's link, made when the outbox sent it
	if fmt.Sprint(after) != fmt.Sprint(once) {
		t.Errorf("after the webhook rows %v, want %v (only the event added)", after, once)
	}
	r := do(t, c, "GET", "/checkout/success?session_id=cs_paid", nil)
	if !strings.Contains(r.body, "We sent a link to "+buyer) {
		t.Errorf("success page does not say where the setup link went:\n%.400s", r.body)
	}
	if n := len(app.rec.find("GET", "/v1/checkout/sessions/cs_paid")); n != 0 {
		t.Errorf("success page asked Stripe about a checkout it knows")
	}
	if n := len(app.logs.records("mail sent")); n != 1 {
		t.Errorf("%d mails, want one setup mail", n)
	}
}
