package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v84"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/billing"
	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
	"github.com/paywall/paywall/sqlite"
)

// stripeCLI is `paywall stripe …` against stripe-mock, configured without a
// webhook secret, as an operator runs it before the first setup-webhook.
type stripeCLI struct {
	c   *cli
	out *bytes.Buffer
	rec *recorder
	db  string
}

func newStripeCLI(t *testing.T, api, plans string) *stripeCLI {
	t.Helper()
	db := filepath.Join(t.TempDir(), "paywall.db")
	cfg, err := config.Parse(map[string]string{
		"STRIPE_SECRET_KEY":    testKey,
		"STRIPE_API_BASE":      api,
		"PAYWALL_CONFIG":       plans,
		"PAYWALL_DATABASE_URL": "sqlite:" + db,
		"PAYWALL_BASE_URL":     publicOrigin,
	}, site.Plans)
	if err != nil {
		t.Fatal(err)
	}
	out, rec := &bytes.Buffer{}, &recorder{}
	return &stripeCLI{c: &cli{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		stdout: out, stderr: out, stripeHTTP: rec.client()}, out: out, rec: rec, db: db}
}

func (s *stripeCLI) run(t *testing.T, args ...string) string {
	t.Helper()
	s.out.Reset()
	s.rec.reset()
	if err := stripeCommand(context.Background(), s.c, args); err != nil {
		t.Fatalf("paywall stripe %s: %v\n%s", strings.Join(args, " "), err, s.out)
	}
	return s.out.String()
}

func wantLines(t *testing.T, what, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("%s does not print %q:\n%s", what, l, out)
		}
	}
}

// TestSyncPlans runs sync-plans against stripe-mock. stripe-mock holds one
// product (T-shirt) and one price ($20 a month) whatever is asked, so for
// the test plans every lookup key finds that price: each differs, and is
// replaced. The plans file describing stripe-mock's own catalog gives no
// change and sends no write.
func TestSyncPlans(t *testing.T) {
	api := startStripeMock(t)
	s := newStripeCLI(t, api, "testdata/plans.toml")
	const old = "price_1PgafmB7WZ01zgkW6dKueIc5"
	const product = "prod_QXg1hqf4jFNsqG"

	dry := s.run(t, "sync-plans", "--dry-run")
	wantLines(t, "sync-plans --dry-run", dry,
		"would update product basic: "+product+` name "T-shirt" → "Basic"`,
		"would replace price basic_month: "+old+" 20.00 usd/month → new price 5.00 usd/month on "+
			product+", lookup key moved, "+old+" archived",
		"would replace price basic_year: "+old+" 20.00 usd/month → new price 50.00 usd/year",
		"would update portal configuration bpc_1Pgc70B7WZ01zgkWSnFO04Vt: switch plans "+product+
			"("+old+"); cancel at_period_end; payment method update true; invoice history true",
		"nothing changed (dry run)")
	if w := s.rec.writes(); len(w) != 0 {
		t.Errorf("dry run sent %d writes to Stripe, first %s %s", len(w), w[0].method, w[0].path)
	}

	applied := s.run(t, "sync-plans")
	wantLines(t, "sync-plans", applied, "done: replace price pro_month", "changes made.")
	var created []string
	for _, c := range s.rec.find("POST", "/v1/prices") {
		created = append(created, c.form.Get("lookup_key"))
		if c.form.Get("transfer_lookup_key") != "true" || c.form.Get("product") != product ||
			c.form.Get("recurring[interval]") == "" {
			t.Errorf("price created with %v, want the lookup key moved to a recurring price of %s",
				c.form, product)
		}
	}
	if want := []string{"basic_month", "basic_year", "pro_month", "elite_month"}; !slices.Equal(created, want) {
		t.Errorf("prices created for %v, want %v", created, want)
	}
	pro := s.rec.find("POST", "/v1/prices")[2].form
	if pro.Get("unit_amount") != "900" || pro.Get("currency") != "usd" || pro.Get("metadata[plan]") != "pro" {
		t.Errorf("pro_month created as %v, want 900 usd for plan pro", pro)
	}
	if n := len(s.rec.find("POST", "/v1/prices/"+old)); n != 4 {
		t.Errorf("old price archived %d times, want once per replaced price (4)", n)
	}
	for _, c := range s.rec.find("POST", "/v1/prices/"+old) {
		if c.form.Get("active") != "false" {
			t.Errorf("old price updated with %v, want active=false", c.form)
		}
	}
	portal := s.rec.find("POST", "/v1/billing_portal/configurations/bpc_1Pgc70B7WZ01zgkWSnFO04Vt")
	if len(portal) != 1 {
		t.Fatalf("%d portal updates, want 1", len(portal))
	}
	for k, want := range map[string]string{
		"features[subscription_cancel][enabled]":                    "true",
		"features[subscription_cancel][mode]":                       "at_period_end",
		"features[subscription_update][enabled]":                    "true",
		"features[subscription_update][products][0][product]":       product,
		"features[subscription_update][products][0][prices][0]":     old,
		"features[subscription_update][default_allowed_updates][0]": "price",
		"features[payment_method_update][enabled]":                  "true",
		"features[invoice_history][enabled]":                        "true",
	} {
		if got := portal[0].form.Get(k); got != want {
			t.Errorf("portal %s = %q, want %q", k, got, want)
		}
	}

	same := newStripeCLI(t, api, "testdata/plans-as-stripe-mock.toml")
	for range 2 {
		out := same.run(t, "sync-plans")
		wantLines(t, "sync-plans on a matching catalog", out, "no change")
		if w := same.rec.writes(); len(w) != 0 {
			t.Errorf("sync-plans with nothing to change sent %d writes", len(w))
		}
	}
}

