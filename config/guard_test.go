package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const twoPlans = `
[[plans]]
id = "basic"
  [[plans.prices]]
  interval = "month"
  lookup_key = "basic_month"
  amount = 500
  currency = "usd"
[[plans]]
id = "elite"
%s
  [[plans.prices]]
  interval = "month"
  lookup_key = "elite_month"
  amount = 900
  currency = "usd"
%s
`

func parseWith(t *testing.T, elite, rules string, vars map[string]string) (Config, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "paywall.toml")
	body := strings.Replace(strings.Replace(twoPlans, "%s", elite, 1), "%s", rules, 1)
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PAYWALL_CONFIG": file}
	for k, v := range vars {
		env[k] = v
	}
	return Parse(env, nil)
}

func TestPlansIncludesAndRules(t *testing.T) {
	c, err := parseWith(t, `includes = ["basic"]`,
		"[[rules]]\npath = \"/members/**\"\nplans = [\"elite\"]", nil)
	if err != nil {
		t.Fatal(err)
	}
	elite, _ := c.Catalog.Plan("elite")
	if !slices.Equal(elite.Includes, []string{"basic"}) || !c.Catalog.Covers("elite", "basic") {
		t.Errorf("elite includes %v, want basic", elite.Includes)
	}
	if len(c.Globs) != 1 || c.Globs[0].Pattern != "/members/**" {
		t.Errorf("rules %v", c.Globs)
	}
	if c.AllowLeaks {
		t.Errorf("AllowLeaks on by default")
	}

	tests := []struct {
		name, elite, rules string
		vars               map[string]string
		want               string
	}{
		{"unknown include", `includes = ["gold"]`, "", nil,
			`PAYWALL_CONFIG: plan "elite" includes the unknown plan "gold"`},
		{"include loop", `includes = ["elite"]`, "", nil, `PAYWALL_CONFIG: plan "elite" includes "elite"`},
		{"rule plan", "", "[[rules]]\npath = \"/m/**\"\nplans = [\"gold\"]", nil,
			`PAYWALL_CONFIG: rule "/m/**" names the unknown plan "gold"`},
		{"rule path", "", "[[rules]]\npath = \"m/[\"\nplans = [\"basic\"]", nil,
			`PAYWALL_CONFIG: rule path "m/[" is not a pattern`},
		{"allow leaks", "", "", map[string]string{"PAYWALL_ALLOW_LEAKS": "perhaps"},
			`PAYWALL_ALLOW_LEAKS: "perhaps" is not true or false`},
	}
	for _, tt := range tests {
		_, err := parseWith(t, tt.elite, tt.rules, tt.vars)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if c, err := parseWith(t, "", "", map[string]string{"PAYWALL_ALLOW_LEAKS": "true"}); err != nil || !c.AllowLeaks {
		t.Errorf("PAYWALL_ALLOW_LEAKS=true: %v, %v", c.AllowLeaks, err)
	}
}
