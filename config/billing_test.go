package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const plansWithBilling = `
[[plans]]
id = "basic"
trial_days = 7
promotion_codes = true
  [[plans.prices]]
  interval = "month"
  lookup_key = "basic_month"
  amount = 500
  currency = "USD"
[[plans]]
id = "pro"
  [[plans.prices]]
  interval = "month"
  lookup_key = "pro_month"
  amount = 900
  currency = "usd"
`

func parseBillingWith(t *testing.T, plans string, vars map[string]string) (Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "paywall.toml")
	if err := os.WriteFile(path, []byte(plans), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PAYWALL_CONFIG": path}
	for k, v := range vars {
		env[k] = v
	}
	return Parse(env, nil)
}

func TestBillingFields(t *testing.T) {
	cfg, err := parseBillingWith(t, plansWithBilling+`
[portal]
switch_plans = ["basic", "pro"]
cancel = "immediately"
invoice_history = false
`, map[string]string{"PAYWALL_RECONCILE_EVERY": "6h"})
	if err != nil {
		t.Fatal(err)
	}
	basic, _ := cfg.Catalog.Plan("basic")
	if basic.TrialDays != 7 || !basic.PromotionCodes {
		t.Errorf("basic: trial %d, promotion codes %t; want 7, true", basic.TrialDays, basic.PromotionCodes)
	}
	p := cfg.Catalog.Portal
	if p == nil || p.Cancel != "immediately" || p.InvoiceHistory || !p.PaymentMethodUpdate ||
		len(p.SwitchPlans) != 2 {
		t.Errorf("portal %+v, want switching basic/pro, immediate cancel, no invoice history", p)
	}
	if cfg.ReconcileEvery != 6*time.Hour || !cfg.CancelDuplicates {
		t.Errorf("reconcile every %s, cancel duplicates %t; want 6h, on", cfg.ReconcileEvery, cfg.CancelDuplicates)
	}

	cfg, err = parseBillingWith(t, plansWithBilling, nil)
	if err != nil || cfg.Catalog.Portal != nil || cfg.ReconcileEvery != 0 {
		t.Errorf("without [portal] and PAYWALL_RECONCILE_EVERY: %v, portal %v, every %s", err,
			cfg.Catalog.Portal, cfg.ReconcileEvery)
	}
}

func TestBillingFieldErrors(t *testing.T) {
	tests := []struct {
		name  string
		plans string
		vars  map[string]string
		want  string
	}{
		{"trial too long", strings.Replace(plansWithBilling, "trial_days = 7", "trial_days = 731", 1), nil,
			`PAYWALL_CONFIG: plan "basic": trial_days must be between 0 and 730`},
		{"portal names an unknown plan", plansWithBilling + "[portal]\nswitch_plans = [\"basic\", \"gold\"]\n", nil,
			`PAYWALL_CONFIG: portal: switch_plans names unknown plan "gold"`},
		{"portal cancel mode", plansWithBilling + "[portal]\ncancel = \"later\"\n", nil,
			`PAYWALL_CONFIG: portal: cancel "later" is not at_period_end, immediately or off`},
		{"reconcile interval", plansWithBilling, map[string]string{"PAYWALL_RECONCILE_EVERY": "5s"},
			`PAYWALL_RECONCILE_EVERY: "5s" is not a duration of at least 1m`},
		{"duplicates switch", plansWithBilling, map[string]string{"PAYWALL_CANCEL_DUPLICATES": "maybe"},
			`PAYWALL_CANCEL_DUPLICATES: "maybe" is not one of on, off`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseBillingWith(t, tt.plans, tt.vars)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line starting %q", err, tt.want)
			}
		})
	}
}

// TestWebhookSecretForServe: the stripe commands run with a key alone (the
// secret comes from setup-webhook); serving needs the secret.
func TestWebhookSecretForServe(t *testing.T) {
	cfg, err := parseBillingWith(t, plansWithBilling, map[string]string{"STRIPE_SECRET_KEY": "sk_test_x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.CheckServe(); err == nil || !strings.HasPrefix(err.Error(), "STRIPE_WEBHOOK_SECRET: required") {
		t.Errorf("CheckServe without a secret: %v", err)
	}
	cfg, _ = parseBillingWith(t, plansWithBilling, map[string]string{"STRIPE_SECRET_KEY": "sk_test_x",
		"STRIPE_WEBHOOK_SECRET": "whsec_x"})
	if err := cfg.CheckServe(); err != nil {
		t.Errorf("CheckServe with a secret: %v", err)
	}
}
