package billing

import (
	"fmt"
	"slices"
	"strings"
)

// testObjects names, for each event type TestEvent knows, the object its
// data carries and that object's state.
var testObjects = map[string]struct{ kind, state string }{
	"checkout.session.completed":               {"session", "paid"},
	"checkout.session.async_payment_succeeded": {"session", "paid"},
	"checkout.session.async_payment_failed":    {"session", "unpaid"},
	"customer.subscription.created":            {"subscription", "active"},
	"customer.subscription.updated":            {"subscription", "active"},
	"customer.subscription.deleted":            {"subscription", "canceled"},
	"customer.subscription.paused":             {"subscription", "paused"},
	"customer.subscription.resumed":            {"subscription", "active"},
	"customer.subscription.trial_will_end":     {"subscription", "trialing"},
	"invoice.paid":                             {"invoice", "paid"},
	"invoice.payment_failed":                   {"invoice", "open"},
	"invoice.payment_action_required":          {"invoice", "open"},
	"charge.succeeded":                         {"charge", "succeeded"},
	"charge.refunded":                          {"charge", "refunded"},
	"charge.dispute.created":                   {"dispute", "needs_response"},
	"charge.dispute.closed":                    {"dispute", "won"},
	"customer.deleted":                         {"customer", "deleted"},
	"customer.updated":                         {"customer", "updated"},
	"price.updated":                            {"price", ""},
}

func (p SimulatedPurchase) object(kind, state string) map[string]any {
	switch kind {
	case "session":
		return p.session(state)
	case "subscription":
		return p.subscription(state)
	case "invoice":
		return p.invoice(state)
	case "charge":
		return p.charge(state == "refunded")
	case "dispute":
		return p.dispute(state)
	case "customer":
		return p.customer(state == "deleted")
	}
	return p.price()
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
	o, ok := testObjects[typ]
	if !ok {
		return nil, fmt.Errorf("no test event of type %q (known: %s)", typ,
			strings.Join(TestEventTypes(), ", "))
	}
	return eventPayload("evt_test_"+randomID(), typ, p.At.Unix(), p.object(o.kind, o.state)), nil
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

func (p SimulatedPurchase) customer(deleted bool) map[string]any {
	if deleted {
		return map[string]any{"id": p.ids().customer, "object": "customer", "deleted": true}
	}
	return map[string]any{"id": p.ids().customer, "object": "customer", "email": p.Email}
}
