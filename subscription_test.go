package paywall_test

import (
	"testing"
	"time"

	"github.com/paywall/paywall"
)

func TestSubscriptionNewer(t *testing.T) {
	tests := []struct {
		name     string
		old, new paywall.Subscription
		want     bool
	}{
		{
			name: "newer version",
			old:  paywall.Subscription{Status: paywall.Active, Version: 100},
			new:  paywall.Subscription{Status: paywall.PastDue, Version: 101},
			want: true,
		},
		{
			name: "older version refused",
			old:  paywall.Subscription{Status: paywall.PastDue, Version: 100},
			new:  paywall.Subscription{Status: paywall.Active, Version: 99},
			want: false,
		},
		{
			name: "equal version accepted",
			old:  paywall.Subscription{Status: paywall.Active, Version: 100},
			new:  paywall.Subscription{Status: paywall.PastDue, Version: 100},
			want: true,
		},
		{
			name: "canceled never revived",
			old:  paywall.Subscription{Status: paywall.Canceled, Version: 100},
			new:  paywall.Subscription{Status: paywall.Active, Version: 200},
			want: false,
		},
		{
			name: "canceled replaced by a newer canceled",
			old:  paywall.Subscription{Status: paywall.Canceled, Version: 100},
			new:  paywall.Subscription{Status: paywall.Canceled, Version: 200},
			want: true,
		},
		{
			name: "older canceled refused",
			old:  paywall.Subscription{Status: paywall.Active, Version: 200},
			new:  paywall.Subscription{Status: paywall.Canceled, Version: 100},
			want: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.new.Newer(tt.old); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSubscriptionCancelsBy checks the rule the trial mail follows: a
// cancellation at or before the trial's end means no charge, a later one
// does not.
func TestSubscriptionCancelsBy(t *testing.T) {
	end := time.Unix(1_750_000_000, 0)
	tests := []struct {
		name     string
		cancelAt time.Time
		want     bool
	}{
		{name: "no cancellation"},
		{name: "before", cancelAt: end.Add(-time.Hour), want: true},
		{name: "at the same moment", cancelAt: end, want: true},
		{name: "after", cancelAt: end.Add(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := paywall.Subscription{Status: paywall.Trialing, CancelAt: tt.cancelAt}
			if got := sub.CancelsBy(end); got != tt.want {
				t.Errorf("CancelsBy(%v) with cancel_at %v = %v, want %v",
					end, tt.cancelAt, got, tt.want)
			}
		})
	}
}
