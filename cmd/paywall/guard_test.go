package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paywall/paywall/examples/site"
)

// What a spelling names once redirects are followed.
const (
	kindPage  = "page"  // the gated page itself
	kindAlias = "alias" // an alias page of it: gated, but not the body
	kindFile  = "file"  // a file of its bundle
	kindFree  = "free"  // a free file
	kindNone  = "none"  // nothing servable
)

// spelling is one way to ask for something near a gated page.
type spelling struct {
	name    string
	method  string
	target  string // the request-target, sent byte for byte
	header  map[string]string
	kind    string
	allowed int // final status for a reader with the plan
}

// gatedPost is an example post, the readers who may and may not read it,
// and its alias and bundle file, if any.
type gatedPost struct {
	dir        string // posts/week0003
	has, lacks string // a member's plan with and without access
	alias      string
	attachment string
}

var gatedPosts = []gatedPost{
	{dir: "posts/week0001", has: "basic", lacks: "elite", alias: "letters/1"},
	{dir: "posts/week0002", has: "basic", lacks: "elite", alias: "letters/2"},
	{dir: "posts/week0003", has: "elite", lacks: "basic", alias: "letters/3",
		attachment: "shopping-list.txt"},
}

// spellings returns the request spellings of a gated post.
func spellings(p gatedPost) []spelling {
	d := "/" + p.dir
	sec, name, _ := strings.Cut(p.dir, "/")
	enc := func(s string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			if c == '/' {
				b.WriteByte('/')
			} else {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		return b.String()
	}
	get := func(n, target, kind string, allowed int) spelling {
		return spelling{name: n, method: "GET", target: target, kind: kind, allowed: allowed}
	}
	with := func(s spelling, kv ...string) spelling {
		s.header = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			s.header[kv[i]] = kv[i+1]
		}
		return s
	}
	ok, none := http.StatusOK, http.StatusNotFound
	s := []spelling{
		get("canonical", d+"/", kindPage, ok),
		get("no trailing slash", d, kindPage, ok),
		get("index.html", d+"/index.html", kindPage, ok),
		get("index.html and slash", d+"/index.html/", kindPage, ok),
		get("index.html dot", d+"/index.html/.", kindPage, ok),
		get("double trailing slash", d+"//", kindPage, ok),
		get("leading double slash", "/"+d+"/", kindPage, ok),
		get("inner double slash", "/"+sec+"//"+name+"/", kindPage, ok),
		get("slashes everywhere", "///"+sec+"///"+name+"///", kindPage, ok),
		get("dot segment", "/"+sec+"/./"+name+"/", kindPage, ok),
		get("leading dot segment", "/."+d+"/", kindPage, ok),
		get("trailing dot segment", d+"/./", kindPage, ok),
		get("trailing dot", d+"/.", kindPage, ok),
		get("via a free post", "/"+sec+"/welcome/../"+name+"/", kindPage, ok),
		get("up and back", d+"/../"+name+"/", kindPage, ok),
		get("above the root", "/../../"+d+"/", kindPage, ok),
		get("encoded letter", "/%70"+d[2:]+"/", kindPage, ok),
		get("all encoded", enc(d)+"/", kindPage, ok),
		get("lower-case encoding", strings.ToLower(enc(d))+"/", kindPage, ok),
		get("encoded slash", "/"+sec+"%2F"+name+"/", kindPage, ok),
		get("encoded trailing slash", d+"%2F", kindPage, ok),
		get("encoded dot segment", "/"+sec+"/%2e%2e"+d+"/", kindPage, ok),
		get("encoded dot", "/"+sec+"/%2E/"+name+"/", kindPage, ok),
		get("encoded index.html", d+"/index%2Ehtml", kindPage, ok),
		get("query", d+"/?utm_source=feed", kindPage, ok),
		get("empty query", d+"/?", kindPage, ok),
		get("absolute form", publicOrigin+d+"/", kindPage, ok),
		get("absolute form, other host", "http://elsewhere.example"+d+"/", kindPage, ok),
		get("upper case", strings.ToUpper(d)+"/", kindNone, none),
		get("capitalised", "/"+strings.ToUpper(sec[:1])+sec[1:]+"/"+name+"/", kindNone, none),
		get("upper-case index", d+"/INDEX.HTML", kindNone, none),
		get("index.htm", d+"/index.htm", kindNone, none),
		get("path parameter", d+"/;jsessionid=1", kindNone, none),
		get("encoded NUL", d+"/%00", kindNone, none),
		get("encoded NUL in index", d+"/index.html%00", kindNone, none),
		get("encoded backslash", d+"%5C", kindNone, none),
		get("backslash", "/"+sec+"\\"+name+"/", kindNone, none),
		get("double encoded dot", "/"+sec+"/%252e%252e/"+d+"/", kindNone, none),
		get("section above", d+"/..", kindFree, ok),
		get("section feed", "/"+sec+"/index.xml", kindFree, ok),
		get("home", "/", kindFree, ok),
		get("home feed", "/index.xml", kindFree, ok),
		get("sitemap", "/sitemap.xml", kindFree, ok),
		get("404 page", "/404.html", kindFree, ok),
		get("manifest", "/paywall-manifest.json", kindNone, none),
		get("manifest dotted", "/./paywall-manifest.json", kindNone, none),
		{name: "HEAD", method: "HEAD", target: d + "/", kind: kindPage, allowed: ok},
		{name: "HEAD no slash", method: "HEAD", target: d, kind: kindPage, allowed: ok},
		with(get("Range from 0", d+"/", kindPage, http.StatusPartialContent), "Range", "bytes=0-"),
		with(get("suffix Range", d+"/", kindPage, http.StatusPartialContent), "Range", "bytes=-600"),
		with(get("multiple Ranges", d+"/", kindPage, http.StatusPartialContent),
			"Range", "bytes=0-10,2000-2600"),
		// The site's files carry no date, so If-Range never matches: all of it.
		with(get("If-Range", d+"/", kindPage, ok),
			"Range", "bytes=1500-", "If-Range", "Wed, 01 Jan 2098 00:00:00 GMT"),
		with(get("If-Modified-Since", d+"/", kindPage, ok),
			"If-Modified-Since", "Wed, 01 Jan 2098 00:00:00 GMT"),
		with(get("If-None-Match", d+"/", kindPage, http.StatusNotModified), "If-None-Match", "*"),
		with(get("headers claiming identity", d+"/", kindPage, ok),
			"X-Forwarded-User", "reader@example.test", "X-Forwarded-Email", "reader@example.test",
			"Authorization", "Bearer anything", "X-Original-URL", "/", "X-Rewrite-URL", "/",
			"X-Forwarded-Uri", "/", "X-Paywall-Plan", "elite"),
		{name: "POST", method: "POST", target: d + "/", kind: kindNone, allowed: http.StatusMethodNotAllowed},
		{name: "OPTIONS", method: "OPTIONS", target: d + "/", kind: kindNone, allowed: http.StatusMethodNotAllowed},
	}
	if p.alias != "" {
		a := "/" + p.alias
		s = append(s,
			get("alias", a+"/", kindAlias, ok),
			get("alias without slash", a, kindAlias, ok),
			get("alias index.html", a+"/index.html", kindAlias, ok),
			get("alias double slash", strings.ReplaceAll(a, "/", "//")+"/", kindAlias, ok),
			get("alias encoded", enc(a)+"/", kindAlias, ok),
			get("alias upper case", strings.ToUpper(a)+"/", kindNone, none),
		)
	}
	if p.attachment != "" {
		f := d + "/" + p.attachment
		s = append(s,
			get("bundle file", f, kindFile, ok),
			get("bundle file, slash", f+"/", kindFile, ok),
			get("bundle file, double slash", "/"+sec+"//"+name+"/"+p.attachment, kindFile, ok),
			get("bundle file, dot segment", d+"/./"+p.attachment, kindFile, ok),
			get("bundle file, via a free post", "/"+sec+"/welcome/../"+name+"/"+p.attachment, kindFile, ok),
			get("bundle file, encoded", d+"/"+enc(p.attachment), kindFile, ok),
			get("bundle file, upper case", strings.ToUpper(f), kindNone, none),
			spelling{name: "bundle file HEAD", method: "HEAD", target: f, kind: kindFile, allowed: ok},
			with(get("bundle file Range", f, kindFile, http.StatusPartialContent), "Range", "bytes=10-80"),
		)
	}
	return s
}

