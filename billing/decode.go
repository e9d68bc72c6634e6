package billing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/paywall/paywall"
)

// ref is a Stripe reference that arrives either as an ID or, when expanded,
// as the object itself.
type ref string

func (r *ref) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*r = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = ref(s)
	default:
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*r = ref(o.ID)
	}
	return nil
}

// The wire shapes below name only the fields paywall uses, so that events of
// any API version decode: fields that moved are read from both places.

type checkoutSessionObject struct {
	ID              string `json:"id"`
	Mode            string `json:"mode"`
	Customer        ref    `json:"customer"`
	Subscription    ref    `json:"subscription"`
	CustomerEmail   string `json:"customer_email"`
	PaymentStatus   string `json:"payment_status"`
	CustomerDetails *struct {
		Email string `json:"email"`
	} `json:"customer_details"`
}

type subscriptionObject struct {
	ID                 string            `json:"id"`
	Customer           ref               `json:"customer"`
	Status             string            `json:"status"`
	CancelAtPeriodEnd  bool              `json:"cancel_at_period_end"`
	CancelAt           int64             `json:"cancel_at"`
	TrialEnd           int64             `json:"trial_end"`
	CurrentPeriodStart int64             `json:"current_period_start"` // before 2025-03-31.basil
	CurrentPeriodEnd   int64             `json:"current_period_end"`   // before 2025-03-31.basil
	Metadata           map[string]string `json:"metadata"`
	Items              struct {
		Data []struct {
			CurrentPeriodStart int64 `json:"current_period_start"` // since basil
			CurrentPeriodEnd   int64 `json:"current_period_end"`   // since basil
			Price              struct {
				ID        string `json:"id"`
				LookupKey string `json:"lookup_key"`
			} `json:"price"`
		} `json:"data"`
	} `json:"items"`
	PauseCollection *struct {
		Behavior string `json:"behavior"`
	} `json:"pause_collection"` // null unless collection is paused
	CancellationDetails struct {
		Comment string `json:"comment"`
	} `json:"cancellation_details"`
}

type invoiceObject struct {
	ID               string `json:"id"`
	Customer         ref    `json:"customer"`
	Subscription     ref    `json:"subscription"` // before basil
	Charge           ref    `json:"charge"`       // before basil
	Number           string `json:"number"`
	Status           string `json:"status"`
	AmountPaid       int64  `json:"amount_paid"`
	Currency         string `json:"currency"`
	HostedInvoiceURL string `json:"hosted_invoice_url"`
	Created          int64  `json:"created"`
	Parent           *struct {
		SubscriptionDetails *struct {
			Subscription ref `json:"subscription"`
		} `json:"subscription_details"`
	} `json:"parent"` // since basil
}

// Decode turns the data object of a verified event into the change it
// means. Event types paywall does not act on give an empty change.
func Decode(e paywall.Event, object []byte, cat paywall.Catalog) (paywall.Change, error) {
	version := e.Created.Unix()
	switch group, _, _ := strings.Cut(e.Type, "."); {
	case strings.HasPrefix(e.Type, "checkout.session."):
		return decodeCheckout(e, object)
	case strings.HasPrefix(e.Type, "customer.subscription."):
		return decodeSubscription(e, object, cat, version)
	case e.Type == "customer.deleted":
		return decodeCustomerDeleted(object, version)
	case e.Type == "customer.updated":
		return decodeCustomerUpdated(object)
	case group == "invoice":
		return decodeInvoice(e, object, version)
	case strings.HasPrefix(e.Type, "charge.dispute."):
		return decodeDispute(object, version)
	case group == "charge":
		return decodeCharge(e, object, version)
	case group == "price":
		return decodePrice(e, object, version)
	}
	return paywall.Change{}, nil
}

func decodeCheckout(e paywall.Event, object []byte) (paywall.Change, error) {
	switch e.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded",
		"checkout.session.async_payment_failed":
	default:
		return paywall.Change{}, nil
	}
	var o checkoutSessionObject
	if err := json.Unmarshal(object, &o); err != nil {
		return paywall.Change{}, fmt.Errorf("decode checkout session: %w", err)
	}
	if o.Mode != "" && o.Mode != "subscription" {
		return paywall.Change{}, nil
	}
	c := paywall.Change{Purchase: o.purchase()}
	switch e.Type {
	case "checkout.session.async_payment_succeeded":
		// The event says the money arrived, whatever payment_status the
		// object carried when it was sent.
		c.Purchase.Paid = true
	case "checkout.session.async_payment_failed":
		c.Purchase.Paid = false
		c.Notice = &paywall.Notice{Kind: paywall.MailAsyncPaymentFailed,
			CustomerID: string(o.Customer), Cause: "checkout:" + o.ID}
	}
	return c, nil
}

