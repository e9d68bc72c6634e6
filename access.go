package paywall

import (
	"cmp"
	"slices"
	"time"
)

// PastDueGrace is how long a past_due subscription keeps access by default,
// counted from the start of the period that could not be charged (the end
// of the last paid one).
const PastDueGrace = 3 * 24 * time.Hour

// RefundPolicy says what a full refund of a charge does to access.
type RefundPolicy string

// Refund policies. RefundKeep is the default: Stripe does not cancel a
// subscription when a charge is refunded, and the operator who wants the
// reader out cancels the subscription, which Stripe then reports.
const (
	RefundKeep   RefundPolicy = "keep"
	RefundRevoke RefundPolicy = "revoke"
)

// Policy holds the configurable parts of the access decision, which follows
// a subscription's lifecycle as in this table (status in Stripe's words):
//
//	status / condition                   access
//	trialing, active                     yes
//	past_due                             yes, for PastDueGrace from the unpaid period's start
//	unpaid, canceled, incomplete,        no
//	incomplete_expired, paused
//	cancel_at_period_end or cancel_at    yes until that moment; the dashboard says "ends on"
//	pause_collection set                 yes until the end of the last period paid before it
//	checkout payment_status=unpaid       no, until checkout.session.async_payment_succeeded
//	open or lost dispute on a charge     no (HoldDispute); a won dispute restores access
//	full refund of a charge              Policy.Refund: RefundKeep (default) or RefundRevoke
//	customer deleted in Stripe           no, never again for that customer (HoldCustomerDeleted)
//	trial_will_end                       as the status says; mails a trial not set to cancel
//	                                     by its end, unless applied after the end or after a
//	                                     newer state that no longer trials or so cancels
//	a Grant (complimentary, "comped")    yes until Grant.Until, whatever the subscriptions say
//
// A plan follows the subscription's current price: an upgrade applies at
// once, a downgrade when Stripe applies it (the subscription changes price).
type Policy struct {
	PastDueGrace time.Duration
	Refund       RefundPolicy
}

// DefaultPolicy is the policy paywall uses unless configured otherwise.
var DefaultPolicy = Policy{PastDueGrace: PastDueGrace, Refund: RefundKeep}

// Reasons a subscription's access is withheld whatever its status; the store
// sets them in Subscription.Holds.
const (
	HoldDispute         = "dispute"          // a charge of the customer is disputed
	HoldRefund          = "refund"           // a charge of the customer was fully refunded
	HoldCustomerDeleted = "customer_deleted" // the Stripe customer was deleted
	HoldPaymentPending  = "payment_pending"  // the checkout's payment has not arrived
)

// Access is what a member may read now.
type Access struct {
	PlanID string // the plan of the subscription lasting longest, for display
	// Plans are every plan a live subscription grants now, PlanID first: a
	// member who pays for two plans reads what either covers.
	Plans  []string
	Status Status
	Until  time.Time // zero when access does not end on a known date
	// Ending says the subscription is set to cancel at Until.
	Ending bool
	// Comped says a Grant gives PlanID, not a subscription; Status is then
	// empty, and Until is the grant's end.
	Comped bool
}

// Granted reports whether the access lets its holder read anything gated.
func (a Access) Granted() bool { return a.PlanID != "" }

// Has reports whether the access grants plan.
func (a Access) Has(plan string) bool {
	return plan != "" && (a.PlanID == plan || slices.Contains(a.Plans, plan))
}

// statusGives says, for each status, whether a subscription in it gives
// access. past_due is handled apart because its access is time-limited.
var statusGives = map[Status]bool{
	Trialing:          true,
	Active:            true,
	PastDue:           true,
	Unpaid:            false,
	Canceled:          false,
	Incomplete:        false,
	IncompleteExpired: false,
	Paused:            false,
}

// AccessOf decides with DefaultPolicy what the holder of subs may read at now.
func AccessOf(subs []Subscription, now time.Time) Access {
	return DefaultPolicy.Access(subs, now)
}

// Access decides what the holder of subs may read at now. When several
// subscriptions grant access, the one lasting longest wins.
func (p Policy) Access(subs []Subscription, now time.Time) Access {
	return p.AccessWith(subs, nil, now)
}

// AccessWith decides what the holder of subs and grants may read at now.
// Each lasting grant counts as a subscription ending at the grant's Until;
// the one lasting longest wins, a subscription before a grant lasting as
// long, so that a paying member is shown their subscription.
func (p Policy) AccessWith(subs []Subscription, grants []Grant, now time.Time) Access {
	var best Access
	var plans []string
	consider := func(a Access) {
		if !slices.Contains(plans, a.PlanID) {
			plans = append(plans, a.PlanID)
		}
		if !best.Granted() || lasts(a, best) {
			best = a
		}
	}
	for _, s := range subs {
		if a, ok := p.accessOf(s, now); ok {
			consider(a)
		}
	}
	for _, g := range grants {
		if g.Lasting(now) {
			consider(Access{PlanID: g.PlanID, Until: g.Until, Comped: true})
		}
	}
	if best.Granted() {
		best.Plans = append([]string{best.PlanID}, slices.DeleteFunc(plans,
			func(p string) bool { return p == best.PlanID })...)
	}
	if !best.Granted() && len(subs) > 0 {
		// Nothing grants: report the latest subscription's status for display.
		latest := slices.MaxFunc(subs, func(a, b Subscription) int { return int(a.Version - b.Version) })
		return Access{Status: latest.Status}
	}
	return best
}

func (p Policy) accessOf(s Subscription, now time.Time) (Access, bool) {
	if !statusGives[s.Status] || s.PlanID == "" || p.withheld(s) {
		return Access{}, false
	}
	a := Access{PlanID: s.PlanID, Status: s.Status}
	if s.Status == PastDue {
		if from := cmp.Or(s.PeriodStart, s.PeriodEnd); !from.IsZero() {
			a.Until = from.Add(p.PastDueGrace)
		}
	}
	if paid := cmp.Or(s.PausedUntil, s.PeriodEnd); s.PauseCollection && !paid.IsZero() &&
		(a.Until.IsZero() || paid.Before(a.Until)) {
		a.Until = paid
	}
	if !s.CancelAt.IsZero() && (a.Until.IsZero() || s.CancelAt.Before(a.Until)) {
		a.Until, a.Ending = s.CancelAt, true
	}
	if !a.Until.IsZero() && !now.Before(a.Until) {
		return Access{}, false
	}
	return a, true
}

// withheld reports whether a hold on s takes its access away under p.
func (p Policy) withheld(s Subscription) bool {
	for _, h := range s.Holds {
		if h != HoldRefund || p.Refund == RefundRevoke {
			return true
		}
	}
	return false
}

// lasts reports whether a lasts longer than b; open-ended access lasts longest.
func lasts(a, b Access) bool {
	if a.Until.IsZero() != b.Until.IsZero() {
		return a.Until.IsZero()
	}
	return a.Until.After(b.Until)
}
