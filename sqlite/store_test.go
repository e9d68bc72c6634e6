package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite"
	"github.com/paywall/paywall/sqlite/storetest"
)

// clock is a settable time source for Store.Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func (c *clock) set(t time.Time) (restore func()) {
	old := c.t
	c.t = t
	return func() { c.t = old }
}

var start = time.Unix(1_750_000_000, 0)

// newStore opens a migrated store in a temporary directory, on a clock the
// test controls.
func newStore(t *testing.T, db storetest.DB) (*sqlite.Store, *clock) {
	t.Helper()
	s, err := sqlite.Open(db.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: start}
	s.Now = c.now
	return s, c
}

// apply stores an event and applies change for it, returning the member.
func apply(t *testing.T, s *sqlite.Store, id string, c paywall.Change) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := s.SaveEvent(ctx, paywall.Event{ID: id, Type: "test", Created: start,
		Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	m, err := s.ApplyEvent(ctx, id, c)
	if err != nil {
		t.Fatalf("ApplyEvent(%s): %v", id, err)
	}
	return m
}

func purchase(session, customer, email string) paywall.Change {
	return paywall.Change{Purchase: &paywall.Purchase{SessionID: session, CustomerID: customer,
		SubscriptionID: "sub_" + customer, Email: email, Paid: true}}
}

func dueMails(t *testing.T, s *sqlite.Store) []paywall.Outgoing {
	t.Helper()
	mails, err := s.DueMails(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return mails
}

func subscriptions(t *testing.T, s *sqlite.Store, member int64) []paywall.Subscription {
	t.Helper()
	subs, err := s.Subscriptions(context.Background(), member)
	if err != nil {
		t.Fatal(err)
	}
	return subs
}

func wantKind(t *testing.T, what string, err error, want paywall.ErrorKind) {
	t.Helper()
	if got := paywall.KindOf(err); err == nil || got != want {
		t.Errorf("%s: got %v (kind %v), want kind %v", what, err, got, want)
	}
}

func TestMigrate(t *testing.T) { storetest.Each(t, testMigrate) }

func testMigrate(t *testing.T, db storetest.DB) {
	ctx := context.Background()
	s, err := sqlite.Open(db.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	n, err := s.Migrate(ctx)
	if err != nil || n == 0 {
		t.Fatalf("first Migrate: got %d, %v, want some applied", n, err)
	}
	if n, err := s.Migrate(ctx); err != nil || n != 0 {
		t.Errorf("second Migrate: got %d, %v, want 0, nil", n, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestSetting(t *testing.T) { storetest.Each(t, testSetting) }

func testSetting(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()

	if got, err := s.Setting(ctx, "webhook_secret", "whsec_first"); err != nil || got != "whsec_first" {
		t.Errorf("first call: got %q, %v, want whsec_first", got, err)
	}
	if got, err := s.Setting(ctx, "webhook_secret", "whsec_second"); err != nil || got != "whsec_first" {
		t.Errorf("second call: got %q, %v, want whsec_first", got, err)
	}
	if got, err := s.Setting(ctx, "other", "x"); err != nil || got != "x" {
		t.Errorf("other key: got %q, %v, want x", got, err)
	}
}

func TestSimulatedCheckout(t *testing.T) { storetest.Each(t, testSimulatedCheckout) }

func testSimulatedCheckout(t *testing.T, db storetest.DB) {
	s, c := newStore(t, db)
	ctx := context.Background()

	order := paywall.SimulatedCheckout{ID: "cs_sim_1", PlanID: "basic", Interval: paywall.Month}
	if err := s.CreateSimulatedCheckout(ctx, order); err != nil {
		t.Fatal(err)
	}
	got, err := s.SimulatedCheckout(ctx, "cs_sim_1")
	if err != nil {
		t.Fatal(err)
	}
	want := paywall.SimulatedCheckout{ID: "cs_sim_1", PlanID: "basic", Interval: paywall.Month,
		CreatedAt: start}
	if got != want {
		t.Errorf("created: got %+v, want %+v", got, want)
	}

	c.advance(time.Minute)
	first, err := s.CompleteSimulatedCheckout(ctx, "cs_sim_1", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	want.Email, want.CompletedAt = "ann@example.com", start.Add(time.Minute)
	if first != want {
		t.Errorf("completed: got %+v, want %+v", first, want)
	}

	c.advance(time.Minute)
	second, err := s.CompleteSimulatedCheckout(ctx, "cs_sim_1", "mallory@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if second != want {
		t.Errorf("completed again: got %+v, want the first completion %+v", second, want)
	}

	_, err = s.SimulatedCheckout(ctx, "cs_sim_missing")
	wantKind(t, "unknown order", err, paywall.NotFound)
}

// TestMigrationsPerDialect checks that every SQLite migration has its
// PostgreSQL twin under the same number, and the other way round, so a
// migration added for one dialect cannot be forgotten for the other.
func TestMigrationsPerDialect(t *testing.T) {
	names := func(dir string) []string {
		files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range files {
			out = append(out, filepath.Base(f))
		}
		return out
	}
	lite, pg := names("migrations"), names(filepath.Join("migrations", "postgres"))
	if len(lite) == 0 {
		t.Fatal("no SQLite migrations found")
	}
	if diff := cmp.Diff(lite, pg); diff != "" {
		t.Errorf("migrations/*.sql and migrations/postgres/*.sql differ (-sqlite +postgres):\n%s", diff)
	}
}

// (SQLite serves one process; replicas run on PostgreSQL.)
func TestConcurrentMigrate(t *testing.T) {
	storetest.Require(t)
	url := storetest.PostgresURL(t)
	const replicas = 4
	applied := make(chan int, replicas)
	errs := make(chan error, replicas)
	for range replicas {
		go func() {
			s, err := sqlite.Open(url)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			n, err := s.Migrate(context.Background())
			applied <- n
			errs <- err
		}()
	}
	total := 0
	for range replicas {
		if err := <-errs; err != nil {
			t.Errorf("Migrate: %v", err)
			continue
		}
		total += <-applied
	}
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if want := len(files); total != want {
		t.Errorf("%d migrations applied in all, want each of the %d once", total, want)
	}
}
