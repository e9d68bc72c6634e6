package paywall_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/paywall/paywall"
)

func monthly(key string, amount int64) paywall.Price {
	return paywall.Price{Interval: paywall.Month, LookupKey: key, Amount: amount, Currency: "usd"}
}

func yearly(key string, amount int64) paywall.Price {
	return paywall.Price{Interval: paywall.Year, LookupKey: key, Amount: amount, Currency: "usd"}
}

func testCatalog() paywall.Catalog {
	return paywall.Catalog{Plans: []paywall.Plan{
		{ID: "basic", Name: "Basic", Prices: []paywall.Price{
			monthly("basic_month", 500), yearly("basic_year", 5000)}},
		{ID: "pro", Name: "Pro", Prices: []paywall.Price{
			monthly("pro_month", 900), yearly("pro_year", 9000)}},
	}}
}

func TestCatalogValidate(t *testing.T) {
	if err := testCatalog().Validate(); err != nil {
		t.Fatalf("valid catalog: got %v, want nil", err)
	}

	tests := []struct {
		name  string
		edit  func(*paywall.Catalog)
		wants []string // fragments of the message
	}{
		{"no plans", func(c *paywall.Catalog) { c.Plans = nil }, []string{"no plans"}},
		{"plan without id", func(c *paywall.Catalog) { c.Plans[1].ID = "" }, []string{"no id"}},
		{"plan defined twice", func(c *paywall.Catalog) { c.Plans[1].ID = "basic" },
			[]string{`"basic"`, "twice"}},
		{"plan without prices", func(c *paywall.Catalog) { c.Plans[1].Prices = nil },
			[]string{`"pro"`, "no prices"}},
		{"bad interval", func(c *paywall.Catalog) { c.Plans[1].Prices[0].Interval = "week" },
			[]string{`"pro"`, `"week"`}},
		{"no lookup key", func(c *paywall.Catalog) { c.Plans[1].Prices[1].LookupKey = "" },
			[]string{`"pro"`, "year", "lookup_key"}},
		{"lookup key used by two plans", func(c *paywall.Catalog) {
			c.Plans[1].Prices[0].LookupKey = "basic_month"
		}, []string{`"pro"`, `"basic_month"`, "twice"}},
		{"zero amount", func(c *paywall.Catalog) { c.Plans[1].Prices[0].Amount = 0 },
			[]string{`"pro"`, "month", "positive"}},
		{"negative amount", func(c *paywall.Catalog) { c.Plans[0].Prices[1].Amount = -5 },
			[]string{`"basic"`, "year", "positive"}},
		{"currency too long", func(c *paywall.Catalog) { c.Plans[1].Prices[0].Currency = "dollar" },
			[]string{`"pro"`, `"dollar"`}},
		{"currency too short", func(c *paywall.Catalog) { c.Plans[1].Prices[0].Currency = "us" },
			[]string{`"pro"`, `"us"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCatalog()
			tt.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("got nil, want an error containing %q", tt.wants)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestCatalogPlanByLookupKey(t *testing.T) {
	tests := []struct {
		key    string
		wantID string
		wantOK bool
	}{
		{"basic_month", "basic", true},
		{"pro_year", "pro", true},
		{"elite_month", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			p, ok := testCatalog().PlanByLookupKey(tt.key)
			if p.ID != tt.wantID || ok != tt.wantOK {
				t.Errorf("got %q, %v, want %q, %v", p.ID, ok, tt.wantID, tt.wantOK)
			}
		})
	}
}

func TestCatalogPlan(t *testing.T) {
	if p, ok := testCatalog().Plan("pro"); !ok || p.Name != "Pro" {
		t.Errorf("Plan(pro): got %+v, %v, want Pro, true", p, ok)
	}
	if p, ok := testCatalog().Plan("gold"); ok {
		t.Errorf("Plan(gold): got %+v, true, want false", p)
	}
}

func TestPlanPrice(t *testing.T) {
	plan, _ := testCatalog().Plan("pro")
	tests := []struct {
		interval paywall.Interval
		want     paywall.Price
		wantOK   bool
	}{
		{paywall.Month, monthly("pro_month", 900), true},
		{paywall.Year, yearly("pro_year", 9000), true},
		{"week", paywall.Price{}, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.interval), func(t *testing.T) {
			got, ok := plan.Price(tt.interval)
			if !reflect.DeepEqual(got, tt.want) || ok != tt.wantOK {
				t.Errorf("got %+v, %v, want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
