package main

import (
	"encoding/json"
	"net/http"
	"testing"
)

// apiPlans is /api/plans as a client reads it.
type apiPlans []struct {
	ID     string `json:"id"`
	Prices []struct {
		ID        *string `json:"id"`
		LookupKey string  `json:"lookup_key"`
		Interval  string  `json:"interval"`
		Amount    int64   `json:"amount"`
		Currency  string  `json:"currency"`
	} `json:"prices"`
}

func getPlans(t *testing.T, app *testApp) apiPlans {
	t.Helper()
	r := do(t, app.client(t), "GET", "/api/plans", nil)
	wantStatus(t, "/api/plans", r, http.StatusOK)
	var plans apiPlans
	if err := json.Unmarshal([]byte(r.body), &plans); err != nil {
		t.Fatalf("/api/plans: %v\n%s", err, r.body)
	}
	return plans
}

// TestPlansPriceIDs: /api/plans names each price by its Stripe ID, looked
// up by lookup key once and then cached as checkout's are; simulated
// checkout names the prices its simulated events carry.
func TestPlansPriceIDs(t *testing.T) {
	t.Run("stripe", func(t *testing.T) {
		api := startStripeMock(t)
		app := startBillingApp(t, api, nil)
		// stripe-mock answers every price list with its one price fixture.
		listed, _ := fixture(t, api, "/v1/prices")["data"].([]any)
		if len(listed) == 0 {
			t.Fatal("stripe-mock lists no price")
		}
		stripeID, _ := listed[0].(map[string]any)["id"].(string)
		prices, keys := 0, map[string]bool{}
		for _, p := range getPlans(t, app.testApp) {
			for _, pr := range p.Prices {
				prices++
				keys[pr.LookupKey] = true
				if pr.ID == nil || *pr.ID != stripeID || pr.LookupKey == "" || pr.Amount == 0 || pr.Currency == "" {
					t.Errorf("plan %s price %+v: want Stripe's ID %s, a lookup key, amount and currency",
						p.ID, pr, stripeID)
				}
			}
		}
		calls := app.rec.find("GET", "/v1/prices")
		if prices == 0 || len(calls) != prices {
			t.Fatalf("%d prices looked up with %d Stripe calls, want one each", prices, len(calls))
		}
		for _, c := range calls {
			if k := c.form.Get("lookup_keys[0]"); !keys[k] || c.form.Get("active") != "true" {
				t.Errorf("price looked up with %v, want an active price by one of the plans' keys", c.form)
			}
			delete(keys, c.form.Get("lookup_keys[0]"))
		}
		if len(keys) != 0 {
			t.Errorf("lookup keys never asked for: %v", keys)
		}
		getPlans(t, app.testApp)
		if n := len(app.rec.find("GET", "/v1/prices")); n != prices {
			t.Errorf("a second /api/plans made %d more price lookups, want none", n-prices)
		}
	})
	t.Run("stripe down", func(t *testing.T) {
		api, stop := runStripeMock(t)
		app := startBillingApp(t, api, nil)
		stop()
		for _, p := range getPlans(t, app.testApp) {
			for _, pr := range p.Prices {
				if pr.ID != nil || pr.LookupKey == "" || pr.Amount == 0 {
					t.Errorf("plan %s price %+v while Stripe is down: want a null ID and the rest", p.ID, pr)
				}
			}
		}
		if n := len(app.logs.records("price not found for /api/plans")); n != 1 {
			t.Errorf("%d warnings logged, want 1: after the first failure the rest go unasked", n)
		}
	})
	t.Run("simulated", func(t *testing.T) {
		for _, p := range getPlans(t, startApp(t, nil)) {
			for _, pr := range p.Prices {
				if pr.ID == nil || *pr.ID != "price_"+pr.LookupKey {
					t.Errorf("plan %s: simulated price ID %v, want price_%s", p.ID, pr.ID, pr.LookupKey)
				}
			}
		}
	})
}
