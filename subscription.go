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
	PeriodEnd  time.Time // end of the paid period; zero when unknown
	CancelAt   time.Time // when a scheduled cancellation takes effect; zero if none
	// Version orders information about the subscription: the Unix time of the
	// Stripe event it came from. Stripe delivers events in no guaranteed order,
	// so an older version never overwrites a newer one.
	Version int64
}

// Newer reports whether s carries information at least as new as old, and so
// may replace it. A canceled subscription never comes back to life: Stripe
// does not reactivate canceled subscriptions, so a late "active" is stale.
func (s Subscription) Newer(old Subscription) bool {
	if old.Status == Canceled && s.Status != Canceled {
		return false
	}
	return s.Version >= old.Version
}
