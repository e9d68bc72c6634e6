package billing_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/billing"
)

var catalog = paywall.Catalog{Plans: []paywall.Plan{
	{ID: "basic", Prices: []paywall.Price{
		{Interval: paywall.Month, LookupKey: "basic_month", Amount: 500, Currency: "usd"},
		{Interval: paywall.Year, LookupKey: "basic_year", Amount: 5000, Currency: "usd"},
	}},
	{ID: "pro", Prices: []paywall.Price{
		{Interval: paywall.Month, LookupKey: "pro_month", Amount: 900, Currency: "usd"},
	}},
	{ID: "elite", Prices: []paywall.Price{
		{Interval: paywall.Month, LookupKey: "elite_month", Amount: 1900, Currency: "usd"},
	}},
}}

const (
	created   = 1_750_000_000 // the event's time, and so the version
	periodEnd = 1_752_592_000
	cancelAt  = 1_751_000_000
)

// show prints a change with its pointers followed, for failure messages.
func show(c paywall.Change) string {
	s := "{"
	if c.Purchase != nil {
		s += fmt.Sprintf("Purchase:%+v ", *c.Purchase)
	}
	if c.Subscription != nil {
		s += fmt.Sprintf("Subscription:%+v ", *c.Subscription)
	}
	if c.Invoice != nil {
		s += fmt.Sprintf("Invoice:%+v", *c.Invoice)
	}
	return s + "}"
}

func equalChange(a, b paywall.Change) bool { return reflect.DeepEqual(a, b) }

