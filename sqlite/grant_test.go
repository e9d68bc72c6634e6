package sqlite_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite"
	"github.com/paywall/paywall/sqlite/storetest"
)

func TestGrantNewMember(t *testing.T) { storetest.Each(t, testGrantNewMember) }

func testGrantNewMember(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()

	got, err := s.Grant(ctx, " comp@example.test ", paywall.Grant{PlanID: "pro"})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Created || got.Replaced || got.Member.Email != "comp@example.test" || got.Member.ID == 0 {
		t.Errorf("Grant: got %+v, want a new member comp@example.test", got)
	}
	mails := dueMails(t, s)
	if len(mails) != 1 || mails[0].Kind != paywall.MailComped || mails[0].MemberID != got.Member.ID {
		t.Errorf("outbox: got %+v, want one welcome mail with a setup link to the new member", mails)
	}
	grants, err := s.Grants(ctx, got.Member.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]paywall.Grant{{PlanID: "pro", Created: start}}, grants); diff != "" {
		t.Errorf("Grants (-want +got):\n%s", diff)
	}

	// A purchase by the same address later finds the member and mails its
	// own setup link, as the welcome mail's may have expired or be lost.
	member := apply(t, s, "evt_1", purchase("cs_1", "cus_1", "Comp@Example.test"))
	if member != got.Member.ID {
		t.Errorf("purchase after the grant: member %d, want %d", member, got.Member.ID)
	}
	if got := mailKinds(t, s, member); len(got) != 2 || got[1] != paywall.MailSetup {
		t.Errorf("outbox after the purchase: %v, want the welcome mail and a setup mail", got)
	}
}

func TestGrantAgainReplaces(t *testing.T) { storetest.Each(t, testGrantAgainReplaces) }

func testGrantAgainReplaces(t *testing.T, db storetest.DB) {
	s, c := newStore(t, db)
	ctx := context.Background()
	member := apply(t, s, "evt_1", purchase("cs_1", "cus_1", "ann@example.test"))
	week := start.Add(7 * 24 * time.Hour)

	first, err := s.Grant(ctx, "ANN@example.test", paywall.Grant{PlanID: "elite", Until: week})
	if err != nil {
		t.Fatal(err)
	}
	if first.Created || first.Replaced || first.Member.ID != member {
		t.Errorf("first grant: got %+v, want member %d, not created, not replaced", first, member)
	}
	c.advance(time.Hour)
	second, err := s.Grant(ctx, "ann@example.test", paywall.Grant{PlanID: "elite"})
	if err != nil {
		t.Fatal(err)
	}
	if !second.Replaced || second.Previous.Until != week {
		t.Errorf("second grant: got %+v, want the first one, until %v, replaced", second, week)
	}
	if _, err := s.Grant(ctx, "ann@example.test", paywall.Grant{PlanID: "basic", Until: week}); err != nil {
		t.Fatal(err)
	}
	grants, err := s.Grants(ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	want := []paywall.Grant{
		{PlanID: "basic", Until: week, Created: start.Add(time.Hour)},
		{PlanID: "elite", Created: start},
	}
	if diff := cmp.Diff(want, grants); diff != "" {
		t.Errorf("Grants (-want +got):\n%s", diff)
	}
	if mails := dueMails(t, s); len(mails) != 1 {
		t.Errorf("outbox: got %d mails, want only the purchase's setup mail", len(mails))
	}

	// Past its end a grant is not listed, and nothing is left to revoke.
	c.advance(7 * 24 * time.Hour)
	grants, err = s.Grants(ctx, member)
	if err != nil || len(grants) != 1 || grants[0].PlanID != "elite" {
		t.Errorf("a week later: got %+v, %v, want only the open elite grant", grants, err)
	}
	all, err := s.AllGrants(ctx)
	if err != nil || len(all) != 1 || len(all[member]) != 1 {
		t.Errorf("AllGrants a week later: got %+v, %v, want the elite grant of member %d",
			all, err, member)
	}

	// Granting the plan whose grant ran out makes a new grant, created
	// now, not a replacement of the dead one.
	again, err := s.Grant(ctx, "ann@example.test", paywall.Grant{PlanID: "basic"})
	if err != nil || again.Replaced {
		t.Fatalf("grant after the basic grant ran out: %+v, %v; want a new grant", again, err)
	}
	grants, err = s.Grants(ctx, member)
	want = []paywall.Grant{
		{PlanID: "basic", Created: start.Add(7*24*time.Hour + time.Hour)},
		{PlanID: "elite", Created: start},
	}
	if diff := cmp.Diff(want, grants); err != nil || diff != "" {
		t.Errorf("Grants after granting basic again (-want +got), %v:\n%s", err, diff)
	}
}

func TestRevokeGrants(t *testing.T) { storetest.Each(t, testRevokeGrants) }

func testRevokeGrants(t *testing.T, db storetest.DB) {
	url := db.URL(t)
	s, err := sqlite.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: start}
	s.Now = c.now
	g, err := s.Grant(ctx, "ann@example.test", paywall.Grant{PlanID: "pro"})
	if err != nil {
		t.Fatal(err)
	}
	member := g.Member.ID

	c.advance(time.Minute)
	revoked, err := s.RevokeGrants(ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]paywall.Grant{{PlanID: "pro", Created: start}}, revoked); diff != "" {
		t.Errorf("RevokeGrants (-want +got):\n%s", diff)
	}
	if grants, err := s.Grants(ctx, member); err != nil || len(grants) != 0 {
		t.Errorf("Grants after revoking: got %+v, %v, want none", grants, err)
	}
	if again, err := s.RevokeGrants(ctx, member); err != nil || len(again) != 0 {
		t.Errorf("second RevokeGrants: got %+v, %v, want nothing to revoke", again, err)
	}

	// Granting again after a revocation makes a new grant; the revoked one is kept.
	c.advance(time.Minute)
	if g, err := s.Grant(ctx, "ann@example.test", paywall.Grant{PlanID: "pro"}); err != nil || g.Replaced {
		t.Errorf("grant after revoking: got %+v, %v, want a new grant", g, err)
	}
	grants, err := s.Grants(ctx, member)
	if err != nil || len(grants) != 1 || !grants[0].Created.Equal(start.Add(2*time.Minute)) {
		t.Errorf("Grants: got %+v, %v, want the new grant only", grants, err)
	}
	if n := countRows(t, url, "grants"); n != 2 {
		t.Errorf("grants table holds %d rows, want 2: revoking never deletes", n)
	}
}

