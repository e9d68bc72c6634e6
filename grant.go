package paywall

import "time"

// Grant is complimentary access an operator gives a member without a
// subscription (`paywall members grant`), what Ghost calls a comped
// member. It gives its plan from when it is made until Until, as a
// subscription's cancel_at would.
type Grant struct {
	PlanID  string
	Until   time.Time // zero when the grant does not end
	Created time.Time
}

// Lasting reports whether the grant still gives access at now.
func (g Grant) Lasting(now time.Time) bool {
	return g.PlanID != "" && (g.Until.IsZero() || now.Before(g.Until))
}
