package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nthMail returns the subject and first link of the nth mail (from 1) to
// addr, waiting for the outbox.
func (a *testApp) nthMail(t *testing.T, to string, n int) (subject, link string) {
	t.Helper()
	linkRE := regexp.MustCompile(`https?://\S+`)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var seen int
		for _, rec := range a.logs.records("mail sent") {
			if rec["to"] != to {
				continue
			}
			if seen++; seen == n {
				text, _ := rec["text"].(string)
				subject, _ = rec["subject"].(string)
				return subject, linkRE.FindString(text)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no mail %d to %s", n, to)
	return "", ""
}

func (a *testApp) mailCount(to string) int {
	n := 0
	for _, rec := range a.logs.records("mail sent") {
		if rec["to"] == to {
			n++
		}
	}
	return n
}

// member buys a plan with the simulator and sets a password from the setup
// mail, signing c in.
func (a *testApp) member(t *testing.T, c *http.Client, email string) {
	t.Helper()
	r := do(t, c, "POST", "/api/checkout", url.Values{"plan": {"basic"}, "email": {email}})
	wantStatus(t, "checkout", r, http.StatusSeeOther)
	order, _ := url.Parse(r.location) // on the public origin, which may be https
	wantStatus(t, "complete checkout", do(t, c, "POST", order.RequestURI(),
		url.Values{"email": {email}}), http.StatusSeeOther)
	_, link := a.nthMail(t, email, 1)
	u, _ := url.Parse(link)
	set := do(t, c, "POST", "/account/setup",
		url.Values{"token": {u.Query().Get("token")}, "password": {password}})
	wantStatus(t, "set password", set, http.StatusSeeOther)
}

func sessionCookie(t *testing.T, c *http.Client) string {
	t.Helper()
	u, _ := url.Parse(publicOrigin)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "paywall_session" {
			return ck.Value
		}
	}
	return ""
}

// withCookie is a client holding only the given session token.
func (a *testApp) withCookie(t *testing.T, token string) *http.Client {
	t.Helper()
	c := a.client(t)
	u, _ := url.Parse(publicOrigin)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "paywall_session", Value: token, Path: "/"}})
	return c
}

func TestSignInLink(t *testing.T) {
	app := startApp(t, nil)
	c := app.client(t)
	app.member(t, c, buyer)
	wantStatus(t, "sign out", do(t, c, "POST", "/logout", url.Values{}), http.StatusSeeOther)

	asked := do(t, c, "POST", "/login/link", url.Values{"email": {buyer}})
	wantStatus(t, "ask for a link", asked, http.StatusOK)
	subject, link := app.nthMail(t, buyer, 2)
	if !strings.Contains(subject, "sign-in link") {
		t.Errorf("subject %q", subject)
	}
	if !strings.HasPrefix(link, publicOrigin+"/login/link?token=") {
		t.Fatalf("link %q", link)
	}
	// A scanner's GETs do not use the link.
	for range 2 {
		page := do(t, c, "GET", link, nil)
		wantStatus(t, "link page", page, http.StatusOK)
		if !strings.Contains(page.body, buyer) || !strings.Contains(page.body, `name="token"`) {
			t.Errorf("link page lacks the account or the button:\n%s", page.body)
		}
	}
	wantStatus(t, "signed out before the POST", do(t, c, "GET", "/api/me", nil), http.StatusUnauthorized)
	u, _ := url.Parse(link)
	token := u.Query().Get("token")
	in := do(t, c, "POST", "/login/link", url.Values{"token": {token}})
	wantStatus(t, "use the link", in, http.StatusSeeOther)
	wantStatus(t, "signed in by link", do(t, c, "GET", "/api/me", nil), http.StatusOK)

	again := do(t, app.client(t), "POST", "/login/link", url.Values{"token": {token}})
	wantStatus(t, "link used twice", again, http.StatusNotFound)
	if !strings.Contains(again.body, `name="email"`) || !strings.Contains(again.body, "new one") {
		t.Errorf("a used link's page does not offer a new one:\n%s", again.body)
	}
	wantStatus(t, "GET of a used link", do(t, c, "GET", link, nil), http.StatusNotFound)
}

// TestUsedSetupLinkOffersANewOne: a used setup link (expiry is tested with
// an injected clock in package account) shows a form, and the form sends a
// new way in. The member has a password now, so it is a sign-in link.
func TestUsedSetupLinkOffersANewOne(t *testing.T) {
	app := startApp(t, nil)
	c := app.client(t)
	app.member(t, c, buyer)
	_, link := app.nthMail(t, buyer, 1)
	other := app.client(t)
	used := do(t, other, "GET", link, nil)
	wantStatus(t, "used setup link", used, http.StatusNotFound)
	if !strings.Contains(used.body, `action="/login/link"`) {
		t.Errorf("used setup link page has no form for a new link:\n%s", used.body)
	}
	wantStatus(t, "ask for a new link", do(t, other, "POST", "/login/link",
		url.Values{"email": {buyer}}), http.StatusOK)
	if _, fresh := app.nthMail(t, buyer, 2); !strings.Contains(fresh, "/login/link?token=") {
		t.Errorf("the new mail carries %q, want a sign-in link", fresh)
	}
}

