package mail

import (
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute:      "1 minute",
		15 * time.Minute: "15 minutes",
		90 * time.Minute: "1 hour",
		2 * time.Hour:    "2 hours",
		24 * time.Hour:   "24 hours",
		48 * time.Hour:   "2 days",
		30 * time.Second: "1 minute",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
