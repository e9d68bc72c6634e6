package billing

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/paywall/paywall"
)

// memoryCatalog is catalogAPI over maps: Stripe's products, prices and
// portal configuration as far as sync-plans reads them, and what its writes
// would leave behind, so that a second run can see the first one's effect.
type memoryCatalog struct {
	products map[string]catalogProduct
	prices   map[string]catalogPrice // by ID
	keys     map[string]string       // lookup key → price ID
	portalAt *portalState
	portalID string
	writes   int
}

func newMemoryCatalog() *memoryCatalog {
	return &memoryCatalog{products: map[string]catalogProduct{}, prices: map[string]catalogPrice{},
		keys: map[string]string{}}
}

func (m *memoryCatalog) price(_ context.Context, key string) (*catalogPrice, error) {
	id, ok := m.keys[key]
	if !ok {
		return nil, nil
	}
	p := m.prices[id]
	return &p, nil
}

func (m *memoryCatalog) product(_ context.Context, id string) (*catalogProduct, error) {
	p, ok := m.products[id]
	if !ok {
		return nil, nil
	}
	return &p, nil
}

func (m *memoryCatalog) createProduct(_ context.Context, p catalogProduct, _ string) error {
	m.writes++
	m.products[p.ID] = p
	return nil
}

func (m *memoryCatalog) updateProduct(_ context.Context, p catalogProduct) error {
	m.writes++
	m.products[p.ID] = p
	return nil
}

func (m *memoryCatalog) createPrice(_ context.Context, p catalogPrice, _ string) (string, error) {
	m.writes++
	p.ID = fmt.Sprintf("price_%d", len(m.prices)+1)
	m.prices[p.ID] = p
	m.keys[p.LookupKey] = p.ID // transfer_lookup_key
	return p.ID, nil
}

func (m *memoryCatalog) setPriceActive(_ context.Context, id string, active bool) error {
	m.writes++
	p := m.prices[id]
	p.Active = active
	m.prices[id] = p
	return nil
}

func (m *memoryCatalog) portal(context.Context) (*portalState, string, error) {
	if m.portalAt == nil {
		return nil, "", nil
	}
	p := *m.portalAt
	return &p, m.portalID, nil
}

func (m *memoryCatalog) setPortal(_ context.Context, id string, p portalState) error {
	m.writes++
	if id == "" {
		m.portalID = "bpc_1"
	}
	m.portalAt = &p
	return nil
}

func testCatalog() paywall.Catalog {
	return paywall.Catalog{
		Plans: []paywall.Plan{
			{ID: "basic", Name: "Basic", Prices: []paywall.Price{
				{Interval: paywall.Month, LookupKey: "basic_month", Amount: 500, Currency: "usd"},
				{Interval: paywall.Year, LookupKey: "basic_year", Amount: 5000, Currency: "usd"}}},
			{ID: "pro", Name: "Pro", Description: "More", Prices: []paywall.Price{
				{Interval: paywall.Month, LookupKey: "pro_month", Amount: 900, Currency: "usd"}}},
		},
		Portal: &paywall.Portal{SwitchPlans: []string{"basic", "pro"}, Cancel: paywall.CancelAtPeriodEnd,
			InvoiceHistory: true},
	}
}

func runSync(t *testing.T, api catalogAPI, cat paywall.Catalog) []string {
	t.Helper()
	steps, err := planSync(context.Background(), api, cat)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, s := range steps {
		if err := s.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, s.Action+" "+s.Target)
	}
	return actions
}

func TestPlanSyncTwice(t *testing.T) {
	api, cat := newMemoryCatalog(), testCatalog()
	got := runSync(t, api, cat)
	want := []string{"create product basic", "create price basic_month", "create price basic_year",
		"create product pro", "create price pro_month", "create portal configuration"}
	if !slices.Equal(got, want) {
		t.Fatalf("first run %q, want %q", got, want)
	}
	writes := api.writes
	if again := runSync(t, api, cat); len(again) != 0 || api.writes != writes {
		t.Errorf("second run %q with %d writes, want no change", again, api.writes-writes)
	}
	if sw := api.portalAt.Switch; len(sw) != 2 || sw[0].Product != "paywall_basic" ||
		!slices.Equal(sw[0].Prices, []string{"price_1", "price_2"}) {
		t.Errorf("portal switches %+v, want basic's two prices and pro's", sw)
	}

	// A new amount makes a new price: prices are immutable in Stripe.
	cat.Plans[0].Prices[0].Amount = 600
	got = runSync(t, api, cat)
	want = []string{"replace price basic_month", "update portal configuration bpc_1"}
	if !slices.Equal(got, want) {
		t.Fatalf("after an amount change %q, want %q", got, want)
	}
	newID := api.keys["basic_month"]
	if newID == "price_1" || api.prices[newID].Amount != 600 || api.prices["price_1"].Active {
		t.Errorf("basic_month is %s (%d), old price active %t; want a new 600 price and the old archived",
			newID, api.prices[newID].Amount, api.prices["price_1"].Active)
	}
	if !slices.Contains(api.portalAt.Switch[0].Prices, newID) {
		t.Errorf("portal still switches to the archived price: %+v", api.portalAt.Switch)
	}
	if again := runSync(t, api, cat); len(again) != 0 {
		t.Errorf("run after the change %q, want no change", again)
	}

	// Someone archived a price in the dashboard; renamed a product.
	p := api.prices[api.keys["pro_month"]]
	p.Active = false
	api.prices[p.ID] = p
	api.products["paywall_pro"] = catalogProduct{ID: "paywall_pro", Name: "Old", Active: true}
	got = runSync(t, api, cat)
	want = []string{"update product pro", "activate price pro_month", "update portal configuration bpc_1"}
	if !slices.Equal(got, want) {
		t.Errorf("after dashboard edits %q, want %q", got, want)
	}
	if again := runSync(t, api, cat); len(again) != 0 {
		t.Errorf("run after repairing dashboard edits %q, want no change", again)
	}
}
