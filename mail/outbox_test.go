package mail_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/account"
	"github.com/paywall/paywall/mail"
	"github.com/paywall/paywall/sqlite"
)

const (
	buyer    = "reader@example.test"
	sender   = "Letters <news@example.test>"
	siteName = "example.test"
)

// clock is a settable time shared by the store and the outbox, so that a
// test moves past a backoff without waiting for it.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

type fixture struct {
	store    *sqlite.Store
	accounts *account.Local
	outbox   *mail.Outbox
	clock    *clock
}

// newFixture is a real store and identity provider, and an outbox sending
// through m.
func newFixture(t *testing.T, m mail.Mailer) *fixture {
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
	accounts := account.NewLocal(store, base)
	accounts.Cost = bcrypt.MinCost
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := mail.NewOutbox(store, accounts, m, siteName, log)
	o.BaseURL = base.String()
	o.Now = c.Now
	return &fixture{store: store, accounts: accounts, outbox: o, clock: c}
}

// buy makes a member as the webhook does, which queues their setup mail.
func (f *fixture) buy(t *testing.T, email string) int64 {
	t.Helper()
	ctx := context.Background()
	id := "evt_" + email
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

// sendDue runs the outbox once, then moves the clock past any backoff.
func (f *fixture) sendDue(t *testing.T) {
	t.Helper()
	if err := f.outbox.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.clock.now = f.clock.now.Add(5 * time.Hour)
}

// mail returns the only mail in the outbox.
func (f *fixture) mail(t *testing.T) paywall.Outgoing {
	t.Helper()
	mails, err := f.store.Mails(context.Background(), false, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 1 {
		t.Fatalf("%d mails in the outbox, want 1", len(mails))
	}
	return mails[0]
}

// wantSetupLink checks that link is a working setup link for member.
func (f *fixture) wantSetupLink(t *testing.T, link string, member int64) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Host != "paywall.test" || u.Path != "/account/setup" {
		t.Fatalf("link %q is not a setup link on the public origin", link)
	}
	m, err := f.accounts.LinkMember(context.Background(), u.Query().Get("token"), account.Setup)
	if err != nil || m.ID != member {
		t.Errorf("the mailed link opens member %d, %v; want %d", m.ID, err, member)
	}
}

func TestTemplatesRender(t *testing.T) {
	d := mail.Data{Site: siteName, Link: "http://paywall.test/x?token=t&a=<b>",
		Expires: "15 minutes", Account: "http://paywall.test/account"}
	for _, kind := range []string{paywall.MailSetup, paywall.MailSignIn, paywall.MailEmailChange,
		"subscription_ended", "trial_ending"} {
		m, err := mail.Render(kind, buyer, d)
		if err != nil {
			t.Errorf("%s: %v", kind, err)
			continue
		}
		if m.Subject == "" || m.Text == "" || m.HTML == "" {
			t.Errorf("%s: empty part: %+v", kind, m)
		}
		if _, ok := map[string]bool{"subscription_ended": true, "trial_ending": true}[kind]; ok {
			continue
		}
		if !strings.Contains(m.Text, d.Link) || strings.Contains(m.HTML, "<b>") {
			t.Errorf("%s: text lacks the link or html does not escape it:\n%s\n%s", kind, m.Text, m.HTML)
		}
	}
	if _, err := mail.Render("no_such_kind", buyer, d); err == nil {
		t.Error("an unknown kind rendered")
	}
}
