package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/paywall/paywall"
)

// priceCache remembers which Stripe price carries each lookup key, so that a
// checkout costs one Stripe call rather than two. Product and price events
// empty it (see WatchCatalog); entries also expire after ttl, in case such
// an event is missed.
type priceCache struct {
	fetch func(ctx context.Context, key string) (string, error)
	ttl   time.Duration
	now   func() time.Time

	mu  sync.Mutex
	ids map[string]cachedPrice
	// failed holds when a listing's lookup of each key last failed; see
	// listed.
	failed map[string]time.Time
}

// listFailTTL is how long a failed lookup for a listing is not repeated.
const listFailTTL = 30 * time.Second

type cachedPrice struct {
	id      string
	fetched time.Time
}

func newPriceCache(fetch func(context.Context, string) (string, error), ttl time.Duration, now func() time.Time) *priceCache {
	return &priceCache{fetch: fetch, ttl: ttl, now: now, ids: map[string]cachedPrice{},
		failed: map[string]time.Time{}}
}

func (c *priceCache) id(ctx context.Context, key string) (string, error) {
	c.mu.Lock()
	p, ok := c.ids[key]
	c.mu.Unlock()
	if ok && c.now().Sub(p.fetched) < c.ttl {
		return p.id, nil
	}
	id, err := c.fetch(ctx, key)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.ids[key] = cachedPrice{id: id, fetched: c.now()}
	c.mu.Unlock()
	return id, nil
}

// listed is id for a listing of prices (/api/plans), which anyone may ask
// for as often as they like: a failed lookup is not repeated for
// listFailTTL, so the listing cannot spend Stripe's rate limit, which
// checkout shares. Checkout itself always asks again.
func (c *priceCache) listed(ctx context.Context, key string) (string, error) {
	c.mu.Lock()
	at, failed := c.failed[key]
	c.mu.Unlock()
	if failed && c.now().Sub(at) < listFailTTL {
		return "", fmt.Errorf("price %q: the last lookup, %s ago, failed", key,
			c.now().Sub(at).Round(time.Second))
	}
	id, err := c.id(ctx, key)
	c.mu.Lock()
	switch {
	case err == nil:
		delete(c.failed, key)
	case !errors.Is(ctx.Err(), context.Canceled): // a client gone says nothing about Stripe
		c.failed[key] = c.now()
	}
	c.mu.Unlock()
	return id, err
}

func (c *priceCache) forget(key string) {
	c.mu.Lock()
	delete(c.ids, key)
	delete(c.failed, key)
	c.mu.Unlock()
}

func (c *priceCache) clear() {
	c.mu.Lock()
	clear(c.ids)
	clear(c.failed) // a product or price event may have made the missing price
	c.mu.Unlock()
}

// CatalogEvent reports whether an event of type typ may change which price
// carries a lookup key.
func CatalogEvent(typ string) bool {
	return strings.HasPrefix(typ, "price.") || strings.HasPrefix(typ, "product.")
}

// WatchCatalog returns inbox as the worker should see it: every product or
// price event the worker takes up first empties the price cache, so the next
// checkout looks its price up again.
func (s *Stripe) WatchCatalog(inbox Inbox) Inbox {
	return catalogWatch{Inbox: inbox, prices: s.prices}
}

type catalogWatch struct {
	Inbox
	prices *priceCache
}

func (w catalogWatch) DueEvents(ctx context.Context, limit int) ([]paywall.Event, error) {
	events, err := w.Inbox.DueEvents(ctx, limit)
	for _, e := range events {
		if CatalogEvent(e.Type) {
			w.prices.clear()
			break
		}
	}
	return events, err
}

// HandledEvents are the event types the server acts on, and so exactly those
// `paywall stripe setup-webhook` subscribes the endpoint to.
var HandledEvents = []string{
	"checkout.session.completed",
	"checkout.session.async_payment_succeeded",
	"checkout.session.async_payment_failed",
	"customer.subscription.created",
	"customer.subscription.updated",
	"customer.subscription.deleted",
	"customer.subscription.trial_will_end",
	"customer.subscription.paused",
	"customer.subscription.resumed",
	"customer.updated",
	"customer.deleted",
	"invoice.paid",
	"invoice.payment_succeeded",
	"invoice.payment_failed",
	"invoice.payment_action_required",
	"invoice.finalized",
	"invoice.updated",
	"invoice.voided",
	"invoice.marked_uncollectible",
	"charge.succeeded",
	"charge.refunded",
	"charge.dispute.created",
	"charge.dispute.updated",
	"charge.dispute.closed",
	"price.created",
	"price.updated",
	"price.deleted",
	"product.created",
	"product.updated",
	"product.deleted",
}
