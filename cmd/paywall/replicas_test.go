package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/paywall/paywall/sqlite/storetest"
	"github.com/paywall/paywall/web"
)

// TestRevocationReachesReplicas runs two Apps on one PostgreSQL database. A
// member signed in on both is read from replica B's cache; signing out
// everywhere through replica A must shut B's door within one second, long
// before B's cache would expire on its own.
func TestRevocationReachesReplicas(t *testing.T) {
	db := map[string]string{"PAYWALL_DATABASE_URL": storetest.PostgresURL(t)}
	a := startApp(t, db)
	ca := a.client(t)
	a.member(t, ca, buyer) // before B starts, so that A's outbox sends the setup mail
	b := startApp(t, db)
	cb := b.withCookie(t, sessionCookie(t, ca))

	// The first read fills B's cache, later ones come from it (once B's
	// listener is up and A's events for the purchase have been heard).
	for deadline := time.Now().Add(10 * time.Second); b.cacheHits(t) < 2; {
		wantStatus(t, "signed in on B", do(t, cb, "GET", "/api/me", nil), http.StatusOK)
		if time.Now().After(deadline) {
			t.Fatal("B never served the session from its cache")
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantStatus(t, "sign out everywhere on A", do(t, ca, "POST", "/account/sessions/end",
		url.Values{}), http.StatusSeeOther)
	revoked := time.Now()
	for {
		r := do(t, cb, "GET", "/api/me", nil)
		if r.status == http.StatusUnauthorized {
			t.Logf("B refused the session %v after A's sign-out", time.Since(revoked))
			return
		}
		if time.Since(revoked) > time.Second {
			t.Fatalf("B still answers %d a second after A signed the member out everywhere", r.status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cacheHits reads how many session lookups the app answered from its cache.
func (a *testApp) cacheHits(t *testing.T) int {
	t.Helper()
	r := do(t, a.client(t), "GET", "/metrics", nil)
	m := regexp.MustCompile(`(?m)^paywall_session_lookups_total\{source="cache"\} (\d+)$`).
		FindStringSubmatch(r.body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestRateLimitsAcrossReplicas asks two Apps on one database for sign-in
// links for one email in turn: the per-email budget is the database's, so
// the third request is refused whichever replica it reaches.
func TestRateLimitsAcrossReplicas(t *testing.T) {
	db := map[string]string{"PAYWALL_DATABASE_URL": storetest.PostgresURL(t)}
	limits := web.DefaultLimits
	limits.LinkEmail = web.Limit{N: 2, Per: time.Hour}
	apps := []*testApp{startApp(t, db, options{limits: limits}), startApp(t, db, options{limits: limits})}
	link := func(n int) response {
		return do(t, apps[n%2].client(t), "POST", "/login/link",
			url.Values{"email": {"someone@example.test"}})
	}
	wantStatus(t, "first link request, on A", link(0), http.StatusOK)
	wantStatus(t, "second link request, on B", link(1), http.StatusOK)
	wantStatus(t, "third link request, on A", link(2), http.StatusTooManyRequests)
	wantStatus(t, "fourth link request, on B", link(3), http.StatusTooManyRequests)
}
