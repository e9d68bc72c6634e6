package mail

import (
	"context"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/sendgrid/rest"
	"github.com/sendgrid/sendgrid-go"
	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"
)

// SendGrid sends mail through SendGrid's v3 mail send API with the official
// client, sendgrid-go.
type SendGrid struct {
	Key  string
	From string
	// Host is the API origin; "" means SendGrid's own. Tests point it at a
	// stand-in server.
	Host   string
	Client *http.Client
}

// NewSendGrid returns a SendGrid mailer for the API key.
func NewSendGrid(key, from string) *SendGrid {
	return &SendGrid{Key: key, From: from, Client: &http.Client{Timeout: 30 * time.Second}}
}

// Send delivers m. SendGrid answers 202 when it accepts a mail; 429 and 5xx
// are tried again later, any other answer is permanent (a bad key, an
// unverified sender or a refused address do not cure themselves).
func (s *SendGrid) Send(ctx context.Context, m Message) error {
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return Permanent(fmt.Errorf("sendgrid: from address: %w", err))
	}
	v3 := sgmail.NewV3MailInit(sgmail.NewEmail(from.Name, from.Address), m.Subject,
		sgmail.NewEmail("", m.To), sgmail.NewContent("text/plain", m.Text))
	if m.HTML != "" {
		v3.AddContent(sgmail.NewContent("text/html", m.HTML))
	}
	req := sendgrid.GetRequest(s.Key, "/v3/mail/send", s.Host)
	req.Method = rest.Post
	req.Body = sgmail.GetRequestBody(v3)
	client := &rest.Client{HTTPClient: s.Client}
	resp, err := client.SendWithContext(ctx, req)
	if err != nil {
		return fmt.Errorf("sendgrid: %w", err)
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("sendgrid: %d %s", code, summary(resp.Body))
	default:
		return Permanent(fmt.Errorf("sendgrid: %d %s", code, summary(resp.Body)))
	}
}

// summary shortens an error body for the outbox's last_error.
func summary(body string) string {
	body = strings.Join(strings.Fields(body), " ")
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return body
}
