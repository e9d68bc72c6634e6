package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/paywall/paywall/billing"
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

// TestSubscriptionEndReachesReplicas: a member reads an elite post through
// replica B's cache; the subscription's end, a webhook event replica A
// stores and either replica applies, must shut B's door within a second.
func TestSubscriptionEndReachesReplicas(t *testing.T) {
	vars := map[string]string{
		"PAYWALL_DATABASE_URL":    storetest.PostgresURL(t),
		"STRIPE_SECRET_KEY":       testKey,
		"STRIPE_WEBHOOK_SECRET":   testSecret,
		"STRIPE_API_BASE":         "http://127.0.0.1:9", // nothing here calls Stripe
		"PAYWALL_WEBHOOK_REFETCH": "false",
	}
	const cs, email = "cs_replica_end", "ending@example.test"
	sub := func(status string) map[string]any {
		return map[string]any{"id": "sub_" + cs, "object": "subscription", "customer": "cus_" + cs,
			"status": status, "items": map[string]any{"data": []any{map[string]any{
				"price":              map[string]any{"id": "price_elite_month", "lookup_key": "elite_month"},
				"current_period_end": time.Now().AddDate(0, 1, 0).Unix()}}}}
	}
	post := func(c *http.Client, id, typ string, obj map[string]any, created int64) {
		t.Helper()
		payload := hookEvent(id, typ, obj, func(e map[string]any) { e["created"] = created })
		wantStatus(t, typ, postEvent(t, c, payload, billing.Sign(payload, testSecret, time.Now())),
			http.StatusOK)
	}
	a := startApp(t, vars)
	ca := a.client(t)
	now := time.Now().Unix()
	post(ca, "evt_end_checkout", "checkout.session.completed", checkoutObject(cs, email), now-2)
	post(ca, "evt_end_created", "customer.subscription.created", sub("active"), now-1)
	_, link := a.nthMail(t, email, 1) // before B starts, so that A's outbox sends it
	u, _ := url.Parse(link)
	wantStatus(t, "set password", do(t, ca, "POST", "/account/setup",
		url.Values{"token": {u.Query().Get("token")}, "password": {password}}), http.StatusSeeOther)
	b := startApp(t, vars)
	cb := b.withCookie(t, sessionCookie(t, ca))

	for deadline := time.Now().Add(10 * time.Second); b.cacheHits(t) < 2; {
		wantStatus(t, "elite post on B", do(t, cb, "GET", "/posts/week0003/", nil), http.StatusOK)
		if time.Now().After(deadline) {
			t.Fatal("B never served the session from its cache")
		}
		time.Sleep(10 * time.Millisecond)
	}
	post(ca, "evt_end_deleted", "customer.subscription.deleted", sub("canceled"), now)
	ended := time.Now()
	for {
		r := do(t, cb, "GET", "/posts/week0003/", nil)
		if r.status == http.StatusForbidden {
			t.Logf("B refused the elite post %v after A acknowledged the end", time.Since(ended))
			return
		}
		if time.Since(ended) > time.Second {
			t.Fatalf("B still answers %d a second after A acknowledged the subscription's end", r.status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
