package billing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v84"

	"github.com/paywall/paywall"
)

// Applier applies a change read from Stripe's own records the way an
// event's change is applied (sqlite.Store.ApplyChange).
type Applier interface {
	ApplyChange(ctx context.Context, c paywall.Change) (int64, error)
}

// Confirmer settles a checkout from Stripe's record of it, for the success
// page when the buyer arrives before the webhook.
type Confirmer struct {
	Stripe  *Stripe
	Store   Applier
	Catalog paywall.Catalog
	Now     func() time.Time
	// Applied is called with the member a confirmed checkout touched.
	Applied func(member int64)
}

// ConfirmCheckout fetches the Checkout Session id with its subscription and,
// when it is complete and paid, applies it exactly as the
// checkout.session.completed and customer.subscription.* events would. A
// session still unpaid (a bank debit) applies nothing: access waits for the
// payment.
func (c *Confirmer) ConfirmCheckout(ctx context.Context, id string) (paywall.CheckoutStatus, error) {
	params := &stripe.CheckoutSessionRetrieveParams{}
	params.AddExpand("subscription")
	sess, err := c.Stripe.client.V1CheckoutSessions.Retrieve(ctx, id, params)
	if err != nil {
		if isMissing(err) {
			return "", paywall.Errorf(paywall.NotFound, "There is no such checkout.")
		}
		return "", stripeError("fetch checkout session", err)
	}
	switch {
	case sess.Status == stripe.CheckoutSessionStatusExpired:
		return paywall.CheckoutExpired, nil
	case sess.Status != stripe.CheckoutSessionStatusComplete:
		return paywall.CheckoutOpen, nil
	case sess.PaymentStatus == stripe.CheckoutSessionPaymentStatusUnpaid:
		return paywall.CheckoutProcessing, nil
	}
	change, err := SessionChange(sess.LastResponse.RawJSON, c.Catalog, c.Now())
	if err != nil {
		return "", err
	}
	member, err := c.Store.ApplyChange(ctx, change)
	if err != nil {
		return "", fmt.Errorf("apply checkout session %s: %w", id, err)
	}
	if member != 0 && c.Applied != nil {
		c.Applied(member)
	}
	return paywall.CheckoutPaid, nil
}

// SessionChange is the change a completed Checkout Session means, read from
// its JSON as Stripe returns it (with the subscription expanded or not) by
// the same decoder as the events that carry it, dated at.
func SessionChange(raw []byte, cat paywall.Catalog, at time.Time) (paywall.Change, error) {
	e := paywall.Event{Type: "checkout.session.completed", Created: at}
	change, err := Decode(e, raw, cat)
	if err != nil {
		return paywall.Change{}, err
	}
	if change.Purchase == nil {
		return paywall.Change{}, paywall.Errorf(paywall.NotFound, "This is not a subscription checkout.")
	}
	var o struct {
		Subscription json.RawMessage `json:"subscription"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return paywall.Change{}, fmt.Errorf("decode checkout session: %w", err)
	}
	if bytes.HasPrefix(bytes.TrimSpace(o.Subscription), []byte("{")) {
		sub, err := subscriptionChange(o.Subscription, cat, at)
		if err != nil {
			return paywall.Change{}, err
		}
		change.Subscription = sub.Subscription
	}
	return change, nil
}

// subscriptionChange reads a subscription object as the
// customer.subscription.updated event carrying it would be read.
func subscriptionChange(raw []byte, cat paywall.Catalog, at time.Time) (paywall.Change, error) {
	return Decode(paywall.Event{Type: "customer.subscription.updated", Created: at}, raw, cat)
}
