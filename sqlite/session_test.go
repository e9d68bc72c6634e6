package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite/storetest"
)

func TestLinks(t *testing.T) { storetest.Each(t, testLinks) }

func testLinks(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()
	member := apply(t, s, "evt_cs", purchase("cs_1", "cus_1", "ann@example.com"))
	link := []byte("hash-of-setup-token")

	if err := s.CreateLink(ctx, link, member, "setup", "", time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LinkMember(ctx, link, "setup"); err != nil || got != member {
		t.Errorf("LinkMember: got %d, %v, want %d", got, err, member)
	}
	if got, err := s.LinkMember(ctx, link, "setup"); err != nil || got != member {
		t.Errorf("LinkMember again (a GET must not use the link): got %d, %v, want %d", got, err, member)
	}
	_, err := s.LinkMember(ctx, link, "signin")
	wantKind(t, "LinkMember for another purpose", err, paywall.NotFound)
	_, err = s.LinkMember(ctx, []byte("unknown"), "setup")
	wantKind(t, "LinkMember of an unknown link", err, paywall.NotFound)

	session := []byte("hash-of-session-token")
	got, err := s.SetPasswordWithLink(ctx, link, []byte("$2a$10$hash"), session, time.Hour)
	if err != nil || got != member {
		t.Fatalf("SetPasswordWithLink: got %d, %v, want %d", got, err, member)
	}
	if m, err := s.Member(ctx, member); err != nil || !m.HasPassword {
		t.Errorf("Member: got %+v, %v, want HasPassword", m, err)
	}
	if id, hash, err := s.PasswordHash(ctx, "ann@example.com"); err != nil || id != member ||
		string(hash) != "$2a$10$hash" {
		t.Errorf("PasswordHash: got %d, %q, %v, want %d, the hash", id, hash, err, member)
	}
	if m, _, err := s.SessionMember(ctx, session, time.Hour); err != nil || m != member {
		t.Errorf("SessionMember: got %d, %v, want %d", m, err, member)
	}

	_, err = s.SetPasswordWithLink(ctx, link, []byte("$2a$10$other"), []byte("another session"), time.Hour)
	wantKind(t, "SetPasswordWithLink a second time", err, paywall.NotFound)
	_, err = s.LinkMember(ctx, link, "setup")
	wantKind(t, "LinkMember after use", err, paywall.NotFound)
	if _, hash, _ := s.PasswordHash(ctx, "ann@example.com"); string(hash) != "$2a$10$hash" {
		t.Errorf("password after a reused link: got %q, want the first one", hash)
	}
}

func TestSetupLinksChooseFirstPasswordOnly(t *testing.T) {
	storetest.Each(t, testSetupLinksChooseFirstPasswordOnly)
}

// Two setup links of one member (a grant's welcome mail and a purchase's):
// once the password is chosen with one, the other neither shows the form
// nor chooses another, and no new one is made; another member's setup link
// and the member's sign-in link live on.
func testSetupLinksChooseFirstPasswordOnly(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()
	ann := apply(t, s, "evt_ann", purchase("cs_1", "cus_1", "ann@example.com"))
	bob := apply(t, s, "evt_bob", purchase("cs_2", "cus_2", "bob@example.com"))
	for _, l := range []struct {
		hash, purpose string
		member        int64
	}{{"welcome", "setup", ann}, {"purchase", "setup", ann}, {"signin", "signin", ann},
		{"bob", "setup", bob}} {
		if err := s.CreateLink(ctx, []byte(l.hash), l.member, l.purpose, "", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetPasswordWithLink(ctx, []byte("purchase"), []byte("$2a$10$first"),
		[]byte("session"), time.Hour); err != nil {
		t.Fatal(err)
	}
	_, err := s.LinkMember(ctx, []byte("welcome"), "setup")
	wantKind(t, "the other setup link's page after the password was chosen", err, paywall.NotFound)
	_, err = s.SetPasswordWithLink(ctx, []byte("welcome"), []byte("$2a$10$second"),
		[]byte("session 2"), time.Hour)
	wantKind(t, "the other setup link after the password was chosen", err, paywall.NotFound)
	if _, hash, _ := s.PasswordHash(ctx, "ann@example.com"); string(hash) != "$2a$10$first" {
		t.Errorf("password: got %q, want the first one", hash)
	}
	err = s.CreateLink(ctx, []byte("late"), ann, "setup", "", time.Hour)
	wantKind(t, "a setup link made after the password was chosen", err, paywall.Conflict)
	if m, err := s.LinkMember(ctx, []byte("signin"), "signin"); err != nil || m != ann {
		t.Errorf("the member's sign-in link: %d, %v; want it still good", m, err)
	}
	if m, err := s.LinkMember(ctx, []byte("bob"), "setup"); err != nil || m != bob {
		t.Errorf("another member's setup link: %d, %v; want it still good", m, err)
	}
}

func TestPasswordBeforeSetup(t *testing.T) { storetest.Each(t, testPasswordBeforeSetup) }

func testPasswordBeforeSetup(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	member := apply(t, s, "evt_cs", purchase("cs_1", "cus_1", "ann@example.com"))

	id, hash, err := s.PasswordHash(context.Background(), "ann@example.com")
	if err != nil || id != member || hash != nil {
		t.Errorf("got %d, %q, %v, want %d, nil, nil", id, hash, err, member)
	}
}

func TestLinkExpiry(t *testing.T) { storetest.Each(t, testLinkExpiry) }

func testLinkExpiry(t *testing.T, db storetest.DB) {
	s, c := newStore(t, db)
	ctx := context.Background()
	member := apply(t, s, "evt_cs", purchase("cs_1", "cus_1", "ann@example.com"))
	link := []byte("hash-of-setup-token")
	if err := s.CreateLink(ctx, link, member, "setup", "", time.Hour); err != nil {
		t.Fatal(err)
	}

	c.advance(time.Hour)
	_, err := s.LinkMember(ctx, link, "setup")
	wantKind(t, "LinkMember at expiry", err, paywall.NotFound)
	_, err = s.SetPasswordWithLink(ctx, link, []byte("$2a$10$hash"), []byte("session"), time.Hour)
	wantKind(t, "SetPasswordWithLink at expiry", err, paywall.NotFound)
	if m, err := s.Member(ctx, member); err != nil || m.HasPassword {
		t.Errorf("Member: got %+v, %v, want no password", m, err)
	}
	_, _, err = s.SessionMember(ctx, []byte("session"), time.Hour)
	wantKind(t, "session of an expired link", err, paywall.Unauthorized)
}

func TestSessions(t *testing.T) { storetest.Each(t, testSessions) }

func testSessions(t *testing.T, db storetest.DB) {
	s, c := newStore(t, db)
	ctx := context.Background()
	member := apply(t, s, "evt_cs", purchase("cs_1", "cus_1", "ann@example.com"))
	session := []byte("hash-of-session-token")

	if err := s.CreateSession(ctx, session, member, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.SessionMember(ctx, session, time.Hour); err != nil || got != member {
		t.Errorf("SessionMember: got %d, %v, want %d", got, err, member)
	}
	_, _, err := s.SessionMember(ctx, []byte("unknown"), time.Hour)
	wantKind(t, "unknown session", err, paywall.Unauthorized)

	restore := c.set(start.Add(time.Hour))
	_, _, err = s.SessionMember(ctx, session, time.Hour)
	wantKind(t, "expired session", err, paywall.Unauthorized)
	restore()

	if err := s.DeleteSession(ctx, session); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.SessionMember(ctx, session, time.Hour)
	wantKind(t, "deleted session", err, paywall.Unauthorized)
	if err := s.DeleteSession(ctx, session); err != nil {
		t.Errorf("deleting a session twice: got %v, want nil", err)
	}
}
