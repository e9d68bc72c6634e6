package sqlite_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite/storetest"
)

func sub(status paywall.Status, plan string, version int64) paywall.Subscription {
	return paywall.Subscription{ID: "sub_1", CustomerID: "cus_1", Status: status, PlanID: plan,
		LookupKey: plan + "_month", PeriodEnd: time.Unix(1_752_592_000, 0), Version: version}
}

func subChange(s paywall.Subscription) paywall.Change {
	return paywall.Change{Subscription: &s}
}

func TestSubscriptionBeforeCheckout(t *testing.T) { storetest.Each(t, testSubscriptionBeforeCheckout) }

func testSubscriptionBeforeCheckout(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	want := sub(paywall.Active, "pro", 100)
	want.CancelAt = time.Unix(1_752_000_000, 0)

	if m := apply(t, s, "evt_sub", subChange(want)); m != 0 {
		t.Errorf("subscription without a known customer: got member %d, want 0", m)
	}
	member := apply(t, s, "evt_cs", purchase("cs_1", "cus_1", "ann@example.com"))

	got := subscriptions(t, s, member)
	if !reflect.DeepEqual(got, []paywall.Subscription{want}) {
		t.Errorf("got %+v, want [%+v]", got, want)
	}
}

func TestSubscriptionVersions(t *testing.T) { storetest.Each(t, testSubscriptionVersions) }

func testSubscriptionVersions(t *testing.T, db storetest.DB) {
	tests := []struct {
		name   string
		events []paywall.Subscription
		want   paywall.Subscription
	}{
		{
			name:   "newer replaces older",
			events: []paywall.Subscription{sub(paywall.Active, "pro", 100), sub(paywall.PastDue, "pro", 200)},
			want:   sub(paywall.PastDue, "pro", 200),
		},
		{
			name:   "older does not overwrite newer",
			events: []paywall.Subscription{sub(paywall.Active, "pro", 200), sub(paywall.Incomplete, "basic", 100)},
			want:   sub(paywall.Active, "pro", 200),
		},
		{
			name:   "equal version replaces",
			events: []paywall.Subscription{sub(paywall.Active, "pro", 200), sub(paywall.PastDue, "pro", 200)},
			want:   sub(paywall.PastDue, "pro", 200),
		},
		{
			name:   "canceled is not revived",
			events: []paywall.Subscription{sub(paywall.Canceled, "pro", 100), sub(paywall.Active, "pro", 200)},
			want:   sub(paywall.Canceled, "pro", 100),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t, db)
			member := apply(t, s, "evt_cs", purchase("cs_1", "cus_1", "ann@example.com"))
			for i, e := range tt.events {
				apply(t, s, "evt_sub_"+string(rune('a'+i)), subChange(e))
			}

			got := subscriptions(t, s, member)
			if !reflect.DeepEqual(got, []paywall.Subscription{tt.want}) {
				t.Errorf("got %+v, want [%+v]", got, tt.want)
			}
		})
	}
}

func TestSubscriptionsOfOtherMembers(t *testing.T) {
	storetest.Each(t, testSubscriptionsOfOtherMembers)
}

func testSubscriptionsOfOtherMembers(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ann := apply(t, s, "evt_cs1", purchase("cs_1", "cus_1", "ann@example.com"))
	bob := apply(t, s, "evt_cs2", purchase("cs_2", "cus_2", "bob@example.com"))
	apply(t, s, "evt_sub", subChange(sub(paywall.Active, "pro", 100)))

	if got := subscriptions(t, s, bob); len(got) != 0 {
		t.Errorf("bob: got %+v, want none", got)
	}
	if got := subscriptions(t, s, ann); len(got) != 1 {
		t.Errorf("ann: got %+v, want one", got)
	}
}

func TestInvoices(t *testing.T) { storetest.Each(t, testInvoices) }

func testInvoices(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()
	member := apply(t, s, "evt_cs", purchase("cs_1", "cus_1", "ann@example.com"))
	invoice := func(id, customer string, created int64, status string) paywall.Invoice {
		return paywall.Invoice{ID: id, CustomerID: customer, SubscriptionID: "sub_1",
			Number: id + "-0001", Status: status, Amount: 900, Currency: "usd",
			URL: "https://invoice.stripe.com/" + id, Created: time.Unix(created, 0), Version: created}
	}
	older := invoice("in_1", "cus_1", 1_750_000_000, "paid")
	newer := invoice("in_2", "cus_1", 1_752_000_000, "open")
	paidLater := newer
	paidLater.Status, paidLater.Version = "paid", 1_752_000_100
	stale := newer
	stale.Status, stale.Version = "draft", 1_751_000_000

	for i, in := range []paywall.Invoice{older, newer, invoice("in_3", "cus_other", 1_751_000_000, "paid"),
		paidLater, stale} {
		apply(t, s, "evt_in_"+string(rune('a'+i)), paywall.Change{Invoice: &in})
	}

	got, err := s.Invoices(ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	want := []paywall.Invoice{paidLater, older}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v,\nwant %+v", got, want)
	}
}
