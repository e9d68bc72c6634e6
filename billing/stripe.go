package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v84"

	"github.com/paywall/paywall"
)

// Stripe talks to the Stripe API (or stripe-mock) through stripe-go.
type Stripe struct {
	client  *stripe.Client
	baseURL *url.URL
	prices  *priceCache
}

// networkRetries is how often stripe-go repeats a request that failed on the
// network or with a retryable status, under the same idempotency key.
const networkRetries = 2

// NewStripe returns a Stripe client for key. apiBase overrides Stripe's API
// origin (for stripe-mock); baseURL is paywall's public origin, from which
// every return URL is built.
func NewStripe(key, apiBase string, baseURL *url.URL, hc *http.Client) *Stripe {
	cfg := &stripe.BackendConfig{HTTPClient: hc, MaxNetworkRetries: stripe.Int64(networkRetries),
		// Errors are logged once, with the request, by whoever handles them.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}}
	if apiBase != "" {
		cfg.URL = stripe.String(apiBase)
	}
	backends := stripe.NewBackendsWithConfig(cfg)
	s := &Stripe{client: stripe.NewClient(key, stripe.WithBackends(backends)), baseURL: baseURL}
	s.prices = newPriceCache(s.fetchPrice, 10*time.Minute, time.Now)
	return s
}

// StartCheckout creates a Checkout Session in subscription mode for the
// price that carries the plan's lookup key.
func (s *Stripe) StartCheckout(ctx context.Context, r paywall.CheckoutRequest) (paywall.CheckoutSession, error) {
	price, err := s.prices.id(ctx, r.Price.LookupKey)
	if err != nil {
		return paywall.CheckoutSession{}, err
	}
	params := s.checkoutParams(r, price)
	// One key per attempt: stripe-go's retries of this request reuse it, so
	// a retry after a lost answer cannot open a second session.
	params.SetIdempotencyKey("checkout_" + randomID())
	sess, err := s.client.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		if isMissing(err) {
			s.prices.forget(r.Price.LookupKey) // archived since we looked it up
		}
		return paywall.CheckoutSession{}, stripeError("create checkout session", err)
	}
	return paywall.CheckoutSession{ID: sess.ID, URL: sess.URL}, nil
}

// checkoutParams says who buys what. A signed-in member buys as their Stripe
// customer, or with their account's address; anyone else with the address
// they typed, or none, and Checkout asks for it.
func (s *Stripe) checkoutParams(r paywall.CheckoutRequest, price string) *stripe.CheckoutSessionCreateParams {
	p := &stripe.CheckoutSessionCreateParams{
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
	if r.MemberID != 0 {
		p.ClientReferenceID = stripe.String(strconv.FormatInt(r.MemberID, 10))
	}
	switch {
	case r.CustomerID != "":
		p.Customer = stripe.String(r.CustomerID)
	case r.MemberID != 0 && r.MemberEmail != "":
		p.CustomerEmail = stripe.String(r.MemberEmail)
	case r.Email != "":
		p.CustomerEmail = stripe.String(r.Email)
	}
	if r.Plan.TrialDays > 0 {
		p.SubscriptionData.TrialPeriodDays = stripe.Int64(r.Plan.TrialDays)
	}
	if r.Plan.PromotionCodes {
		p.AllowPromotionCodes = stripe.Bool(true)
	}
	return p
}

// PriceID returns the ID of the active Stripe price carrying lookupKey,
// from the cache checkout uses, for listing the plans: a failed lookup is
// not repeated for a while.
func (s *Stripe) PriceID(ctx context.Context, lookupKey string) (string, error) {
	return s.prices.listed(ctx, lookupKey)
}

// fetchPrice returns the ID of the active price with lookup key key.
func (s *Stripe) fetchPrice(ctx context.Context, key string) (string, error) {
	params := &stripe.PriceListParams{LookupKeys: []*string{stripe.String(key)}, Active: stripe.Bool(true)}
	params.Limit = stripe.Int64(1)
	for p, err := range s.client.V1Prices.List(ctx, params) {
		if err != nil {
			return "", stripeError("find price "+key, err)
		}
		return p.ID, nil
	}
	return "", fmt.Errorf("find price: no active Stripe price has lookup key %q "+
		"(run `paywall stripe sync-plans`)", key)
}

func (s *Stripe) url(path string) string {
	u := *s.baseURL
	u.Path = path
	return u.String()
}

var errUnavailable = paywall.Errorf(paywall.Unavailable,
	"Payments are unavailable right now; please try again in a minute.")

var errRefused = paywall.Errorf(paywall.Upstream,
	"Payments could not be started. Please try again later or contact us.")

// stripeError classifies a stripe-go error: Stripe unreachable or failing is
// Unavailable to the buyer, a refusal (4xx) Upstream with a generic message.
// Stripe's own message and request ID stay in the wrapped error, which the
// handler logs. A nil err stays nil.
func stripeError(step string, err error) error {
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if !errors.As(err, &se) {
		return errors.Join(errUnavailable, fmt.Errorf("%s: %w", step, err))
	}
	wrapped := &refusal{step: step, status: se.HTTPStatusCode, requestID: se.RequestID, err: err}
	if se.HTTPStatusCode >= 500 || se.HTTPStatusCode == http.StatusTooManyRequests {
		return errors.Join(errUnavailable, wrapped)
	}
	return errors.Join(errRefused, wrapped)
}

// refusal is a step Stripe answered with an error.
type refusal struct {
	step      string
	status    int
	requestID string
	err       error
}

func (r *refusal) Error() string {
	return fmt.Sprintf("%s: stripe %d (request %s): %v", r.step, r.status, r.requestID, r.err)
}

func (r *refusal) Unwrap() error { return r.err }

// StripeRequestID is the ID Stripe gave the request, under which the
// Dashboard's logs show it.
func (r *refusal) StripeRequestID() string { return r.requestID }

// isMissing reports whether Stripe answered that an object does not exist.
func isMissing(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && se.Code == stripe.ErrorCodeResourceMissing
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
