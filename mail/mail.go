// Package mail renders and sends paywall's mail. Mail is written to an outbox
// in the same transaction as the change that causes it and sent from there by
// a worker, so an outage of the mail provider delays mail but never loses it.
package mail

import (
	"context"
	"errors"
	"log/slog"
)

// Message is one rendered mail.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Mailer delivers a message. An error that retrying cannot cure (the
// provider refused the message or the credentials) is marked Permanent.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// permanentError marks a delivery error that retrying cannot cure.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot cure: the outbox sets the
// mail aside as failed at once instead of trying again.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
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
