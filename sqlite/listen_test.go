package sqlite_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite"
	"github.com/paywall/paywall/sqlite/storetest"
)

// listener runs s.Listen and hands each forgotten member to the channel it
// returns, after the listener's first forget(0).
func listener(t *testing.T, s *sqlite.Store) <-chan int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan int64, 16)
	done := make(chan error, 1)
	go func() { done <- s.Listen(ctx, func(m int64) { got <- m }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Listen: %v", err)
		}
	})
	select {
	case m := <-got:
		if m != 0 {
			t.Fatalf("first forget: got %d, want 0 (everything)", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen never started listening")
	}
	return got
}

func next(t *testing.T, what string, got <-chan int64, want int64) {
	t.Helper()
	select {
	case m := <-got:
		if m != want {
			t.Errorf("%s: forgot member %d, want %d", what, m, want)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("%s: no member forgotten, want %d", what, want)
	}
}

// TestListenForgets shows that what one process changes reaches another
// process's listener: sign-out, sign-out everywhere, an applied event, a
// grant and its revocation. On SQLite the two stores share one file, as
// the command line and a running server do.
func TestListenForgets(t *testing.T) { storetest.Each(t, testListenForgets) }

func testListenForgets(t *testing.T, db storetest.DB) {
	ctx := context.Background()
	url := db.URL(t)
	var stores []*sqlite.Store
	for range 2 {
		s, err := sqlite.Open(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	a, b := stores[0], stores[1]
	got := listener(t, b)

	if db.Name == "postgres" {
		// A store in another schema of the same database is not heard.
		other, err := sqlite.Open(storetest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := other.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := other.ApplyChange(ctx, purchase("cs_other", "cus_other", "o@example.test")); err != nil {
			t.Fatal(err)
		}
	}

	member, err := a.ApplyChange(ctx, purchase("cs_1", "cus_1", "a@example.test"))
	if err != nil {
		t.Fatal(err)
	}
	next(t, "purchase", got, member)
	if err := a.CreateSession(ctx, []byte("session-1"), member, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteSession(ctx, []byte("session-1")); err != nil {
		t.Fatal(err)
	}
	next(t, "sign-out", got, member)
	if err := a.DeleteSession(ctx, []byte("no-such-session")); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteMemberSessions(ctx, member); err != nil {
		t.Fatal(err)
	}
	next(t, "sign-out everywhere", got, member)
	sub := paywall.Subscription{ID: "sub_cus_1", CustomerID: "cus_1", Status: paywall.Canceled,
		PlanID: "elite", Version: 2}
	if _, err := a.SaveEvent(ctx, paywall.Event{ID: "evt_cancel", Type: "test", Created: start,
		Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyEvent(ctx, "evt_cancel", paywall.Change{Subscription: &sub}); err != nil {
		t.Fatal(err)
	}
	next(t, "subscription canceled", got, member)
	if _, err := a.Grant(ctx, "a@example.test", paywall.Grant{PlanID: "pro"}); err != nil {
		t.Fatal(err)
	}
	next(t, "grant", got, member)
	if _, err := a.RevokeGrants(ctx, member); err != nil {
		t.Fatal(err)
	}
	next(t, "revoke", got, member)

	// Whatever else was heard would come before this second member: the
	// unknown session, the other schema, a change announced twice.
	second, err := a.ApplyChange(ctx, purchase("cs_2", "cus_2", "b@example.test"))
	if err != nil {
		t.Fatal(err)
	}
	next(t, "second purchase", got, second)
}

// TestForgottenPruned: on SQLite, rows of the forgotten table older than a
// few minutes go, newer ones stay, and numbering goes on past pruned rows,
// so a listener never mistakes a new row for one it has seen.
func TestForgottenPruned(t *testing.T) {
	ctx := context.Background()
	path := storetest.DB{Name: "sqlite"}.URL(t)
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	old, fresh := time.Now().Add(-10*time.Minute).Unix(), time.Now().Unix()
	if _, err := raw.Exec(`INSERT INTO forgotten (member_id, at) VALUES (1, ?), (2, ?), (3, ?)`,
		old, old, fresh); err != nil {
		t.Fatal(err)
	}
	if err := s.PruneForgotten(ctx); err != nil {
		t.Fatal(err)
	}
	var members []int64
	rows, err := raw.Query(`SELECT member_id FROM forgotten ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var m int64
		rows.Scan(&m)
		members = append(members, m)
	}
	rows.Close()
	if len(members) != 1 || members[0] != 3 {
		t.Errorf("after pruning: members %v, want [3], the fresh row only", members)
	}
	if _, err := raw.Exec(`DELETE FROM forgotten`); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMemberSessions(ctx, 7); err != nil {
		t.Fatal(err)
	}
	var seq int64
	if err := raw.QueryRow(`SELECT seq FROM forgotten WHERE member_id = 7`).Scan(&seq); err != nil || seq != 4 {
		t.Errorf("a row after an emptied table: seq %d, %v, want 4", seq, err)
	}
}
