package config_test

import (
	"testing"

	"github.com/paywall/paywall/config"
)

// safeProduction is a production configuration every check accepts.
func safeProduction() map[string]string {
	return map[string]string{
		"PAYWALL_ENV":           "production",
		"PAYWALL_BASE_URL":      "https://letters.example.com",
		"STRIPE_SECRET_KEY":     "sk_live_51AbCdEf0123456789",
		"STRIPE_WEBHOOK_SECRET": "whsec_0123456789abcdefABCDEF",
		"PAYWALL_MAIL":          "smtp",
		"SMTP_URL":              "smtp://user:pass@smtp.example.com:587",
	}
}

// TestProductionRefuses: with PAYWALL_ENV=production each unsafe setting
// alone stops start-up with one line naming it.
func TestProductionRefuses(t *testing.T) {
	if _, err := config.Parse(safeProduction(), examplePlans(t)); err != nil {
		t.Fatalf("safe production configuration refused: %v", err)
	}
	for _, tt := range []struct {
		name    string
		set     map[string]string // "" deletes the variable
		wantVar string
	}{
		{"no Stripe key", map[string]string{"STRIPE_SECRET_KEY": "", "STRIPE_WEBHOOK_SECRET": ""}, "STRIPE_SECRET_KEY"},
		{"key with a stray character", map[string]string{"STRIPE_SECRET_KEY": "sk_live_51AbC'"}, "STRIPE_SECRET_KEY"},
		{"key of no mode", map[string]string{"STRIPE_SECRET_KEY": "sk_51AbCdEf"}, "STRIPE_SECRET_KEY"},
		{"truncated key", map[string]string{"STRIPE_SECRET_KEY": "sk_live_"}, "STRIPE_SECRET_KEY"},
		{"secret with a space", map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_abc def"}, "STRIPE_WEBHOOK_SECRET"},
		{"second secret truncated", map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_abc,whsec_"}, "STRIPE_WEBHOOK_SECRET"},
		{"stripe-mock", map[string]string{"STRIPE_API_BASE": "http://localhost:12111"}, "STRIPE_API_BASE"},
		{"http base URL", map[string]string{"PAYWALL_BASE_URL": "http://letters.example.com"}, "PAYWALL_BASE_URL"},
		{"Firebase emulator", map[string]string{"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"},
			"FIREBASE_AUTH_EMULATOR_HOST"},
		{"log mailer", map[string]string{"PAYWALL_MAIL": "log"}, "PAYWALL_MAIL"},
		{"default mailer", map[string]string{"PAYWALL_MAIL": "", "SMTP_URL": ""}, "PAYWALL_MAIL"},
		{"SMTP in the clear", map[string]string{"SMTP_URL": "smtp://u:p@smtp.example.com:25?tls=none"}, "SMTP_URL"},
		{"SendGrid over http", map[string]string{"PAYWALL_MAIL": "sendgrid", "SENDGRID_API_KEY": "SG.key",
			"SENDGRID_API_BASE": "http://sendgrid.example.com"}, "SENDGRID_API_BASE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vars := safeProduction()
			for k, v := range tt.set {
				if v == "" {
					delete(vars, k)
				} else {
					vars[k] = v
				}
			}
			_, err := config.Parse(vars, examplePlans(t))
			if err == nil {
				t.Fatalf("accepted; want a refusal naming %s", tt.wantVar)
			}
			checkOneLine(t, err, tt.wantVar, "PAYWALL_ENV=production")
			vars["PAYWALL_ENV"] = "development"
			if _, err := config.Parse(vars, examplePlans(t)); err != nil {
				t.Errorf("refused outside production too: %v", err)
			}
		})
	}
}
