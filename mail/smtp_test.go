package mail_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/mail"
)

const smtpUser, smtpPassword = "paywall", "relay secret"

// smtpServer is a real SMTP server (github.com/emersion/go-smtp) on a
// loopback port. It requires AUTH PLAIN, can refuse the next recipients with
// a given reply, and keeps every message it accepts.
type smtpServer struct {
	addr string

	mu       sync.Mutex
	refuse   int // refuse this many more recipients
	code     int // with this reply code
	accepted []received
	authed   []string
}

type received struct {
	from string
	to   []string
	data []byte
}

func startSMTP(t *testing.T) *smtpServer { return startSMTPWith(t, nil) }

func startSMTPWith(t *testing.T, tlsConfig *tls.Config) *smtpServer {
	t.Helper()
	s := &smtpServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: s}, nil
	}))
	srv.Addr = "127.0.0.1:0"
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = tlsConfig == nil
	srv.TLSConfig = tlsConfig
	l, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpServer) url() *url.URL {
	return &url.URL{Scheme: "smtp", User: url.UserPassword(smtpUser, smtpPassword), Host: s.addr,
		RawQuery: "tls=none"}
}

func (s *smtpServer) refuseNext(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse, s.code = n, code
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.accepted...)
}

type smtpSession struct {
	srv  *smtpServer
	user string
	msg  received
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pw string) error {
		if user != smtpUser || pw != smtpPassword {
			return errors.New("bad credentials")
		}
		ss.user = user
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.msg = received{from: from}
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s := ss.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse > 0 {
		s.refuse--
		return &smtp.SMTPError{Code: s.code, EnhancedCode: smtp.EnhancedCode{s.code / 100, 3, 0},
			Message: "not now"}
	}
	ss.msg.to = append(ss.msg.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.msg.data = b
	ss.srv.mu.Lock()
	ss.srv.accepted = append(ss.srv.accepted, ss.msg)
	ss.srv.authed = append(ss.srv.authed, ss.user)
	ss.srv.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.msg = received{} }
func (ss *smtpSession) Logout() error { return nil }

// parsed is a received message as a reader's mail program shows it.
type parsed struct {
	to, subject, text, html string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	p := parsed{to: msg.Header.Get("To"), subject: msg.Header.Get("Subject")}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q, want multipart/alternative", msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(part)
		switch ct := part.Header.Get("Content-Type"); {
		case strings.HasPrefix(ct, "text/plain"):
			p.text = string(b)
		case strings.HasPrefix(ct, "text/html"):
			p.html = string(b)
		}
	}
	return p
}

var linkRE = regexp.MustCompile(`https?://[^\s"<]+`)

