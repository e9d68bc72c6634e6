package mail

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/paywall/paywall"
)

// OutboxStore holds mail waiting to be sent.
type OutboxStore interface {
	DueMails(ctx context.Context, limit int) ([]paywall.Outgoing, error)
	MailSent(ctx context.Context, id int64) error
	DeferMail(ctx context.Context, id int64, msg string, next time.Time) error
}

// Links makes the single-use link a mail carries. The token is made when the
// mail is sent, not when it is queued, so no usable token ever rests in the
// outbox.
type Links interface {
	NewLink(ctx context.Context, member int64, purpose string) (url string, ttl time.Duration, err error)
}

// Outbox sends queued mail, retrying failures with growing delays.
type Outbox struct {
	Store  OutboxStore
	Links  Links
	Mailer Mailer
	Site   string
	// AccountURL is the dashboard, linked from billing mails: its button
	// opens the Stripe Customer Portal.
	AccountURL string
	Log        *slog.Logger
	Now        func() time.Time

	poke chan struct{}
}

// NewOutbox returns an outbox worker.
func NewOutbox(s OutboxStore, links Links, m Mailer, site string, log *slog.Logger) *Outbox {
	return &Outbox{Store: s, Links: links, Mailer: m, Site: site, Log: log, Now: time.Now,
		poke: make(chan struct{}, 1)}
}

// Poke asks the worker to send due mail now.
func (o *Outbox) Poke() {
	select {
	case o.poke <- struct{}{}:
	default:
	}
}

// Run sends due mail until ctx ends.
func (o *Outbox) Run(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		if err := o.SendDue(ctx); err != nil && ctx.Err() == nil {
			o.Log.Error("send mail", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-o.poke:
		case <-tick.C:
		}
	}
}

// SendDue sends every mail that is due once.
func (o *Outbox) SendDue(ctx context.Context) error {
	due, err := o.Store.DueMails(ctx, 50)
	if err != nil {
		return err
	}
	for _, m := range due {
		if err := o.send(ctx, m); err != nil {
			next := o.Now().Add(min(5*time.Second<<min(m.Attempts, 10), time.Hour))
			o.Log.Warn("mail deferred", "mail_id", m.ID, "kind", m.Kind, "member_id", m.MemberID,
				"attempts", m.Attempts+1, "error", err)
			if err := o.Store.DeferMail(ctx, m.ID, err.Error(), next); err != nil {
				return err
			}
			continue
		}
		if err := o.Store.MailSent(ctx, m.ID); err != nil {
			return err
		}
	}
	return nil
}

func (o *Outbox) send(ctx context.Context, m paywall.Outgoing) error {
	d := Data{Site: o.Site}
	if m.Kind == paywall.MailSetup {
		link, ttl, err := o.Links.NewLink(ctx, m.MemberID, "setup")
		if err != nil {
			return fmt.Errorf("make setup link: %w", err)
		}
		d.Link, d.Expires = link, humanDuration(ttl)
	} else {
		d.Link = o.AccountURL
	}
	msg, err := Render(m.Kind, m.To, d)
	if err != nil {
		return err
	}
	return o.Mailer.Send(ctx, msg)
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d >= time.Hour:
		return fmt.Sprintf("%d hours", d/time.Hour)
	default:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
}
