package billing

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v84"

	"github.com/paywall/paywall"
)

// SimulatedStore keeps simulated orders.
type SimulatedStore interface {
	CreateSimulatedCheckout(ctx context.Context, c paywall.SimulatedCheckout) error
	SimulatedCheckout(ctx context.Context, id string) (paywall.SimulatedCheckout, error)
	CompleteSimulatedCheckout(ctx context.Context, id, email string) (paywall.SimulatedCheckout, error)
}

// Simulator stands in for Stripe Checkout when no Stripe key is set. No
// payment is taken. Completing an order makes paywall send itself the signed
// events Stripe would send, through the same webhook endpoint and code.
type Simulator struct {
	Store   SimulatedStore
	Catalog paywall.Catalog
	BaseURL *url.URL
	Secret  string // the locally generated webhook signing secret
	// WebhookURL is where the events go: the server's own webhook endpoint on
	// the address it listens on.
	WebhookURL string
	Client     *http.Client
	Now        func() time.Time
}

// StartCheckout records a simulated order and returns its page.
func (s *Simulator) StartCheckout(ctx context.Context, r paywall.CheckoutRequest) (paywall.CheckoutSession, error) {
	id := "cs_sim_" + randomID()
	c := paywall.SimulatedCheckout{ID: id, PlanID: r.Plan.ID, Interval: r.Price.Interval, Email: r.Email}
	if err := s.Store.CreateSimulatedCheckout(ctx, c); err != nil {
		return paywall.CheckoutSession{}, err
	}
	u := *s.BaseURL
	u.Path = "/checkout/simulated/" + id
	return paywall.CheckoutSession{ID: id, URL: u.String()}, nil
}

// SimulatedCheckout returns the order with the given ID.
func (s *Simulator) SimulatedCheckout(ctx context.Context, id string) (paywall.SimulatedCheckout, error) {
	return s.Store.SimulatedCheckout(ctx, id)
}

