package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paywall/paywall"
)

// settle sends an event paywall ignores and waits until the worker has
// taken it up. The worker applies events one at a time in order, so every
// event sent before it has been applied, or deferred, by then.
func (a *billingApp) settle(t *testing.T, c *http.Client) {
	t.Helper()
	id := fmt.Sprintf("evt_settle_%d", time.Now().UnixNano())
	payload, header := signedEvent(t, id, "customer.created",
		map[string]any{"id": "cus_settle", "object": "customer"})
	wantStatus(t, "settling event", postEvent(t, c, payload, header), http.StatusOK)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, rec := range a.logs.records("event ignored") {
			if rec["event_id"] == id {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("event %s was not taken up", id)
}

// onePayment makes stripe-mock's invoice payment list name payment as the
// one paid payment. Its fixture's payment has a type but no object ID,
// which Stripe never sends for a paid payment.
func onePayment(payment map[string]any) func(stripeCall, *http.Response) error {
	return func(call stripeCall, resp *http.Response) error {
		if call.method != http.MethodGet || call.path != "/v1/invoice_payments" {
			return nil
		}
		return editJSON(resp, func(list map[string]any) {
			list["data"].([]any)[0].(map[string]any)["payment"] = payment
		})
	}
}

// TestDuplicateSubscription: when a second live subscription of a member
// arrives by webhook, the newer one is cancelled at once without proration,
// its paid invoice payment refunded once as a duplicate (by PaymentIntent,
// or by charge for an invoice paid by a bare charge), recorded canceled, and
// the member mailed, however often the webhook is delivered. A payment
// Stripe cannot refund is logged for a person. With
// PAYWALL_CANCEL_DUPLICATES off the case is only logged.
func TestDuplicateSubscription(t *testing.T) {
	api := startStripeMock(t)
	tests := []struct {
		name, mode string
		payment    map[string]any
		refundBy   map[string]string // the refund's parameters; nil: no refund
	}{
		{name: "payment intent", mode: "on",
			payment:  map[string]any{"type": "payment_intent", "payment_intent": "pi_dup"},
			refundBy: map[string]string{"payment_intent": "pi_dup", "charge": ""}},
		{name: "charge", mode: "on",
			payment:  map[string]any{"type": "charge", "charge": "ch_dup"},
			refundBy: map[string]string{"charge": "ch_dup", "payment_intent": ""}},
		{name: "payment recorded outside Stripe", mode: "on",
			payment: map[string]any{"type": "payment_record", "payment_record": "prec_dup"}},
		{name: "cancelling off", mode: "off",
			payment: map[string]any{"type": "payment_intent", "payment_intent": "pi_dup"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := startBillingApp(t, api, map[string]string{"PAYWALL_CANCEL_DUPLICATES": tt.mode})
			app.rec.answer(onePayment(tt.payment))
			app.member(t, "twice@example.test", "cus_twice")
			app.waitForMail(t, "twice@example.test") // the setup mail
			app.subscribe(t, "sub_first", "cus_twice", paywall.Active, "basic")

			c := app.client(t)
			payload, header := signedEvent(t, "evt_second", "customer.subscription.created",
				duplicateSubscription(t, api))
			for _, try := range []string{"first", "again"} {
				wantStatus(t, "second subscription, "+try, postEvent(t, c, payload, header), http.StatusOK)
			}
			app.settle(t, c)

			want := map[string]string{"on": "duplicate subscription cancelled",
				"off": "duplicate subscription left active (PAYWALL_CANCEL_DUPLICATES=off)"}[tt.mode]
			recs := app.logs.records(want)
			if len(recs) != 1 || recs[0]["subscription_id"] != "sub_second" ||
				recs[0]["kept_subscription_id"] != "sub_first" {
				t.Fatalf("log %q: %v, want one record cancelling sub_second for sub_first", want, recs)
			}
			cancels := app.rec.find("DELETE", "/v1/subscriptions/sub_second")
			refunds := app.rec.find("POST", "/v1/refunds")
			first, second := localSub(t, app.store, "sub_first"), localSub(t, app.store, "sub_second")
			if tt.mode == "off" {
				if len(cancels) != 0 || len(refunds) != 0 || second.Status != paywall.Active {
					t.Errorf("with cancelling off: %d cancellations, %d refunds, sub_second %s",
						len(cancels), len(refunds), second.Status)
				}
				return
			}
			if len(cancels) != 1 || cancels[0].form.Get("prorate") != "false" ||
				cancels[0].form.Get("expand[0]") != "latest_invoice" || cancels[0].idempotencyKey == "" {
				t.Fatalf("cancellations %+v, want one without proration, latest invoice expanded", cancels)
			}
			if second.Status != paywall.Canceled || first.Status != paywall.Active {
				t.Errorf("after the cancellation sub_first %s, sub_second %s; want active, canceled",
					first.Status, second.Status)
			}
			wantRefund(t, app, tt.refundBy, refunds, recs[0])
			wantDuplicateMail(t, app)
		})
	}
}

// duplicateSubscription is stripe-mock's subscription fixture made the
// member's second, live pro subscription.
func duplicateSubscription(t *testing.T, api string) map[string]any {
	t.Helper()
	second := fixture(t, api, "/v1/subscriptions/sub_second")
	second["id"], second["customer"], second["status"] = "sub_second", "cus_twice", "active"
	second["cancel_at"], second["cancel_at_period_end"] = nil, false
	item := second["items"].(map[string]any)["data"].([]any)[0].(map[string]any)
	item["price"].(map[string]any)["lookup_key"] = "pro_month"
	item["current_period_end"] = time.Now().AddDate(0, 1, 0).Unix()
	return second
}

// wantRefund checks the refunds sent against want, the parameters of the
// one refund expected (nil: none), and what the log says of them.
func wantRefund(t *testing.T, app *billingApp, want map[string]string, refunds []stripeCall,
	cancelled map[string]any) {
	t.Helper()
	if want == nil {
		if len(refunds) != 0 {
			t.Errorf("%d refunds sent for a payment Stripe cannot refund, want none", len(refunds))
		}
		skipped := app.logs.records("duplicate payment not refunded")
		if len(skipped) != 1 || skipped[0]["level"] != "ERROR" ||
			skipped[0]["invoice_payment_id"] != "obj_123" || skipped[0]["payment_type"] != "payment_record" {
			t.Errorf("log of the payment left unrefunded: %v, want one error naming it", skipped)
		}
		if cancelled["refunded"] != 0.0 {
			t.Errorf("cancellation logged refunded=%v, want 0", cancelled["refunded"])
		}
		return
	}
	if len(refunds) != 1 {
		t.Fatalf("%d refunds sent, want exactly one: %+v", len(refunds), refunds)
	}
	r := refunds[0]
	want["reason"], want["metadata[subscription]"] = "duplicate", "sub_second"
	for k, v := range want {
		if _, present := r.form[k]; v == "" && present {
			t.Errorf("refund %s = %q, want it absent", k, r.form.Get(k))
		} else if g := r.form.Get(k); v != "" && g != v {
			t.Errorf("refund %s = %q, want %q", k, g, v)
		}
	}
	if !strings.Contains(r.idempotencyKey, "obj_123") {
		t.Errorf("refund idempotency key %q, want one naming the invoice payment obj_123",
			r.idempotencyKey)
	}
	// stripe-mock's refund fixture is for 100 cents, whatever was paid.
	if cancelled["refunded"] != 100.0 {
		t.Errorf("cancellation logged refunded=%v, want the 100 Stripe refunded", cancelled["refunded"])
	}
	done := app.logs.records("duplicate payment refunded")
	if len(done) != 1 || done[0]["invoice_payment_id"] != "obj_123" || done[0]["refund_id"] == "" {
		t.Errorf("refund log %v, want one naming the payment and the refund", done)
	}
	if n := len(app.logs.records("duplicate payment not refunded")); n != 0 {
		t.Errorf("%d payments logged as not refunded, want none", n)
	}
}

// wantDuplicateMail checks that the member's one mail beside the setup mail
// is the one about the cancelled subscription.
func wantDuplicateMail(t *testing.T, app *billingApp) {
	t.Helper()
	if n := app.rowCounts(t)["outbox"]; n != 2 {
		t.Errorf("%d mails in the outbox, want the setup mail and one about the duplicate", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(app.logs.records("mail sent")) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	mails := app.logs.records("mail sent")
	if len(mails) != 2 {
		b, _ := json.Marshal(mails)
		t.Fatalf("mails %s, want the setup mail and one about the cancelled subscription", b)
	}
	if s, _ := mails[1]["subject"].(string); !strings.Contains(s, "second subscription") {
		t.Errorf("second mail's subject %q, want one about the second subscription", s)
	}
	if text, _ := mails[1]["text"].(string); !strings.Contains(text, "refunded") {
		t.Errorf("mail about the duplicate does not speak of the refund:\n%s", text)
	}
}
