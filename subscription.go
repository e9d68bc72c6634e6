package paywall

import "time"

// Status is a subscription's status in Stripe's words.
type Status string

// Subscription statuses as Stripe names them.
const (
	Trialing          Status = "trialing"
	Active            Status = "active"
	PastDue           Status = "past_due"
	Unpaid            Status = "unpaid"
	Canceled          Status = "canceled"
	Incomplete        Status = "incomplete"
	IncompleteExpired Status = "incomplete_expired"
	Paused            Status = "paused"
)

// Live reports whether a subscription in status st still bills its holder:
// a second subscription next to a live one would charge them twice.
func (st Status) Live() bool {
	return st == Trialing || st == Active || st == PastDue
}

// Subscription is our copy of a Stripe subscription: enough to decide access.
type Subscription struct {
	ID         string
	CustomerID string
	Status     Status
	PlanID     string // derived from the price's lookup key; "" when unknown
	LookupKey  string
	// PeriodStart and PeriodEnd bound the current billing period; zero when
	// unknown. A renewal that fails leaves a subscription past_due at the
	// start of a period it has not paid for.
	PeriodStart time.Time
	PeriodEnd   time.Time
	CancelAt    time.Time // when a scheduled cancellation takes effect; zero if none
	// PauseCollection says Stripe has paused collecting payment: access runs
	// to the end of the current period and no further.
	PauseCollection bool
	// PausedUntil is the end of the last period paid before collection
	// paused, filled in by the store; zero when unknown.
	PausedUntil time.Time
	// Version orders information about the subscription: the Unix time of the
	// Stripe event it came from, or of the moment it was fetched from Stripe.
	// Stripe delivers events in no guaranteed order, so an older version
	// never overwrites a newer one.
	Version int64
	// Holds are the reasons (Hold…) access is withheld whatever the status,
	// filled in by the store from disputes, refunds, deleted customers and
	// unpaid checkouts.
	Holds []string
}

// CancelsBy reports whether a scheduled cancellation ends s at or before t.
// A trial whose subscription cancels by the trial's end is never charged; one
// that cancels later goes on, paid, until then.
func (s Subscription) CancelsBy(t time.Time) bool {
	return !s.CancelAt.IsZero() && !s.CancelAt.After(t)
}

// Newer reports whether s carries information at least as new as old, and so
// may replace it. A canceled subscription never comes back to life: Stripe
// does not reactivate canceled subscriptions, so a late "active" is stale.
// Two versions from the same second are ordered by how far along the
// lifecycle their status is, so that the outcome does not depend on the
// order of delivery.
func (s Subscription) Newer(old Subscription) bool {
	if old.Status == Canceled && s.Status != Canceled {
		return false
	}
	if s.Version != old.Version {
		return s.Version > old.Version
	}
	return stage[s.Status] >= stage[old.Status]
}

// stage ranks statuses by how late in a subscription's life they come.
var stage = map[Status]int{
	Incomplete: 0, Trialing: 1, Active: 2, PastDue: 3, Paused: 4, Unpaid: 5,
	IncompleteExpired: 6, Canceled: 7,
}