// TestSetupWebhook creates the endpoint with the pinned API version and
// exactly the events the server handles.
func TestSetupWebhook(t *testing.T) {
	api := startStripeMock(t)
	s := newStripeCLI(t, api, "testdata/plans.toml")
	out := s.run(t, "setup-webhook", "--url", "https://paywall.example/webhooks/stripe")
	wantLines(t, "setup-webhook", out,
		"created webhook endpoint we_",
		"for https://paywall.example/webhooks/stripe",
		"api version "+stripe.APIVersion+", "+strconv.Itoa(len(billing.HandledEvents))+" events: checkout.session.completed,",
		"STRIPE_WEBHOOK_SECRET")
	calls := s.rec.find("POST", "/v1/webhook_endpoints")
	if len(calls) != 1 {
		t.Fatalf("%d endpoint creations, want 1", len(calls))
	}
	f := calls[0].form
	if f.Get("url") != "https://paywall.example/webhooks/stripe" || f.Get("api_version") != stripe.APIVersion {
		t.Errorf("endpoint created with url %q api_version %q", f.Get("url"), f.Get("api_version"))
	}
	var events []string
	for i := 0; f.Has("enabled_events[" + strconv.Itoa(i) + "]"); i++ {
		events = append(events, f.Get("enabled_events["+strconv.Itoa(i)+"]"))
	}
	if !slices.Equal(events, billing.HandledEvents) {
		t.Errorf("subscribed to %v, want %v", events, billing.HandledEvents)
	}

	for _, args := range [][]string{{"setup-webhook"}, {"setup-webhook", "--url"},
		{"setup-webhook", "--url", "x", "extra"}, {"nonsense"}, {}} {
		if err := stripeCommand(context.Background(), s.c, args); !errors.Is(err, errUsage) {
			t.Errorf("paywall stripe %q: %v, want bad usage", args, err)
		}
	}
	if err := stripeCommand(context.Background(), s.c,
		[]string{"setup-webhook", "--url", "ftp://x"}); err == nil || !strings.Contains(err.Error(), "--url") {
		t.Errorf("setup-webhook with an ftp URL: %v, want an error naming --url", err)
	}
}

// staleStore migrates the database at db and gives it a member owning
// stripe-mock's customer, whose subscription it holds as past_due on elite:
// what reconcile finds differing from Stripe.
func staleStore(t *testing.T, db string) *sqlite.Store {
	t.Helper()
	store, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ApplyChange(ctx, paywall.Change{Purchase: &paywall.Purchase{
		SessionID: "cs_local", CustomerID: mockCustomer, Email: "member@example.test", Paid: true}}); err != nil {
		t.Fatal(err)
	}
	stale := paywall.Subscription{ID: mockSubscription, CustomerID: mockCustomer,
		Status: paywall.PastDue, PlanID: "elite", Version: 1}
	if _, err := store.ApplyChange(ctx, paywall.Change{Subscription: &stale}); err != nil {
		t.Fatal(err)
	}
	return store
}

// TestReconcile makes local state differ from the subscription stripe-mock
// lists, prints the differences without touching anything, then repairs
// them through the event code, after which only what Stripe does not know
// is left, reported.
func TestReconcile(t *testing.T) {
	api := startStripeMock(t)
	s := newStripeCLI(t, api, "testdata/plans.toml")
	store := staleStore(t, s.db)
	ctx := context.Background()
	orphan := paywall.Subscription{ID: "sub_only_here", CustomerID: mockCustomer,
		Status: paywall.Active, PlanID: "basic", Version: 1}
	if _, err := store.ApplyChange(ctx, paywall.Change{Subscription: &orphan}); err != nil {
		t.Fatal(err)
	}
	const sub = mockSubscription

	dry := s.run(t, "reconcile", "--dry-run")
	wantLines(t, "reconcile --dry-run", dry,
		"Stripe lists 1 customers and 1 subscriptions; 5 differences.",
		"SUBSCRIPTION", "FIELD",
		"cancel_at", "2009-02-13 23:31:30", "period_end", "2000-12-08 15:02:53", "elite",
		"past_due", "active",
		"sub_only_here", "missing", "report only",
		"Nothing changed (dry run).")
	if w := s.rec.writes(); len(w) != 0 {
		t.Errorf("reconcile wrote to Stripe: %v", w)
	}
	listed := s.rec.find("GET", "/v1/subscriptions")
	if len(listed) != 1 || listed[0].form.Get("status") != "all" || listed[0].form.Get("limit") != "100" {
		t.Errorf("subscriptions listed with %v, want status=all limit=100", listed)
	}
	if got := localSub(t, store, sub); got.Status != paywall.PastDue {
		t.Fatalf("dry run changed the subscription to %s", got.Status)
	}

	out := s.run(t, "reconcile")
	wantLines(t, "reconcile", out, "Repaired 1 subscriptions")
	got := localSub(t, store, sub)
	if got.Status != paywall.Active || got.PlanID != "" || got.CancelAt.Unix() != 1234567890 {
		t.Errorf("repaired subscription %+v, want Stripe's: active, no plan of ours, cancel at 1234567890", got)
	}
	if o := localSub(t, store, orphan.ID); o.Status != paywall.Active {
		t.Errorf("subscription unknown to Stripe became %s, want it left alone", o.Status)
	}
	again := s.run(t, "reconcile", "--dry-run")
	wantLines(t, "reconcile after repair", again, "1 differences.", "sub_only_here")
	if strings.Contains(again, "past_due") {
		t.Errorf("reconcile still reports the repaired difference:\n%s", again)
	}
}

func localSub(t *testing.T, store *sqlite.Store, id string) paywall.Subscription {
	t.Helper()
	subs, err := store.AllSubscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no local subscription %s", id)
	return paywall.Subscription{}
}
