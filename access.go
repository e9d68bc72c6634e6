package paywall

import (
	"slices"
	"time"
)

// PastDueGrace is how long a past_due subscription keeps access by default,
// counted from the end of the period that could not be charged.
const PastDueGrace = 3 * 24 * time.Hour

// Access is what a member may read now.
type Access struct {
	PlanID string
	Status Status
	Until  time.Time // zero when access does not end on a known date
	// Ending says the subscription is set to cancel at Until.
	Ending bool
}

// Granted reports whether the access lets its holder read anything gated.
func (a Access) Granted() bool { return a.PlanID != "" }

// grants says, for each status, whether a subscription in it gives access.
// past_due is handled apart because its access is time-limited.
var grants = map[Status]bool{
	Trialing:          true,
	Active:            true,
	PastDue:           true,
	Unpaid:            false,
	Canceled:          false,
	Incomplete:        false,
	IncompleteExpired: false,
	Paused:            false,
}

// AccessOf decides what the holder of subs may read at now. When several
// subscriptions grant access, the one lasting longest wins.
func AccessOf(subs []Subscription, now time.Time) Access {
	var best Access
	for _, s := range subs {
		a, ok := accessOf(s, now)
		if !ok {
			continue
		}
		if !best.Granted() || lasts(a, best) {
			best = a
		}
	}
	if !best.Granted() && len(subs) > 0 {
		// Nothing grants: report the latest subscription's status for display.
		latest := slices.MaxFunc(subs, func(a, b Subscription) int { return int(a.Version - b.Version) })
		return Access{Status: latest.Status}
	}
	return best
}

func accessOf(s Subscription, now time.Time) (Access, bool) {
	if !grants[s.Status] || s.PlanID == "" {
		return Access{}, false
	}
	a := Access{PlanID: s.PlanID, Status: s.Status}
	if s.Status == PastDue && !s.PeriodEnd.IsZero() {
		a.Until = s.PeriodEnd.Add(PastDueGrace)
	}
	if !s.CancelAt.IsZero() {
		a.Until, a.Ending = s.CancelAt, true
	}
	if !a.Until.IsZero() && !now.Before(a.Until) {
		return Access{}, false
	}
	return a, true
}

// lasts reports whether a lasts longer than b; open-ended access lasts longest.
func lasts(a, b Access) bool {
	if a.Until.IsZero() != b.Until.IsZero() {
		return a.Until.IsZero()
	}
	return a.Until.After(b.Until)
}
