package paywall

import (
	"strings"
	"testing"
)

func nested(includes map[string][]string) Catalog {
	var c Catalog
	for _, id := range []string{"basic", "pro", "elite"} {
		c.Plans = append(c.Plans, Plan{ID: id, Includes: includes[id],
			Prices: []Price{{Interval: Month, LookupKey: id + "_month", Amount: 100, Currency: "usd"}}})
	}
	return c
}

func TestCovers(t *testing.T) {
	c := nested(map[string][]string{"pro": {"basic"}, "elite": {"pro"}})
	tests := []struct {
		plan, target string
		want         bool
	}{
		{"basic", "basic", true},
		{"pro", "basic", true},
		{"elite", "basic", true}, // through pro
		{"elite", "pro", true},
		{"basic", "pro", false},
		{"pro", "elite", false},
		{"", "basic", false},
	}
	for _, tt := range tests {
		if got := c.Covers(tt.plan, tt.target); got != tt.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tt.plan, tt.target, got, tt.want)
		}
	}
	if got := strings.Join(c.Unlocking([]string{"pro"}), ","); got != "pro,elite" {
		t.Errorf("Unlocking(pro) = %s, want pro,elite", got)
	}
	// Without includes, plans are the explicit lists.
	flat := nested(nil)
	if flat.Covers("elite", "basic") || len(flat.Unlocking([]string{"basic"})) != 1 {
		t.Errorf("plans without includes cover each other")
	}
}

func TestValidateIncludes(t *testing.T) {
	tests := []struct {
		includes map[string][]string
		want     string
	}{
		{map[string][]string{"pro": {"basic"}, "elite": {"pro", "basic"}}, ""},
		{map[string][]string{"pro": {"gold"}}, `plan "pro" includes the unknown plan "gold"`},
		{map[string][]string{"pro": {"pro"}}, `plan "pro" includes "pro"`},
		{map[string][]string{"pro": {"elite"}, "elite": {"pro"}}, `plan "pro" includes "elite", which includes "pro" again`},
	}
	for _, tt := range tests {
		err := nested(tt.includes).Validate()
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%v) = %v, want %q", tt.includes, err, tt.want)
		}
	}
}

func TestDecide(t *testing.T) {
	rule := &Rule{Path: "/p/", Plans: []string{"basic"}, Unlocks: []string{"basic", "elite"}}
	tests := []struct {
		name     string
		rule     *Rule
		signedIn bool
		access   Access
		want     Decision
	}{
		{"free page", nil, false, Access{}, Allow},
		{"signed out", rule, false, Access{}, SignIn},
		{"no subscription", rule, true, Access{}, Upgrade},
		{"named plan", rule, true, Access{PlanID: "basic", Status: Active}, Allow},
		{"including plan", rule, true, Access{PlanID: "elite", Status: Active}, Allow},
		{"other plan", rule, true, Access{PlanID: "pro", Status: Active}, Upgrade},
		{"plans only", &Rule{Plans: []string{"pro"}}, true, Access{PlanID: "pro"}, Allow},
	}
	for _, tt := range tests {
		if got := Decide(tt.rule, tt.signedIn, tt.access); got != tt.want {
			t.Errorf("%s: Decide = %v, want %v", tt.name, got, tt.want)
		}
	}
}
