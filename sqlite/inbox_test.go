package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite/storetest"
)

func openInboxStore(t *testing.T, db storetest.DB) *Store {
	t.Helper()
	s, err := Open(db.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestInboxFailReplay walks an event through failure, retry-failed, apply
// and replay, and checks that nothing is lost or applied twice.
func TestInboxFailReplay(t *testing.T) { storetest.Each(t, testInboxFailReplay) }

func testInboxFailReplay(t *testing.T, db storetest.DB) {
	ctx := context.Background()
	s := openInboxStore(t, db)
	e := paywall.Event{ID: "evt_1", Type: "checkout.session.completed", Created: time.Unix(100, 0),
		Payload: []byte(`{}`)}
	for range 2 {
		if _, err := s.SaveEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeferEvent(ctx, e.ID, "boom", time.Now(), true); err != nil {
		t.Fatal(err)
	}
	failed, err := s.Events(ctx, EventFilter{FailedOnly: true})
	if err != nil || len(failed) != 1 || !failed[0].Failed || failed[0].LastError != "boom" {
		t.Fatalf("failed events %+v, %v; want evt_1 failed with boom", failed, err)
	}
	if due, _ := s.DueEvents(ctx, 10); len(due) != 0 {
		t.Errorf("a failed event is due: %+v", due)
	}
	if n, err := s.RetryFailed(ctx); n != 1 || err != nil {
		t.Fatalf("retry failed: %d, %v", n, err)
	}
	if due, _ := s.DueEvents(ctx, 10); len(due) != 1 {
		t.Fatalf("%d due after retry-failed, want 1", len(due))
	}

	change := paywall.Change{Purchase: &paywall.Purchase{SessionID: "cs_1", CustomerID: "cus_1",
		Email: "one@example.test", Paid: true}}
	for range 2 {
		if _, err := s.ApplyEvent(ctx, e.ID, change); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ReplayEvent(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyEvent(ctx, e.ID, change); err != nil {
		t.Fatal(err)
	}
	mails, err := s.DueMails(ctx, 10)
	if err != nil || len(mails) != 1 || mails[0].Kind != paywall.MailSetup {
		t.Errorf("outbox %+v, %v; want one setup mail", mails, err)
	}
	all, _ := s.Events(ctx, EventFilter{})
	if len(all) != 1 || all[0].ProcessedAt.IsZero() {
		t.Errorf("events %+v, want evt_1 processed", all)
	}
	if err := s.ReplayEvent(ctx, "evt_nope"); paywall.KindOf(err) != paywall.NotFound {
		t.Errorf("replay of an unknown event: %v, want not found", err)
	}
}

// TestNoticeWaitsForCheckout checks that a mail owed by an event that
// arrives before its checkout is sent once the checkout links the customer.
func TestNoticeWaitsForCheckout(t *testing.T) { storetest.Each(t, testNoticeWaitsForCheckout) }

func testNoticeWaitsForCheckout(t *testing.T, db storetest.DB) {
	ctx := context.Background()
	s := openInboxStore(t, db)
	notice := paywall.Change{Notice: &paywall.Notice{Kind: paywall.MailPaymentFailed,
		CustomerID: "cus_2", Cause: "event:evt_a"}}
	purchase := paywall.Change{Purchase: &paywall.Purchase{SessionID: "cs_2", CustomerID: "cus_2",
		Email: "two@example.test", Paid: true}}
	for _, ev := range []struct {
		id string
		c  paywall.Change
	}{{"evt_a", notice}, {"evt_b", purchase}} {
		if _, err := s.SaveEvent(ctx, paywall.Event{ID: ev.id, Type: "x", Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyEvent(ctx, ev.id, ev.c); err != nil {
			t.Fatal(err)
		}
	}
	mails, err := s.DueMails(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, m := range mails {
		kinds[m.Kind]++
	}
	if kinds[paywall.MailSetup] != 1 || kinds[paywall.MailPaymentFailed] != 1 || len(mails) != 2 {
		t.Errorf("outbox %v, want one setup and one payment_failed mail", kinds)
	}
}
