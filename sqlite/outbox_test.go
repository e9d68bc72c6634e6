package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/paywall/paywall/sqlite/storetest"
)

func TestOutbox(t *testing.T) { storetest.Each(t, testOutbox) }

func testOutbox(t *testing.T, db storetest.DB) {
	s, c := newStore(t, db)
	ctx := context.Background()
	apply(t, s, "evt_cs", purchase("cs_1", "cus_1", "ann@example.com"))
	mails := dueMails(t, s)
	if len(mails) != 1 {
		t.Fatalf("got %+v, want one mail", mails)
	}
	id := mails[0].ID

	if err := s.DeferMail(ctx, id, "smtp: timeout", start.Add(time.Minute), false); err != nil {
		t.Fatal(err)
	}
	if got := dueMails(t, s); len(got) != 0 {
		t.Errorf("before the retry time: got %+v, want none", got)
	}

	c.advance(time.Minute)
	got := dueMails(t, s)
	if len(got) != 1 || got[0].Attempts != 1 {
		t.Errorf("at the retry time: got %+v, want the mail after 1 attempt", got)
	}

	if err := s.MailSent(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got := dueMails(t, s); len(got) != 0 {
		t.Errorf("after sending: got %+v, want none", got)
	}
	// A redelivered purchase must not queue the setup mail again once sent.
	apply(t, s, "evt_cs_again", purchase("cs_1", "cus_1", "ann@example.com"))
	if got := dueMails(t, s); len(got) != 0 {
		t.Errorf("after a second purchase: got %+v, want none", got)
	}
}
