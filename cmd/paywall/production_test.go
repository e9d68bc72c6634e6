package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProductionServeRefuses runs `paywall serve` as main does, from the
// environment, with PAYWALL_ENV=production and one unsafe setting at a
// time: it stops before opening the database, naming the setting.
func TestProductionServeRefuses(t *testing.T) {
	safe := map[string]string{
		"PAYWALL_ENV": "production", "PAYWALL_ADDR": "127.0.0.1:0",
		"PAYWALL_BASE_URL":      "https://letters.example.com",
		"STRIPE_SECRET_KEY":     "sk_test_51AbCdEf0123456789",
		"STRIPE_WEBHOOK_SECRET": "whsec_0123456789abcdef",
		"PAYWALL_MAIL":          "smtp", "SMTP_URL": "smtp://user:pass@smtp.example.com:587",
	}
	for _, tt := range []struct {
		name, key, value string
	}{
		{"simulated checkout", "STRIPE_SECRET_KEY", ""},
		{"no webhook secret", "STRIPE_WEBHOOK_SECRET", ""},
		{"malformed webhook secret", "STRIPE_WEBHOOK_SECRET", "whsec_"},
		{"malformed key", "STRIPE_SECRET_KEY", "sk_test_51AbC\"x"},
		{"stripe-mock", "STRIPE_API_BASE", "http://127.0.0.1:12111"},
		{"http", "PAYWALL_BASE_URL", "http://letters.example.com"},
		{"Firebase emulator", "FIREBASE_AUTH_EMULATOR_HOST", "localhost:9099"},
		{"log mailer", "PAYWALL_MAIL", "log"},
		{"SMTP in the clear", "SMTP_URL", "smtp://user:pass@smtp.example.com:25?tls=none"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "paywall.db")
			t.Setenv("PAYWALL_DATABASE_URL", "sqlite:"+db)
			for k, v := range safe {
				t.Setenv(k, v)
			}
			// An empty variable counts as unset, as in a compose file's X=${X}.
			t.Setenv(tt.key, tt.value)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"serve"}, &stdout, &stderr)
			if err == nil || !strings.HasPrefix(err.Error(), tt.key+": ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("serve: %v; want one line starting %s:", err, tt.key)
			}
			if _, statErr := os.Stat(db); !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("the database was opened before the refusal: %v", statErr)
			}
		})
	}
}
