package billing

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v84"

	"github.com/paywall/paywall"
)

func TestStripeError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want paywall.ErrorKind
	}{
		{"network", errors.New("dial tcp: connection refused"), paywall.Unavailable},
		{"5xx", &stripe.Error{HTTPStatusCode: 502, RequestID: "req_1"}, paywall.Unavailable},
		{"rate limited", &stripe.Error{HTTPStatusCode: http.StatusTooManyRequests}, paywall.Unavailable},
		{"4xx", &stripe.Error{HTTPStatusCode: 400, RequestID: "req_2", Msg: "No such price"}, paywall.Upstream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := stripeError("create checkout session", tt.err)
			if got := paywall.KindOf(err); got != tt.want {
				t.Errorf("kind %d, want %d", got, tt.want)
			}
			msg := paywall.MessageOf(err)
			if msg == "" || !errors.Is(err, tt.err) {
				t.Errorf("message %q, wraps cause %t; want a user message and the cause kept", msg,
					errors.Is(err, tt.err))
			}
			var se *stripe.Error
			if errors.As(tt.err, &se) && se.RequestID != "" && !strings.Contains(err.Error(), se.RequestID) {
				t.Errorf("%q does not carry Stripe's request ID %s for the log", err, se.RequestID)
			}
		})
	}
	if stripeError("x", nil) != nil {
		t.Error("stripeError(nil) is not nil")
	}
}

func TestPriceCache(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	fetched := 0
	c := newPriceCache(func(_ context.Context, key string) (string, error) {
		fetched++
		return "price_for_" + key, nil
	}, time.Minute, func() time.Time { return now })
	ctx := context.Background()
	for range 3 {
		if id, _ := c.id(ctx, "basic_month"); id != "price_for_basic_month" {
			t.Fatalf("id %q", id)
		}
	}
	if fetched != 1 {
		t.Errorf("fetched %d times for three look-ups, want 1", fetched)
	}
	now = now.Add(time.Minute)
	c.id(ctx, "basic_month")
	if fetched != 2 {
		t.Errorf("fetched %d times after the TTL, want 2", fetched)
	}
	w := catalogWatch{Inbox: inboxOf{events: []paywall.Event{{Type: "invoice.paid"}}}, prices: c}
	w.DueEvents(ctx, 10)
	c.id(ctx, "basic_month")
	if fetched != 2 {
		t.Errorf("an invoice event emptied the cache")
	}
	w.Inbox = inboxOf{events: []paywall.Event{{Type: "price.updated"}}}
	w.DueEvents(ctx, 10)
	c.id(ctx, "basic_month")
	if fetched != 3 {
		t.Errorf("fetched %d times after a price event, want 3", fetched)
	}
}

// TestPriceCacheListed: a listing does not repeat a failed lookup for
// listFailTTL, while checkout's lookups always ask again.
func TestPriceCacheListed(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	fetched, fail := 0, true
	c := newPriceCache(func(_ context.Context, key string) (string, error) {
		fetched++
		if fail {
			return "", errors.New("no active price")
		}
		return "price_for_" + key, nil
	}, time.Minute, func() time.Time { return now })
	ctx := context.Background()
	for range 3 {
		if _, err := c.listed(ctx, "gold_month"); err == nil {
			t.Fatal("listed a key whose lookup fails")
		}
	}
	if fetched != 1 {
		t.Errorf("three listings looked a failing key up %d times, want 1", fetched)
	}
	c.id(ctx, "gold_month")
	if fetched != 2 {
		t.Errorf("checkout did not ask again after a failed listing: %d lookups, want 2", fetched)
	}
	c.clear() // a price event: the listing asks again at once
	c.listed(ctx, "gold_month")
	if fetched != 3 {
		t.Errorf("listing after a price event: %d lookups, want 3", fetched)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	c.forget("gold_month")
	c.listed(canceled, "gold_month") // fails, but for the client, not Stripe
	c.listed(ctx, "gold_month")
	if fetched != 5 {
		t.Errorf("a lookup given up on by its client was remembered as failed: %d lookups, want 5", fetched)
	}
	now = now.Add(listFailTTL)
	late, stop := context.WithDeadline(ctx, now.Add(-time.Second)) // Stripe too slow
	defer stop()
	c.listed(late, "gold_month")
	c.listed(ctx, "gold_month")
	if fetched != 6 {
		t.Errorf("a lookup that ran out of time was not remembered as failed: %d lookups, want 6", fetched)
	}
	fail = false
	now = now.Add(listFailTTL)
	if id, err := c.listed(ctx, "gold_month"); err != nil || id != "price_for_gold_month" || fetched != 7 {
		t.Errorf("listing after %s: %q, %v, %d lookups; want the price from a seventh lookup",
			listFailTTL, id, err, fetched)
	}
}

type inboxOf struct {
	Inbox
	events []paywall.Event
}

func (i inboxOf) DueEvents(context.Context, int) ([]paywall.Event, error) { return i.events, nil }

// TestHandledEventsDecode: every event the endpoint subscribes to is one the
// server acts on: Decode makes a change of it, or it refreshes the catalog.
func TestHandledEventsDecode(t *testing.T) {
	for _, typ := range HandledEvents {
		if CatalogEvent(typ) {
			continue
		}
		c, err := Decode(paywall.Event{Type: typ, Created: time.Unix(1, 0)},
			[]byte(`{"id":"x","mode":"subscription","customer":"cus_1","email":"a@example.test"}`),
			paywall.Catalog{})
		if err != nil || c.Empty() {
			t.Errorf("%s: change %+v, error %v; subscribing to it would be noise", typ, c, err)
		}
	}
}

// TestReconcileReportsDuplicates: a member Stripe bills through two live
// subscriptions, of one customer or two, is reported, for a person; a
// member with one live and one ended subscription, or an unknown
// customer's subscriptions, are not.
func TestReconcileReportsDuplicates(t *testing.T) {
	sub := func(id, customer string, st paywall.Status) paywall.Subscription {
		return paywall.Subscription{ID: id, CustomerID: customer, Status: st, PlanID: "pro"}
	}
	remote := []paywall.Subscription{
		sub("sub_b2", "cus_b2", paywall.Active), sub("sub_b1", "cus_b1", paywall.PastDue),
		sub("sub_a1", "cus_a", paywall.Active), sub("sub_a0", "cus_a", paywall.Canceled),
		sub("sub_x1", "cus_x", paywall.Active), sub("sub_x2", "cus_x", paywall.Active),
	}
	linked := map[string]int64{"cus_a": 1, "cus_b1": 2, "cus_b2": 2}
	var got []Difference
	for _, d := range compare(remote, remote, linked) {
		if d.Field == "duplicate" {
			got = append(got, d)
		}
	}
	want := []Difference{{Subscription: "sub_b1", Customer: "cus_b1", Field: "duplicate",
		Local: "member 2", Stripe: "2 live subscriptions: sub_b1, sub_b2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("duplicates reported %+v, want %+v", got, want)
	}
}
