package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite"
	"github.com/paywall/paywall/sqlite/storetest"
)

// replicas opens n stores on one database, as n paywall processes would,
// all on the clock c and with a lease.
func replicas(t *testing.T, db storetest.DB, n int, c *clock) []*sqlite.Store {
	t.Helper()
	url := db.URL(t)
	var out []*sqlite.Store
	for range n {
		s, err := sqlite.Open(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		s.Now, s.Lease = c.now, time.Minute
		out = append(out, s)
	}
	return out
}

// claimAll has workers on every store claim until nothing is due, and
// returns how often each item was handed out.
func claimAll(t *testing.T, stores []*sqlite.Store, claim func(*sqlite.Store) ([]string, error)) map[string]int {
	t.Helper()
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for _, s := range stores {
		for range 3 {
			wg.Go(func() {
				for range 50 { // bounded, so that claims that never end fail

					ids, err := claim(s)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ids) == 0 {
						return
					}
					mu.Lock()
					for _, id := range ids {
						got[id]++
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return got
}

func TestClaimEvents(t *testing.T) { storetest.Each(t, testClaimEvents) }

func testClaimEvents(t *testing.T, db storetest.DB) {
	ctx := context.Background()
	c := &clock{t: start}
	stores := replicas(t, db, 2, c)
	const events = 60
	for i := range events {
		e := paywall.Event{ID: fmt.Sprintf("evt_%02d", i), Type: "test",
			Created: start.Add(time.Duration(i) * time.Second), Payload: []byte(`{}`)}
		if _, err := stores[i%2].SaveEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	claim := func(s *sqlite.Store) ([]string, error) {
		due, err := s.DueEvents(ctx, 7)
		var ids []string
		for i, e := range due {
			ids = append(ids, e.ID)
			if i > 0 && e.Created.Before(due[i-1].Created) {
				t.Errorf("DueEvents: %s before %s, want oldest first", due[i-1].ID, e.ID)
			}
		}
		return ids, err
	}
	got := claimAll(t, stores, claim)
	if len(got) != events {
		t.Errorf("claimed %d distinct events, want %d", len(got), events)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("%s claimed %d times, want once", id, n)
		}
	}

	// A claim a crashed replica never settled comes due after the lease;
	// an applied event never does.
	if _, err := stores[0].ApplyEvent(ctx, "evt_00", paywall.Change{}); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Minute)
	if again := claimAll(t, stores, claim); len(again) != events-1 || again["evt_00"] != 0 {
		t.Errorf("after the lease: claimed %d events (evt_00 %d times), want %d without evt_00",
			len(again), again["evt_00"], events-1)
	}
}

func TestClaimMails(t *testing.T) { storetest.Each(t, testClaimMails) }

func testClaimMails(t *testing.T, db storetest.DB) {
	ctx := context.Background()
	c := &clock{t: start}
	stores := replicas(t, db, 2, c)
	const buyers = 40
	for i := range buyers {
		cs := fmt.Sprintf("cs_%02d", i)
		ch := purchase(cs, "cus_"+cs, cs+"@example.test")
		if _, err := stores[i%2].ApplyChange(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	claim := func(s *sqlite.Store) ([]string, error) {
		due, err := s.DueMails(ctx, 6)
		var ids []string
		for _, m := range due {
			ids = append(ids, m.To)
		}
		return ids, err
	}
	got := claimAll(t, stores, claim)
	if len(got) != buyers {
		t.Errorf("claimed mail to %d addresses, want %d", len(got), buyers)
	}
	for to, n := range got {
		if n != 1 {
			t.Errorf("mail to %s claimed %d times, want once", to, n)
		}
	}
	c.advance(time.Minute)
	if again := claimAll(t, stores, claim); len(again) != buyers {
		t.Errorf("after the lease: %d mails due again, want %d", len(again), buyers)
	}
}