func TestUnknownEmailAnswersAlike(t *testing.T) {
	app := startApp(t, nil)
	app.member(t, app.client(t), buyer)
	const stranger = "stranger@example.test"
	idRE := regexp.MustCompile(`<code>[0-9a-f]+</code>`)
	clean := func(body, email string) string {
		return idRE.ReplaceAllString(strings.ReplaceAll(body, email, "EMAIL"), "")
	}
	for _, tc := range []struct {
		path string
		form func(email string) url.Values
	}{
		{"/login", func(e string) url.Values { return url.Values{"email": {e}, "password": {"not it at all"}} }},
		{"/login/link", func(e string) url.Values { return url.Values{"email": {e}} }},
	} {
		known := do(t, app.client(t), "POST", tc.path, tc.form(buyer))
		unknown := do(t, app.client(t), "POST", tc.path, tc.form(stranger))
		if known.status != unknown.status || clean(known.body, buyer) != clean(unknown.body, stranger) {
			t.Errorf("%s answers %d for a member and %d for a stranger; bodies:\n%s\n---\n%s",
				tc.path, known.status, unknown.status, known.body, unknown.body)
		}
	}
	app.nthMail(t, buyer, 2) // the member's link arrives
	if n := app.mailCount(stranger); n != 0 {
		t.Errorf("%d mails to an address without an account", n)
	}

	// A signed-in member asking to move to another member's address is
	// answered as for a free address, and no link goes out.
	c := app.client(t)
	app.member(t, c, "mover@example.test")
	taken := do(t, c, "POST", "/account/email", url.Values{"email": {buyer}})
	free := do(t, c, "POST", "/account/email", url.Values{"email": {stranger}})
	if taken.status != free.status || clean(taken.body, buyer) != clean(free.body, stranger) {
		t.Errorf("email change answers %d for a taken address and %d for a free one",
			taken.status, free.status)
	}
	app.nthMail(t, stranger, 1) // the free address gets its link
	if n := app.mailCount(buyer); n != 2 {
		t.Errorf("%d mails to the taken address, want its setup and sign-in mails only", n)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	app := startApp(t, nil)
	c := app.client(t)
	app.member(t, c, buyer)
	routes := []string{"/login", "/logout", "/login/link", "/account/setup", "/account/portal",
		"/account/sessions/end", "/account/email", "/account/email/confirm", "/api/checkout"}
	for _, path := range routes {
		for _, h := range [][2]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "http://evil.test"}} {
			req, _ := http.NewRequest("POST", publicOrigin+path,
				strings.NewReader(url.Values{"email": {buyer}, "plan": {"basic"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(h[0], h[1])
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %s: %s: status %d, want 403", path, h[0], h[1], resp.StatusCode)
			}
		}
	}
	wantStatus(t, "still signed in after cross-origin posts", do(t, c, "GET", "/api/me", nil),
		http.StatusOK)
	// The webhook is posted by Stripe's servers, never a browser: no check.
	req, _ := http.NewRequest("POST", publicOrigin+"/webhooks/stripe", strings.NewReader("{}"))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("webhook with Sec-Fetch-Site: cross-site: %d, want 400 (bad signature)", resp.StatusCode)
	}
}

func TestRateLimits(t *testing.T) {
	app := startApp(t, nil)
	c := app.client(t)
	want429 := func(what string, r response) {
		t.Helper()
		wantStatus(t, what, r, http.StatusTooManyRequests)
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("%s: Retry-After %q", what, r.header.Get("Retry-After"))
		}
	}
	link := func(email string) response {
		return do(t, c, "POST", "/login/link", url.Values{"email": {email}})
	}
	for i := range 5 {
		wantStatus(t, "link request "+strconv.Itoa(i+1), link("a@example.test"), http.StatusOK)
	}
	want429("sixth link request for one email", link("A@example.test"))
	for i := range 4 {
		wantStatus(t, "link for another email", link("b"+strconv.Itoa(i)+"@example.test"), http.StatusOK)
	}
	want429("eleventh link request from one address", link("c@example.test"))

	for i := range 20 {
		r := do(t, c, "POST", "/login", url.Values{"email": {"x" + strconv.Itoa(i) + "@example.test"},
			"password": {"wrong password"}})
		wantStatus(t, "sign-in "+strconv.Itoa(i+1), r, http.StatusUnauthorized)
	}
	want429("21st sign-in from one address", do(t, c, "POST", "/login",
		url.Values{"email": {"y@example.test"}, "password": {"wrong password"}}))

	for range 20 {
		do(t, c, "POST", "/api/checkout", url.Values{"plan": {"basic"}})
	}
	want429("21st checkout", do(t, c, "POST", "/api/checkout", url.Values{"plan": {"basic"}}))
}

