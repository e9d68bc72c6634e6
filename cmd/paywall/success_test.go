package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paywall/paywall"
)

// completeSession makes stripe-mock's open one-time Checkout Session the
// completed subscription checkout of its own subscription fixture's
// customer, with paymentStatus, and that subscription a live elite one.
// These are the fields a finished checkout has and the fixture lacks.
func completeSession(sess map[string]any, paymentStatus string) {
	sess["mode"], sess["status"], sess["payment_status"] = "subscription", "complete", paymentStatus
	sess["customer"] = mockCustomer
	sub, ok := sess["subscription"].(map[string]any)
	if !ok { // not expanded
		return
	}
	sub["cancel_at"], sub["cancel_at_period_end"] = nil, false
	sub["canceled_at"], sub["ended_at"] = nil, nil
	item := sub["items"].(map[string]any)["data"].([]any)[0].(map[string]any)
	item["price"].(map[string]any)["lookup_key"] = "elite_month"
	item["current_period_end"] = time.Now().AddDate(0, 1, 0).Unix()
}

// sessionAnswer edits stripe-mock's answer to a session fetch with
// completeSession.
func sessionAnswer(paymentStatus string) func(stripeCall, *http.Response) error {
	return func(call stripeCall, resp *http.Response) error {
		if call.method != http.MethodGet || !strings.HasPrefix(call.path, "/v1/checkout/sessions/") {
			return nil
		}
		return editJSON(resp, func(sess map[string]any) { completeSession(sess, paymentStatus) })
	}
}

// TestSuccessPageBeforeWebhook: a buyer who reaches the success page before
// Stripe's webhook is let in from Stripe's record of a paid checkout, with
// one member, one subscription and one setup mail, and the webhook arriving
// afterwards adds nothing but itself. A checkout whose payment has not
// cleared grants nothing and says it is processing.
func TestSuccessPageBeforeWebhook(t *testing.T) {
	api := startStripeMock(t)

	t.Run("paid", func(t *testing.T) {
		app := startBillingApp(t, api, nil)
		app.rec.answer(sessionAnswer("paid"))
		c := app.client(t)
		r := do(t, c, "GET", "/checkout/success?session_id=cs_test_early", nil)
		wantStatus(t, "success page", r, http.StatusOK)
		wantPage(t, r, "We sent a link to "+mockBuyer, "not completed", "processing", "choose a plan")
		if n := len(app.rec.find("GET", "/v1/checkout/sessions/cs_test_early")); n != 1 {
			t.Errorf("session fetched %d times, want once", n)
		}
		wantElite(t, app, mockBuyer)
		rows := app.rowCounts(t)
		for table, want := range map[string]int{"members": 1, "customers": 1, "subscriptions": 1,
			"checkouts": 1, "outbox": 1, "events": 0} {
			if rows[table] != want {
				t.Errorf("%d rows in %s after the success page, want %d", rows[table], table, want)
			}
		}
		app.waitForMail(t, mockBuyer)

		// Stripe's webhook for the same checkout, as Stripe sends it: the
		// subscription by ID.
		sess := fixture(t, api, "/v1/checkout/sessions/cs_test_early")
		completeSession(sess, "paid")
		sess["subscription"] = localSubscriptionID(t, app)
		payload, header := signedEvent(t, "evt_early_checkout", "checkout.session.completed", sess)
		wantStatus(t, "webhook", postEvent(t, c, payload, header), http.StatusOK)
		app.settle(t, c)
		if n := len(app.logs.records("event processed")); n != 1 {
			t.Errorf("%d events processed, want the checkout's", n)
		}
		rows["events"] += 2 // the checkout's and settle's
		rows["links"] = 1   // the setup mail's, made when it was sent
		if after := app.rowCounts(t); fmt.Sprint(after) != fmt.Sprint(rows) {
			t.Errorf("after the webhook rows %v, want %v (only the events added)", after, rows)
		}
		if n := len(app.logs.records("mail sent")); n != 1 {
			t.Errorf("%d mails sent, want the one setup mail", n)
		}
		wantPage(t, do(t, c, "GET", "/checkout/success?session_id=cs_test_early", nil),
			"We sent a link to "+mockBuyer, "processing")
		if n := len(app.rec.find("GET", "/v1/checkout/sessions/cs_test_early")); n != 1 {
			t.Errorf("session fetched %d times after its webhook, want still once", n)
		}
	})

	t.Run("unpaid", func(t *testing.T) {
		app := startBillingApp(t, api, nil)
		app.rec.answer(sessionAnswer("unpaid"))
		before := app.rowCounts(t)
		r := do(t, app.client(t), "GET", "/checkout/success?session_id=cs_test_debit", nil)
		wantStatus(t, "success page", r, http.StatusOK)
		wantPage(t, r, "still being processed", "We sent a link", "not completed")
		if n := len(app.rec.find("GET", "/v1/checkout/sessions/cs_test_debit")); n != 1 {
			t.Errorf("session fetched %d times, want once", n)
		}
		if after := app.rowCounts(t); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("rows %v after an unpaid session, before %v: want nothing granted or mailed",
				after, before)
		}
	})
}

// wantPage fails unless r's body says want and none of wantNot, in any case.
func wantPage(t *testing.T, r response, want string, wantNot ...string) {
	t.Helper()
	body := strings.ToLower(r.body)
	if !strings.Contains(body, strings.ToLower(want)) {
		t.Errorf("page does not say %q:\n%.600s", want, r.body)
	}
	for _, not := range wantNot {
		if strings.Contains(body, strings.ToLower(not)) {
			t.Errorf("page says %q:\n%.600s", not, r.body)
		}
	}
}

// wantElite fails unless email is a member whose subscription gives the
// elite plan now.
func wantElite(t *testing.T, app *billingApp, email string) {
	t.Helper()
	ctx := context.Background()
	m, err := app.store.MemberByEmail(ctx, email)
	if err != nil {
		t.Fatalf("member %s: %v", email, err)
	}
	subs, err := app.store.Subscriptions(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].Status != paywall.Active || subs[0].PlanID != "elite" ||
		subs[0].CustomerID != mockCustomer {
		t.Fatalf("subscriptions of %s: %+v, want one active elite of %s", email, subs, mockCustomer)
	}
}

// localSubscriptionID is the ID of the one subscription stored.
func localSubscriptionID(t *testing.T, app *billingApp) string {
	t.Helper()
	subs, err := app.store.AllSubscriptions(context.Background())
	if err != nil || len(subs) != 1 {
		t.Fatalf("subscriptions %v, %v; want one", subs, err)
	}
	return subs[0].ID
}
