package main

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
	"github.com/paywall/paywall/sqlite"
)

// membersVars is the environment of a members test: a new SQLite file.
func membersVars(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{"PAYWALL_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "paywall.db")}
}

// mustRun runs paywall and fails the test unless it succeeds.
func mustRun(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	out, err := runCLI(t, vars, args...)
	if err != nil {
		t.Fatalf("paywall %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// accessOf decides a member's access from the database as the server
// does: their subscriptions and grants through the configured Policy.
func accessOf(t *testing.T, vars map[string]string, email string) paywall.Access {
	t.Helper()
	cfg, err := config.Parse(vars, site.Plans)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(cfg.DatabasePath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	m, err := store.MemberByEmail(ctx, email)
	if err != nil {
		t.Fatalf("member %s: %v", email, err)
	}
	subs, err := store.Subscriptions(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	grants, err := store.Grants(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Policy.AccessWith(subs, grants, time.Now())
}

// setupMails counts the welcome mails, with their setup links, the outbox
// holds for to, sent or not.
func setupMails(t *testing.T, vars map[string]string, to string) int {
	t.Helper()
	out := mustRun(t, vars, "mail", "list")
	return len(regexp.MustCompile(`(?m)^\d+\s+comped\s+`+regexp.QuoteMeta(to)+`\s`).
		FindAllString(out, -1))
}

func TestMembersGrantShowListRevoke(t *testing.T) {
	vars := membersVars(t)
	const comped = "comped@example.test"
	nextYear := time.Now().UTC().AddDate(1, 0, 0).Format(time.DateOnly)
	day, _ := time.Parse(time.DateOnly, nextYear)

	out := mustRun(t, vars, "members", "grant", " Comped@Example.test ", "pro", "--until", nextYear)
	wantLines(t, "first grant", out, "created member Comped@Example.test",
		"a welcome mail with a setup link is queued", "granted pro (Pro) to Comped@Example.test, through the end of "+
			nextYear+" UTC (until "+day.AddDate(0, 0, 1).Format(time.RFC3339)+")")
	if n := setupMails(t, vars, "Comped@Example.test"); n != 1 {
		t.Errorf("%d welcome mails queued for the new member, want 1", n)
	}
	a := accessOf(t, vars, comped)
	if !a.Has("pro") || !a.Comped || !a.Until.Equal(day.AddDate(0, 0, 1)) {
		t.Errorf("access after the grant: %+v, want pro, comped, through the end of %s", a, nextYear)
	}

	out = mustRun(t, vars, "members", "grant", comped, "pro")
	wantLines(t, "second grant", out, "granted pro (Pro) to Comped@Example.test, no end",
		"replacing their grant of it (until "+day.AddDate(0, 0, 1).Format(time.RFC3339)+")")
	if strings.Contains(out, "created member") {
		t.Errorf("the second grant created a member:\n%s", out)
	}
	if n := setupMails(t, vars, "Comped@Example.test"); n != 1 {
		t.Errorf("%d welcome mails after granting twice, want 1", n)
	}
	if a := accessOf(t, vars, comped); !a.Has("pro") || !a.Until.IsZero() {
		t.Errorf("access after granting again: %+v, want pro with no end", a)
	}

	mustRun(t, vars, "members", "grant", "abe@example.test", "basic",
		"--until", time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339))
	out = mustRun(t, vars, "members", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	wantRows := []*regexp.Regexp{
		regexp.MustCompile(`^EMAIL +PLAN +STATUS +ACCESS UNTIL +CREATED$`),
		regexp.MustCompile(`^abe@example\.test +basic +comped +\d{4}-\d\d-\d\dT[0-9:]+Z +\S+Z$`),
		regexp.MustCompile(`^Comped@Example\.test +pro +comped +no end +\S+Z$`),
	}
	if len(lines) != len(wantRows) {
		t.Fatalf("members list: %d lines, want a header, then abe and Comped by email:\n%s",
			len(lines), out)
	}
	for i, re := range wantRows {
		if !re.MatchString(lines[i]) {
			t.Errorf("members list line %d: %q does not match %s", i, lines[i], re)
		}
	}

	out = mustRun(t, vars, "members", "show", comped)
	wantLines(t, "show", out, "email:     Comped@Example.test", "plan:      pro",
		"status:    comped", "access:    yes, no end", "customers: none",
		"subscriptions: none", "  pro, no end, granted ")

	out = mustRun(t, vars, "members", "revoke", comped)
	wantLines(t, "revoke", out, "revoked the grant of pro to Comped@Example.test")
	if a := accessOf(t, vars, comped); a.Granted() {
		t.Errorf("access after revoking: %+v, want none", a)
	}
	wantLines(t, "show after revoking", mustRun(t, vars, "members", "show", comped),
		"status:    none", "access:    no", "grants:    none")
	wantLines(t, "second revoke", mustRun(t, vars, "members", "revoke", comped),
		"Comped@Example.test has no grant to revoke")

	for _, args := range [][]string{{"show", "nobody@example.test"}, {"revoke", "nobody@example.test"}} {
		_, err := runCLI(t, vars, append([]string{"members"}, args...)...)
		if err == nil || errors.Is(err, errUsage) ||
			err.Error() != "no member with the email nobody@example.test" {
			t.Errorf("members %s: %v, want the one line: no member with the email …", args[0], err)
		}
	}
}

func TestMembersBadUsage(t *testing.T) {
	vars := membersVars(t)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	tests := []struct {
		args []string
		want string // in the one-line error
	}{
		{nil, "members list | show EMAIL"},
		{[]string{"remove", "a@example.test"}, `unknown members command "remove"`},
		{[]string{"list", "extra"}, "members list takes no arguments"},
		{[]string{"show"}, "members show EMAIL"},
		{[]string{"show", "--help"}, "members list | show EMAIL"},
		{[]string{"grant", "-h"}, "members list | show EMAIL"},
		{[]string{"revoke"}, "members revoke EMAIL"},
		{[]string{"grant", "a@example.test"}, "members grant EMAIL PLAN [--until DATE]"},
		{[]string{"grant", "a@example.test", "pro", "--until"}, "members grant EMAIL PLAN"},
		{[]string{"grant", "a@example.test", "gold"},
			`unknown plan "gold"; the plans are basic, pro, elite`},
		{[]string{"grant", "not-an-email", "pro"}, `"not-an-email" is not an email address`},
		{[]string{"grant", "Ann <a@example.test>", "pro"}, "is not an email address"},
		{[]string{"grant", "a@example.test", "pro", "--until", yesterday}, "--until"},
		{[]string{"grant", "a@example.test", "pro", "--until", "2020-01-01T00:00:00Z"},
			"lies in the past"},
		{[]string{"grant", "a@example.test", "pro", "--until", "next week"}, "YYYY-MM-DD"},
		{[]string{"grant", "a@example.test", "pro", "--until", ""}, "is empty"},
		{[]string{"grant", "a@example.test", "pro", "--until="}, "is empty"},
		{[]string{"grant", "a@example.test", "pro", "--until", "9999-12-31"}, "past the year 9999"},
		{[]string{"grant", "a@example.test", "pro", "--until", "9999-12-31T23:30:00-01:00"},
			"past the year 9999"},
		{[]string{"grant", "a@example.test", "pro", "--until", tomorrow, "extra"}, "members grant"},
	}
	for _, tt := range tests {
		_, err := runCLI(t, vars, append([]string{"members"}, tt.args...)...)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.want) ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("members %q: %v, want bad usage (exit 2) in one line naming %q", tt.args, err, tt.want)
		}
	}
	if out := mustRun(t, vars, "members", "list"); strings.Count(out, "\n") != 1 {
		t.Errorf("refused grants made members:\n%s", out)
	}
}

// TestMembersWithSubscription: a grant next to a paid subscription, as the
// guard sees it; revoking the grant leaves the subscription's access and
// says how to end it.
func TestMembersWithSubscription(t *testing.T) {
	vars := membersVars(t)
	app := startApp(t, vars)
	const email = "payer@example.test"
	becomeMember(t, app, "basic", email)

	explain := func() string {
		return mustRun(t, vars, "guard", "explain", "/posts/week0003/", "--email", email)
	}
	wantLines(t, "explain before the grant", explain(),
		"decision:  upgrade (403): plan basic is not one that unlocks the page")

	mustRun(t, vars, "members", "grant", email, "elite",
		"--until", time.Now().UTC().AddDate(0, 1, 0).Format(time.DateOnly))
	// The open-ended subscription lasts longest and is shown first; the
	// grant's plan counts too.
	wantLines(t, "explain with the grant", explain(),
		"reader:    payer@example.test, plan basic, status active, grants elite until ",
		"decision:  allow (200): plan elite unlocks the page")
	out := mustRun(t, vars, "members", "list")
	if !regexp.MustCompile(`(?m)^payer@example\.test\s+basic\s+active\s+no end\s`).MatchString(out) {
		t.Errorf("members list does not show the subscription lasting longest:\n%s", out)
	}
	wantLines(t, "show", mustRun(t, vars, "members", "show", email), "plan:      basic, elite",
		"status:    active", "customers: cus_", ": active, plan basic", "  elite, until ")

	// A member whose only access is a grant: the guard says comped.
	mustRun(t, vars, "members", "grant", "guest@example.test", "elite")
	wantLines(t, "explain for a comped member",
		mustRun(t, vars, "guard", "explain", "/posts/week0003/", "--email", "guest@example.test"),
		"reader:    guest@example.test, plan elite, status comped (complimentary, no end), grants elite no end",
		"decision:  allow (200): plan elite unlocks the page")

	out = mustRun(t, vars, "members", "revoke", email)
	wantLines(t, "revoke", out, "revoked the grant of elite to payer@example.test",
		"still has access: subscription sub_", "is active, plan basic",
		"cancel it in the Stripe Dashboard", "Customer Portal")
	if a := accessOf(t, vars, email); a.Has("elite") || !a.Has("basic") || a.Comped {
		t.Errorf("access after revoking: %+v, want basic from the subscription only", a)
	}
	wantLines(t, "explain after revoking", explain(), "reader:    payer@example.test, plan basic, status active",
		"decision:  upgrade (403)")
	wantLines(t, "revoke again", mustRun(t, vars, "members", "revoke", email),
		"has no grant to revoke", "still has access: subscription sub_")
}

// TestGrantReachesRunningServer: a grant made by the command line on SQLite
// reaches a running server whose cache holds the member, through the
// store's listener and well within the cache's 30 s TTL; so does revoking.
func TestGrantReachesRunningServer(t *testing.T) {
	vars := membersVars(t)
	app := startApp(t, vars)
	const email = "cached@example.test"
	cookie := becomeMember(t, app, "basic", email)
	c := app.withCookie(t, strings.TrimPrefix(cookie, "paywall_session="))

	// The purchase's own events may still empty the cache for a moment:
	// ask until two requests in a row are answered from it.
	for warm, deadline := 0, time.Now().Add(10*time.Second); warm < 2; {
		hits := app.cacheHits(t)
		wantStatus(t, "elite post before the grant", do(t, c, "GET", "/posts/week0003/", nil),
			http.StatusForbidden)
		if app.cacheHits(t) > hits {
			warm++
		} else {
			warm = 0
		}
		if time.Now().After(deadline) {
			t.Fatal("the server never answered from its cache; the test needs a warm cache")
		}
	}

	mustRun(t, vars, "members", "grant", email, "elite")
	r := waitForStatus(t, c, "/posts/week0003/", http.StatusOK)
	wantFullBody(t, "elite post after the grant", r, "week0003")

	mustRun(t, vars, "members", "revoke", email)
	r = waitForStatus(t, c, "/posts/week0003/", http.StatusForbidden)
	wantNoBody(t, "elite post after revoking", r, "week0003")
}

// waitForStatus asks for path until it answers want. The deadline is a
// third of the reader cache's TTL: only the listener brings a change
// made by another process in that time.
func waitForStatus(t *testing.T, c *http.Client, path string, want int) response {
	t.Helper()
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	for asked := 1; ; asked++ {
		r := do(t, c, "GET", path, nil)
		if r.status == want {
			t.Logf("%s answered %d after %d requests, %v", path, want, asked, time.Since(start))
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still answers %d, not %d, after %d requests", path, r.status, want, asked)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
