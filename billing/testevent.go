package billing

import (
	"fmt"
	"slices"
	"strings"
)

// testObjects builds the data object of each event type TestEvent knows,
// about one purchase.
var testObjects = map[string]func(p SimulatedPurchase) map[string]any{
	"checkout.session.completed":               func(p SimulatedPurchase) map[string]any { return p.session("paid") },
	"checkout.session.async_payment_succeeded": func(p SimulatedPurchase) map[string]any { return p.session("paid") },
	"checkout.session.async_payment_failed":    func(p SimulatedPurchase) map[string]any { return p.session("unpaid") },
	"customer.subscription.created":            func(p SimulatedPurchase) map[string]any { return p.subscription("active") },
	"customer.subscription.updated":            func(p SimulatedPurchase) map[string]any { return p.subscription("active") },
	"customer.subscription.deleted":            func(p SimulatedPurchase) map[string]any { return p.subscription("canceled") },
	"customer.subscription.paused":             func(p SimulatedPurchase) map[string]any { return p.subscription("paused") },
	"customer.subscription.resumed":            func(p SimulatedPurchase) map[string]any { return p.subscription("active") },
	"invoice.paid":                             func(p SimulatedPurchase) map[string]any { return p.invoice("paid") },
	"invoice.payment_failed":                   func(p SimulatedPurchase) map[string]any { return p.invoice("open") },
	"invoice.payment_action_required":          func(p SimulatedPurchase) map[string]any { return p.invoice("open") },
	"charge.succeeded":                         func(p SimulatedPurchase) map[string]any { return p.charge(false) },
	"charge.refunded":                          func(p SimulatedPurchase) map[string]any { return p.charge(true) },
	"charge.dispute.created":                   func(p SimulatedPurchase) map[string]any { return p.dispute("needs_response") },
	"charge.dispute.closed":                    func(p SimulatedPurchase) map[string]any { return p.dispute("won") },
	"customer.deleted":                         func(p SimulatedPurchase) map[string]any { return p.customer() },
	"price.updated":                            func(p SimulatedPurchase) map[string]any { return p.price() },
}

// TestEventTypes returns the event types TestEvent builds, sorted.
func TestEventTypes() []string {
	var out []string
	for typ := range testObjects {
		out = append(out, typ)
	}
	slices.Sort(out)
	return out
}

// TestEvent returns a Stripe-shaped event of type typ about purchase p, as
// `stripe trigger` would send it, under a fresh event ID. Its objects' IDs
// come from p.CheckoutID, so events about one purchase name one customer,
// subscription, invoice and charge.
func TestEvent(typ string, p SimulatedPurchase) ([]byte, error) {
	object, ok := testObjects[typ]
	if !ok {
		return nil, fmt.Errorf("no test event of type %q (known: %s)", typ,
			strings.Join(TestEventTypes(), ", "))
	}
	return eventPayload("evt_test_"+randomID(), typ, p.At.Unix(), object(p)), nil
}

func (p SimulatedPurchase) charge(refunded bool) map[string]any {
	ids := p.ids()
	refundedAmount := 0
	if refunded {
		refundedAmount = int(p.Price.Amount)
	}
	return map[string]any{
		"id": ids.charge, "object": "charge", "customer": ids.customer, "amount": p.Price.Amount,
		"amount_refunded": refundedAmount, "refunded": refunded, "currency": p.Price.Currency,
		"status": "succeeded", "paid": true, "created": p.At.Unix(), "livemode": false,
	}
}

func (p SimulatedPurchase) dispute(status string) map[string]any {
	ids := p.ids()
	return map[string]any{
		"id": "dp_" + ids.suffix, "object": "dispute", "charge": ids.charge,
		"amount": p.Price.Amount, "currency": p.Price.Currency, "status": status,
		"reason": "fraudulent", "created": p.At.Unix(), "livemode": false,
	}
}

func (p SimulatedPurchase) customer() map[string]any {
	return map[string]any{"id": p.ids().customer, "object": "customer", "deleted": true}
}