func newSMTP(t *testing.T, s *smtpServer) *mail.SMTP {
	t.Helper()
	m, err := mail.NewSMTP(s.url(), sender, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSMTPDeliversSetupMail(t *testing.T) {
	srv := startSMTP(t)
	f := newFixture(t, newSMTP(t, srv))
	member := f.buy(t, buyer)
	f.sendDue(t)

	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("server accepted %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.from != "news@example.test" || len(m.to) != 1 || m.to[0] != buyer {
		t.Errorf("envelope from %q to %v, want news@example.test to %s", m.from, m.to, buyer)
	}
	if srv.authed[0] != smtpUser {
		t.Errorf("message sent without AUTH")
	}
	p := parse(t, m.data)
	if p.to != "<"+buyer+">" && p.to != buyer {
		t.Errorf("To: %q", p.to)
	}
	if want := "Set your password for " + siteName; p.subject != want {
		t.Errorf("Subject: %q, want %q", p.subject, want)
	}
	link := linkRE.FindString(p.text)
	f.wantSetupLink(t, link, member)
	if !strings.Contains(p.html, `href="`+strings.ReplaceAll(link, "&", "&amp;")+`"`) {
		t.Errorf("html part does not link to %s:\n%s", link, p.html)
	}
	if got := f.mail(t); got.SentAt.IsZero() || got.Attempts != 1 {
		t.Errorf("outbox row after delivery: %+v", got)
	}
}

func TestSMTPRetriesUntilAccepted(t *testing.T) {
	srv := startSMTP(t)
	srv.refuseNext(3, 451)
	f := newFixture(t, newSMTP(t, srv))
	member := f.buy(t, buyer)

	for i := 1; i <= 3; i++ {
		f.sendDue(t)
		got := f.mail(t)
		if len(srv.messages()) != 0 || got.Attempts != i || !got.SentAt.IsZero() ||
			!got.FailedAt.IsZero() || !strings.Contains(got.LastError, "451") {
			t.Fatalf("after refusal %d: %d delivered, outbox %+v", i, len(srv.messages()), got)
		}
	}
	// Not yet due: nothing is tried before the backoff has passed.
	f.clock.now = f.mail(t).NextAttempt.Add(-1e9)
	if err := f.outbox.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.mail(t).Attempts; got != 3 {
		t.Fatalf("tried before the backoff passed: %d attempts", got)
	}
	for range 4 {
		f.sendDue(t)
	}
	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("server accepted %d messages, want exactly 1", len(msgs))
	}
	f.wantSetupLink(t, linkRE.FindString(parse(t, msgs[0].data).text), member)
	if got := f.mail(t); got.SentAt.IsZero() || got.Attempts != 4 || got.LastError != "" {
		t.Errorf("outbox row: %+v, want sent after 4 attempts", got)
	}
}

func TestSMTPPermanentRefusalFails(t *testing.T) {
	srv := startSMTP(t)
	srv.refuseNext(1, 550)
	f := newFixture(t, newSMTP(t, srv))
	f.buy(t, buyer)
	f.sendDue(t)
	f.sendDue(t)
	got := f.mail(t)
	if got.FailedAt.IsZero() || got.Attempts != 1 || !strings.Contains(got.LastError, "550") {
		t.Errorf("outbox row: %+v, want failed after one attempt", got)
	}
	if n := len(srv.messages()); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
	failed, err := f.store.Mails(context.Background(), true, 10)
	if err != nil || len(failed) != 1 {
		t.Errorf("failed mails: %v, %v", failed, err)
	}
}

func TestSMTPURL(t *testing.T) {
	for _, tc := range []struct{ raw, err string }{
		{"smtp://u:p@mail.example.test:587", ""},
		{"smtps://mail.example.test", ""},
		{"smtp://127.0.0.1:2525?tls=none", ""},
		{"http://mail.example.test", "scheme"},
		{"smtp://", "no host"},
		{"smtp://mail.example.test:99999", "port"},
		{"smtps://mail.example.test?tls=none", "tls="},
	} {
		_, err := mail.ParseSMTPURL(tc.raw)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseSMTPURL(%q) = %v, want error containing %q", tc.raw, err, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "p@") {
			t.Errorf("error repeats the password: %v", err)
		}
	}
}

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestSMTPStartTLS sends as production does by default: STARTTLS required,
// the server's certificate checked, AUTH only inside TLS.
func TestSMTPStartTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := startSMTPWith(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	u := srv.url()
	u.RawQuery = ""
	m, err := mail.NewSMTP(u, sender, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), mail.Message{To: buyer, Subject: "hello",
		Text: "plain\n", HTML: "<p>html</p>"}); err != nil {
		t.Fatal(err)
	}
	if msgs := srv.messages(); len(msgs) != 1 || parse(t, msgs[0].data).subject != "hello" {
		t.Fatalf("messages: %d", len(msgs))
	}

	// A server whose certificate is not trusted gets nothing, and the
	// failure is one to retry (the operator may fix the trust store).
	untrusted, err := mail.NewSMTP(u, sender, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = untrusted.Send(context.Background(), mail.Message{To: buyer, Subject: "x", Text: "x"})
	if err == nil || mail.IsPermanent(err) {
		t.Errorf("untrusted certificate: %v, want a temporary error", err)
	}
	if n := len(srv.messages()); n != 1 {
		t.Errorf("%d messages after the untrusted attempt, want 1", n)
	}
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// TestSMTPDeliversCompedMail: a member created by a grant is welcomed as
// given a membership, not thanked for buying one, with a working setup link.
func TestSMTPDeliversCompedMail(t *testing.T) {
	srv := startSMTP(t)
	f := newFixture(t, newSMTP(t, srv))
	got, err := f.store.Grant(context.Background(), buyer, paywall.Grant{PlanID: "pro"})
	if err != nil {
		t.Fatal(err)
	}
	f.sendDue(t)
	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("server accepted %d messages, want 1", len(msgs))
	}
	p := parse(t, msgs[0].data)
	if want := "Your membership of " + siteName; p.subject != want {
		t.Errorf("Subject: %q, want %q", p.subject, want)
	}
	if !strings.Contains(p.text, "complimentary membership") || strings.Contains(p.text, "subscribing") {
		t.Errorf("text part does not read as a gift:\n%s", p.text)
	}
	f.wantSetupLink(t, linkRE.FindString(p.text), got.Member.ID)
}

// TestSetupMailNoLongerOwed: a setup mail still queued when the member
// chooses a password with another link is settled without being sent, so
// no fresh setup link can choose a second password.
func TestSetupMailNoLongerOwed(t *testing.T) {
	srv := startSMTP(t)
	f := newFixture(t, newSMTP(t, srv))
	ctx := context.Background()
	g, err := f.store.Grant(ctx, buyer, paywall.Grant{PlanID: "pro"})
	if err != nil {
		t.Fatal(err)
	}
	f.sendDue(t) // the welcome mail, with its setup link
	link := linkRE.FindString(parse(t, srv.messages()[0].data).text)
	f.buy(t, buyer) // queues the purchase's setup mail
	u, _ := url.Parse(link)
	if _, err := f.accounts.SetPassword(ctx, u.Query().Get("token"), "a long enough password"); err != nil {
		t.Fatal(err)
	}
	f.sendDue(t)
	if n := len(srv.messages()); n != 1 {
		t.Errorf("server accepted %d messages, want only the welcome mail", n)
	}
	mails, err := f.store.Mails(ctx, false, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mails {
		if m.MemberID == g.Member.ID && m.SentAt.IsZero() {
			t.Errorf("mail %d (%s) still queued after the password was chosen", m.ID, m.Kind)
		}
	}
}
