package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paywall/paywall"
)

func TestDashboard(t *testing.T) {
	f := newCacheFixture(t)
	f.srv.Catalog = paywall.Catalog{Plans: []paywall.Plan{{ID: "basic", Name: "Basic"}}}
	get := func() string {
		t.Helper()
		r := httptest.NewRequest("GET", "/account", nil)
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "tok-1"})
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("dashboard: %d", w.Code)
		}
		return w.Body.String()
	}
	periodEnd := f.now.Add(10 * 24 * time.Hour)
	f.store.set(1, paywall.Subscription{ID: "sub_1", Status: paywall.Active, PlanID: "basic",
		PeriodEnd: periodEnd})
	f.store.invoices = []paywall.Invoice{{ID: "in_1", Number: "INV-0001", Status: "paid",
		Amount: 1900, Currency: "usd", URL: "https://invoice.stripe.test/i/1", Created: f.now}}
	body := get()
	for _, want := range []string{"Basic", "active", "Renews on", date(periodEnd), "INV-0001",
		`href="https://invoice.stripe.test/i/1"`, "$19", "paid", `action="/account/portal"`,
		`action="/account/sessions/end"`, `action="/account/email"`} {
		if !strings.Contains(body, want) {
			t.Errorf("active dashboard lacks %q", want)
		}
	}
	if strings.Contains(body, "did not go through") {
		t.Error("active dashboard shows the past_due banner")
	}
	// On a warm cache the dashboard reads subscriptions from it, not again
	// from the store.
	before := f.store.count()
	get()
	if n := f.store.count() - before; n != 0 {
		t.Errorf("a warm dashboard asked the store for subscriptions %d times", n)
	}

	// The renewal at f.now failed: the unpaid period starts then.
	f.store.set(1, paywall.Subscription{ID: "sub_1", Status: paywall.PastDue, PlanID: "basic",
		PeriodStart: f.now, PeriodEnd: f.now.AddDate(0, 1, 0)})
	f.srv.Forget(1)
	body = get()
	for _, want := range []string{"did not go through", "Update payment method", "past_due",
		date(f.now.Add(paywall.PastDueGrace))} {
		if !strings.Contains(body, want) {
			t.Errorf("past_due dashboard lacks %q", want)
		}
	}

	f.store.set(1, paywall.Subscription{ID: "sub_1", Status: paywall.Active, PlanID: "basic",
		PeriodEnd: periodEnd, CancelAt: periodEnd})
	f.srv.Forget(1)
	if body := get(); !strings.Contains(body, "Ends on") || strings.Contains(body, "Renews on") {
		t.Errorf("a canceling subscription's dashboard does not say when it ends")
	}

	// A grant outlasting the subscription: a complimentary membership, and
	// the portal button stays, since the member pays Stripe still.
	f.srv.Catalog.Plans = append(f.srv.Catalog.Plans, paywall.Plan{ID: "elite", Name: "Elite"})
	f.store.grant(1, paywall.Grant{PlanID: "elite"})
	f.srv.Forget(1)
	body = get()
	if !strings.Contains(body, "Complimentary Elite membership") || strings.Contains(body, " until ") ||
		!strings.Contains(body, `action="/account/portal"`) {
		t.Errorf("an open grant next to a subscription: dashboard lacks the membership or the portal")
	}
}

// TestDashboardComped: a member whose only access is a grant sees it, until
// when, and no billing portal, for there is no Stripe customer to show.
func TestDashboardComped(t *testing.T) {
	f := newCacheFixture(t)
	f.srv.Catalog = paywall.Catalog{Plans: []paywall.Plan{{ID: "pro", Name: "Pro"}}}
	f.store.set(1)
	until := f.now.Add(30 * 24 * time.Hour)
	f.store.grant(1, paywall.Grant{PlanID: "pro", Until: until})
	r := httptest.NewRequest("GET", "/account", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "tok-1"})
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("dashboard: %d", w.Code)
	}
	body := w.Body.String()
	if want := "Complimentary Pro membership until " + date(until); !strings.Contains(body, want) {
		t.Errorf("dashboard lacks %q", want)
	}
	for _, unwanted := range []string{`action="/account/portal"`, "Choose a plan", "no subscription"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("comped dashboard shows %q", unwanted)
		}
	}
}

// TestDashboardGrantBesideSubscription: a grant never hides what Stripe
// bills, nor does it make an ending subscription look renewing; a grant
// given through a day reads as through that day.
func TestDashboardGrantBesideSubscription(t *testing.T) {
	f := newCacheFixture(t)
	f.srv.Catalog = paywall.Catalog{Plans: []paywall.Plan{{ID: "basic", Name: "Basic"},
		{ID: "elite", Name: "Elite"}}}
	get := func() string {
		t.Helper()
		f.srv.Forget(1)
		r := httptest.NewRequest("GET", "/account", nil)
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "tok-1"})
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("dashboard: %d", w.Code)
		}
		return w.Body.String()
	}
	end := f.now.Add(10 * 24 * time.Hour)
	for _, tt := range []struct {
		name         string
		plan         string
		want, unwant []string
	}{
		{"an ending Elite subscription beside a Basic grant", "elite",
			[]string{"Complimentary Basic membership", "Elite", "Ends on", date(end)},
			[]string{"Renews on"}},
		{"an ending Basic subscription beside a Basic grant", "basic",
			[]string{"Complimentary Basic membership", "Ends on", date(end)},
			[]string{"Renews on"}},
	} {
		f.store.set(1, paywall.Subscription{ID: "sub_1", Status: paywall.Active, PlanID: tt.plan,
			PeriodEnd: end, CancelAt: end})
		f.store.grant(1, paywall.Grant{PlanID: "basic"})
		body := get()
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: dashboard lacks %q", tt.name, w)
			}
		}
		for _, w := range tt.unwant {
			if strings.Contains(body, w) {
				t.Errorf("%s: dashboard shows %q", tt.name, w)
			}
		}
	}

	f.store.set(1)
	f.store.grant(1, paywall.Grant{PlanID: "elite", Until: time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)})
	if body := get(); !strings.Contains(body, "Complimentary Elite membership through 1 January 2027") {
		t.Errorf("a grant through 1 January 2027 reads otherwise")
	}
	f.store.grant(1, paywall.Grant{PlanID: "elite", Until: time.Date(2027, 1, 2, 15, 0, 0, 0, time.UTC)})
	if body := get(); !strings.Contains(body, "Complimentary Elite membership until 2 January 2027") {
		t.Errorf("a grant until an afternoon of 2 January 2027 reads otherwise")
	}
}
