// Package mail renders and sends paywall's mail. Mail is written to an outbox
// in the same transaction as the change that causes it and sent from there by
// a worker, so an outage of the mail provider delays mail but never loses it.
package mail

import (
	"context"
	"log/slog"
)

// Message is one rendered mail.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Mailer delivers a message.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// Log is the development mailer: it prints every mail in full as one log
// record, because in development the log is the mailbox.
type Log struct {
	Logger *slog.Logger
}

// Send logs m.
func (l Log) Send(_ context.Context, m Message) error {
	l.Logger.Info("mail sent", "mailer", "log", "to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}
