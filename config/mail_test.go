package config

import (
	"strings"
	"testing"
	"time"

	"github.com/paywall/paywall/examples/site"
)

func TestMailAndLifetimes(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		err  string // "" for valid; else the variable the one-line error names
	}{
		{"log by default", nil, ""},
		{"unknown mailer", map[string]string{"PAYWALL_MAIL": "pigeon"}, "PAYWALL_MAIL:"},
		{"smtp without url", map[string]string{"PAYWALL_MAIL": "smtp"}, "SMTP_URL:"},
		{"smtp bad scheme", map[string]string{"PAYWALL_MAIL": "smtp", "SMTP_URL": "http://x"}, "SMTP_URL:"},
		{"smtp", map[string]string{"PAYWALL_MAIL": "smtp", "SMTP_URL": "smtp://u:p@mail.example.test:587"}, ""},
		{"sendgrid without key", map[string]string{"PAYWALL_MAIL": "sendgrid"}, "SENDGRID_API_KEY:"},
		{"sendgrid bad key", map[string]string{"PAYWALL_MAIL": "sendgrid", "SENDGRID_API_KEY": "abc"}, "SENDGRID_API_KEY:"},
		{"sendgrid", map[string]string{"PAYWALL_MAIL": "sendgrid", "SENDGRID_API_KEY": "SG.x"}, ""},
		{"sendgrid bad base", map[string]string{"PAYWALL_MAIL": "sendgrid", "SENDGRID_API_KEY": "SG.x",
			"SENDGRID_API_BASE": "eu"}, "SENDGRID_API_BASE:"},
		{"bad from", map[string]string{"PAYWALL_MAIL_FROM": "nobody"}, "PAYWALL_MAIL_FROM:"},
		{"bad link lifetime", map[string]string{"PAYWALL_SIGNIN_LINK_TTL": "soon"}, "PAYWALL_SIGNIN_LINK_TTL:"},
		{"tiny link lifetime", map[string]string{"PAYWALL_SETUP_LINK_TTL": "5s"}, "PAYWALL_SETUP_LINK_TTL:"},
		{"idle over max", map[string]string{"PAYWALL_SESSION_IDLE": "48h", "PAYWALL_SESSION_MAX": "24h"},
			"PAYWALL_SESSION_IDLE:"},
		{"bad proxy", map[string]string{"PAYWALL_TRUSTED_PROXIES": "10.0.0.0/8, caddy"}, "PAYWALL_TRUSTED_PROXIES:"},
		{"production log mailer", map[string]string{"PAYWALL_ENV": "production",
			"STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_x",
			"PAYWALL_BASE_URL": "https://example.test"}, "PAYWALL_MAIL:"},
		{"production plain smtp", map[string]string{"PAYWALL_ENV": "production",
			"STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_x",
			"PAYWALL_BASE_URL": "https://example.test", "PAYWALL_MAIL": "smtp",
			"SMTP_URL": "smtp://u:p@mail.example.test:25?tls=none"}, "SMTP_URL:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.vars, site.Plans)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
				t.Fatalf("error %v, want one starting %q", err, tc.err)
			case err != nil && (strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), ":p@")):
				t.Fatalf("error %q is not one line without secrets", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse(map[string]string{"PAYWALL_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}, site.Plans)
	if err != nil {
		t.Fatal(err)
	}
	if c.SetupLinkTTL != 48*time.Hour || c.SignInLinkTTL != 15*time.Minute ||
		c.SessionIdle != 14*24*time.Hour || c.SessionMax != 90*24*time.Hour {
		t.Errorf("lifetimes %s %s %s %s", c.SetupLinkTTL, c.SignInLinkTTL, c.SessionIdle, c.SessionMax)
	}
	if c.MailFrom != "noreply@localhost" {
		t.Errorf("MailFrom %q", c.MailFrom)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[0].String() != "127.0.0.1/32" {
		t.Errorf("TrustedProxies %v", c.TrustedProxies)
	}
}