func decodeSubscription(e paywall.Event, object []byte, cat paywall.Catalog,
	version int64) (paywall.Change, error) {
	var o subscriptionObject
	if err := json.Unmarshal(object, &o); err != nil {
		return paywall.Change{}, fmt.Errorf("decode subscription: %w", err)
	}
	if o.ID == "" {
		return paywall.Change{}, fmt.Errorf("decode subscription: no id")
	}
	sub := o.subscription(cat, version)
	c := paywall.Change{Subscription: &sub}
	switch e.Type {
	case "customer.subscription.deleted":
		c.Notice = &paywall.Notice{Kind: paywall.MailSubscriptionEnded,
			CustomerID: sub.CustomerID, Cause: paywall.EndedCause(sub.ID)}
		if o.CancellationDetails.Comment == duplicateComment {
			// Cancelled by the duplicate check, whose own record owes the
			// same duplicate mail: whichever is applied first sends it,
			// and neither the "subscription ended" one.
			c.Notice = duplicateNotice(sub)
		}
	case "customer.subscription.trial_will_end":
		c.Notice = o.trialNotice(sub)
	}
	return c, nil
}

// trialNotice is the "your trial ends" mail a trial_will_end event owes,
// or nil. Stripe sends the event three days before the trial ends, also for
// a subscription set to cancel by then: that member is not charged, and the
// mail, which says the subscription goes on paid, would be wrong. One set to
// cancel after the trial is charged until then, and is mailed.
func (o subscriptionObject) trialNotice(sub paywall.Subscription) *paywall.Notice {
	end := unixTime(o.TrialEnd)
	if end.IsZero() {
		end = sub.PeriodEnd // a trial is its subscription's first period
	}
	// During a trial the current period is the trial: cancel_at_period_end
	// cancels at its end.
	cancels := o.CancelAtPeriodEnd || sub.CancelsBy(end)
	if sub.Status != paywall.Trialing || cancels || end.IsZero() {
		return nil
	}
	return &paywall.Notice{Kind: paywall.MailTrialEnding, CustomerID: sub.CustomerID,
		Cause: paywall.TrialCause(sub.ID, end)}
}

func decodeCustomerDeleted(object []byte, version int64) (paywall.Change, error) {
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(object, &o); err != nil || o.ID == "" {
		return paywall.Change{}, fmt.Errorf("decode customer: no id (%v)", err)
	}
	return paywall.Change{Hold: &paywall.Hold{ID: "customer:" + o.ID,
		Reason: paywall.HoldCustomerDeleted, CustomerID: o.ID, Active: true, Version: version}}, nil
}

func decodeCustomerUpdated(object []byte) (paywall.Change, error) {
	var o struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	if err := json.Unmarshal(object, &o); err != nil || o.ID == "" {
		return paywall.Change{}, fmt.Errorf("decode customer: no id (%v)", err)
	}
	if o.Email == "" {
		return paywall.Change{}, nil
	}
	return paywall.Change{Customer: &paywall.CustomerContact{ID: o.ID, Email: o.Email}}, nil
}

// invoiceNotices are the invoice events that owe the member a mail.
var invoiceNotices = map[string]string{
	"invoice.payment_failed":          paywall.MailPaymentFailed,
	"invoice.payment_action_required": paywall.MailPaymentActionRequired,
}

func decodeInvoice(e paywall.Event, object []byte, version int64) (paywall.Change, error) {
	switch e.Type {
	case "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed",
		"invoice.payment_action_required", "invoice.finalized", "invoice.voided",
		"invoice.marked_uncollectible", "invoice.updated":
	default:
		return paywall.Change{}, nil
	}
	var o invoiceObject
	if err := json.Unmarshal(object, &o); err != nil {
		return paywall.Change{}, fmt.Errorf("decode invoice: %w", err)
	}
	in := o.invoice(version)
	c := paywall.Change{Invoice: &in}
	if in.ChargeID != "" && in.CustomerID != "" {
		c.Charge = &paywall.Charge{ID: in.ChargeID, CustomerID: in.CustomerID}
	}
	if kind, ok := invoiceNotices[e.Type]; ok {
		// Each failed attempt is its own event and its own mail; a
		// redelivery of one is not.
		c.Notice = &paywall.Notice{Kind: kind, CustomerID: in.CustomerID, Cause: "event:" + e.ID}
	}
	return c, nil
}

type chargeObject struct {
	ID       string `json:"id"`
	Customer ref    `json:"customer"`
	Refunded bool   `json:"refunded"` // true once the whole amount is refunded
}

