package web

import (
	"strings"
	"testing"

	"github.com/paywall/paywall"
)

// TestSuccessPage: the success page says where the buyer's way in went, and
// never promises a setup mail that was not sent.
func TestSuccessPage(t *testing.T) {
	for _, tt := range []struct {
		name                     string
		rd                       reader
		status                   paywall.CheckoutStatus
		paid, found, hasPassword bool
		want, wantNot            string
	}{
		{"new member", reader{}, paywall.CheckoutPaid, true, true, false, "We sent a link to a@example.test", "Sign in"},
		{"member signed out", reader{}, paywall.CheckoutPaid, true, true, true, "Sign in to start reading", "We sent a link"},
		{"member signed in", reader{SignedIn: true}, paywall.CheckoutPaid, true, true, true, "is active", "We sent a link"},
		{"bank debit", reader{}, paywall.CheckoutPaid, false, true, false, "still being processed", "We sent a link"},
		{"webhook not yet", reader{}, paywall.CheckoutPaid, false, false, false, "being confirmed", "We sent a link"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := successPage(tt.rd, tt.status, "a@example.test", tt.paid, tt.found, tt.hasPassword)
			if !strings.Contains(p.Message, tt.want) || strings.Contains(p.Message, tt.wantNot) {
				t.Errorf("message %q, want %q and not %q", p.Message, tt.want, tt.wantNot)
			}
		})
	}
}
