package billing

import (
	"slices"
	"testing"
)

// TestHandledEvents: `paywall stripe setup-webhook` subscribes the endpoint
// to every event type the server acts on, or Stripe would never send them.
func TestHandledEvents(t *testing.T) {
	for typ := range testObjects {
		if !slices.Contains(HandledEvents, typ) {
			t.Errorf("%s is acted on but not in HandledEvents", typ)
		}
	}
}
