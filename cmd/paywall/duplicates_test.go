package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
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

// payments makes stripe-mock's invoice payment list name these as the paid
// payments, with IDs inpay_1, inpay_2 … (one payment keeps the fixture's
// obj_123). Its fixture's payment has a type but no object ID, which Stripe
// never sends for a paid payment.
func payments(pays ...map[string]any) func(stripeCall, *http.Response) error {
	return func(call stripeCall, resp *http.Response) error {
		if call.method != http.MethodGet || call.path != "/v1/invoice_payments" {
			return nil
		}
		return editJSON(resp, func(list map[string]any) {
			proto := list["data"].([]any)[0].(map[string]any)
			var data []any
			for i, pay := range pays {
				p := maps.Clone(proto)
				if len(pays) > 1 {
					p["id"] = fmt.Sprintf("inpay_%d", i+1)
				}
				p["payment"] = pay
				data = append(data, p)
			}
			list["data"], list["has_more"] = data, false
		})
	}
}

// refuseRefund makes Stripe refuse, as it does a charge refunded already,
// the refund of PaymentIntent pi, and edits other answers with next.
func refuseRefund(pi string, next func(stripeCall, *http.Response) error) func(stripeCall, *http.Response) error {
	return func(call stripeCall, resp *http.Response) error {
		if call.method != http.MethodPost || call.path != "/v1/refunds" ||
			call.form.Get("payment_intent") != pi {
			return next(call, resp)
		}
		resp.Body.Close()
		resp.StatusCode, resp.Status = http.StatusBadRequest, "400 Bad Request"
		body, err := json.Marshal(map[string]any{"error": map[string]any{
			"type": "invalid_request_error", "code": "charge_already_refunded",
			"message": "Charge ch_" + pi + " has already been refunded."}})
		setBody(resp, body)
		return err
	}
}

// duplicateApp starts an app whose member twice@example.test has the live
// basic subscription sub_first, with Stripe's answers edited by edit, and
// delivers the newer live subscription sub_second twice.
func duplicateApp(t *testing.T, api, mode string,
	edit func(stripeCall, *http.Response) error) (*billingApp, *http.Client) {
	t.Helper()
	app := startBillingApp(t, api, map[string]string{"PAYWALL_CANCEL_DUPLICATES": mode})
	app.rec.answer(edit)
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
	return app, c
}

// wantCancelled checks that sub_second was cancelled once for sub_first,
// without proration, is recorded canceled while sub_first stays active, and
// returns the log record of the cancellation.
func wantCancelled(t *testing.T, app *billingApp) map[string]any {
	t.Helper()
	recs := app.logs.records("duplicate subscription cancelled")
	if len(recs) != 1 || recs[0]["subscription_id"] != "sub_second" ||
		recs[0]["kept_subscription_id"] != "sub_first" {
		t.Fatalf("cancellation log %v, want one record cancelling sub_second for sub_first", recs)
	}
	cancels := app.rec.find("DELETE", "/v1/subscriptions/sub_second")
	if len(cancels) != 1 || cancels[0].form.Get("prorate") != "false" ||
		cancels[0].form.Get("expand[0]") != "latest_invoice" || cancels[0].idempotencyKey == "" {
		t.Fatalf("cancellations %+v, want one without proration, latest invoice expanded", cancels)
	}
	first, second := localSub(t, app.store, "sub_first"), localSub(t, app.store, "sub_second")
	if second.Status != paywall.Canceled || first.Status != paywall.Active {
		t.Errorf("after the cancellation sub_first %s, sub_second %s; want active, canceled",
			first.Status, second.Status)
	}
	return recs[0]
}