func decodeCharge(e paywall.Event, object []byte, version int64) (paywall.Change, error) {
	var o chargeObject
	if err := json.Unmarshal(object, &o); err != nil || o.ID == "" {
		return paywall.Change{}, fmt.Errorf("decode charge: no id (%v)", err)
	}
	c := paywall.Change{}
	if o.Customer != "" {
		c.Charge = &paywall.Charge{ID: o.ID, CustomerID: string(o.Customer)}
	}
	if e.Type == "charge.refunded" && o.Refunded {
		c.Hold = &paywall.Hold{ID: "refund:" + o.ID, Reason: paywall.HoldRefund,
			CustomerID: string(o.Customer), ChargeID: o.ID, Active: true, Version: version}
	}
	return c, nil
}

// disputeSettled are the dispute statuses that leave the member's access as
// it was: the merchant won, or an inquiry closed without a chargeback.
var disputeSettled = map[string]bool{"won": true, "warning_closed": true}

func decodeDispute(object []byte, version int64) (paywall.Change, error) {
	var o struct {
		ID     string `json:"id"`
		Charge ref    `json:"charge"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(object, &o); err != nil || o.ID == "" {
		return paywall.Change{}, fmt.Errorf("decode dispute: no id (%v)", err)
	}
	return paywall.Change{Hold: &paywall.Hold{ID: o.ID, Reason: paywall.HoldDispute,
		ChargeID: string(o.Charge), Active: !disputeSettled[o.Status], Version: version}}, nil
}

func decodePrice(e paywall.Event, object []byte, version int64) (paywall.Change, error) {
	var o struct {
		ID         string `json:"id"`
		LookupKey  string `json:"lookup_key"`
		Active     bool   `json:"active"`
		UnitAmount int64  `json:"unit_amount"`
		Currency   string `json:"currency"`
	}
	if err := json.Unmarshal(object, &o); err != nil || o.ID == "" {
		return paywall.Change{}, fmt.Errorf("decode price: no id (%v)", err)
	}
	p := paywall.StripePrice{ID: o.ID, LookupKey: o.LookupKey,
		Active: o.Active && e.Type != "price.deleted", Amount: o.UnitAmount, Currency: o.Currency,
		Version: version}
	return paywall.Change{Price: &p}, nil
}

func (o checkoutSessionObject) purchase() *paywall.Purchase {
	email := o.CustomerEmail
	if o.CustomerDetails != nil && o.CustomerDetails.Email != "" {
		email = o.CustomerDetails.Email
	}
	return &paywall.Purchase{
		SessionID:      o.ID,
		CustomerID:     string(o.Customer),
		SubscriptionID: string(o.Subscription),
		Email:          email,
		Paid:           o.PaymentStatus != "unpaid",
	}
}

func (o subscriptionObject) subscription(cat paywall.Catalog, version int64) paywall.Subscription {
	s := paywall.Subscription{
		ID:          o.ID,
		CustomerID:  string(o.Customer),
		Status:      paywall.Status(o.Status),
		PeriodStart: unixTime(o.CurrentPeriodStart),
		PeriodEnd:   unixTime(o.CurrentPeriodEnd),
		CancelAt:    unixTime(o.CancelAt),
		Version:     version,

		PauseCollection: o.PauseCollection != nil,
	}
	if len(o.Items.Data) > 0 {
		item := o.Items.Data[0]
		s.LookupKey = item.Price.LookupKey
		if item.CurrentPeriodEnd != 0 {
			s.PeriodStart = unixTime(item.CurrentPeriodStart)
			s.PeriodEnd = unixTime(item.CurrentPeriodEnd)
		}
	}
	if plan, ok := cat.PlanByLookupKey(s.LookupKey); ok {
		s.PlanID = plan.ID
	} else if plan, ok := cat.Plan(o.Metadata["plan"]); ok {
		// A price without our lookup key: the plan written at checkout.
		s.PlanID = plan.ID
	}
	if o.CancelAtPeriodEnd && s.CancelAt.IsZero() {
		s.CancelAt = s.PeriodEnd
	}
	return s
}

func (o invoiceObject) invoice(version int64) paywall.Invoice {
	sub := o.Subscription
	if o.Parent != nil && o.Parent.SubscriptionDetails != nil {
		sub = o.Parent.SubscriptionDetails.Subscription
	}
	return paywall.Invoice{
		ID:             o.ID,
		CustomerID:     string(o.Customer),
		SubscriptionID: string(sub),
		ChargeID:       string(o.Charge),
		Number:         o.Number,
		Status:         o.Status,
		Amount:         o.AmountPaid,
		Currency:       o.Currency,
		URL:            o.HostedInvoiceURL,
		Created:        unixTime(o.Created),
		Version:        version,
	}
}

func unixTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(v, 0)
}
