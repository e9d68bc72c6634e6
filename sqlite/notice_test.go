package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite/storetest"
)

// TestDuplicateSettlesItsEnd: the mail telling a member their duplicate
// subscription was cancelled stands in for the "subscription ended" mail
// Stripe's deleted event for it owes, however often that event comes; the
// end of the subscription they keep still mails once.
func TestDuplicateSettlesItsEnd(t *testing.T) { storetest.Each(t, testDuplicateSettlesItsEnd) }

func testDuplicateSettlesItsEnd(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()
	member := apply(t, s, "evt_buy", purchase("cs_1", "cus_ann", "ann@example.test"))
	sub := func(id string, st paywall.Status, version int64) *paywall.Subscription {
		return &paywall.Subscription{ID: id, CustomerID: "cus_ann", Status: st, PlanID: "pro",
			PeriodEnd: start.Add(30 * 24 * time.Hour), Version: start.Unix() + version}
	}
	ended := func(id string) paywall.Change {
		return paywall.Change{Subscription: sub(id, paywall.Canceled, 10), Notice: &paywall.Notice{
			Kind: paywall.MailSubscriptionEnded, CustomerID: "cus_ann", Cause: paywall.EndedCause(id)}}
	}
	apply(t, s, "evt_first", paywall.Change{Subscription: sub("sub_first", paywall.Active, 1)})
	apply(t, s, "evt_dup", paywall.Change{Subscription: sub("sub_dup", paywall.Active, 2)})

	// What the duplicate check records once Stripe has cancelled sub_dup.
	if _, err := s.ApplyChange(ctx, paywall.Change{Subscription: sub("sub_dup", paywall.Canceled, 5),
		Notice: &paywall.Notice{Kind: paywall.MailDuplicate, CustomerID: "cus_ann",
			Cause: "duplicate:sub_dup", Ends: "sub_dup"}}); err != nil {
		t.Fatal(err)
	}
	apply(t, s, "evt_dup_deleted", ended("sub_dup"))
	apply(t, s, "evt_dup_deleted_again", ended("sub_dup"))
	if got := mailKinds(t, s, member); len(got) != 2 || got[0] != paywall.MailSetup ||
		got[1] != paywall.MailDuplicate {
		t.Errorf("after the duplicate's deleted events: mails %v, want setup and duplicate only", got)
	}
	apply(t, s, "evt_first_deleted", ended("sub_first"))
	if got := mailKinds(t, s, member); len(got) != 3 || got[2] != paywall.MailSubscriptionEnded {
		t.Errorf("after the kept subscription's end: mails %v, want one subscription_ended more", got)
	}

	// Stripe's deleted event wins the race with the check's record: it
	// carries paywall's cancellation comment, so billing decodes it to the
	// same duplicate notice, and the record after it adds nothing.
	bob := apply(t, s, "evt_buy_bob", purchase("cs_2", "cus_bob", "bob@example.test"))
	bobDup := &paywall.Subscription{ID: "sub_bob_dup", CustomerID: "cus_bob", Status: paywall.Canceled,
		PlanID: "pro", Version: start.Unix() + 10}
	dupMail := &paywall.Notice{Kind: paywall.MailDuplicate, CustomerID: "cus_bob",
		Cause: "duplicate:sub_bob_dup", Ends: "sub_bob_dup"}
	apply(t, s, "evt_bob_dup_deleted", paywall.Change{Subscription: bobDup, Notice: dupMail})
	if _, err := s.ApplyChange(ctx, paywall.Change{Subscription: bobDup, Notice: dupMail}); err != nil {
		t.Fatal(err)
	}
	if got := mailKinds(t, s, bob); len(got) != 2 || got[1] != paywall.MailDuplicate {
		t.Errorf("deleted event before the check's record: mails %v, want setup and duplicate", got)
	}
}

// mailKinds lists the kinds of member's mails in the outbox, oldest first.
func mailKinds(t *testing.T, s interface {
	DueMails(context.Context, int) ([]paywall.Outgoing, error)
}, member int64) []string {
	t.Helper()
	mails, err := s.DueMails(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range mails {
		if m.MemberID == member {
			kinds = append(kinds, m.Kind)
		}
	}
	return kinds
}