// rawResponse is one response as the server sent it.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// send writes one request byte for byte, so that no client library cleans
// or re-encodes the target first, and follows redirects within the site.
func send(t *testing.T, app *testApp, method, target string, header map[string]string, cookie string) []rawResponse {
	t.Helper()
	var chain []rawResponse
	for hop := 0; hop < 4; hop++ {
		r := sendOnce(t, app, method, target, header, cookie)
		chain = append(chain, r)
		loc := r.header.Get("Location")
		if r.status/100 != 3 || loc == "" || r.status == http.StatusNotModified {
			return chain
		}
		u, err := url.Parse(loc)
		if err != nil || (u.Host != "" && u.Host != "paywall.test") {
			t.Fatalf("%s redirects off the site to %q", target, loc)
		}
		target = u.RequestURI()
	}
	t.Fatalf("%s: too many redirects", target)
	return nil
}

func sendOnce(t *testing.T, app *testApp, method, target string, header map[string]string, cookie string) rawResponse {
	t.Helper()
	if cookie != "" {
		header = maps.Clone(header)
		if header == nil {
			header = map[string]string{}
		}
		header["Cookie"] = cookie
	}
	return sendFrom(t, app.addr, "", method, target, header, "")
}

// becomeMember buys plan through the simulated checkout, sets a password
// from the setup mail and returns the session cookie.
func becomeMember(t *testing.T, app *testApp, plan, email string) string {
	t.Helper()
	c := app.client(t)
	r := do(t, c, "POST", "/api/checkout", url.Values{"plan": {plan}, "email": {email}})
	wantStatus(t, "checkout "+plan, r, http.StatusSeeOther)
	wantStatus(t, "complete "+plan, do(t, c, "POST", r.location, url.Values{"email": {email}}),
		http.StatusSeeOther)
	_, link := app.waitForMail(t, email)
	u, _ := url.Parse(link)
	set := do(t, c, "POST", "/account/setup", url.Values{"token": {u.Query().Get("token")},
		"password": {password}})
	wantStatus(t, "set password "+plan, set, http.StatusSeeOther)
	// The subscription event may be applied after the checkout's: wait for it.
	deadline := time.Now().Add(15 * time.Second)
	for {
		me := do(t, c, "GET", "/api/me", nil)
		if strings.Contains(me.body, `"plan":"`+plan+`"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no %s access: %s", email, plan, me.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, ck := range set.header.Values("Set-Cookie") {
		if strings.HasPrefix(ck, "paywall_session=") {
			return strings.SplitN(ck, ";", 2)[0]
		}
	}
	t.Fatalf("no session cookie for %s", email)
	return ""
}

// bodySentences returns the sentences of the gated body of a built page:
// the paragraphs inside its paywall-body element but the first, the teaser.
func bodySentences(t *testing.T, file string) []string {
	t.Helper()
	page, err := fs.ReadFile(site.Public(), file)
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(page), `class="paywall-body">`)
	body, _, _ = strings.Cut(body, "</div>")
	paras := regexp.MustCompile(`(?s)<p>(.*?)</p>`).FindAllStringSubmatch(body, -1)
	if len(paras) < 3 {
		t.Fatalf("%s: %d paragraphs, want a teaser and a body", file, len(paras))
	}
	var out []string
	for _, p := range paras[1:] {
		for _, s := range regexp.MustCompile(`[.!?]\s+`).Split(p[1], -1) {
			if s = strings.TrimSpace(s); len(s) > 20 {
				out = append(out, s)
			}
		}
	}
	return out
}

// attachmentLines returns the lines of a bundle file, each long enough to
// be its own.
func attachmentLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := fs.ReadFile(site.Public(), file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if len(l) > 20 {
			out = append(out, l)
		}
	}
	return out
}

// TestGuardSpellings asks the built-in server for every gated post of the
// example site under many spellings, as a reader signed out, a member
// without the post's plan, and a member with it. No response to the first
// two carries a sentence of the gated body; the third gets all of it.
func TestGuardSpellings(t *testing.T) {
	app := startApp(t, nil)
	members := map[string]string{
		"basic": becomeMember(t, app, "basic", "basic@example.test"),
		"elite": becomeMember(t, app, "elite", "elite@example.test"),
	}
	for _, p := range gatedPosts {
		t.Run(p.dir, func(t *testing.T) {
			secret := bodySentences(t, p.dir+"/index.html")
			page, _ := fs.ReadFile(site.Public(), p.dir+"/index.html")
			var attachment []byte
			if p.attachment != "" {
				secret = append(secret, attachmentLines(t, p.dir+"/"+p.attachment)...)
				attachment, _ = fs.ReadFile(site.Public(), p.dir+"/"+p.attachment)
			}
			list := spellings(p)
			if len(list) < 40 {
				t.Fatalf("%d spellings, want at least 40", len(list))
			}
			t.Logf("%d spellings", len(list))
			for _, sp := range list {
				for _, who := range []string{"signed out", "without the plan", "with the plan"} {
					cookie := map[string]string{"without the plan": members[p.lacks],
						"with the plan": members[p.has]}[who]
					chain := send(t, app, sp.method, sp.target, sp.header, cookie)
					what := fmt.Sprintf("%s %s %q (%s)", who, sp.method, sp.target, sp.name)
					checkSpelling(t, what, who, sp, chain, secret, page, attachment)
				}
				checkForwardAuth(t, app, sp, members[p.has], members[p.lacks])
			}
		})
	}
}

func checkSpelling(t *testing.T, what, who string, sp spelling, chain []rawResponse,
	secret []string, page, attachment []byte) {
	t.Helper()
	last := chain[len(chain)-1]
	gated := sp.kind == kindPage || sp.kind == kindAlias || sp.kind == kindFile
	if who != "with the plan" {
		for _, r := range chain {
			for _, s := range secret {
				if bytes.Contains(r.body, []byte(s)) {
					t.Errorf("%s: status %d carries a gated sentence %.60q", what, r.status, s)
				}
			}
		}
		want := sp.allowed
		if gated {
			want = map[string]int{"signed out": 401, "without the plan": 403}[who]
		}
		if last.status != want {
			t.Errorf("%s: status %d, want %d", what, last.status, want)
		}
	} else {
		if last.status != sp.allowed {
			t.Errorf("%s: status %d, want %d", what, last.status, sp.allowed)
		}
		checkAllowed(t, what, sp, last, secret, page, attachment)
	}
	if gated && last.status != http.StatusNotModified {
		if cc := last.header.Get("Cache-Control"); cc != "private, no-store" ||
			!strings.Contains(strings.Join(last.header.Values("Vary"), ","), "Cookie") {
			t.Errorf("%s: Cache-Control %q, Vary %q; want private, no-store and Cookie",
				what, cc, last.header.Values("Vary"))
		}
	}
}

// checkAllowed checks that a reader with the plan gets exactly the file the
// spelling names: all of the body, the bytes asked for, or the headers.
func checkAllowed(t *testing.T, what string, sp spelling, r rawResponse,
	secret []string, page, attachment []byte) {
	t.Helper()
	file := page
	if sp.kind == kindFile {
		file = attachment
	}
	switch {
	case r.status == http.StatusOK && sp.method == "HEAD":
		if got := r.header.Get("Content-Length"); got != fmt.Sprint(len(file)) {
			t.Errorf("%s: Content-Length %s, want %d", what, got, len(file))
		}
	case r.status == http.StatusOK && (sp.kind == kindPage || sp.kind == kindFile):
		if !bytes.Equal(r.body, file) {
			t.Errorf("%s: body is not the file (%d bytes, want %d)", what, len(r.body), len(file))
		}
		if sp.kind == kindPage {
			for _, s := range secret {
				if !bytes.Contains(r.body, []byte(s)) && !strings.Contains(string(attachment), s) {
					t.Errorf("%s: lacks %.60q", what, s)
				}
			}
			if !bytes.Contains(r.body, []byte(`"isAccessibleForFree": false`)) {
				t.Errorf("%s: no JSON-LD isAccessibleForFree false", what)
			}
		}
	case r.status == http.StatusPartialContent && !strings.Contains(sp.header["Range"], ","):
		var first, last int
		cr := r.header.Get("Content-Range")
		if _, err := fmt.Sscanf(cr, "bytes %d-%d/", &first, &last); err != nil ||
			!bytes.Equal(r.body, file[first:last+1]) {
			t.Errorf("%s: Content-Range %q does not match the body", what, cr)
		}
	case r.status == http.StatusPartialContent:
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/byteranges") {
			t.Errorf("%s: Content-Type %q for several ranges", what, ct)
		}
	}
}

// checkForwardAuth asks /auth/check what Caddy would ask for the same
// spelling: it must decide as the built-in server does.
func checkForwardAuth(t *testing.T, app *testApp, sp spelling, has, lacks string) {
	t.Helper()
	u, err := url.Parse(sp.target)
	if err != nil || strings.ContainsAny(sp.target, "\\") {
		return // not a URI Caddy would forward
	}
	uri := sp.target
	if u.IsAbs() {
		uri = u.RequestURI()
	}
	for cookie, want := range map[string]int{"": 401, lacks: 403, has: 200} {
		h := map[string]string{"X-Forwarded-Method": sp.method, "X-Forwarded-Uri": uri,
			"X-Forwarded-Host": "paywall.test", "X-Forwarded-User": "elite@example.test"}
		r := sendOnce(t, app, "GET", "/auth/check", h, cookie)
		switch {
		case sp.kind == kindNone:
			want = sp.allowed
		case sp.kind == kindFree:
			want = 200
		}
		if r.status == http.StatusMovedPermanently {
			continue // Caddy passes the redirect on; its target is checked as its own spelling
		}
		if r.status != want {
			t.Errorf("forward_auth %s %q with cookie %t: %d, want %d", sp.method, uri, cookie != "",
				r.status, want)
		}
	}
}

// TestForwardAuthInput: a request Caddy would never forward is refused
// plainly, and the manifest is never let through.
func TestForwardAuthInput(t *testing.T) {
	app := startApp(t, nil)
	for _, tt := range []struct {
		uri  string
		want int
	}{
		{"", http.StatusBadRequest},
		{"posts/week0003/", http.StatusBadRequest},
		{"http://paywall.test/posts/week0003/", http.StatusBadRequest},
		{"/posts/%zz/", http.StatusBadRequest},
		{"/paywall-manifest.json", http.StatusNotFound},
		{"/posts/week0003/?next=/posts/welcome/", http.StatusUnauthorized},
		// A raw "#" is part of the path to net/http, so to Caddy's file server.
		{"/posts/welcome/#/posts/week0003/", http.StatusNotFound},
		{"/#/../posts/week0003/index.html", http.StatusUnauthorized},
		{"/posts/welcome/#/../../week0003/", http.StatusUnauthorized},
	} {
		h := map[string]string{"X-Forwarded-Method": "GET"}
		if tt.uri != "" {
			h["X-Forwarded-Uri"] = tt.uri
		}
		if r := sendOnce(t, app, "GET", "/auth/check", h, ""); r.status != tt.want {
			t.Errorf("X-Forwarded-Uri %q: %d, want %d", tt.uri, r.status, tt.want)
		}
	}
}
