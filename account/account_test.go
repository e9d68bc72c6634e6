package account_test

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/account"
	"github.com/paywall/paywall/sqlite"
)

// clock is a settable time for the store, so that tests move past expiry
// without waiting.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

type fixture struct {
	store    *sqlite.Store
	accounts *account.Local
	clock    *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "paywall.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	store.Now = c.Now
	base, _ := url.Parse("http://paywall.test")
	a := account.NewLocal(store, base)
	a.Cost = bcrypt.MinCost
	return &fixture{store: store, accounts: a, clock: c}
}

// buy makes a member the way the webhook does: from a completed checkout.
func (f *fixture) buy(t testing.TB, email string) int64 {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("evt_%s", email)
	_, err := f.store.SaveEvent(ctx, paywall.Event{ID: id, Type: "checkout.session.completed",
		Created: f.clock.now, Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	member, err := f.store.ApplyEvent(ctx, id, paywall.Change{Purchase: &paywall.Purchase{
		SessionID: "cs_" + email, CustomerID: "cus_" + email, Email: email, Paid: true}})
	if err != nil || member == 0 {
		t.Fatalf("apply purchase: member %d, %v", member, err)
	}
	return member
}

// token returns the token of a link URL.
func token(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

func wantKind(t *testing.T, what string, err error, want paywall.ErrorKind) {
	t.Helper()
	if err == nil || paywall.KindOf(err) != want {
		t.Fatalf("%s: error %v (kind %d), want kind %d", what, err, paywall.KindOf(err), want)
	}
}

func TestLinks(t *testing.T) {
	ctx := context.Background()
	t.Run("the GET does not use a link; the POST uses it once", func(t *testing.T) {
		f := newFixture(t)
		member := f.buy(t, "a@example.test")
		link, ttl, err := f.accounts.NewLink(ctx, member, account.Setup, "")
		if err != nil {
			t.Fatal(err)
		}
		if ttl != 48*time.Hour {
			t.Errorf("setup link lasts %s, want 48h", ttl)
		}
		tok := token(t, link)
		for range 3 {
			m, err := f.accounts.LinkMember(ctx, tok, account.Setup)
			if err != nil || m.ID != member {
				t.Fatalf("LinkMember = %d, %v; want member %d", m.ID, err, member)
			}
		}
		if _, err := f.accounts.SetPassword(ctx, tok, "a long enough password"); err != nil {
			t.Fatal(err)
		}
		_, err = f.accounts.SetPassword(ctx, tok, "another long password")
		wantKind(t, "second use", err, paywall.NotFound)
		_, err = f.accounts.LinkMember(ctx, tok, account.Setup)
		wantKind(t, "GET after use", err, paywall.NotFound)
		if _, err := f.accounts.SignIn(ctx, "a@example.test", "a long enough password"); err != nil {
			t.Errorf("the first password does not sign in: %v", err)
		}
	})
	t.Run("a link expires", func(t *testing.T) {
		f := newFixture(t)
		member := f.buy(t, "b@example.test")
		link, ttl, err := f.accounts.NewLink(ctx, member, account.SignInByLink, "")
		if err != nil {
			t.Fatal(err)
		}
		if ttl != 15*time.Minute {
			t.Errorf("sign-in link lasts %s, want 15m", ttl)
		}
		f.clock.advance(ttl - time.Second)
		if _, err := f.accounts.LinkMember(ctx, token(t, link), account.SignInByLink); err != nil {
			t.Fatalf("a second before expiry: %v", err)
		}
		f.clock.advance(time.Second)
		_, err = f.accounts.SignInWithLink(ctx, token(t, link))
		wantKind(t, "at expiry", err, paywall.NotFound)
	})
	t.Run("a wrong token, or a link of another purpose, does nothing", func(t *testing.T) {
		f := newFixture(t)
		member := f.buy(t, "c@example.test")
		link, _, err := f.accounts.NewLink(ctx, member, account.SignInByLink, "")
		if err != nil {
			t.Fatal(err)
		}
		tok := token(t, link)
		for _, bad := range []string{"", "x", tok[:len(tok)-1] + "A", tok + "A"} {
			if bad == tok {
				continue
			}
			_, err := f.accounts.SignInWithLink(ctx, bad)
			wantKind(t, fmt.Sprintf("token %q", bad), err, paywall.NotFound)
		}
		_, err = f.accounts.SetPassword(ctx, tok, "a long enough password")
		wantKind(t, "sign-in link used as setup link", err, paywall.NotFound)
		if _, err := f.accounts.SignInWithLink(ctx, tok); err != nil {
			t.Errorf("the right token after wrong ones: %v", err)
		}
	})
	t.Run("an email change needs its link and a free address", func(t *testing.T) {
		f := newFixture(t)
		member := f.buy(t, "d@example.test")
		f.buy(t, "taken@example.test")
		// Answered as for a free address, so members learn nothing of others,
		// and no link is queued for the taken one.
		if err := f.accounts.RequestEmailChange(ctx, member, "taken@example.test"); err != nil {
			t.Errorf("change to a taken address: %v, want the answer a free one gets", err)
		}
		due, err := f.store.DueMails(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range due {
			if m.Kind == paywall.MailEmailChange {
				t.Errorf("an email-change link was queued for %s", m.To)
			}
		}
		link, _, err := f.accounts.NewLink(ctx, member, account.EmailChange, "new@example.test")
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := f.store.Member(ctx, member); m.Email != "d@example.test" {
			t.Fatalf("email changed before the link was used: %s", m.Email)
		}
		if _, err := f.accounts.ChangeEmail(ctx, token(t, link)); err != nil {
			t.Fatal(err)
		}
		if m, _ := f.store.Member(ctx, member); m.Email != "new@example.test" {
			t.Errorf("email after the link: %s, want new@example.test", m.Email)
		}
		_, err = f.accounts.ChangeEmail(ctx, token(t, link))
		wantKind(t, "email change link used twice", err, paywall.NotFound)
	})
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	const email, pw = "s@example.test", "a long enough password"
	setup := func(t *testing.T) (*fixture, int64) {
		f := newFixture(t)
		member := f.buy(t, email)
		link, _, err := f.accounts.NewLink(ctx, member, account.Setup, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.accounts.SetPassword(ctx, token(t, link), pw); err != nil {
			t.Fatal(err)
		}
		return f, member
	}
	t.Run("every sign-in gets a new token", func(t *testing.T) {
		f, member := setup(t)
		a, err := f.accounts.SignIn(ctx, email, pw)
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.accounts.SignIn(ctx, email, pw)
		if err != nil {
			t.Fatal(err)
		}
		if a == b || len(a) != 43 {
			t.Fatalf("tokens %q and %q: want two different 32-byte tokens", a, b)
		}
		for _, tok := range []string{a, b} {
			if m, _, err := f.accounts.Session(ctx, tok); err != nil || m.ID != member {
				t.Errorf("session: %d, %v", m.ID, err)
			}
		}
	})
	t.Run("sign-out ends one session", func(t *testing.T) {
		f, _ := setup(t)
		a, _ := f.accounts.SignIn(ctx, email, pw)
		b, _ := f.accounts.SignIn(ctx, email, pw)
		if err := f.accounts.SignOut(ctx, a); err != nil {
			t.Fatal(err)
		}
		_, _, err := f.accounts.Session(ctx, a)
		wantKind(t, "signed-out session", err, paywall.Unauthorized)
		if _, _, err := f.accounts.Session(ctx, b); err != nil {
			t.Errorf("the other session ended too: %v", err)
		}
	})
	t.Run("sign out everywhere ends every session", func(t *testing.T) {
		f, member := setup(t)
		a, _ := f.accounts.SignIn(ctx, email, pw)
		b, _ := f.accounts.SignIn(ctx, email, pw)
		other := f.buy(t, "other@example.test")
		link, _, _ := f.accounts.NewLink(ctx, other, account.SignInByLink, "")
		c, err := f.accounts.SignInWithLink(ctx, token(t, link))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.accounts.SignOutEverywhere(ctx, member); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{a, b} {
			_, _, err := f.accounts.Session(ctx, tok)
			wantKind(t, "session after sign out everywhere", err, paywall.Unauthorized)
		}
		if _, _, err := f.accounts.Session(ctx, c); err != nil {
			t.Errorf("another member's session ended: %v", err)
		}
	})
	t.Run("idle expiry", func(t *testing.T) {
		f, _ := setup(t)
		tok, _ := f.accounts.SignIn(ctx, email, pw)
		idle := f.accounts.SessionIdle
		f.clock.advance(idle - time.Minute)
		_, expires, err := f.accounts.Session(ctx, tok)
		if err != nil {
			t.Fatalf("used before the idle limit: %v", err)
		}
		if want := f.clock.now.Add(idle); !expires.Equal(want) {
			t.Errorf("expires %s, want %s (use renews the idle limit)", expires, want)
		}
		f.clock.advance(idle - time.Minute)
		if _, _, err := f.accounts.Session(ctx, tok); err != nil {
			t.Fatalf("used again within the idle limit: %v", err)
		}
		f.clock.advance(idle + time.Second)
		_, _, err = f.accounts.Session(ctx, tok)
		wantKind(t, "after idling", err, paywall.Unauthorized)
	})
	t.Run("absolute expiry however often used", func(t *testing.T) {
		f, _ := setup(t)
		start := f.clock.now
		tok, _ := f.accounts.SignIn(ctx, email, pw)
		max := f.accounts.SessionMax
		for f.clock.now.Before(start.Add(max - 24*time.Hour)) {
			f.clock.advance(24 * time.Hour)
			if _, _, err := f.accounts.Session(ctx, tok); err != nil {
				t.Fatalf("daily use at %s: %v", f.clock.now, err)
			}
		}
		f.clock.now = start.Add(max)
		_, _, err := f.accounts.Session(ctx, tok)
		wantKind(t, "at the absolute limit", err, paywall.Unauthorized)
	})
}

func TestUnknownEmailAnswersAlike(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.buy(t, "known@example.test")
	_, known := f.accounts.SignIn(ctx, "known@example.test", "wrong password!")
	_, unknown := f.accounts.SignIn(ctx, "nobody@example.test", "wrong password!")
	if known == nil || known.Error() != unknown.Error() {
		t.Errorf("sign-in errors differ: %v / %v", known, unknown)
	}
	if err := f.accounts.RequestLink(ctx, "known@example.test"); err != nil {
		t.Errorf("link for a known email: %v", err)
	}
	if err := f.accounts.RequestLink(ctx, "nobody@example.test"); err != nil {
		t.Errorf("link for an unknown email: %v", err)
	}
	mails, err := f.store.Mails(ctx, false, 10)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range mails {
		kinds = append(kinds, m.Kind+" "+m.To)
	}
	// The member has no password yet, so the link asked for is a setup link.
	want := fmt.Sprint([]string{"setup known@example.test", "setup known@example.test"})
	if fmt.Sprint(kinds) != want {
		t.Errorf("outbox %v, want %s", kinds, want)
	}
}

// BenchmarkSignIn compares a failed sign-in for a member with a password
// and for an unknown email, at the production bcrypt cost: both pay one
// comparison.
//
//	go test -run '^$' -bench SignIn ./account
func BenchmarkSignIn(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	f.accounts.Cost = 12
	member := f.buy(b, "known@example.test")
	link, _, _ := f.accounts.NewLink(ctx, member, account.Setup, "")
	if _, err := f.accounts.SetPassword(ctx, token(b, link), "the right password"); err != nil {
		b.Fatal(err)
	}
	for _, email := range []string{"known@example.test", "nobody@example.test"} {
		b.Run(email, func(b *testing.B) {
			for b.Loop() {
				if _, err := f.accounts.SignIn(ctx, email, "a wrong password"); err == nil {
					b.Fatal("signed in with a wrong password")
				}
			}
		})
	}
}

// BenchmarkRequestLink compares asking for a sign-in link for a member and
// for an unknown email: one transaction and one statement either way.
//
//	go test -run '^$' -bench RequestLink ./account
func BenchmarkRequestLink(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	f.buy(b, "known@example.test")
	for _, email := range []string{"known@example.test", "nobody@example.test"} {
		b.Run(email, func(b *testing.B) {
			for b.Loop() {
				if err := f.accounts.RequestLink(ctx, email); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestSignInUpgradesWeakHash(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	member := f.buy(t, "old@example.test")
	link, _, _ := f.accounts.NewLink(ctx, member, account.Setup, "")
	if _, err := f.accounts.SetPassword(ctx, token(t, link), "an old long password"); err != nil {
		t.Fatal(err)
	}
	f.accounts.Cost = bcrypt.MinCost + 1 // today's parameters are stronger
	if _, err := f.accounts.SignIn(ctx, "old@example.test", "an old long password"); err != nil {
		t.Fatal(err)
	}
	_, hash, err := f.store.PasswordHash(ctx, "old@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if cost, _ := bcrypt.Cost(hash); cost != bcrypt.MinCost+1 {
		t.Errorf("hash cost after sign-in %d, want %d", cost, bcrypt.MinCost+1)
	}
	if _, err := f.accounts.SignIn(ctx, "old@example.test", "an old long password"); err != nil {
		t.Errorf("sign-in with the rehashed password: %v", err)
	}
}
