package paywall_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/paywall/paywall"
)

var now = time.Unix(1_750_000_000, 0)

func TestAccessOfStatus(t *testing.T) {
	tests := []struct {
		status  paywall.Status
		granted bool
	}{
		{paywall.Trialing, true},
		{paywall.Active, true},
		{paywall.PastDue, true},
		{paywall.Unpaid, false},
		{paywall.Canceled, false},
		{paywall.Incomplete, false},
		{paywall.IncompleteExpired, false},
		{paywall.Paused, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			sub := paywall.Subscription{ID: "sub_1", Status: tt.status, PlanID: "basic",
				PeriodEnd: now.Add(-time.Hour), Version: 1}
			got := paywall.AccessOf([]paywall.Subscription{sub}, now)

			want := paywall.Access{Status: tt.status}
			if tt.granted {
				want.PlanID = "basic"
			}
			if tt.status == paywall.PastDue {
				want.Until = sub.PeriodEnd.Add(paywall.PastDueGrace)
			}
			if !sameAccess(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
			if got.Granted() != tt.granted {
				t.Errorf("Granted() = %v, want %v", got.Granted(), tt.granted)
			}
		})
	}
}

func TestAccessOf(t *testing.T) {
	active := func(id string, version int64) paywall.Subscription {
		return paywall.Subscription{ID: id, Status: paywall.Active, PlanID: "basic", Version: version}
	}
	tests := []struct {
		name string
		subs []paywall.Subscription
		want paywall.Access
	}{
		{
			name: "none",
			want: paywall.Access{},
		},
		{
			name: "past_due within the grace period",
			subs: []paywall.Subscription{{Status: paywall.PastDue, PlanID: "pro",
				PeriodEnd: now.Add(-paywall.PastDueGrace + time.Minute)}},
			want: paywall.Access{PlanID: "pro", Status: paywall.PastDue, Until: now.Add(time.Minute)},
		},
		{
			name: "past_due after the grace period",
			subs: []paywall.Subscription{{Status: paywall.PastDue, PlanID: "pro",
				PeriodEnd: now.Add(-paywall.PastDueGrace - time.Second)}},
			want: paywall.Access{Status: paywall.PastDue},
		},
		{
			name: "past_due when the grace period ends now",
			subs: []paywall.Subscription{{Status: paywall.PastDue, PlanID: "pro",
				PeriodEnd: now.Add(-paywall.PastDueGrace)}},
			want: paywall.Access{Status: paywall.PastDue},
		},
		{
			name: "cancel_at in the future keeps access and is ending",
			subs: []paywall.Subscription{{Status: paywall.Active, PlanID: "pro",
				CancelAt: now.Add(24 * time.Hour)}},
			want: paywall.Access{PlanID: "pro", Status: paywall.Active,
				Until: now.Add(24 * time.Hour), Ending: true},
		},
		{
			name: "cancel_at in the past removes access",
			subs: []paywall.Subscription{{Status: paywall.Active, PlanID: "pro",
				CancelAt: now.Add(-time.Second)}},
			want: paywall.Access{Status: paywall.Active},
		},
		{
			name: "without a plan",
			subs: []paywall.Subscription{{Status: paywall.Active}},
			want: paywall.Access{Status: paywall.Active},
		},
		{
			name: "open-ended beats ending",
			subs: []paywall.Subscription{
				{Status: paywall.Active, PlanID: "elite", CancelAt: now.Add(48 * time.Hour)},
				{Status: paywall.Trialing, PlanID: "basic"},
			},
			want: paywall.Access{PlanID: "basic", Status: paywall.Trialing},
		},
		{
			name: "later end beats earlier end",
			subs: []paywall.Subscription{
				{Status: paywall.Active, PlanID: "elite", CancelAt: now.Add(48 * time.Hour)},
				{Status: paywall.Active, PlanID: "pro", CancelAt: now.Add(72 * time.Hour)},
				{Status: paywall.Active, PlanID: "basic", CancelAt: now.Add(24 * time.Hour)},
			},
			want: paywall.Access{PlanID: "pro", Status: paywall.Active,
				Until: now.Add(72 * time.Hour), Ending: true},
		},
		{
			name: "granting beats a newer denying one",
			subs: []paywall.Subscription{
				active("sub_old", 1),
				{ID: "sub_new", Status: paywall.Canceled, PlanID: "pro", Version: 9},
			},
			want: paywall.Access{PlanID: "basic", Status: paywall.Active},
		},
		{
			name: "no access reports the latest status",
			subs: []paywall.Subscription{
				{Status: paywall.Canceled, PlanID: "basic", Version: 10},
				{Status: paywall.IncompleteExpired, PlanID: "basic", Version: 30},
				{Status: paywall.Unpaid, PlanID: "basic", Version: 20},
			},
			want: paywall.Access{Status: paywall.IncompleteExpired},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := paywall.AccessOf(tt.subs, now)
			if !sameAccess(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestAccessOfOrder checks that the winner does not depend on the order in
// which the store lists subscriptions.
func TestAccessOfOrder(t *testing.T) {
	ending := paywall.Subscription{Status: paywall.Active, PlanID: "elite", CancelAt: now.Add(time.Hour)}
	open := paywall.Subscription{Status: paywall.Active, PlanID: "basic"}
	want := paywall.Access{PlanID: "basic", Status: paywall.Active}
	for _, subs := range [][]paywall.Subscription{{ending, open}, {open, ending}} {
		if got := paywall.AccessOf(subs, now); !sameAccess(got, want) {
			t.Errorf("AccessOf(%v) = %+v, want %+v", subs, got, want)
		}
	}
}

// sameAccess compares accesses but for Plans, which TestAccessPlans checks.
func sameAccess(a, b paywall.Access) bool {
	a.Plans, b.Plans = nil, nil
	return reflect.DeepEqual(a, b)
}

// TestAccessPlans: a member who pays for two plans reads what either covers.
func TestAccessPlans(t *testing.T) {
	basic := paywall.Subscription{ID: "sub_b", Status: paywall.Active, PlanID: "basic", Version: 1}
	elite := paywall.Subscription{ID: "sub_e", Status: paywall.Active, PlanID: "elite", Version: 2,
		CancelAt: now.Add(time.Hour)}
	ended := paywall.Subscription{ID: "sub_p", Status: paywall.Canceled, PlanID: "pro", Version: 3}
	got := paywall.AccessOf([]paywall.Subscription{elite, ended, basic}, now)
	if got.PlanID != "basic" || !reflect.DeepEqual(got.Plans, []string{"basic", "elite"}) {
		t.Errorf("got plan %q and plans %v, want basic first, then elite, and no pro",
			got.PlanID, got.Plans)
	}
	for _, tt := range []struct {
		plans []string
		want  paywall.Decision
	}{
		{[]string{"elite"}, paywall.Allow},
		{[]string{"basic"}, paywall.Allow},
		{[]string{"pro"}, paywall.Upgrade},
	} {
		if d := paywall.Decide(&paywall.Rule{Plans: tt.plans}, true, got); d != tt.want {
			t.Errorf("Decide(%v) = %v, want %v", tt.plans, d, tt.want)
		}
	}
}
