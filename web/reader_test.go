package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paywall/paywall"
)

// countingAccounts is a small identity provider that counts how often the
// server asks it for a session: each ask stands for a database query.
type countingAccounts struct {
	mu       sync.Mutex
	sessions map[string]int64 // token → member
	expires  time.Time
	asked    int
}

func (a *countingAccounts) Session(_ context.Context, token string) (paywall.Member, time.Time, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked++
	id, ok := a.sessions[token]
	if !ok {
		return paywall.Member{}, time.Time{}, paywall.Errorf(paywall.Unauthorized, "not signed in")
	}
	return paywall.Member{ID: id, Email: "m@example.test"}, a.expires, nil
}

func (a *countingAccounts) SignOut(_ context.Context, token string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, token)
	return nil
}

func (a *countingAccounts) SignOutEverywhere(_ context.Context, member int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for tok, m := range a.sessions {
		if m == member {
			delete(a.sessions, tok)
		}
	}
	return nil
}

func (a *countingAccounts) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.asked
}

func (a *countingAccounts) LinkMember(context.Context, string, string) (paywall.Member, error) {
	return paywall.Member{}, paywall.Errorf(paywall.NotFound, "no link")
}
func (a *countingAccounts) SetPassword(context.Context, string, string) (string, error) {
	return "", paywall.Errorf(paywall.NotFound, "no link")
}
func (a *countingAccounts) SignIn(context.Context, string, string) (string, error) {
	return "", paywall.Errorf(paywall.Unauthorized, "no")
}
func (a *countingAccounts) RequestLink(context.Context, string) error { return nil }
func (a *countingAccounts) SignInWithLink(context.Context, string) (string, error) {
	return "", paywall.Errorf(paywall.NotFound, "no link")
}
func (a *countingAccounts) RequestEmailChange(context.Context, int64, string) error { return nil }
func (a *countingAccounts) ChangeEmail(context.Context, string) (int64, error) {
	return 0, paywall.Errorf(paywall.NotFound, "no link")
}

// countingStore counts subscription and grant reads.
type countingStore struct {
	mu          sync.Mutex
	subs        map[int64][]paywall.Subscription
	grants      map[int64][]paywall.Grant
	invoices    []paywall.Invoice
	customers   []string
	asked       int
	askedGrants int
}

func (s *countingStore) Grants(_ context.Context, member int64) ([]paywall.Grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.askedGrants++
	return s.grants[member], nil
}

func (s *countingStore) grant(member int64, grants ...paywall.Grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[member] = grants
}

func (s *countingStore) grantCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.askedGrants
}

func (s *countingStore) Subscriptions(_ context.Context, member int64) ([]paywall.Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	return s.subs[member], nil
}

func (s *countingStore) set(member int64, subs ...paywall.Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[member] = subs
}

func (s *countingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked
}

func (s *countingStore) Ping(context.Context) error { return nil }
func (s *countingStore) SaveEvent(context.Context, paywall.Event) (bool, error) {
	return false, nil
}
func (s *countingStore) Invoices(context.Context, int64) ([]paywall.Invoice, error) {
	return s.invoices, nil
}
func (s *countingStore) CustomerIDs(context.Context, int64) ([]string, error) {
	return s.customers, nil
}
func (s *countingStore) MemberByEmail(context.Context, string) (paywall.Member, error) {
	return paywall.Member{}, paywall.Errorf(paywall.NotFound, "no such member")
}
func (s *countingStore) CheckoutEmail(context.Context, string) (string, bool, bool, error) {
	return "", false, false, nil
}

type cacheFixture struct {
	srv      *Server
	handler  http.Handler
	accounts *countingAccounts
	store    *countingStore
	now      time.Time
}

func newCacheFixture(t testing.TB) *cacheFixture {
	t.Helper()
	f := &cacheFixture{
		accounts: &countingAccounts{sessions: map[string]int64{"tok-1": 1, "tok-2": 1, "tok-3": 2}},
		store: &countingStore{subs: map[int64][]paywall.Subscription{},
			grants: map[int64][]paywall.Grant{}},
		now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
	f.store.set(1, paywall.Subscription{ID: "sub_1", Status: paywall.Active, PlanID: "basic"})
	base, _ := url.Parse("http://paywall.test")
	f.srv = &Server{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), BaseURL: base,
		Accounts: f.accounts, Store: f.store, Now: func() time.Time { return f.now },
		Metrics: prometheus.NewRegistry(), CacheTTL: time.Minute, Policy: paywall.DefaultPolicy,
	}
	f.handler = f.srv.Handler()
	return f
}

func (f *cacheFixture) read(t testing.TB, token string) reader {
	t.Helper()
	r := httptest.NewRequest("GET", "/posts/x/", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: token})
	rd, err := f.srv.reader(r)
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

// wantQueries checks how often the identity provider and the store were
// asked; the store is asked for grants exactly when for subscriptions.
func (f *cacheFixture) wantQueries(t *testing.T, what string, sessions, subs int) {
	t.Helper()
	a, s, g := f.accounts.count(), f.store.count(), f.store.grantCount()
	if a != sessions || s != subs || g != subs {
		t.Errorf("%s: %d session, %d subscription and %d grant queries, want %d, %d and %d",
			what, a, s, g, sessions, subs, subs)
	}
}

