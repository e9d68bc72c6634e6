package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP sends mail through an SMTP server with github.com/wneessen/go-mail.
type SMTP struct {
	From   string
	client *gomail.Client
}

// ParseSMTPURL checks an SMTP_URL: smtp://[user:password@]host[:port] with
// STARTTLS required (port 587 unless given), smtps:// for TLS from the first
// byte (port 465), and ?tls=opportunistic or ?tls=none for a relay that
// offers no TLS (a local one, say). The error names what is wrong without
// repeating the password.
func ParseSMTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL (smtp://user:password@host:587)")
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return nil, fmt.Errorf("scheme %q is not smtp or smtps", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("names no host (smtp://user:password@host:587)")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
	}
	switch tlsMode := u.Query().Get("tls"); {
	case tlsMode == "" || tlsMode == "starttls":
	case u.Scheme == "smtp" && (tlsMode == "opportunistic" || tlsMode == "none"):
	default:
		return nil, fmt.Errorf("tls=%q is not starttls, opportunistic or none (smtp:// only)", tlsMode)
	}
	return u, nil
}

// NewSMTP returns a mailer for the server at u (see ParseSMTPURL) sending
// from the address from. tlsConfig may be nil for the system's roots.
func NewSMTP(u *url.URL, from string, tlsConfig *tls.Config) (*SMTP, error) {
	u, err := ParseSMTPURL(u.String())
	if err != nil {
		return nil, err
	}
	opts := []gomail.Option{gomail.WithTimeout(30 * time.Second)}
	port := 587
	switch {
	case u.Scheme == "smtps":
		port = 465
		opts = append(opts, gomail.WithSSL())
	case u.Query().Get("tls") == "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case u.Query().Get("tls") == "opportunistic":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	opts = append(opts, gomail.WithPort(port))
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	}
	opts = append(opts, gomail.WithTLSConfig(tlsConfig))
	if u.User != nil {
		pw, _ := u.User.Password()
		// Without TLS, go-mail offers the password only to mechanisms that
		// do not send it as it is; tls=none says the operator accepts PLAIN
		// in the clear (production refuses it except on loopback).
		auth := gomail.SMTPAuthAutoDiscover
		if u.Query().Get("tls") == "none" {
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pw))
	}
	c, err := gomail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	return &SMTP{From: from, client: c}, nil
}

// Send delivers m in one SMTP conversation. A 5xx answer is permanent; a
// 4xx answer or a network error is tried again later.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return Permanent(fmt.Errorf("from address: %w", err))
	}
	if err := msg.To(m.To); err != nil {
		return Permanent(fmt.Errorf("to address: %w", err))
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	err := s.client.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return nil
	}
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		return Permanent(fmt.Errorf("smtp: %w", err))
	}
	return fmt.Errorf("smtp: %w", err)
}