// Complete finishes a simulated order for email and delivers its events.
func (s *Simulator) Complete(ctx context.Context, id, email string) (paywall.SimulatedCheckout, error) {
	c, err := s.Store.SimulatedCheckout(ctx, id)
	if err != nil {
		return c, err
	}
	if c.CompletedAt.IsZero() && c.Email == "" && email == "" {
		return c, paywall.Errorf(paywall.Invalid, "Enter the email address for your account.")
	}
	if email == "" {
		email = c.Email
	}
	if c, err = s.Store.CompleteSimulatedCheckout(ctx, id, email); err != nil {
		return c, err
	}
	plan, ok := s.Catalog.Plan(c.PlanID)
	if !ok {
		return c, paywall.Errorf(paywall.Invalid, "The plan %q is no longer on sale.", c.PlanID)
	}
	price, _ := plan.Price(c.Interval)
	p := SimulatedPurchase{CheckoutID: c.ID, Email: c.Email, Plan: plan, Price: price, At: s.Now()}
	for _, payload := range p.Events() {
		if err := s.deliver(ctx, payload); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (s *Simulator) deliver(ctx context.Context, payload []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.WebhookURL, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("deliver simulated event: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", Sign(payload, s.Secret, s.Now()))
	resp, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("deliver simulated event: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("deliver simulated event: webhook answered %d: %s",
			resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// SimulatedPurchase describes one purchase as Stripe would report it. Its
// object and event IDs derive from CheckoutID, so sending its events twice
// delivers the same events twice, which the inbox stores once.
type SimulatedPurchase struct {
	CheckoutID string
	Email      string
	Plan       paywall.Plan
	Price      paywall.Price
	At         time.Time
}

// Events returns the payloads of checkout.session.completed,
// customer.subscription.created and invoice.paid for the purchase, shaped
// like Stripe's at the API version stripe-go pins.
func (p SimulatedPurchase) Events() [][]byte {
	ids, at := p.ids(), p.At.Unix()
	return [][]byte{
		eventPayload("evt_"+ids.suffix+"_checkout", "checkout.session.completed", at, p.session("paid")),
		eventPayload("evt_"+ids.suffix+"_subscription", "customer.subscription.created", at,
			p.subscription("active")),
		eventPayload("evt_"+ids.suffix+"_invoice", "invoice.paid", at, p.invoice("paid")),
	}
}

type purchaseIDs struct{ suffix, customer, sub, invoice, charge string }

func (p SimulatedPurchase) ids() purchaseIDs {
	suffix := strings.TrimPrefix(p.CheckoutID, "cs_")
	return purchaseIDs{suffix: suffix, customer: "cus_" + suffix, sub: "sub_" + suffix,
		invoice: "in_" + suffix, charge: "ch_" + suffix}
}

func (p SimulatedPurchase) meta() map[string]string { return map[string]string{"plan": p.Plan.ID} }

func (p SimulatedPurchase) session(paymentStatus string) map[string]any {
	ids := p.ids()
	return map[string]any{
		"id": p.CheckoutID, "object": "checkout.session", "mode": "subscription",
		"status": "complete", "payment_status": paymentStatus, "customer": ids.customer,
		"subscription": ids.sub, "customer_email": nil, "created": p.At.Unix(), "livemode": false,
		"customer_details": map[string]any{"email": p.Email},
		"amount_total":     p.Price.Amount, "currency": p.Price.Currency, "metadata": p.meta(),
	}
}

// PriceID names the price simulated events carry for a lookup key.
func (s *Simulator) PriceID(_ context.Context, lookupKey string) (string, error) {
	return simulatedPriceID(lookupKey), nil
}

func simulatedPriceID(lookupKey string) string { return "price_" + lookupKey }

func (p SimulatedPurchase) price() map[string]any {
	return map[string]any{
		"id": simulatedPriceID(p.Price.LookupKey), "object": "price", "lookup_key": p.Price.LookupKey,
		"unit_amount": p.Price.Amount, "currency": p.Price.Currency, "type": "recurring",
		"active": true, "livemode": false,
		"recurring": map[string]any{"interval": string(p.Price.Interval), "interval_count": 1},
	}
}

func (p SimulatedPurchase) subscription(status string) map[string]any {
	ids, at, end := p.ids(), p.At.Unix(), periodEnd(p.At, p.Price.Interval).Unix()
	var trialStart, trialEnd any
	if status == string(paywall.Trialing) {
		// The trial is the first period, as Stripe lays it out.
		trialStart, trialEnd = at, end
	}
	return map[string]any{
		"id": ids.sub, "object": "subscription", "customer": ids.customer, "status": status,
		"cancel_at_period_end": false, "cancel_at": nil, "created": at, "start_date": at,
		"livemode": false, "metadata": p.meta(), "pause_collection": nil,
		"trial_start": trialStart, "trial_end": trialEnd,
		"items": map[string]any{"object": "list", "data": []any{map[string]any{
			"id": "si_" + ids.suffix, "object": "subscription_item", "price": p.price(),
			"quantity": 1, "current_period_start": at, "current_period_end": end,
		}}},
	}
}

func (p SimulatedPurchase) invoice(status string) map[string]any {
	ids := p.ids()
	return map[string]any{
		"id": ids.invoice, "object": "invoice", "customer": ids.customer, "status": status,
		"number": invoiceNumber(ids.suffix), "amount_paid": p.Price.Amount,
		"amount_due": p.Price.Amount, "currency": p.Price.Currency, "created": p.At.Unix(),
		"hosted_invoice_url": nil, "livemode": false,
		"parent": map[string]any{"type": "subscription_details",
			"subscription_details": map[string]any{"subscription": ids.sub, "metadata": p.meta()}},
	}
}

func invoiceNumber(s string) string {
	s = strings.ToUpper(strings.ReplaceAll(s, "_", ""))
	if len(s) > 8 {
		s = s[len(s)-8:]
	}
	return s + "-0001"
}

func periodEnd(from time.Time, i paywall.Interval) time.Time {
	if i == paywall.Year {
		return from.AddDate(1, 0, 0)
	}
	return from.AddDate(0, 1, 0)
}

// eventPayload wraps object in a Stripe event envelope.
func eventPayload(id, typ string, created int64, object any) []byte {
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": stripe.APIVersion, "created": created,
		"type": typ, "livemode": false, "pending_webhooks": 1,
		"request": map[string]any{"id": nil, "idempotency_key": nil},
		"data":    map[string]any{"object": object},
	})
	if err != nil {
		panic(err) // maps of strings and numbers always marshal
	}
	return b
}

// NewSecret returns a fresh webhook signing secret in Stripe's format.
func NewSecret() string { return "whsec_" + randomID() + randomID() }

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
