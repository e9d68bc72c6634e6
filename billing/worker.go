package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v84"

	"github.com/paywall/paywall"
)

// Inbox is the durable store of received events.
type Inbox interface {
	DueEvents(ctx context.Context, limit int) ([]paywall.Event, error)
	ApplyEvent(ctx context.Context, id string, c paywall.Change) (int64, error)
	DeferEvent(ctx context.Context, id, msg string, next time.Time, failed bool) error
}

// Worker applies stored events, oldest first. An event that cannot be
// applied is retried with growing delays and set aside as failed after
// MaxAttempts; it is never dropped.
type Worker struct {
	Inbox       Inbox
	Catalog     paywall.Catalog
	Log         *slog.Logger
	Now         func() time.Time
	MaxAttempts int
	// Applied is called after an event changed a member's state.
	Applied func(member int64)
	// Refetch, when set, replaces a subscription event's snapshot with the
	// subscription as Stripe has it now, and finds a disputed charge's
	// customer. Nil when no Stripe key is configured.
	Refetch Refetcher

	poke   chan struct{}
	mu     sync.Mutex
	warned map[string]bool // foreign API versions already logged
}

// Refetcher reads objects back from Stripe as raw JSON (see Stripe).
type Refetcher interface {
	SubscriptionJSON(ctx context.Context, id string) ([]byte, error)
	ChargeJSON(ctx context.Context, id string) ([]byte, error)
}

// NewWorker returns a worker over inbox.
func NewWorker(inbox Inbox, cat paywall.Catalog, log *slog.Logger) *Worker {
	return &Worker{
		Inbox: inbox, Catalog: cat, Log: log, Now: time.Now, MaxAttempts: 8,
		Applied: func(int64) {}, poke: make(chan struct{}, 1), warned: map[string]bool{},
	}
}

// Poke asks the worker to look for due events now rather than at its next tick.
func (w *Worker) Poke() {
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

// Run processes due events until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if _, err := w.ProcessDue(ctx); err != nil && ctx.Err() == nil {
			w.Log.Error("process events", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-w.poke:
		case <-tick.C:
		}
	}
}

// batch is how many due events the worker reads at a time.
const batch = 50

// ProcessDue applies every event that is due and returns how many it took up.
func (w *Worker) ProcessDue(ctx context.Context) (int, error) {
	total := 0
	for {
		events, err := w.Inbox.DueEvents(ctx, batch)
		if err != nil {
			return total, err
		}
		if len(events) == 0 {
			return total, nil
		}
		for _, e := range events {
			if err := w.process(ctx, e); err != nil {
				return total, err
			}
		}
		total += len(events)
		if len(events) < batch {
			return total, nil
		}
	}
}

// process applies one event. It returns an error only when the store fails;
// an event that cannot be applied is deferred instead.
func (w *Worker) process(ctx context.Context, e paywall.Event) error {
	log := w.Log.With("event_id", e.ID, "event_type", e.Type)
	w.warnVersion(e)
	change, err := w.decode(ctx, log, e)
	if err == nil {
		var member int64
		member, err = w.Inbox.ApplyEvent(ctx, e.ID, change)
		if err == nil {
			w.logApplied(log, change, member)
			if member != 0 {
				w.Applied(member)
			}
			return nil
		}
		if paywall.KindOf(err) == paywall.Internal && ctx.Err() != nil {
			return err
		}
	}
	return w.deferEvent(ctx, log, e, err)
}

func (w *Worker) decode(ctx context.Context, log *slog.Logger, e paywall.Event) (paywall.Change, error) {
	obj, err := dataObject(e.Payload)
	if err != nil {
		return paywall.Change{}, err
	}
	c, err := Decode(e, obj, w.Catalog)
	if err != nil || w.Refetch == nil {
		return c, err
	}
	rc, err := w.refetch(ctx, c)
	if err != nil && e.Attempts+1 >= w.MaxAttempts {
		// Stripe has been unreachable for every attempt: the event's own
		// copy, ordered by its timestamp, is better than a failed event.
		log.Warn("refetch failed; applying the event's copy", "error", err)
		return c, nil
	}
	return rc, err
}

