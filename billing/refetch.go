package billing

import (
	"context"
	"errors"
	"net/http"

	"github.com/stripe/stripe-go/v84"
)

// ErrGone is returned when Stripe no longer has the object an event is
// about; the event's own copy is then the best information there is.
var ErrGone = errors.New("object gone from Stripe")

// SubscriptionJSON returns the subscription's current state as Stripe
// returns it at the pinned API version. Events are snapshots from the time
// they were sent and arrive in no order; the object as it is now settles
// what several events from the same second leave open.
func (s *Stripe) SubscriptionJSON(ctx context.Context, id string) ([]byte, error) {
	sub, err := s.client.V1Subscriptions.Retrieve(ctx, id, nil)
	if err != nil {
		return nil, refetchError("retrieve subscription", err)
	}
	return sub.LastResponse.RawJSON, nil
}

// ChargeJSON returns the charge as Stripe returns it now: a dispute names
// only its charge, and the charge names the customer.
func (s *Stripe) ChargeJSON(ctx context.Context, id string) ([]byte, error) {
	ch, err := s.client.V1Charges.Retrieve(ctx, id, nil)
	if err != nil {
		return nil, refetchError("retrieve charge", err)
	}
	return ch.LastResponse.RawJSON, nil
}

func refetchError(step string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) && (se.Code == stripe.ErrorCodeResourceMissing ||
		se.HTTPStatusCode == http.StatusNotFound) {
		return ErrGone
	}
	return stripeError(step, err)
}
