package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/stripe/stripe-go/v84"

	"github.com/paywall/paywall"
)

// Stripe talks to the Stripe API (or stripe-mock) through stripe-go.
type Stripe struct {
	client  *stripe.Client
	baseURL *url.URL
}

// NewStripe returns a Stripe client for key. apiBase overrides Stripe's API
// origin (for stripe-mock); baseURL is paywall's public origin, from which
// every return URL is built.
func NewStripe(key, apiBase string, baseURL *url.URL, hc *http.Client) *Stripe {
	cfg := &stripe.BackendConfig{HTTPClient: hc}
	if apiBase != "" {
		cfg.URL = stripe.String(apiBase)
	}
	backends := stripe.NewBackendsWithConfig(cfg)
	return &Stripe{client: stripe.NewClient(key, stripe.WithBackends(backends)), baseURL: baseURL}
}

// StartCheckout creates a Checkout Session in subscription mode for the
// price that carries the plan's lookup key.
func (s *Stripe) StartCheckout(ctx context.Context, r paywall.CheckoutRequest) (paywall.CheckoutSession, error) {
	price, err := s.priceByLookupKey(ctx, r.Price.LookupKey)
	if err != nil {
		return paywall.CheckoutSession{}, err
	}
	params := &stripe.CheckoutSessionCreateParams{
		Mode: stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{
			{Price: stripe.String(price), Quantity: stripe.Int64(1)},
		},
		SuccessURL: stripe.String(s.url("/checkout/success") + "?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:  stripe.String(s.url("/pricing/")),
		Metadata:   map[string]string{"plan": r.Plan.ID},
		SubscriptionData: &stripe.CheckoutSessionCreateSubscriptionDataParams{
			Metadata: map[string]string{"plan": r.Plan.ID},
		},
	}
	if r.Email != "" {
		params.CustomerEmail = stripe.String(r.Email)
	}
	sess, err := s.client.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return paywall.CheckoutSession{}, stripeError("create checkout session", err)
	}
	return paywall.CheckoutSession{ID: sess.ID, URL: sess.URL}, nil
}

func (s *Stripe) priceByLookupKey(ctx context.Context, key string) (string, error) {
	params := &stripe.PriceListParams{LookupKeys: []*string{stripe.String(key)}, Active: stripe.Bool(true)}
	params.Limit = stripe.Int64(1)
	for p, err := range s.client.V1Prices.List(ctx, params) {
		if err != nil {
			return "", stripeError("find price "+key, err)
		}
		return p.ID, nil
	}
	return "", fmt.Errorf("find price: no active Stripe price has lookup key %q "+
		"(create it in Stripe)", key)
}

func (s *Stripe) url(path string) string {
	u := *s.baseURL
	u.Path = path
	return u.String()
}

// stripeError classifies a stripe-go error: Stripe unreachable or failing is
// Unavailable to the buyer, anything else an internal error, with Stripe's
// own message and request ID kept in the wrapped error for the log.
func stripeError(step string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		if se.HTTPStatusCode >= 500 || se.HTTPStatusCode == http.StatusTooManyRequests {
			return errors.Join(paywall.Errorf(paywall.Unavailable,
				"Payments are unavailable right now; please try again in a minute."),
				fmt.Errorf("%s: stripe %d (request %s): %w", step, se.HTTPStatusCode, se.RequestID, err))
		}
		return fmt.Errorf("%s: stripe %d (request %s): %w", step, se.HTTPStatusCode, se.RequestID, err)
	}
	return errors.Join(paywall.Errorf(paywall.Unavailable,
		"Payments are unavailable right now; please try again in a minute."),
		fmt.Errorf("%s: %w", step, err))
}

// PortalURL creates a Customer Portal session for customer that returns to
// the dashboard, and returns its URL.
func (s *Stripe) PortalURL(ctx context.Context, customer string) (string, error) {
	sess, err := s.client.V1BillingPortalSessions.Create(ctx, &stripe.BillingPortalSessionCreateParams{
		Customer:  stripe.String(customer),
		ReturnURL: stripe.String(s.url("/account")),
	})
	if err != nil {
		return "", stripeError("create portal session", err)
	}
	return sess.URL, nil
}
