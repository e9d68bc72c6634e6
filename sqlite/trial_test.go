package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite/storetest"
)

// TestTrialEndingOnce checks that trial notices mail once per subscription
// and trial end: a redelivered event and a second event about the same end
// add nothing, a new end mails again, and a notice that came before the
// checkout is queued with it.
func TestTrialEndingOnce(t *testing.T) { storetest.Each(t, testTrialEndingOnce) }

func testTrialEndingOnce(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	end := start.Add(14 * 24 * time.Hour)
	trial := func(customer string, end time.Time) paywall.Change {
		sub := paywall.Subscription{ID: "sub_" + customer, CustomerID: customer,
			Status: paywall.Trialing, PlanID: "pro", PeriodEnd: end, Version: start.Unix()}
		return paywall.Change{Subscription: &sub, Notice: &paywall.Notice{
			Kind: paywall.MailTrialEnding, CustomerID: customer, Cause: paywall.TrialCause(sub.ID, end)}}
	}
	trialMails := func(member int64) []string {
		t.Helper()
		var causes []string
		for _, m := range dueMails(t, s) {
			if m.Kind == paywall.MailTrialEnding && m.MemberID == member {
				causes = append(causes, m.Cause)
			}
		}
		return causes
	}

	ann := apply(t, s, "evt_buy_ann", purchase("cs_ann", "cus_ann", "ann@example.test"))
	apply(t, s, "evt_trial_1", trial("cus_ann", end))
	apply(t, s, "evt_trial_1", trial("cus_ann", end)) // redelivered
	apply(t, s, "evt_trial_2", trial("cus_ann", end)) // the same news, another event
	if got := trialMails(ann); len(got) != 1 {
		t.Fatalf("trial mails %v after three deliveries about one trial end, want 1", got)
	}
	apply(t, s, "evt_trial_3", trial("cus_ann", end.Add(7*24*time.Hour)))
	if got := trialMails(ann); len(got) != 2 {
		t.Errorf("trial mails %v after the trial moved, want 2", got)
	}

	// Bob's trial notice arrives before his checkout.
	apply(t, s, "evt_trial_bob", trial("cus_bob", end))
	bob := apply(t, s, "evt_buy_bob", purchase("cs_bob", "cus_bob", "bob@example.test"))
	apply(t, s, "evt_trial_bob_again", trial("cus_bob", end))
	if got := trialMails(bob); len(got) != 1 || got[0] != paywall.TrialCause("sub_cus_bob", end) {
		t.Errorf("bob's trial mails %v, want one for %v", got, end)
	}
}

const day = 24 * time.Hour

// TestTrialNoticeLate checks the trial notice against what the store knows
// when it is applied: a trial_will_end processed late (a backlog, a retry, a
// replay) mails nothing once the trial is over or when a newer copy of the
// subscription no longer trials or cancels by the trial's end, whether the
// member was known then or came with a later checkout. The event is applied
// all the same.
func TestTrialNoticeLate(t *testing.T) { storetest.Each(t, testTrialNoticeLate) }

func testTrialNoticeLate(t *testing.T, db storetest.DB) {
	s, clk := newStore(t, db)
	end := start.Add(3 * day)
	tests := []struct {
		name string
		own  func(sub *paywall.Subscription) // the notice's own copy
		// newer, when set, changes a copy of the subscription one hour newer
		// than the notice's, applied before the notice (or before the
		// checkout, with checkoutLast).
		newer        func(sub *paywall.Subscription)
		now          time.Duration // the clock, after start, for the notice and later
		checkoutLast bool          // the checkout comes after the notice
		wantMail     bool
	}{
		{name: "in time", wantMail: true},
		{name: "cancelled since", newer: status(paywall.Canceled)},
		{name: "trial over since", newer: status(paywall.Active)},
		{name: "set to cancel at the trial's end since", newer: cancelAt(end)},
		{name: "set to cancel before the trial's end since", newer: cancelAt(end.Add(-day))},
		{name: "set to cancel after the trial's end since", newer: cancelAt(end.Add(7 * day)),
			wantMail: true},
		{name: "own copy cancels after the trial's end", own: cancelAt(end.Add(7 * day)),
			wantMail: true},
		{name: "trial ended", now: 3*day + time.Hour},
		{name: "trial ends now", now: 3 * day},
		{name: "before the checkout", checkoutLast: true, wantMail: true},
		{name: "before the checkout, cancelled since", checkoutLast: true,
			newer: status(paywall.Canceled)},
		{name: "before the checkout, trial ended since", checkoutLast: true, now: 4 * day},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			customer := fmt.Sprintf("cus_late%d", i)
			own := paywall.Subscription{ID: "sub_" + customer, CustomerID: customer,
				Status: paywall.Trialing, PlanID: "pro", PeriodEnd: end, Version: start.Unix()}
			if tt.own != nil {
				tt.own(&own)
			}
			notice := paywall.Change{Subscription: &own, Notice: &paywall.Notice{
				Kind: paywall.MailTrialEnding, CustomerID: customer,
				Cause: paywall.TrialCause(own.ID, end)}}
			want := own
			steps := []func(){
				func() {
					apply(t, s, "evt_buy_"+customer,
						purchase("cs_"+customer, customer, customer+"@example.test"))
				},
				func() {
					if tt.newer == nil {
						return
					}
					want.Version += 3600
					tt.newer(&want)
					apply(t, s, "evt_newer_"+customer, paywall.Change{Subscription: &want})
				},
				func() {
					defer clk.set(start.Add(tt.now))()
					apply(t, s, "evt_trial_"+customer, notice)
				},
			}
			if tt.checkoutLast {
				// The notice comes in time and waits for its member; the
				// checkout comes at tt.now, when the waiting notice is
				// judged again.
				buy, newer := steps[0], steps[1]
				steps = []func(){func() { apply(t, s, "evt_trial_"+customer, notice) }, newer, func() {
					defer clk.set(start.Add(tt.now))()
					buy()
				}}
			}
			for _, step := range steps {
				step()
			}

			member, err := s.MemberByEmail(context.Background(), customer+"@example.test")
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			defer clk.set(end.Add(30 * day))() // every mail queued is due
			for _, m := range dueMails(t, s) {
				if m.Kind == paywall.MailTrialEnding && m.MemberID == member.ID {
					got++
				}
			}
			if wantN := map[bool]int{true: 1}[tt.wantMail]; got != wantN {
				t.Errorf("%d trial mails, want %d", got, wantN)
			}
			subs := subscriptions(t, s, member.ID)
			if len(subs) != 1 || subs[0].Status != want.Status || subs[0].Version != want.Version {
				t.Errorf("subscriptions %+v, want %s at version %d", subs, want.Status, want.Version)
			}
		})
	}
}

func status(st paywall.Status) func(*paywall.Subscription) {
	return func(sub *paywall.Subscription) { sub.Status = st }
}

func cancelAt(at time.Time) func(*paywall.Subscription) {
	return func(sub *paywall.Subscription) { sub.CancelAt = at }
}
