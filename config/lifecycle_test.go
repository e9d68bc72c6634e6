package config

import (
	"strings"
	"testing"
	"time"

	"github.com/paywall/paywall"
)

var lifecyclePlans = []byte(`
[[plans]]
id = "basic"
[[plans.prices]]
interval = "month"
lookup_key = "basic_month"
amount = 500
currency = "usd"
`)

func TestLifecycleSettings(t *testing.T) {
	key := map[string]string{"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_a"}
	with := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{k: v}
		for bk, bv := range base {
			m[bk] = bv
		}
		return m
	}
	c, err := Parse(key, lifecyclePlans)
	if err != nil {
		t.Fatal(err)
	}
	if c.WebhookTolerance != 300*time.Second || !c.WebhookRefetch ||
		c.Policy != paywall.DefaultPolicy {
		t.Errorf("defaults with a key: tolerance %v refetch %t policy %+v", c.WebhookTolerance,
			c.WebhookRefetch, c.Policy)
	}
	if c, _ := Parse(map[string]string{}, lifecyclePlans); c.WebhookRefetch {
		t.Errorf("refetch on without a key")
	}
	c, err = Parse(with(with(key, "PAYWALL_PAST_DUE_GRACE", "168h"), "PAYWALL_REFUND_POLICY", "revoke"), lifecyclePlans)
	if err != nil || c.Policy.PastDueGrace != 168*time.Hour || c.Policy.Refund != paywall.RefundRevoke {
		t.Errorf("grace and refund policy: %+v, %v", c.Policy, err)
	}
	for _, bad := range []struct{ name, value string }{
		{"PAYWALL_PAST_DUE_GRACE", "three days"},
		{"PAYWALL_PAST_DUE_GRACE", "-1h"},
		{"PAYWALL_WEBHOOK_TOLERANCE", "0s"},
		{"PAYWALL_WEBHOOK_TOLERANCE", "soon"},
		{"PAYWALL_REFUND_POLICY", "maybe"},
		{"PAYWALL_WEBHOOK_REFETCH", "perhaps"},
	} {
		_, err := Parse(with(key, bad.name, bad.value), lifecyclePlans)
		if err == nil || !strings.HasPrefix(err.Error(), bad.name+":") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%q: error %v, want one line naming the variable", bad.name, bad.value, err)
		}
	}
	if _, err := Parse(map[string]string{"PAYWALL_WEBHOOK_REFETCH": "true"}, lifecyclePlans); err == nil ||
		!strings.HasPrefix(err.Error(), "PAYWALL_WEBHOOK_REFETCH:") {
		t.Errorf("refetch without a key: %v", err)
	}
}
