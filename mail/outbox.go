package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/paywall/paywall"
)

// OutboxStore holds mail waiting to be sent.
type OutboxStore interface {
	DueMails(ctx context.Context, limit int) ([]paywall.Outgoing, error)
	MailSent(ctx context.Context, id int64) error
	DeferMail(ctx context.Context, id int64, msg string, next time.Time, failed bool) error
}

// Links makes the single-use link a mail carries. The token is made when the
// mail is sent, not when it is queued, so no usable token ever rests in the
// outbox. email is the address an email-change link confirms.
type Links interface {
	NewLink(ctx context.Context, member int64, purpose, email string) (url string, ttl time.Duration, err error)
}

// linkPurpose is the link each kind of mail carries, if any.
var linkPurpose = map[string]string{
	paywall.MailSetup:       "setup",
	paywall.MailComped:      "setup",
	paywall.MailSignIn:      "signin",
	paywall.MailEmailChange: "email_change",
}

// MaxAttempts is how often a mail is tried before it is set aside as failed.
// With the backoff below, the last try comes about a day after the first:
// a provider's outage of some hours delays mail but loses none.
const MaxAttempts = 18

// Outbox sends queued mail, retrying failures with growing delays.
type Outbox struct {
	Store   OutboxStore
	Links   Links
	Mailer  Mailer
	Site    string
	BaseURL string
	Log     *slog.Logger
	Now     func() time.Time
	// Lease is how long a claim on due mail lasts (on PostgreSQL, where
	// replicas share the outbox); 0 when claims do not expire.
	Lease time.Duration

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

// backoff is the delay before attempt n+1: 5 s, 10 s, 20 s … capped at 4 h.
func backoff(n int) time.Duration {
	return min(5*time.Second<<min(n, 12), 4*time.Hour)
}

// SendDue sends every mail that is due once.
func (o *Outbox) SendDue(ctx context.Context) error {
	for {
		claimed := o.Now()
		due, err := o.Store.DueMails(ctx, 10)
		if err != nil || len(due) == 0 {
			return err
		}
		for _, m := range due {
			// A claim is a lease on PostgreSQL: past half of it, leave the
			// rest of the batch to come back due rather than risk another
			// replica sending the same mail while this one still does.
			if o.Lease > 0 && o.Now().Sub(claimed) > o.Lease/2 {
				return nil
			}
			if err := o.sendOne(ctx, m); err != nil {
				return err
			}
		}
	}
}

// sendOne sends m and records the outcome; it returns only store errors.
func (o *Outbox) sendOne(ctx context.Context, m paywall.Outgoing) error {
	err := o.send(ctx, m)
	if paywall.KindOf(err) == paywall.Conflict {
		// Its link is owed no more (a setup mail queued before the member
		// chose a password with another link): done, without sending.
		if err := o.Store.MailSent(ctx, m.ID); err != nil {
			return err
		}
		o.Log.Info("mail not sent: no longer owed", "mail_id", m.ID, "kind", m.Kind,
			"member_id", m.MemberID, "reason", err)
		return nil
	}
	if err == nil {
		if err := o.Store.MailSent(ctx, m.ID); err != nil {
			return err
		}
		o.Log.Info("mail delivered", "mail_id", m.ID, "kind", m.Kind, "member_id", m.MemberID)
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return o.deferMail(ctx, m, err)
}

// deferMail schedules the next attempt, or sets the mail aside as failed
// when the provider refused it for good or every attempt is spent.
func (o *Outbox) deferMail(ctx context.Context, m paywall.Outgoing, cause error) error {
	failed := IsPermanent(cause) || m.Attempts+1 >= MaxAttempts
	next := o.Now().Add(backoff(m.Attempts))
	log := o.Log.With("mail_id", m.ID, "kind", m.Kind, "member_id", m.MemberID,
		"attempts", m.Attempts+1, "error", cause)
	if err := o.Store.DeferMail(ctx, m.ID, cause.Error(), next, failed); err != nil {
		return errors.Join(cause, err)
	}
	if failed {
		log.Error("mail failed")
	} else {
		log.Warn("mail deferred", "retry_at", next)
	}
	return nil
}

func (o *Outbox) send(ctx context.Context, m paywall.Outgoing) error {
	d := Data{Site: o.Site, Account: o.BaseURL + "/account"}
	if purpose, ok := linkPurpose[m.Kind]; ok {
		email := ""
		if m.Kind == paywall.MailEmailChange {
			email = m.To
		}
		link, ttl, err := o.Links.NewLink(ctx, m.MemberID, purpose, email)
		if err != nil {
			return fmt.Errorf("make %s link: %w", purpose, err)
		}
		d.Link, d.Expires = link, humanDuration(ttl)
	}
	if m.Kind == paywall.MailTrialEnding {
		end, ok := paywall.TrialEnd(m.Cause)
		if !ok {
			return Permanent(fmt.Errorf("trial_ending mail: no trial end in cause %q", m.Cause))
		}
		d.TrialEnd = end.UTC().Format("January 2, 2006")
	}
	msg, err := Render(m.Kind, m.To, d)
	if err != nil {
		return Permanent(err)
	}
	return o.Mailer.Send(ctx, msg)
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return count(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour:
		return count(int64(d/time.Hour), "hour")
	default:
		return count(max(int64(d/time.Minute), 1), "minute")
	}
}

func count(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
