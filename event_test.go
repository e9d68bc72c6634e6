package paywall_test

import (
	"testing"
	"time"

	"github.com/paywall/paywall"
)

// TestParseTrialCause reads back what TrialCause writes, also for
// subscription IDs with a colon, and refuses what it never writes.
func TestParseTrialCause(t *testing.T) {
	end := time.Unix(1_750_000_000, 0)
	tests := []struct {
		cause   string
		wantSub string
		wantOK  bool
	}{
		{cause: paywall.TrialCause("sub_1", end), wantSub: "sub_1", wantOK: true},
		{cause: paywall.TrialCause("sub:x", end), wantSub: "sub:x", wantOK: true},
		{cause: "trial::1750000000"},
		{cause: "trial:sub_1"},
		{cause: "trial:sub_1:0"},
		{cause: "subscription:sub_1"},
	}
	for _, tt := range tests {
		sub, got, ok := paywall.ParseTrialCause(tt.cause)
		if ok != tt.wantOK || sub != tt.wantSub || ok && !got.Equal(end) {
			t.Errorf("ParseTrialCause(%q) = %q, %v, %v; want %q, %v, %v",
				tt.cause, sub, got, ok, tt.wantSub, end, tt.wantOK)
		}
	}
}
