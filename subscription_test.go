package paywall_test

import (
	"testing"

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