// refetch completes c from Stripe's current objects. An object Stripe no
// longer has leaves the event's copy in place; Stripe unreachable is an
// error, so the event is retried later.
func (w *Worker) refetch(ctx context.Context, c paywall.Change) (paywall.Change, error) {
	if c.Subscription != nil {
		raw, err := w.Refetch.SubscriptionJSON(ctx, c.Subscription.ID)
		switch {
		case errors.Is(err, ErrGone):
		case err != nil:
			return c, fmt.Errorf("refetch subscription %s: %w", c.Subscription.ID, err)
		default:
			var o subscriptionObject
			if err := json.Unmarshal(raw, &o); err != nil {
				return c, fmt.Errorf("decode refetched subscription: %w", err)
			}
			// What Stripe says now is newer than every event sent before now.
			sub := o.subscription(w.Catalog, w.Now().Unix())
			c.Subscription = &sub
			c.Notice = stillOwed(c.Notice, o.trialNotice(sub))
		}
	}
	if c.Hold != nil && c.Hold.CustomerID == "" && c.Hold.ChargeID != "" && c.Charge == nil {
		raw, err := w.Refetch.ChargeJSON(ctx, c.Hold.ChargeID)
		switch {
		case errors.Is(err, ErrGone):
		case err != nil:
			return c, fmt.Errorf("refetch charge %s: %w", c.Hold.ChargeID, err)
		default:
			var o chargeObject
			if err := json.Unmarshal(raw, &o); err != nil {
				return c, fmt.Errorf("decode refetched charge: %w", err)
			}
			if o.Customer != "" {
				c.Charge = &paywall.Charge{ID: c.Hold.ChargeID, CustomerID: string(o.Customer)}
			}
		}
	}
	return c, nil
}

// stillOwed returns n unless it is a trial notice the subscription as it is
// now no longer owes: cancelled meanwhile, no longer trialing, or its trial
// moved to another end (whose own trial_will_end will come).
func stillOwed(n, now *paywall.Notice) *paywall.Notice {
	if n == nil || n.Kind != paywall.MailTrialEnding || now != nil && *now == *n {
		return n
	}
	return nil
}

// warnVersion logs, once per version, an event whose API version is not
// the one stripe-go pins. It is processed anyway: Decode reads only fields
// it knows in either shape.
func (w *Worker) warnVersion(e paywall.Event) {
	if e.APIVersion == "" || e.APIVersion == stripe.APIVersion {
		return
	}
	w.mu.Lock()
	seen := w.warned[e.APIVersion]
	w.warned[e.APIVersion] = true
	w.mu.Unlock()
	if !seen {
		w.Log.Warn("event api version differs", "api_version", e.APIVersion,
			"expected", stripe.APIVersion, "event_id", e.ID,
			"hint", "pin the webhook endpoint to "+stripe.APIVersion+
				" in the Stripe dashboard (Developers > Webhooks), or run `stripe listen --latest`")
	}
}

func (w *Worker) logApplied(log *slog.Logger, c paywall.Change, member int64) {
	switch {
	case c.Empty():
		log.Debug("event ignored")
	case c.Subscription != nil:
		log.Info("event processed", "subscription_id", c.Subscription.ID,
			"customer_id", c.Subscription.CustomerID, "status", c.Subscription.Status,
			"plan", c.Subscription.PlanID)
	case c.Price != nil:
		w.checkPrice(log, *c.Price)
	default:
		log.Info("event processed", "member_id", member)
	}
}

// backoff is the delay before attempt n+1: 2 s, 4 s, 8 s … capped at an hour.
func backoff(n int) time.Duration {
	d := 2 * time.Second << min(n, 11)
	return min(d, time.Hour)
}

func (w *Worker) deferEvent(ctx context.Context, log *slog.Logger, e paywall.Event, cause error) error {
	failed := e.Attempts+1 >= w.MaxAttempts
	next := w.Now().Add(backoff(e.Attempts))
	if err := w.Inbox.DeferEvent(ctx, e.ID, cause.Error(), next, failed); err != nil {
		return errors.Join(cause, err)
	}
	if failed {
		log.Error("event failed", "attempts", e.Attempts+1, "error", cause)
	} else {
		log.Warn("event deferred", "attempts", e.Attempts+1, "retry_at", next, "error", cause)
	}
	return nil
}

// checkPrice warns when Stripe's price for one of our lookup keys no longer
// matches the plans file, which checkout and the pricing page both use.
func (w *Worker) checkPrice(log *slog.Logger, p paywall.StripePrice) {
	plan, ok := w.Catalog.PlanByLookupKey(p.LookupKey)
	if !ok {
		log.Info("event processed", "price_id", p.ID, "lookup_key", p.LookupKey)
		return
	}
	for _, pr := range plan.Prices {
		if pr.LookupKey != p.LookupKey {
			continue
		}
		if !p.Active || pr.Amount != p.Amount || pr.Currency != p.Currency {
			log.Warn("stripe price differs from plans file", "price_id", p.ID,
				"lookup_key", p.LookupKey, "active", p.Active, "stripe_amount", p.Amount,
				"plans_amount", pr.Amount, "currency", p.Currency)
			return
		}
	}
	log.Info("event processed", "price_id", p.ID, "lookup_key", p.LookupKey, "plan", plan.ID)
}
