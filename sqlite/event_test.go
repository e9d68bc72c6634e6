package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite/storetest"
)

func TestSaveEvent(t *testing.T) { storetest.Each(t, testSaveEvent) }

func testSaveEvent(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()
	e := paywall.Event{ID: "evt_1", Type: "invoice.paid", APIVersion: "2025-03-31.basil",
		Created: start.Add(-time.Minute), Payload: []byte(`{"id":"evt_1"}`)}

	for i, want := range []bool{true, false} {
		inserted, err := s.SaveEvent(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if inserted != want {
			t.Errorf("save %d: got inserted %v, want %v", i+1, inserted, want)
		}
	}

	got, err := s.Event(ctx, "evt_1")
	if err != nil {
		t.Fatal(err)
	}
	want := e
	want.ReceivedAt = start
	if got.ID != want.ID || got.Type != want.Type || got.APIVersion != want.APIVersion ||
		!got.Created.Equal(want.Created) || string(got.Payload) != string(want.Payload) ||
		!got.ReceivedAt.Equal(want.ReceivedAt) || !got.ProcessedAt.IsZero() {
		t.Errorf("got %+v, want %+v", got, want)
	}

	due, err := s.DueEvents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].ID != "evt_1" {
		t.Errorf("DueEvents: got %+v, want evt_1 once", due)
	}

	_, err = s.Event(ctx, "evt_missing")
	wantKind(t, "unknown event", err, paywall.NotFound)
}

func TestDueEventsOrder(t *testing.T) { storetest.Each(t, testDueEventsOrder) }

func testDueEventsOrder(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()
	for _, e := range []paywall.Event{
		{ID: "evt_a", Created: start},
		{ID: "evt_b", Created: start.Add(-time.Second)},
		{ID: "evt_c", Created: start.Add(-time.Hour)},
	} {
		e.Type, e.Payload = "test", []byte(`{}`)
		if _, err := s.SaveEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}

	due, err := s.DueEvents(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range due {
		ids = append(ids, e.ID)
	}
	if len(ids) != 2 || ids[0] != "evt_c" || ids[1] != "evt_b" {
		t.Errorf("got %v, want [evt_c evt_b]: oldest first, at most the limit", ids)
	}
}

func TestDeferEvent(t *testing.T) { storetest.Each(t, testDeferEvent) }

func testDeferEvent(t *testing.T, db storetest.DB) {
	s, c := newStore(t, db)
	ctx := context.Background()
	for _, id := range []string{"evt_retry", "evt_failed"} {
		if _, err := s.SaveEvent(ctx, paywall.Event{ID: id, Type: "test", Created: start,
			Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}

	if err := s.DeferEvent(ctx, "evt_retry", "decode: bad", start.Add(time.Minute), false); err != nil {
		t.Fatal(err)
	}
	if err := s.DeferEvent(ctx, "evt_failed", "decode: bad", start, true); err != nil {
		t.Fatal(err)
	}
	if due := dueEvents(t, s); len(due) != 0 {
		t.Errorf("before the retry time: got %+v, want none", due)
	}

	c.advance(time.Minute)
	due := dueEvents(t, s)
	if len(due) != 1 || due[0].ID != "evt_retry" || due[0].Attempts != 1 || due[0].LastError != "decode: bad" {
		t.Errorf("at the retry time: got %+v, want evt_retry after 1 attempt with its error", due)
	}

	failed, err := s.Event(ctx, "evt_failed")
	if err != nil {
		t.Fatal(err)
	}
	if !failed.Failed || failed.Attempts != 1 {
		t.Errorf("failed event: got Failed %v, Attempts %d, want true, 1", failed.Failed, failed.Attempts)
	}
}

func dueEvents(t *testing.T, s interface {
	DueEvents(context.Context, int) ([]paywall.Event, error)
}) []paywall.Event {
	t.Helper()
	due, err := s.DueEvents(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	return due
}

func TestApplyEventTwice(t *testing.T) { storetest.Each(t, testApplyEventTwice) }

func testApplyEventTwice(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()
	change := purchase("cs_1", "cus_1", "ann@example.com")

	first := apply(t, s, "evt_1", change)
	if first == 0 {
		t.Fatal("first ApplyEvent: got member 0, want the new member")
	}
	second, err := s.ApplyEvent(ctx, "evt_1", change)
	if err != nil {
		t.Fatal(err)
	}
	if second != 0 {
		t.Errorf("second ApplyEvent: got member %d, want 0 (nothing changed)", second)
	}

	if mails := dueMails(t, s); len(mails) != 1 {
		t.Errorf("outbox: got %+v, want one mail", mails)
	}
	m, err := s.MemberByEmail(ctx, "ann@example.com")
	if err != nil || m.ID != first {
		t.Errorf("MemberByEmail: got %+v, %v, want member %d", m, err, first)
	}
	if due := dueEvents(t, s); len(due) != 0 {
		t.Errorf("DueEvents: got %+v, want none after processing", due)
	}
	e, err := s.Event(ctx, "evt_1")
	if err != nil || !e.ProcessedAt.Equal(start) {
		t.Errorf("Event: got ProcessedAt %v, %v, want %v", e.ProcessedAt, err, start)
	}
}

func TestApplyEventNotStored(t *testing.T) { storetest.Each(t, testApplyEventNotStored) }

func testApplyEventNotStored(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()

	m, err := s.ApplyEvent(ctx, "evt_never_saved", purchase("cs_1", "cus_1", "ann@example.com"))
	if err != nil || m != 0 {
		t.Errorf("got %d, %v, want 0, nil", m, err)
	}
	_, err = s.MemberByEmail(ctx, "ann@example.com")
	wantKind(t, "member of an unsaved event", err, paywall.NotFound)
}