func TestDecodeCheckout(t *testing.T) {
	tests := []struct {
		name   string
		typ    string
		object string
		want   *paywall.Purchase // nil: an empty change
	}{
		{
			name: "email from customer_details",
			typ:  "checkout.session.completed",
			object: `{"id":"cs_1","object":"checkout.session","mode":"subscription","customer":"cus_1",
				"subscription":"sub_1","customer_email":"typed@example.com","payment_status":"paid",
				"customer_details":{"email":"ann@example.com"}}`,
			want: &paywall.Purchase{SessionID: "cs_1", CustomerID: "cus_1", SubscriptionID: "sub_1",
				Email: "ann@example.com", Paid: true},
		},
		{
			name: "email from customer_email without customer_details",
			typ:  "checkout.session.completed",
			object: `{"id":"cs_1","mode":"subscription","customer":"cus_1","subscription":"sub_1",
				"customer_email":"bob@example.com","payment_status":"paid","customer_details":null}`,
			want: &paywall.Purchase{SessionID: "cs_1", CustomerID: "cus_1", SubscriptionID: "sub_1",
				Email: "bob@example.com", Paid: true},
		},
		{
			name: "email from customer_email when customer_details has none",
			typ:  "checkout.session.completed",
			object: `{"id":"cs_1","mode":"subscription","customer":"cus_1","subscription":"sub_1",
				"customer_email":"bob@example.com","payment_status":"paid",
				"customer_details":{"email":null}}`,
			want: &paywall.Purchase{SessionID: "cs_1", CustomerID: "cus_1", SubscriptionID: "sub_1",
				Email: "bob@example.com", Paid: true},
		},
		{
			name: "unpaid",
			typ:  "checkout.session.completed",
			object: `{"id":"cs_1","mode":"subscription","customer":"cus_1","subscription":"sub_1",
				"payment_status":"unpaid","customer_details":{"email":"ann@example.com"}}`,
			want: &paywall.Purchase{SessionID: "cs_1", CustomerID: "cus_1", SubscriptionID: "sub_1",
				Email: "ann@example.com", Paid: false},
		},
		{
			name: "delayed payment succeeded",
			typ:  "checkout.session.async_payment_succeeded",
			object: `{"id":"cs_1","mode":"subscription","customer":"cus_1","subscription":"sub_1",
				"payment_status":"paid","customer_details":{"email":"ann@example.com"}}`,
			want: &paywall.Purchase{SessionID: "cs_1", CustomerID: "cus_1", SubscriptionID: "sub_1",
				Email: "ann@example.com", Paid: true},
		},
		{
			name: "customer and subscription expanded",
			typ:  "checkout.session.completed",
			object: `{"id":"cs_1","mode":"subscription",
				"customer":{"id":"cus_9","object":"customer","email":"other@example.com"},
				"subscription":{"id":"sub_9","object":"subscription","status":"active"},
				"payment_status":"paid","customer_details":{"email":"ann@example.com"}}`,
			want: &paywall.Purchase{SessionID: "cs_1", CustomerID: "cus_9", SubscriptionID: "sub_9",
				Email: "ann@example.com", Paid: true},
		},
		{
			name: "one-off payment is ignored",
			typ:  "checkout.session.completed",
			object: `{"id":"cs_1","mode":"payment","customer":"cus_1","payment_status":"paid",
				"customer_details":{"email":"ann@example.com"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decode(t, tt.typ, tt.object)
			want := paywall.Change{Purchase: tt.want}
			if !equalChange(got, want) {
				t.Errorf("got %s, want %s", show(got), show(want))
			}
		})
	}
}

func decode(t *testing.T, typ, object string) paywall.Change {
	t.Helper()
	e := paywall.Event{ID: "evt_1", Type: typ, Created: time.Unix(created, 0)}
	c, err := billing.Decode(e, []byte(object), catalog)
	if err != nil {
		t.Fatalf("Decode(%s): %v", typ, err)
	}
	return c
}

func TestDecodeSubscription(t *testing.T) {
	sub := func(edit func(*paywall.Subscription)) *paywall.Subscription {
		s := &paywall.Subscription{ID: "sub_1", CustomerID: "cus_1", Status: paywall.Active,
			PlanID: "pro", LookupKey: "pro_month", PeriodEnd: time.Unix(periodEnd, 0), Version: created}
		if edit != nil {
			edit(s)
		}
		return s
	}
	tests := []struct {
		name   string
		typ    string
		object string
		want   *paywall.Subscription
	}{
		{
			name: "period end on the item (basil and later)",
			typ:  "customer.subscription.created",
			object: `{"id":"sub_1","object":"subscription","customer":"cus_1","status":"active",
				"cancel_at_period_end":false,"cancel_at":null,
				"items":{"data":[{"current_period_end":1752592000,
					"price":{"id":"price_1","lookup_key":"pro_month"}}]}}`,
			want: sub(nil),
		},
		{
			name: "period end on the subscription (before basil)",
			typ:  "customer.subscription.updated",
			object: `{"id":"sub_1","customer":"cus_1","status":"active","current_period_end":1752592000,
				"items":{"data":[{"price":{"id":"price_1","lookup_key":"pro_month"}}]}}`,
			want: sub(nil),
		},
		{
			name: "customer expanded",
			typ:  "customer.subscription.updated",
			object: `{"id":"sub_1","customer":{"id":"cus_1","object":"customer"},"status":"active",
				"items":{"data":[{"current_period_end":1752592000,"price":{"lookup_key":"pro_month"}}]}}`,
			want: sub(nil),
		},
		{
			name: "plan from metadata without a known lookup key",
			typ:  "customer.subscription.updated",
			object: `{"id":"sub_1","customer":"cus_1","status":"trialing","metadata":{"plan":"elite"},
				"items":{"data":[{"current_period_end":1752592000,"price":{"lookup_key":"legacy"}}]}}`,
			want: sub(func(s *paywall.Subscription) {
				s.Status, s.PlanID, s.LookupKey = paywall.Trialing, "elite", "legacy"
			}),
		},
		{
			name: "lookup key wins over metadata",
			typ:  "customer.subscription.updated",
			object: `{"id":"sub_1","customer":"cus_1","status":"active","metadata":{"plan":"elite"},
				"items":{"data":[{"current_period_end":1752592000,"price":{"lookup_key":"pro_month"}}]}}`,
			want: sub(nil),
		},
		{
			name: "unknown lookup key and unknown metadata plan",
			typ:  "customer.subscription.updated",
			object: `{"id":"sub_1","customer":"cus_1","status":"active","metadata":{"plan":"gold"},
				"items":{"data":[{"current_period_end":1752592000,"price":{"lookup_key":"gold_month"}}]}}`,
			want: sub(func(s *paywall.Subscription) { s.PlanID, s.LookupKey = "", "gold_month" }),
		},
		{
			name: "cancel_at_period_end",
			typ:  "customer.subscription.updated",
			object: `{"id":"sub_1","customer":"cus_1","status":"active","cancel_at_period_end":true,
				"items":{"data":[{"current_period_end":1752592000,"price":{"lookup_key":"pro_month"}}]}}`,
			want: sub(func(s *paywall.Subscription) { s.CancelAt = time.Unix(periodEnd, 0) }),
		},
		{
			name: "cancel_at",
			typ:  "customer.subscription.updated",
			object: `{"id":"sub_1","customer":"cus_1","status":"active","cancel_at":1751000000,
				"items":{"data":[{"current_period_end":1752592000,"price":{"lookup_key":"pro_month"}}]}}`,
			want: sub(func(s *paywall.Subscription) { s.CancelAt = time.Unix(cancelAt, 0) }),
		},
		{
			name: "deleted",
			typ:  "customer.subscription.deleted",
			object: `{"id":"sub_1","customer":"cus_1","status":"canceled",
				"items":{"data":[{"current_period_end":1752592000,"price":{"lookup_key":"pro_month"}}]}}`,
			want: sub(func(s *paywall.Subscription) { s.Status = paywall.Canceled }),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decode(t, tt.typ, tt.object)
			want := paywall.Change{Subscription: tt.want}
			if tt.typ == "customer.subscription.deleted" {
				// The member is owed a "subscription ended" mail, once per subscription.
				if got.Notice == nil || got.Notice.Cause == "" {
					t.Fatalf("deleted subscription owes no notice: %s", show(got))
				}
				want.Notice = &paywall.Notice{Kind: paywall.MailSubscriptionEnded,
					CustomerID: "cus_1", Cause: got.Notice.Cause}
			}
			if !equalChange(got, want) {
				t.Errorf("got %s, want %s", show(got), show(want))
			}
		})
	}
}

// TestDecodeDeletedDuplicate: Stripe's deleted event for a subscription
// the duplicate check cancelled owes the duplicate mail, the same one the
// check records, and no "subscription ended" mail; any other reason for a
// cancellation owes the ended mail.
func TestDecodeDeletedDuplicate(t *testing.T) {
	object := func(comment string) string {
		return `{"id":"sub_2","customer":"cus_1","status":"canceled",
			"cancellation_details":{"comment":` + comment + `,"reason":"cancellation_requested"},
			"items":{"data":[{"current_period_end":1752592000,"price":{"lookup_key":"pro_month"}}]}}`
	}
	got := decode(t, "customer.subscription.deleted",
		object(`"paywall: duplicate of an earlier live subscription"`))
	want := &paywall.Notice{Kind: paywall.MailDuplicate, CustomerID: "cus_1",
		Cause: "duplicate:sub_2", Ends: "sub_2"}
	if got.Notice == nil || *got.Notice != *want {
		t.Errorf("deleted duplicate: notice %+v, want %+v", got.Notice, want)
	}
	for _, comment := range []string{`null`, `"too expensive"`} {
		got := decode(t, "customer.subscription.deleted", object(comment))
		if got.Notice == nil || got.Notice.Kind != paywall.MailSubscriptionEnded {
			t.Errorf("deleted with comment %s: notice %+v, want subscription_ended", comment, got.Notice)
		}
	}
}

func TestDecodeInvoice(t *testing.T) {
	want := &paywall.Invoice{ID: "in_1", CustomerID: "cus_1", SubscriptionID: "sub_1",
		Number: "ABC-0001", Status: "paid", Amount: 900, Currency: "usd",
		URL: "https://invoice.stripe.com/i/1", Created: time.Unix(created, 0), Version: created}
	tests := []struct {
		name   string
		typ    string
		object string
	}{
		{
			name: "subscription at the top (before basil)",
			typ:  "invoice.paid",
			object: `{"id":"in_1","customer":"cus_1","subscription":"sub_1","number":"ABC-0001",
				"status":"paid","amount_paid":900,"currency":"usd",
				"hosted_invoice_url":"https://invoice.stripe.com/i/1","created":1750000000}`,
		},
		{
			name: "subscription under parent (basil and later)",
			typ:  "invoice.payment_succeeded",
			object: `{"id":"in_1","customer":"cus_1","number":"ABC-0001","status":"paid",
				"amount_paid":900,"currency":"usd","hosted_invoice_url":"https://invoice.stripe.com/i/1",
				"created":1750000000,"parent":{"type":"subscription_details",
				"subscription_details":{"subscription":"sub_1"}}}`,
		},
		{
			name: "expanded subscription under parent",
			typ:  "invoice.paid",
			object: `{"id":"in_1","customer":{"id":"cus_1"},"number":"ABC-0001","status":"paid",
				"amount_paid":900,"currency":"usd","hosted_invoice_url":"https://invoice.stripe.com/i/1",
				"created":1750000000,"parent":{"subscription_details":{"subscription":{"id":"sub_1"}}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decode(t, tt.typ, tt.object)
			if !equalChange(got, paywall.Change{Invoice: want}) {
				t.Errorf("got %s, want %s", show(got), show(paywall.Change{Invoice: want}))
			}
		})
	}
}

func TestDecodeIgnored(t *testing.T) {
	for _, typ := range []string{"customer.created", "payment_intent.succeeded", ""} {
		t.Run(typ, func(t *testing.T) {
			got := decode(t, typ, `{"id":"x"}`)
			if !got.Empty() {
				t.Errorf("got %s, want an empty change", show(got))
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, typ := range []string{"checkout.session.completed", "customer.subscription.updated", "invoice.paid"} {
		t.Run(typ, func(t *testing.T) {
			e := paywall.Event{ID: "evt_1", Type: typ, Created: time.Unix(created, 0)}
			c, err := billing.Decode(e, []byte(`{"id":42}`), catalog)
			if err == nil {
				t.Errorf("got %s, nil, want an error", show(c))
			}
		})
	}
}
