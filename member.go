package paywall

import "time"

// Member is a reader with an account. Members are created by Stripe's webhook
// from the email Stripe recorded for a purchase, never from a sign-up form.
type Member struct {
	ID          int64
	Email       string
	HasPassword bool
	CreatedAt   time.Time
}
