package paywall_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/paywall/paywall"
)

func TestErrorKind(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		wantKind    paywall.ErrorKind
		wantMessage string
	}{
		{"plain", errors.New("disk on fire"), paywall.Internal, ""},
		{"kind", paywall.Errorf(paywall.NotFound, "no member %d", 7), paywall.NotFound, "no member 7"},
		{"wrapped", fmt.Errorf("load account: %w", paywall.Errorf(paywall.Conflict, "taken")),
			paywall.Conflict, "taken"},
		{"nil", nil, paywall.Internal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := paywall.KindOf(tt.err); got != tt.wantKind {
				t.Errorf("KindOf: got %v, want %v", got, tt.wantKind)
			}
			if got := paywall.MessageOf(tt.err); got != tt.wantMessage {
				t.Errorf("MessageOf: got %q, want %q", got, tt.wantMessage)
			}
		})
	}
}
