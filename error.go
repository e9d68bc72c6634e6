package paywall

import (
	"errors"
	"fmt"
)

// ErrorKind says what went wrong in words a request handler can map to a status.
type ErrorKind int

// Error kinds. Internal is the zero value so that an unclassified error is never
// shown to a user as anything but a generic failure.
const (
	Internal ErrorKind = iota
	Invalid
	Unauthorized
	Forbidden
	NotFound
	Conflict
	Unavailable
	// Upstream is a refusal by a service paywall depends on (Stripe's 4xx):
	// the request was ours to get right, so the client sees a generic 502.
	Upstream
)

// Error is an error whose message is safe to show to the person who caused it.
type Error struct {
	Kind    ErrorKind
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error of kind k with a formatted, user-safe message.
func Errorf(k ErrorKind, format string, args ...any) error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err, or Internal when err carries none.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// MessageOf returns the user-safe message of err, or "" when it has none.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}
