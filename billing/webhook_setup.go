package billing

import (
	"context"
	"fmt"
	"net/url"
	"slices"

	"github.com/stripe/stripe-go/v84"
)

// WebhookEndpoint is an endpoint Stripe sends events to.
type WebhookEndpoint struct {
	ID         string
	URL        string
	APIVersion string
	Events     []string
	// Secret is the signing secret. Stripe shows it only in the answer to
	// the creation, never again.
	Secret string
}

// SetupWebhook creates a webhook endpoint for rawURL at the API version
// stripe-go pins, subscribed to exactly HandledEvents.
func (s *Stripe) SetupWebhook(ctx context.Context, rawURL string) (WebhookEndpoint, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return WebhookEndpoint{}, fmt.Errorf("--url: %q is not an http or https URL", rawURL)
	}
	we, err := s.client.V1WebhookEndpoints.Create(ctx, &stripe.WebhookEndpointCreateParams{
		URL:           stripe.String(u.String()),
		EnabledEvents: stripe.StringSlice(HandledEvents),
		APIVersion:    stripe.String(stripe.APIVersion),
		Description:   stripe.String("paywall"),
	})
	if err != nil {
		return WebhookEndpoint{}, stripeError("create webhook endpoint", err)
	}
	return WebhookEndpoint{ID: we.ID, URL: we.URL, APIVersion: we.APIVersion,
		Events: slices.Clone(we.EnabledEvents), Secret: we.Secret}, nil
}
