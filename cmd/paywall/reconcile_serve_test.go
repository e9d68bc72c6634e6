package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/paywall/paywall"
)

// TestServeReconciles: serve with a reconcile interval repairs, on its
// own, a subscription whose local copy differs from what Stripe lists, and
// logs the difference and the repair.
func TestServeReconciles(t *testing.T) {
	api := startStripeMock(t)
	db := filepath.Join(t.TempDir(), "paywall.db")
	store := staleStore(t, db)
	ctx := context.Background()
	const sub = mockSubscription

	rec := &recorder{}
	app := startApp(t, map[string]string{
		"STRIPE_SECRET_KEY": testKey, "STRIPE_WEBHOOK_SECRET": testSecret, "STRIPE_API_BASE": api,
		"PAYWALL_CONFIG": "testdata/plans.toml", "PAYWALL_DATABASE_URL": "sqlite:" + db,
	}, options{stripeHTTP: rec.client(), reconcileEvery: 50 * time.Millisecond})

	deadline := time.Now().Add(20 * time.Second)
	for len(app.logs.records("reconciled")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("serve never logged a reconcile")
		}
		time.Sleep(20 * time.Millisecond)
	}
	first := app.logs.records("reconciled")[0]
	if first["repaired"] != float64(1) {
		t.Errorf("first reconcile logged %v, want 1 repaired", first)
	}
	var statusDiff bool
	for _, d := range app.logs.records("reconcile difference") {
		if d["subscription_id"] == sub && d["field"] == "status" && d["local"] == "past_due" && d["stripe"] == "active" {
			statusDiff = true
		}
	}
	if !statusDiff {
		t.Errorf("no difference logged for %s's status: %v", sub, app.logs.records("reconcile difference"))
	}
	subs, err := store.Subscriptions(ctx, 1)
	if err != nil || len(subs) != 1 || subs[0].Status != paywall.Active {
		t.Errorf("after serve reconciled: %+v, %v; want the subscription active, as Stripe lists it", subs, err)
	}
	if len(rec.find("GET", "/v1/subscriptions")) == 0 {
		t.Error("serve reconciled without listing Stripe's subscriptions")
	}
}