func TestReaderCache(t *testing.T) {
	t.Run("a warm cache asks nothing", func(t *testing.T) {
		f := newCacheFixture(t)
		for range 100 {
			if rd := f.read(t, "tok-1"); !rd.SignedIn || rd.Access.PlanID != "basic" {
				t.Fatalf("reader %+v", rd)
			}
		}
		f.wantQueries(t, "100 requests", 1, 1)
	})
	t.Run("sign-out is seen at once", func(t *testing.T) {
		f := newCacheFixture(t)
		f.read(t, "tok-1")
		f.read(t, "tok-2")
		r := httptest.NewRequest("POST", "/logout", nil)
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "tok-1"})
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, r)
		if w.Code != http.StatusSeeOther {
			t.Fatalf("logout: %d", w.Code)
		}
		if f.read(t, "tok-1").SignedIn {
			t.Error("signed-out session still served from the cache")
		}
		if !f.read(t, "tok-2").SignedIn {
			t.Error("the member's other session was signed out")
		}
		f.wantQueries(t, "after sign-out", 3, 2)
	})
	t.Run("sign out everywhere is seen at once", func(t *testing.T) {
		f := newCacheFixture(t)
		f.read(t, "tok-1")
		f.read(t, "tok-2")
		f.read(t, "tok-3")
		r := httptest.NewRequest("POST", "/account/sessions/end", nil)
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "tok-1"})
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, r)
		if w.Code != http.StatusSeeOther {
			t.Fatalf("sign out everywhere: %d", w.Code)
		}
		if f.read(t, "tok-1").SignedIn || f.read(t, "tok-2").SignedIn {
			t.Error("a session of the member is still served from the cache")
		}
		if !f.read(t, "tok-3").SignedIn {
			t.Error("another member was signed out")
		}
	})
	t.Run("a plan change is seen at once", func(t *testing.T) {
		f := newCacheFixture(t)
		f.read(t, "tok-1")
		f.store.set(1, paywall.Subscription{ID: "sub_1", Status: paywall.Canceled, PlanID: "basic"})
		f.srv.Forget(1) // what the webhook worker calls
		if rd := f.read(t, "tok-1"); rd.Access.Granted() {
			t.Errorf("canceled member still has %+v", rd.Access)
		}
		f.wantQueries(t, "after the change", 2, 2)
	})
	t.Run("a grant counts, and is read with the subscriptions", func(t *testing.T) {
		f := newCacheFixture(t)
		f.store.set(1, paywall.Subscription{ID: "sub_1", Status: paywall.Canceled, PlanID: "basic"})
		f.store.grant(1, paywall.Grant{PlanID: "elite", Until: f.now.Add(10 * time.Second)})
		for range 10 {
			if rd := f.read(t, "tok-1"); rd.Access.PlanID != "elite" || !rd.Access.Comped {
				t.Fatalf("reader with an elite grant: %+v", rd.Access)
			}
		}
		f.wantQueries(t, "10 requests", 1, 1)
		f.now = f.now.Add(10 * time.Second)
		if rd := f.read(t, "tok-1"); rd.Access.Granted() {
			t.Errorf("access after the grant ended: %+v", rd.Access)
		}
		f.wantQueries(t, "past the grant's end", 1, 1)
		f.store.grant(1, paywall.Grant{PlanID: "pro"})
		f.srv.Forget(1) // what the listener calls when the command line grants
		if rd := f.read(t, "tok-1"); rd.Access.PlanID != "pro" {
			t.Errorf("after a new grant: %+v, want pro", rd.Access)
		}
		f.wantQueries(t, "after the new grant", 2, 2)
	})
	t.Run("time alone is never served stale", func(t *testing.T) {
		f := newCacheFixture(t)
		f.store.set(1, paywall.Subscription{ID: "sub_1", Status: paywall.Active, PlanID: "basic",
			CancelAt: f.now.Add(10 * time.Second)})
		if !f.read(t, "tok-1").Access.Granted() {
			t.Fatal("no access before the cancellation")
		}
		f.now = f.now.Add(11 * time.Second)
		if f.read(t, "tok-1").Access.Granted() {
			t.Error("access after the cancellation took effect")
		}
		f.wantQueries(t, "within the TTL", 1, 1)
	})
	t.Run("the TTL and the session's own end bound an entry", func(t *testing.T) {
		f := newCacheFixture(t)
		f.read(t, "tok-1")
		f.now = f.now.Add(time.Minute)
		f.read(t, "tok-1")
		f.wantQueries(t, "after the TTL", 2, 2)
		f.accounts.expires = f.now.Add(5 * time.Second)
		f.now = f.now.Add(time.Minute)
		f.read(t, "tok-1")
		f.now = f.now.Add(6 * time.Second)
		f.read(t, "tok-1")
		f.wantQueries(t, "past the session's end", 4, 4)
	})
	t.Run("revocation elsewhere is seen within the TTL", func(t *testing.T) {
		f := newCacheFixture(t)
		f.read(t, "tok-1")
		// The command line deletes the session in the database directly.
		f.accounts.SignOut(context.Background(), "tok-1")
		f.now = f.now.Add(time.Minute)
		if f.read(t, "tok-1").SignedIn {
			t.Error("a session revoked elsewhere outlived the TTL")
		}
	})
}

// BenchmarkReaderWarm is the guard's hot path on a warm cache: cookie to
// member and access with no query.
//
//	go test -run '^$' -bench ReaderWarm -benchmem ./web
func BenchmarkReaderWarm(b *testing.B) {
	f := newCacheFixture(b)
	f.read(b, "tok-1")
	r := httptest.NewRequest("GET", "/posts/x/", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "tok-1"})
	for b.Loop() {
		if rd, _ := f.srv.reader(r); !rd.SignedIn {
			b.Fatal("not signed in")
		}
	}
	if n := f.accounts.count(); n != 1 {
		b.Fatalf("%d session queries on a warm cache", n)
	}
}
