package billing

import (
	"context"
	"errors"
	"log/slog"
	"time"

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

	poke chan struct{}
}

// NewWorker returns a worker over inbox.
func NewWorker(inbox Inbox, cat paywall.Catalog, log *slog.Logger) *Worker {
	return &Worker{
		Inbox: inbox, Catalog: cat, Log: log, Now: time.Now, MaxAttempts: 8,
		Applied: func(int64) {}, poke: make(chan struct{}, 1),
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

// ProcessDue applies every event that is due and returns how many it took up.
func (w *Worker) ProcessDue(ctx context.Context) (int, error) {
	total := 0
	for {
		events, err := w.Inbox.DueEvents(ctx, 50)
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
	}
}

// process applies one event. It returns an error only when the store fails;
// an event that cannot be applied is deferred instead.
func (w *Worker) process(ctx context.Context, e paywall.Event) error {
	log := w.Log.With("event_id", e.ID, "event_type", e.Type)
	change, err := w.decode(e)
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

func (w *Worker) decode(e paywall.Event) (paywall.Change, error) {
	obj, err := dataObject(e.Payload)
	if err != nil {
		return paywall.Change{}, err
	}
	return Decode(e, obj, w.Catalog)
}

func (w *Worker) logApplied(log *slog.Logger, c paywall.Change, member int64) {
	switch {
	case c.Empty():
		log.Debug("event ignored")
	case c.Subscription != nil:
		log.Info("event processed", "subscription_id", c.Subscription.ID,
			"customer_id", c.Subscription.CustomerID, "status", c.Subscription.Status,
			"plan", c.Subscription.PlanID)
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
