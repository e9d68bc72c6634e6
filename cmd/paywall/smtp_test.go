package main

import (
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// inbox is an SMTP server (github.com/emersion/go-smtp) on a loopback port
// that keeps every message, decoded from quoted-printable.
type inbox struct {
	mu   sync.Mutex
	msgs []string
	rcpt []string
}

func (in *inbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &inboxSession{in: in}, nil }

type inboxSession struct {
	in *inbox
	to string
}

func (s *inboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *inboxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}
func (s *inboxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(quotedprintable.NewReader(r))
	if err != nil {
		return err
	}
	s.in.mu.Lock()
	s.in.msgs = append(s.in.msgs, string(b))
	s.in.rcpt = append(s.in.rcpt, s.to)
	s.in.mu.Unlock()
	return nil
}
func (s *inboxSession) Reset()        {}
func (s *inboxSession) Logout() error { return nil }

func (in *inbox) messages() ([]string, []string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.msgs...), append([]string(nil), in.rcpt...)
}

// TestJourneyOverSMTP runs the app with PAYWALL_MAIL=smtp: the setup mail
// of a simulated purchase reaches a real SMTP server, and its link works.
func TestJourneyOverSMTP(t *testing.T) {
	in := &inbox{}
	srv := smtp.NewServer(in)
	srv.Domain = "localhost"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()

	app := startApp(t, map[string]string{"PAYWALL_MAIL": "smtp",
		"SMTP_URL":          "smtp://" + l.Addr().String() + "?tls=none",
		"PAYWALL_MAIL_FROM": "Letters <news@example.test>"})
	c := app.client(t)
	r := do(t, c, "POST", "/api/checkout", url.Values{"plan": {"basic"}, "email": {buyer}})
	wantStatus(t, "checkout", r, http.StatusSeeOther)
	wantStatus(t, "complete", do(t, c, "POST", r.location, url.Values{"email": {buyer}}),
		http.StatusSeeOther)
	waitFor(t, "the setup mail over SMTP", func() bool { m, _ := in.messages(); return len(m) > 0 })

	msgs, rcpt := in.messages()
	if len(msgs) != 1 || rcpt[0] != buyer {
		t.Fatalf("%d messages to %v, want one to %s", len(msgs), rcpt, buyer)
	}
	if !strings.Contains(msgs[0], "Subject: Set your password for paywall.test") ||
		!strings.Contains(msgs[0], "From: \"Letters\" <news@example.test>") {
		t.Errorf("headers:\n%.800s", msgs[0])
	}
	link := regexp.MustCompile(`http://paywall\.test/account/setup\?token=[A-Za-z0-9_-]{43}`).
		FindString(msgs[0])
	if link == "" {
		t.Fatalf("no setup link in the mail:\n%s", msgs[0])
	}
	u, _ := url.Parse(link)
	wantStatus(t, "setup page", do(t, c, "GET", link, nil), http.StatusOK)
	wantStatus(t, "set password", do(t, c, "POST", "/account/setup",
		url.Values{"token": {u.Query().Get("token")}, "password": {password}}), http.StatusSeeOther)
	wantStatus(t, "dashboard", do(t, c, "GET", "/account", nil), http.StatusOK)
}
