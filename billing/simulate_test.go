package billing_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v84"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/billing"
)

// dataObject returns data.object of an event payload.
func dataObject(t *testing.T, payload []byte) []byte {
	t.Helper()
	var env struct {
		Data struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		t.Fatal(err)
	}
	return env.Data.Object
}

func TestSimulatedPurchaseEvents(t *testing.T) {
	at := time.Unix(created, 0)
	basic, _ := catalog.Plan("basic")
	price, _ := basic.Price(paywall.Year)
	p := billing.SimulatedPurchase{CheckoutID: "cs_sim_abc123", Email: "ann@example.com",
		Plan: basic, Price: price, At: at}

	want := []struct {
		id, typ string
		change  paywall.Change
	}{
		{"evt_sim_abc123_checkout", "checkout.session.completed", paywall.Change{
			Purchase: &paywall.Purchase{SessionID: "cs_sim_abc123", CustomerID: "cus_sim_abc123",
				SubscriptionID: "sub_sim_abc123", Email: "ann@example.com", Paid: true}}},
		{"evt_sim_abc123_subscription", "customer.subscription.created", paywall.Change{
			Subscription: &paywall.Subscription{ID: "sub_sim_abc123", CustomerID: "cus_sim_abc123",
				Status: paywall.Active, PlanID: "basic", LookupKey: "basic_year",
				PeriodStart: at, PeriodEnd: time.Unix(at.AddDate(1, 0, 0).Unix(), 0),
				Version: created}}},
		{"evt_sim_abc123_invoice", "invoice.paid", paywall.Change{
			Invoice: &paywall.Invoice{ID: "in_sim_abc123", CustomerID: "cus_sim_abc123",
				SubscriptionID: "sub_sim_abc123", Number: "IMABC123-0001", Status: "paid",
				Amount: 5000, Currency: "usd", Created: at, Version: created}}},
	}

	v := billing.Verifier{Secrets: []string{secret}}
	payloads := p.Events()
	if len(payloads) != len(want) {
		t.Fatalf("got %d events, want %d", len(payloads), len(want))
	}
	for i, payload := range payloads {
		t.Run(want[i].typ, func(t *testing.T) {
			now := time.Now()
			e, err := v.Verify(payload, billing.Sign(payload, secret, now), now)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if e.ID != want[i].id || e.Type != want[i].typ || e.APIVersion != stripe.APIVersion {
				t.Errorf("got %s %s %s, want %s %s %s", e.ID, e.Type, e.APIVersion,
					want[i].id, want[i].typ, stripe.APIVersion)
			}
			got, err := billing.Decode(e, dataObject(t, payload), catalog)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !equalChange(got, want[i].change) {
				t.Errorf("got %s, want %s", show(got), show(want[i].change))
			}
		})
	}
}

func TestSimulatedPurchaseMonthly(t *testing.T) {
	at := time.Unix(created, 0)
	pro, _ := catalog.Plan("pro")
	price, _ := pro.Price(paywall.Month)
	p := billing.SimulatedPurchase{CheckoutID: "cs_sim_m", Email: "a@example.com", Plan: pro,
		Price: price, At: at}

	payload := p.Events()[1]
	e := paywall.Event{ID: "evt", Type: "customer.subscription.created", Created: at}
	c, err := billing.Decode(e, dataObject(t, payload), catalog)
	if err != nil {
		t.Fatal(err)
	}
	if want := at.AddDate(0, 1, 0); !c.Subscription.PeriodEnd.Equal(want) {
		t.Errorf("PeriodEnd: got %v, want %v", c.Subscription.PeriodEnd, want)
	}
}

func TestSimulatedPurchaseDeterministic(t *testing.T) {
	basic, _ := catalog.Plan("basic")
	p := billing.SimulatedPurchase{CheckoutID: "cs_sim_1", Email: "ann@example.com", Plan: basic,
		Price: basic.Prices[0], At: time.Unix(created, 0)}

	first, second := p.Events(), p.Events()
	for i := range first {
		if !bytes.Equal(first[i], second[i]) {
			t.Errorf("event %d differs between calls:\n%s\n%s", i, first[i], second[i])
		}
	}

	other := p
	other.CheckoutID = "cs_sim_2"
	if bytes.Equal(p.Events()[0], other.Events()[0]) {
		t.Errorf("two checkouts gave the same checkout event")
	}
}

func TestNewSecret(t *testing.T) {
	a, b := billing.NewSecret(), billing.NewSecret()
	if a == b {
		t.Errorf("two secrets are equal: %q", a)
	}
	payload := eventJSON(stripe.APIVersion, "event")
	now := time.Now()
	if _, err := (billing.Verifier{Secrets: []string{a}}).Verify(payload, billing.Sign(payload, a, now), now); err != nil {
		t.Errorf("a payload signed with a new secret: got %v, want nil", err)
	}
}