func TestSessionsEndToEnd(t *testing.T) {
	app := startApp(t, nil)
	a := app.client(t)
	app.member(t, a, buyer)
	first := sessionCookie(t, a)
	login := url.Values{"email": {buyer}, "password": {password}}
	wantStatus(t, "sign in again", do(t, a, "POST", "/login", login), http.StatusSeeOther)
	second := sessionCookie(t, a)
	if first == "" || first == second {
		t.Fatalf("sign-in kept the session token %q", first)
	}
	wantStatus(t, "the token from before sign-in", do(t, app.withCookie(t, first), "GET", "/api/me", nil),
		http.StatusUnauthorized)

	b := app.client(t)
	wantStatus(t, "sign in elsewhere", do(t, b, "POST", "/login", login), http.StatusSeeOther)
	for _, c := range []*http.Client{a, b} {
		wantStatus(t, "signed in", do(t, c, "GET", "/api/me", nil), http.StatusOK)
	}
	wantStatus(t, "sign out everywhere", do(t, a, "POST", "/account/sessions/end", url.Values{}),
		http.StatusSeeOther)
	for _, c := range []*http.Client{a, b, app.withCookie(t, second)} {
		wantStatus(t, "after sign out everywhere", do(t, c, "GET", "/api/me", nil), http.StatusUnauthorized)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	for _, base := range []string{"http://paywall.test", "https://paywall.test"} {
		app := startApp(t, map[string]string{"PAYWALL_BASE_URL": base})
		c := app.client(t)
		app.member(t, c, buyer)
		r := do(t, c, "POST", "/login", url.Values{"email": {buyer}, "password": {password}})
		wantStatus(t, "sign in", r, http.StatusSeeOther)
		ck := r.header.Get("Set-Cookie")
		for _, want := range []string{"paywall_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(ck, want) {
				t.Errorf("%s: Set-Cookie %q lacks %s", base, ck, want)
			}
		}
		if secure := strings.Contains(ck, "Secure"); secure != strings.HasPrefix(base, "https") {
			t.Errorf("%s: Set-Cookie %q: Secure is %v", base, ck, secure)
		}
	}
}

func TestEmailChange(t *testing.T) {
	app := startApp(t, nil)
	c := app.client(t)
	app.member(t, c, buyer)
	const newAddr = "moved@example.test"
	r := do(t, c, "POST", "/account/email", url.Values{"email": {newAddr}})
	wantStatus(t, "ask to change the address", r, http.StatusOK)
	subject, link := app.nthMail(t, newAddr, 1)
	if !strings.Contains(subject, "new sign-in address") ||
		!strings.HasPrefix(link, publicOrigin+"/account/email?token=") {
		t.Fatalf("email change mail %q with link %q", subject, link)
	}
	me := do(t, c, "GET", "/api/me", nil)
	if !strings.Contains(me.body, buyer) {
		t.Fatalf("address changed before the link was used: %s", me.body)
	}
	for range 2 {
		wantStatus(t, "confirm page", do(t, c, "GET", link, nil), http.StatusOK)
	}
	u, _ := url.Parse(link)
	token := u.Query().Get("token")
	wantStatus(t, "confirm", do(t, c, "POST", "/account/email/confirm", url.Values{"token": {token}}),
		http.StatusSeeOther)
	if me := do(t, c, "GET", "/api/me", nil); !strings.Contains(me.body, newAddr) {
		t.Errorf("after the change /api/me says %s", me.body)
	}
	wantStatus(t, "confirm twice", do(t, c, "POST", "/account/email/confirm", url.Values{"token": {token}}),
		http.StatusNotFound)
	wantStatus(t, "old address", do(t, app.client(t), "POST", "/login",
		url.Values{"email": {buyer}, "password": {password}}), http.StatusUnauthorized)
	wantStatus(t, "new address", do(t, app.client(t), "POST", "/login",
		url.Values{"email": {newAddr}, "password": {password}}), http.StatusSeeOther)
}

// TestRateLimitsJSONAndBadForms: the per-email checkout limit holds for JSON
// as for forms, and an unreadable form on a limited route is a 400.
func TestRateLimitsJSONAndBadForms(t *testing.T) {
	app := startApp(t, nil)
	c := app.client(t)
	body := map[string]string{"plan": "basic", "email": "same@example.test"}
	for i := range 10 {
		wantStatus(t, "JSON checkout "+strconv.Itoa(i+1), postJSON(t, c, "/api/checkout", body), http.StatusOK)
	}
	wantStatus(t, "11th JSON checkout for one email", postJSON(t, c, "/api/checkout", body),
		http.StatusTooManyRequests)

	for _, route := range []string{"/login", "/login/link", "/api/checkout"} {
		req, _ := http.NewRequest("POST", publicOrigin+route, strings.NewReader("email=%zz&plan=basic"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := app.client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s with a broken form: %d, want 400", route, resp.StatusCode)
		}
	}
}
