package paywall

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

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

// ErrBadSignature is returned for a webhook whose signature is missing,
// wrong or too old: it did not come from Stripe as sent.
var ErrBadSignature = errors.New("bad webhook signature")

// ErrOtherMode is returned for a validly signed event whose livemode differs
// from the mode of the configured Stripe key: it is acknowledged and ignored.
var ErrOtherMode = errors.New("event from the other Stripe mode")

// Change is what one event means for our state. It is computed from the
// event alone, without I/O, and applied by the store in one transaction
// together with marking the event processed.
type Change struct {
	Purchase     *Purchase
	Subscription *Subscription
	Invoice      *Invoice
	Charge       *Charge
	Hold         *Hold
	Notice       *Notice
	Price        *StripePrice
	Customer     *CustomerContact
}

// CustomerContact is the email Stripe holds for a customer, changed for
// example in the Customer Portal. It is the customer's contact address;
// the member's sign-in address changes only through a confirmed link.
type CustomerContact struct {
	ID    string
	Email string
}

// Empty reports whether the change does nothing (an event type we ignore).
func (c Change) Empty() bool {
	return c == Change{}
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
	ChargeID       string // before the 2025 basil API versions only
	Number         string
	Status         string
	Amount         int64
	Currency       string
	URL            string
	Created        time.Time
	Version        int64
}

// Charge ties a Stripe charge to its customer, so that a dispute, which
// names only the charge, finds the member.
type Charge struct {
	ID         string
	CustomerID string
}

// Hold withholds access from every subscription of a customer while Active.
// Holds are versioned like subscriptions: a dispute closed as won lifts the
// hold its opening set, in whatever order the two events arrive.
type Hold struct {
	ID         string // the dispute, refunded charge or deleted customer
	Reason     string // HoldDispute, HoldRefund or HoldCustomerDeleted
	CustomerID string // "" when known only through ChargeID
	ChargeID   string
	Active     bool
	Version    int64
}

// Newer reports whether h may replace old; in the same second, a lifted
// hold wins over an active one.
func (h Hold) Newer(old Hold) bool {
	if h.Version != old.Version {
		return h.Version > old.Version
	}
	return !h.Active || old.Active
}

// Notice is a mail an event owes the member holding a Stripe customer. Cause
// makes it unique: however often the event arrives, it is sent once.
type Notice struct {
	Kind       string
	CustomerID string
	Cause      string
	// Ends, when set, names a subscription whose end this notice's mail
	// tells of: its subscription_ended notice is recorded as settled, so a
	// later event owing it (Stripe's deleted event after we cancelled a
	// duplicate) sends no second mail.
	Ends string
}

// TrialCause is the cause of a MailTrialEnding notice: one mail per
// subscription and trial end, so a redelivery or a second event about the
// same end mails once, and a trial moved to a new end mails again.
func TrialCause(subscription string, end time.Time) string {
	return "trial:" + subscription + ":" + strconv.FormatInt(end.Unix(), 10)
}

// TrialEnd returns the trial end a TrialCause carries.
func TrialEnd(cause string) (time.Time, bool) {
	_, end, ok := ParseTrialCause(cause)
	return end, ok
}

// ParseTrialCause returns the subscription and the trial end a TrialCause
// carries.
func ParseTrialCause(cause string) (subscription string, end time.Time, ok bool) {
	rest, ok := strings.CutPrefix(cause, "trial:")
	i := strings.LastIndexByte(rest, ':')
	if !ok || i <= 0 {
		return "", time.Time{}, false
	}
	sec, err := strconv.ParseInt(rest[i+1:], 10, 64)
	if err != nil || sec <= 0 {
		return "", time.Time{}, false
	}
	return rest[:i], time.Unix(sec, 0), true
}

// EndedCause is the cause of the subscription_ended mail the end of
// subscription sub owes.
func EndedCause(sub string) string { return "subscription:" + sub }

// StripePrice is a price as Stripe reports it in price events.
type StripePrice struct {
	ID        string
	LookupKey string
	Active    bool
	Amount    int64
	Currency  string
	Version   int64
}

// Mail kinds written to the outbox.
const (
	MailSetup = "setup"
	// MailComped welcomes a member created by a grant, with a setup link.
	MailComped                = "comped"
	MailSignIn                = "signin"
	MailEmailChange           = "email_change"
	MailPaymentFailed         = "payment_failed"
	MailPaymentActionRequired = "payment_action_required"
	MailAsyncPaymentFailed    = "async_payment_failed"
	MailSubscriptionEnded     = "subscription_ended"
	// MailTrialEnding tells a trialing member when the trial ends and that
	// the subscription then goes on, paid. Its cause ends in the trial's
	// end as Unix seconds, which the mail prints.
	MailTrialEnding = "trial_ending"
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
