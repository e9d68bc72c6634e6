package paywall_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/paywall/paywall"
)

func TestAccessWithGrants(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name   string
		subs   []paywall.Subscription
		grants []paywall.Grant
		want   paywall.Access
	}{
		{
			name:   "an open grant gives its plan",
			grants: []paywall.Grant{{PlanID: "pro"}},
			want:   paywall.Access{PlanID: "pro", Plans: []string{"pro"}, Comped: true},
		},
		{
			name:   "a grant gives access until its end",
			grants: []paywall.Grant{{PlanID: "pro", Until: now.Add(time.Second)}},
			want: paywall.Access{PlanID: "pro", Plans: []string{"pro"}, Comped: true,
				Until: now.Add(time.Second)},
		},
		{
			name:   "a grant ending now gives nothing",
			grants: []paywall.Grant{{PlanID: "pro", Until: now}},
			want:   paywall.Access{},
		},
		{
			name:   "a grant without a plan gives nothing",
			grants: []paywall.Grant{{}},
			want:   paywall.Access{},
		},
		{
			name:   "a grant outlasts a canceled subscription",
			subs:   []paywall.Subscription{{Status: paywall.Canceled, PlanID: "basic", Version: 1}},
			grants: []paywall.Grant{{PlanID: "elite", Until: now.Add(day)}},
			want: paywall.Access{PlanID: "elite", Plans: []string{"elite"}, Comped: true,
				Until: now.Add(day)},
		},
		{
			name:   "an open subscription wins over an open grant, both count",
			subs:   []paywall.Subscription{{Status: paywall.Active, PlanID: "basic"}},
			grants: []paywall.Grant{{PlanID: "elite"}},
			want: paywall.Access{PlanID: "basic", Plans: []string{"basic", "elite"},
				Status: paywall.Active},
		},
		{
			name: "an open grant wins over an ending subscription",
			subs: []paywall.Subscription{{Status: paywall.Active, PlanID: "basic",
				CancelAt: now.Add(day)}},
			grants: []paywall.Grant{{PlanID: "basic"}},
			want:   paywall.Access{PlanID: "basic", Plans: []string{"basic"}, Comped: true},
		},
		{
			name: "an expired grant leaves the subscription's status",
			subs: []paywall.Subscription{{Status: paywall.PastDue, PlanID: "basic",
				PeriodEnd: now.Add(-paywall.PastDueGrace - time.Second)}},
			grants: []paywall.Grant{{PlanID: "pro", Until: now.Add(-time.Second)}},
			want:   paywall.Access{Status: paywall.PastDue},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := paywall.DefaultPolicy.AccessWith(tt.subs, tt.grants, now)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestAccessIsAccessWithoutGrants: existing callers decide as before.
func TestAccessIsAccessWithoutGrants(t *testing.T) {
	subs := []paywall.Subscription{
		{Status: paywall.Active, PlanID: "elite", CancelAt: now.Add(time.Hour)},
		{Status: paywall.Trialing, PlanID: "basic"},
	}
	a, b := paywall.DefaultPolicy.Access(subs, now), paywall.DefaultPolicy.AccessWith(subs, nil, now)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("Access = %+v, AccessWith(subs, nil) = %+v", a, b)
	}
	if a.Comped {
		t.Errorf("subscriptions alone decided %+v, want Comped false", a)
	}
}

func TestGrantDecidesRule(t *testing.T) {
	a := paywall.DefaultPolicy.AccessWith(nil, []paywall.Grant{{PlanID: "elite"}}, now)
	if d := paywall.Decide(&paywall.Rule{Plans: []string{"elite"}}, true, a); d != paywall.Allow {
		t.Errorf("elite rule with an elite grant: %v, want allow", d)
	}
	if d := paywall.Decide(&paywall.Rule{Plans: []string{"basic"}}, true, a); d != paywall.Upgrade {
		t.Errorf("basic rule with an elite grant: %v, want upgrade", d)
	}
}
