package sqlite_test

import (
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
