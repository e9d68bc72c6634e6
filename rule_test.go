package paywall_test

import (
	"testing"

	"github.com/paywall/paywall"
)

func TestDecide(t *testing.T) {
	gated := &paywall.Rule{Path: "/posts/week0001/", Plans: []string{"basic", "pro"}}
	basic := paywall.Access{PlanID: "basic", Status: paywall.Active}
	elite := paywall.Access{PlanID: "elite", Status: paywall.Active}
	tests := []struct {
		name     string
		rule     *paywall.Rule
		signedIn bool
		access   paywall.Access
		want     paywall.Decision
	}{
		{"nil rule signed out", nil, false, paywall.Access{}, paywall.Allow},
		{"free rule signed out", &paywall.Rule{Path: "/posts/welcome/"}, false, paywall.Access{},
			paywall.Allow},
		{"signed out", gated, false, paywall.Access{}, paywall.SignIn},
		{"signed out with access", gated, false, basic, paywall.SignIn},
		{"wrong plan", gated, true, elite, paywall.Upgrade},
		{"right plan", gated, true, basic, paywall.Allow},
		{"signed in without access", gated, true, paywall.Access{Status: paywall.Canceled},
			paywall.Upgrade},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := paywall.Decide(tt.rule, tt.signedIn, tt.access); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