// TestDuplicateSubscription: when a second live subscription of a member
// arrives by webhook, the newer one is cancelled at once without proration,
// its paid invoice payment refunded once as a duplicate (by PaymentIntent,
// or by charge for an invoice paid by a bare charge), recorded canceled, and
// the member mailed, however often the webhook is delivered. A payment
// Stripe cannot refund is logged for a person. Stripe's own news of the
// cancellation mails nothing more while sub_first is live. With
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
			app, c := duplicateApp(t, api, tt.mode, payments(tt.payment))
			if tt.mode == "off" {
				left := app.logs.records(
					"duplicate subscription left active (PAYWALL_CANCEL_DUPLICATES=off)")
				cancels := app.rec.find("DELETE", "/v1/subscriptions/sub_second")
				refunds := app.rec.find("POST", "/v1/refunds")
				second := localSub(t, app.store, "sub_second")
				if len(left) != 1 || len(cancels) != 0 || len(refunds) != 0 ||
					second.Status != paywall.Active {
					t.Errorf("with cancelling off: %d warnings, %d cancellations, %d refunds, "+
						"sub_second %s", len(left), len(cancels), len(refunds), second.Status)
				}
				return
			}
			cancelled := wantCancelled(t, app)
			wantRefund(t, app, tt.refundBy, app.rec.find("POST", "/v1/refunds"), cancelled)
			wantDuplicateMail(t, app)
			wantEndedOnlyAtLast(t, app, c, api)
		})
	}
}

// TestDuplicateRefundRefused: when Stripe refuses the refund of one of the
// duplicate's payments (here: refunded already), the others are refunded
// all the same, the refused one is logged for a person, and the
// cancellation is recorded and mailed once.
func TestDuplicateRefundRefused(t *testing.T) {
	api := startStripeMock(t)
	app, c := duplicateApp(t, api, "on", refuseRefund("pi_2", payments(
		map[string]any{"type": "payment_intent", "payment_intent": "pi_1"},
		map[string]any{"type": "payment_intent", "payment_intent": "pi_2"},
		map[string]any{"type": "payment_intent", "payment_intent": "pi_3"})))

	cancelled := wantCancelled(t, app)
	var asked []string
	for _, r := range app.rec.find("POST", "/v1/refunds") {
		asked = append(asked, r.form.Get("payment_intent"))
	}
	if want := []string{"pi_1", "pi_2", "pi_3"}; !slices.Equal(asked, want) {
		t.Errorf("refunds asked for %v, want %v", asked, want)
	}
	var refunded []any
	for _, r := range app.logs.records("duplicate payment refunded") {
		refunded = append(refunded, r["invoice_payment_id"])
	}
	if want := []any{"inpay_1", "inpay_3"}; !slices.Equal(refunded, want) {
		t.Errorf("payments logged refunded %v, want %v", refunded, want)
	}
	// stripe-mock's refund fixture is for 100 cents, whatever was paid.
	if cancelled["refunded"] != 200.0 || cancelled["unrefunded"] != 1.0 {
		t.Errorf("cancellation logged refunded=%v unrefunded=%v, want 200 and 1",
			cancelled["refunded"], cancelled["unrefunded"])
	}
	skipped := app.logs.records("duplicate payment not refunded")
	if len(skipped) != 1 || skipped[0]["level"] != "ERROR" ||
		skipped[0]["invoice_payment_id"] != "inpay_2" ||
		!strings.Contains(fmt.Sprint(skipped[0]["error"]), "already been refunded") ||
		!strings.Contains(fmt.Sprint(skipped[0]["note"]), "Stripe Dashboard") {
		t.Errorf("log of the refused refund %v, want one error naming inpay_2, Stripe's "+
			"refusal and the Dashboard", skipped)
	}
	wantDuplicateMail(t, app)
	wantEndedOnlyAtLast(t, app, c, api)
}

