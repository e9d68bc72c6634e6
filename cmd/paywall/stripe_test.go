package main

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v84"

	"github.com/paywall/paywall/billing"
	"github.com/paywall/paywall/internal/stripemock"
)

const (
	testKey    = "sk_test_paywall"
	testSecret = "whsec_paywall_e2e_secret"
)

// stripe-mock's fixtures: the buyer's address of its Checkout Session, its
// one customer and that customer's one subscription (active, set to cancel).
const (
	mockBuyer        = "example@example.com"
	mockCustomer     = "cus_QXg1o8vcGmoR32"
	mockSubscription = "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw"
)

// missing skips a test that needs a component the machine lacks, except
// under CI=true, where a missing component is a failure.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// startStripeMock runs stripe-mock on loopback ports and returns its HTTP
// origin.
func startStripeMock(t *testing.T) string {
	t.Helper()
	origin, _ := runStripeMock(t)
	return origin
}

// runStripeMock is startStripeMock that also returns a function stopping
// stripe-mock before the test ends.
func runStripeMock(t *testing.T) (origin string, stop func()) {
	t.Helper()
	s, err := stripemock.Start()
	if errors.Is(err, stripemock.ErrUnavailable) {
		missing(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s.URL, s.Stop
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// fixture fetches one of stripe-mock's own fixture objects, the shape the
// real API returns at the pinned version.
func fixture(t *testing.T, api, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", api+path, nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var obj map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&obj); err != nil || resp.StatusCode != 200 {
		t.Fatalf("fixture %s: status %d, %v", path, resp.StatusCode, err)
	}
	return obj
}

// signedEvent wraps object in an event envelope and signs it as Stripe
// would sign it for the endpoint secret.
func signedEvent(t *testing.T, id, typ string, object map[string]any) (payload []byte, header string) {
	t.Helper()
	now := time.Now()
	payload, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": stripe.APIVersion, "created": now.Unix(),
		"type": typ, "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": object},
	})
	if err != nil {
		t.Fatal(err)
	}
	return payload, billing.Sign(payload, testSecret, now)
}

func postEvent(t *testing.T, c *http.Client, payload []byte, header string) response {
	t.Helper()
	req, _ := http.NewRequest("POST", publicOrigin+"/webhooks/stripe", strings.NewReader(string(payload)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", header)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: string(b)}
}

// TestJourneyStripe walks the journey in Stripe mode: checkout goes to
// stripe-mock, which validates every parameter, and the test plays Stripe's
// part afterwards by sending the signed events, made from stripe-mock's own
// fixtures, in an order Stripe may well use: the checkout last.
func TestJourneyStripe(t *testing.T) {
	api := startStripeMock(t)
	app := startApp(t, map[string]string{
		"STRIPE_SECRET_KEY":     testKey,
		"STRIPE_WEBHOOK_SECRET": testSecret,
		"STRIPE_API_BASE":       api,
		// stripe-mock is stateless: reading a subscription back returns its
		// fixture, not the one this test's events describe.
		"PAYWALL_WEBHOOK_REFETCH": "false",
	})
	c := app.client(t)

	r := do(t, c, "POST", "/api/checkout", url.Values{"plan": {"elite"}, "email": {buyer}})
	wantStatus(t, "checkout", r, http.StatusSeeOther)
	if !strings.HasPrefix(r.location, "https://checkout.stripe.com/") {
		t.Fatalf("checkout redirects to %q, want Stripe Checkout", r.location)
	}
	if n := len(app.logs.records("mail sent")); n != 0 {
		t.Fatalf("%d mails before payment, want none", n)
	}

	customer, sub := "cus_e2e", "sub_e2e"
	session := fixture(t, api, "/v1/checkout/sessions/cs_e2e")
	session["id"], session["mode"], session["payment_status"] = "cs_e2e", "subscription", "paid"
	session["customer"], session["subscription"] = customer, sub
	session["customer_details"] = map[string]any{"email": buyer}

	subscription := fixture(t, api, "/v1/subscriptions/"+sub)
	// The fixture is a subscription that ended in 2009; make it a new one.
	subscription["id"], subscription["customer"], subscription["status"] = sub, customer, "active"
	subscription["cancel_at"], subscription["cancel_at_period_end"] = nil, false
	subscription["canceled_at"], subscription["ended_at"] = nil, nil
	items := subscription["items"].(map[string]any)["data"].([]any)
	item := items[0].(map[string]any)
	item["price"].(map[string]any)["lookup_key"] = "elite_month"
	item["current_period_end"] = time.Now().AddDate(0, 1, 0).Unix()

	invoice := fixture(t, api, "/v1/invoices/in_e2e")
	invoice["id"], invoice["customer"], invoice["status"] = "in_e2e", customer, "paid"
	invoice["number"], invoice["amount_paid"] = "E2E-0001", 1900
	invoice["parent"] = map[string]any{"type": "subscription_details",
		"subscription_details": map[string]any{"subscription": sub}}

	for _, ev := range []struct {
		id, typ string
		obj     map[string]any
	}{
		{"evt_e2e_sub", "customer.subscription.created", subscription},
		{"evt_e2e_invoice", "invoice.paid", invoice},
		{"evt_e2e_checkout", "checkout.session.completed", session},
	} {
		payload, header := signedEvent(t, ev.id, ev.typ, ev.obj)
		got := postEvent(t, c, payload, header)
		wantStatus(t, ev.typ, got, http.StatusOK)
		// Stripe retries what it thinks failed: the same event again.
		wantStatus(t, ev.typ+" again", postEvent(t, c, payload, header), http.StatusOK)
	}
	bad, _ := signedEvent(t, "evt_forged", "checkout.session.completed", session)
	forged := postEvent(t, c, bad, billing.Sign(bad, "whsec_not_ours", time.Now()))
	wantStatus(t, "forged event", forged, http.StatusBadRequest)

	walkFromSetupMail(t, app, c)
	account := do(t, c, "GET", "/account", nil)
	if !strings.Contains(account.body, "E2E-0001") || !strings.Contains(account.body, "$19") {
		t.Errorf("dashboard does not list the paid invoice E2E-0001 of $19")
	}
	if n := len(app.logs.records("mail sent")); n != 1 {
		t.Errorf("%d mails sent, want one setup mail", n)
	}
}