func TestGrantRefuses(t *testing.T) { storetest.Each(t, testGrantRefuses) }

func testGrantRefuses(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()
	tests := []struct {
		name  string
		email string
		g     paywall.Grant
	}{
		{"not an email", "ann", paywall.Grant{PlanID: "pro"}},
		{"a name and an email", "Ann <ann@example.test>", paywall.Grant{PlanID: "pro"}},
		{"no plan", "ann@example.test", paywall.Grant{}},
		{"ended", "ann@example.test", paywall.Grant{PlanID: "pro", Until: start.Add(-time.Second)}},
		{"ending now", "ann@example.test", paywall.Grant{PlanID: "pro", Until: start}},
	}
	for _, tt := range tests {
		_, err := s.Grant(ctx, tt.email, tt.g)
		wantKind(t, tt.name, err, paywall.Invalid)
	}
	if _, err := s.MemberByEmail(ctx, "ann@example.test"); paywall.KindOf(err) != paywall.NotFound {
		t.Errorf("a refused grant created a member: %v", err)
	}
	if mails := dueMails(t, s); len(mails) != 0 {
		t.Errorf("a refused grant queued %d mails", len(mails))
	}
}

// countRows counts a table's rows behind the store's back.
func countRows(t *testing.T, url, table string) int {
	t.Helper()
	driver, dsn := "sqlite", url
	if sqlite.IsPostgres(url) {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestPurchaseAfterWelcomeSent(t *testing.T) { storetest.Each(t, testPurchaseAfterWelcomeSent) }

// A member a grant created, whose welcome mail went out without their
// choosing a password, buys later: its link may have expired, so the
// purchase mails a setup link of its own.
func testPurchaseAfterWelcomeSent(t *testing.T, db storetest.DB) {
	s, c := newStore(t, db)
	ctx := context.Background()
	g, err := s.Grant(ctx, "late@example.test", paywall.Grant{PlanID: "pro"})
	if err != nil {
		t.Fatal(err)
	}
	welcome := dueMails(t, s)
	if len(welcome) != 1 || welcome[0].Kind != paywall.MailComped {
		t.Fatalf("outbox after the grant: %+v, want the welcome mail", welcome)
	}
	if err := s.MailSent(ctx, welcome[0].ID); err != nil {
		t.Fatal(err)
	}
	c.advance(30 * 24 * time.Hour)
	if m := apply(t, s, "evt_late", purchase("cs_late", "cus_late", "late@example.test")); m != g.Member.ID {
		t.Fatalf("purchase made member %d, want %d", m, g.Member.ID)
	}
	due := dueMails(t, s)
	if len(due) != 1 || due[0].Kind != paywall.MailSetup || due[0].MemberID != g.Member.ID {
		t.Errorf("outbox after the purchase: %+v, want one setup mail", due)
	}
}
