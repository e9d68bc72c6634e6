package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTrialWillEndWebhook sends a signed trial_will_end for a trialing
// member: one trial_ending mail, saying the day the trial ends and linking
// to the account, however often the event or its news comes again.
func TestTrialWillEndWebhook(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "paywall.db")
	app := startApp(t, map[string]string{
		"STRIPE_WEBHOOK_SECRET": testSecret,
		"PAYWALL_DATABASE_URL":  "sqlite:" + dbPath,
	})
	db := openTestDB(t, dbPath)
	deliver := func(payload []byte) {
		t.Helper()
		r := app.postHook(t, webhookRequest{body: payload, header: hookSign(payload, testSecret, 0)})
		wantStatus(t, "webhook", r, http.StatusOK)
	}
	processed := func(id string) {
		t.Helper()
		eventually(t, id+" processed", func() bool {
			return countRows(t, db, `SELECT count(*) FROM events WHERE id = ? AND processed_at IS NOT NULL`,
				id) == 1
		})
	}

	deliver(hookEvent("evt_trial_buy", "checkout.session.completed",
		checkoutObject("cs_trial", "trial@example.test"), nil))
	app.waitForMail(t, "trial@example.test")

	end := time.Date(2031, 7, 14, 9, 0, 0, 0, time.UTC)
	sub := func(cancel bool) map[string]any {
		return map[string]any{"id": "sub_cs_trial", "object": "subscription",
			"customer": "cus_cs_trial", "status": "trialing", "cancel_at_period_end": cancel,
			"cancel_at": nil, "trial_end": end.Unix(),
			"items": map[string]any{"data": []any{map[string]any{
				"current_period_start": end.AddDate(0, 0, -14).Unix(), "current_period_end": end.Unix(),
				"price": map[string]any{"id": "price_pro", "lookup_key": "pro_month"}}}}}
	}
	trialMails := func() int {
		t.Helper()
		return countRows(t, db, `SELECT count(*) FROM outbox WHERE kind = 'trial_ending'`)
	}

	first := hookEvent("evt_trial_a", "customer.subscription.trial_will_end", sub(false), nil)
	deliver(first)
	processed("evt_trial_a")
	if n := trialMails(); n != 1 {
		t.Fatalf("%d trial_ending mails queued, want 1", n)
	}

	deliver(first) // Stripe's retry of the same event
	if n := len(app.logs.records("event duplicate")); n != 1 {
		t.Errorf("%d deliveries seen as duplicates, want 1", n)
	}
	deliver(hookEvent("evt_trial_b", "customer.subscription.trial_will_end", sub(false), nil))
	processed("evt_trial_b")
	deliver(hookEvent("evt_trial_c", "customer.subscription.trial_will_end", sub(true), nil))
	processed("evt_trial_c")
	if n := trialMails(); n != 1 {
		t.Errorf("%d trial_ending mails queued after the redeliveries, want still 1", n)
	}
	if got := countRows(t, db, `SELECT count(*) FROM subscriptions
		WHERE id = 'sub_cs_trial' AND status = 'trialing' AND plan_id = 'pro'`); got != 1 {
		t.Errorf("the event's subscription state was not applied")
	}

	eventually(t, "the trial mail sent", func() bool {
		return countRows(t, db, `SELECT count(*) FROM outbox
			WHERE kind = 'trial_ending' AND sent_at IS NOT NULL`) == 1
	})
	var text string
	for _, rec := range app.logs.records("mail sent") {
		if s, _ := rec["subject"].(string); strings.Contains(s, "trial ends") {
			text, _ = rec["text"].(string)
		}
	}
	for _, want := range []string{"ends on July 14, 2031", publicOrigin + "/account\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("trial mail lacks %q:\n%s", want, text)
		}
	}
}
