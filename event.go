package paywall

import "time"

// Event is a verified Stripe event as kept in the inbox. Payload holds the
// exact bytes Stripe signed.
type Event struct {
	ID         string
	Type       string
	APIVersion string
	Livemode   bool
	Created    time.Time
	Payload    []byte

	ReceivedAt  time.Time
	ProcessedAt time.Time // zero while pending
	Attempts    int
	LastError   string
	Failed      bool
}

// Change is what one event means for our state. It is computed from the
// event alone, without I/O, and applied by the store in one transaction
// together with marking the event processed.
type Change struct {
	Purchase     *Purchase
	Subscription *Subscription
	Invoice      *Invoice
}

// Empty reports whether the change does nothing (an event type we ignore).
func (c Change) Empty() bool {
	return c.Purchase == nil && c.Subscription == nil && c.Invoice == nil
}

// Purchase is a completed checkout: who bought, as Stripe recorded it.
type Purchase struct {
	SessionID      string
	CustomerID     string
	SubscriptionID string
	Email          string // Stripe's customer_details.email, never a request field
	Paid           bool   // false for delayed payment methods until they succeed
}

// Invoice is a Stripe invoice as shown on the dashboard.
type Invoice struct {
	ID             string
	CustomerID     string
	SubscriptionID string
	Number         string
	Status         string
	Amount         int64
	Currency       string
	URL            string
	Created        time.Time
	Version        int64
}

// Mail kinds written to the outbox.
const (
	MailSetup       = "setup"
	MailSignIn      = "signin"
	MailEmailChange = "email_change"
	// MailDuplicate tells a member a second subscription was cancelled and refunded.
	MailDuplicate = "duplicate"
)

// Outgoing is a mail in the outbox.
type Outgoing struct {
	ID       int64
	MemberID int64
	To       string
	Kind     string
	Attempts int

	Cause       string
	LastError   string
	CreatedAt   time.Time
	NextAttempt time.Time
	SentAt      time.Time // zero while unsent
	FailedAt    time.Time // zero unless set aside as failed
}

// SimulatedCheckout is an order placed while no Stripe key is configured.
type SimulatedCheckout struct {
	ID          string
	PlanID      string
	Interval    Interval
	Email       string
	CreatedAt   time.Time
	CompletedAt time.Time
}
