package paywall

import (
	"testing"
	"time"
)

// TestAccessTable checks each row of the lifecycle table in access.go.
func TestAccessTable(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	start, end := now.AddDate(0, 0, -2), now.AddDate(0, 0, 28)
	base := Subscription{ID: "sub_1", PlanID: "pro", PeriodStart: start, PeriodEnd: end}
	with := func(f func(*Subscription)) Subscription {
		s := base
		f(&s)
		return s
	}
	revoke := Policy{PastDueGrace: PastDueGrace, Refund: RefundRevoke}
	cases := []struct {
		name   string
		policy Policy
		sub    Subscription
		want   bool
		until  time.Time
		ending bool
	}{
		{"trialing", DefaultPolicy, with(func(s *Subscription) { s.Status = Trialing }), true, time.Time{}, false},
		{"active", DefaultPolicy, with(func(s *Subscription) { s.Status = Active }), true, time.Time{}, false},
		{"past_due in grace", DefaultPolicy, with(func(s *Subscription) { s.Status = PastDue }),
			true, start.Add(PastDueGrace), false},
		{"past_due after grace", DefaultPolicy, with(func(s *Subscription) {
			s.Status, s.PeriodStart = PastDue, now.Add(-PastDueGrace-time.Second)
		}), false, time.Time{}, false},
		{"past_due with a longer grace", Policy{PastDueGrace: 7 * 24 * time.Hour}, with(func(s *Subscription) {
			s.Status, s.PeriodStart = PastDue, now.AddDate(0, 0, -5)
		}), true, now.AddDate(0, 0, 2), false},
		{"unpaid", DefaultPolicy, with(func(s *Subscription) { s.Status = Unpaid }), false, time.Time{}, false},
		{"canceled", DefaultPolicy, with(func(s *Subscription) { s.Status = Canceled }), false, time.Time{}, false},
		{"incomplete", DefaultPolicy, with(func(s *Subscription) { s.Status = Incomplete }), false, time.Time{}, false},
		{"incomplete_expired", DefaultPolicy, with(func(s *Subscription) { s.Status = IncompleteExpired }), false, time.Time{}, false},
		{"paused", DefaultPolicy, with(func(s *Subscription) { s.Status = Paused }), false, time.Time{}, false},
		{"cancel at period end", DefaultPolicy, with(func(s *Subscription) { s.Status, s.CancelAt = Active, end }),
			true, end, true},
		{"cancel_at passed", DefaultPolicy, with(func(s *Subscription) { s.Status, s.CancelAt = Active, now }),
			false, time.Time{}, false},
		{"pause_collection", DefaultPolicy, with(func(s *Subscription) { s.Status, s.PauseCollection = Active, true }),
			true, end, false},
		{"pause_collection through a renewal", DefaultPolicy, with(func(s *Subscription) {
			s.Status, s.PauseCollection, s.PausedUntil = Active, true, now.AddDate(0, 0, 5)
		}), true, now.AddDate(0, 0, 5), false},
		{"pause_collection after the period", DefaultPolicy, with(func(s *Subscription) {
			s.Status, s.PauseCollection, s.PeriodEnd = Active, true, now
		}), false, time.Time{}, false},
		{"checkout unpaid", DefaultPolicy, with(func(s *Subscription) {
			s.Status, s.Holds = Active, []string{HoldPaymentPending}
		}), false, time.Time{}, false},
		{"dispute open or lost", DefaultPolicy, with(func(s *Subscription) {
			s.Status, s.Holds = Active, []string{HoldDispute}
		}), false, time.Time{}, false},
		{"customer deleted", DefaultPolicy, with(func(s *Subscription) {
			s.Status, s.Holds = Active, []string{HoldCustomerDeleted}
		}), false, time.Time{}, false},
		{"refund, default keeps", DefaultPolicy, with(func(s *Subscription) {
			s.Status, s.Holds = Active, []string{HoldRefund}
		}), true, time.Time{}, false},
		{"refund, policy revokes", revoke, with(func(s *Subscription) {
			s.Status, s.Holds = Active, []string{HoldRefund}
		}), false, time.Time{}, false},
		{"no plan", DefaultPolicy, with(func(s *Subscription) { s.Status, s.PlanID = Active, "" }), false, time.Time{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := c.policy.Access([]Subscription{c.sub}, now)
			if a.Granted() != c.want || !a.Until.Equal(c.until) || a.Ending != c.ending {
				t.Errorf("access %+v; want granted=%t until=%v ending=%t", a, c.want, c.until, c.ending)
			}
			if a.Status != c.sub.Status {
				t.Errorf("status %q, want %q", a.Status, c.sub.Status)
			}
		})
	}
}

func TestNewerNeverRevivesCanceled(t *testing.T) {
	canceled := Subscription{Status: Canceled, Version: 100}
	late := Subscription{Status: Active, Version: 200}
	if late.Newer(canceled) {
		t.Errorf("a later active replaced a canceled subscription")
	}
	same := Subscription{Status: PastDue, Version: 100}
	active := Subscription{Status: Active, Version: 100}
	if active.Newer(same) == same.Newer(active) {
		t.Errorf("two versions of one second: the outcome depends on the order")
	}
}