// TestDuplicateCancelRefused: when Stripe refuses the cancellation, the
// case is logged for a person and nothing is refunded, recorded or mailed;
// the event stays applied, and the next event about the duplicate checks
// it again and cancels it.
func TestDuplicateCancelRefused(t *testing.T) {
	api := startStripeMock(t)
	var refused atomic.Bool
	pay := payments(map[string]any{"type": "payment_intent", "payment_intent": "pi_dup"})
	app, c := duplicateApp(t, api, "on", func(call stripeCall, resp *http.Response) error {
		if call.method != http.MethodDelete || refused.Swap(true) {
			return pay(call, resp)
		}
		resp.Body.Close()
		resp.StatusCode, resp.Status = http.StatusBadRequest, "400 Bad Request"
		body, err := json.Marshal(map[string]any{"error": map[string]any{
			"type": "invalid_request_error", "message": "This subscription cannot be canceled."}})
		setBody(resp, body)
		return err
	})

	failed := app.logs.records("cancel duplicate subscription")
	if len(failed) != 1 || failed[0]["level"] != "ERROR" ||
		!strings.Contains(fmt.Sprint(failed[0]["error"]), "cannot be canceled") ||
		!strings.Contains(fmt.Sprint(failed[0]["note"]), "Stripe Dashboard") {
		t.Errorf("log of the refused cancellation %v, want one error with Stripe's refusal "+
			"and the Dashboard", failed)
	}
	refunds := app.rec.find("POST", "/v1/refunds")
	second := localSub(t, app.store, "sub_second")
	if len(refunds) != 0 || second.Status != paywall.Active {
		t.Errorf("after the refused cancellation: %d refunds, sub_second %s; want none, active",
			len(refunds), second.Status)
	}
	if got, want := outboxKinds(t, app), []string{"setup"}; !slices.Equal(got, want) {
		t.Errorf("outbox after the refused cancellation %v, want %v", got, want)
	}

	payload, header := signedEvent(t, "evt_second_updated", "customer.subscription.updated",
		duplicateSubscription(t, api))
	wantStatus(t, "second subscription updated", postEvent(t, c, payload, header), http.StatusOK)
	app.settle(t, c)
	cancels := app.rec.find("DELETE", "/v1/subscriptions/sub_second")
	refunds = app.rec.find("POST", "/v1/refunds")
	second = localSub(t, app.store, "sub_second")
	if len(cancels) != 2 || len(refunds) != 1 || second.Status != paywall.Canceled {
		t.Errorf("after the next event: %d cancellations, %d refunds, sub_second %s; "+
			"want 2, 1, canceled", len(cancels), len(refunds), second.Status)
	}
	wantDuplicateMail(t, app)
}

// wantEndedOnlyAtLast delivers Stripe's customer.subscription.deleted for
// the cancelled sub_second, which must queue no subscription_ended mail
// while sub_first is live, and then for sub_first, which must queue one.
func wantEndedOnlyAtLast(t *testing.T, app *billingApp, c *http.Client, api string) {
	t.Helper()
	deliver := func(id string, sub map[string]any) {
		t.Helper()
		sub["status"] = "canceled"
		payload, header := signedEvent(t, "evt_deleted_"+id, "customer.subscription.deleted", sub)
		wantStatus(t, id+" deleted", postEvent(t, c, payload, header), http.StatusOK)
		app.settle(t, c)
		if st := localSub(t, app.store, id).Status; st != paywall.Canceled {
			t.Fatalf("%s is %s after its deleted event, want canceled", id, st)
		}
	}
	deliver("sub_second", duplicateSubscription(t, api))
	if got, want := outboxKinds(t, app), []string{"setup", "duplicate"}; !slices.Equal(got, want) {
		t.Errorf("outbox after the duplicate's deleted event %v, want %v", got, want)
	}
	first := duplicateSubscription(t, api)
	first["id"] = "sub_first"
	deliver("sub_first", first)
	want := []string{"setup", "duplicate", "subscription_ended"}
	if got := outboxKinds(t, app); !slices.Equal(got, want) {
		t.Errorf("outbox after the last subscription's deleted event %v, want %v", got, want)
	}
}

// outboxKinds returns the kinds of the mails in the outbox, oldest first.
func outboxKinds(t *testing.T, app *billingApp) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+app.db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT kind FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var kinds []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return kinds
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
