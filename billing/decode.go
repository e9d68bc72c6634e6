package billing

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	ID                string            `json:"id"`
	Customer          ref               `json:"customer"`
	Status            string            `json:"status"`
	CancelAtPeriodEnd bool              `json:"cancel_at_period_end"`
	CancelAt          int64             `json:"cancel_at"`
	CurrentPeriodEnd  int64             `json:"current_period_end"` // before 2025-03-31.basil
	Metadata          map[string]string `json:"metadata"`
	Items             struct {
		Data []struct {
			CurrentPeriodEnd int64 `json:"current_period_end"` // since basil
			Price            struct {
				ID        string `json:"id"`
				LookupKey string `json:"lookup_key"`
			} `json:"price"`
		} `json:"data"`
	} `json:"items"`
}

type invoiceObject struct {
	ID               string `json:"id"`
	Customer         ref    `json:"customer"`
	Subscription     ref    `json:"subscription"` // before basil
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
	switch e.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		var o checkoutSessionObject
		if err := json.Unmarshal(object, &o); err != nil {
			return paywall.Change{}, fmt.Errorf("decode checkout session: %w", err)
		}
		if o.Mode != "" && o.Mode != "subscription" {
			return paywall.Change{}, nil
		}
		return paywall.Change{Purchase: o.purchase()}, nil
	case "customer.subscription.created", "customer.subscription.updated",
		"customer.subscription.deleted":
		var o subscriptionObject
		if err := json.Unmarshal(object, &o); err != nil {
			return paywall.Change{}, fmt.Errorf("decode subscription: %w", err)
		}
		sub := o.subscription(cat, version)
		return paywall.Change{Subscription: &sub}, nil
	case "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed",
		"invoice.finalized", "invoice.voided", "invoice.marked_uncollectible":
		var o invoiceObject
		if err := json.Unmarshal(object, &o); err != nil {
			return paywall.Change{}, fmt.Errorf("decode invoice: %w", err)
		}
		in := o.invoice(version)
		return paywall.Change{Invoice: &in}, nil
	}
	return paywall.Change{}, nil
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
		ID:         o.ID,
		CustomerID: string(o.Customer),
		Status:     paywall.Status(o.Status),
		PeriodEnd:  unixTime(o.CurrentPeriodEnd),
		CancelAt:   unixTime(o.CancelAt),
		Version:    version,
	}
	if len(o.Items.Data) > 0 {
		item := o.Items.Data[0]
		s.LookupKey = item.Price.LookupKey
		if item.CurrentPeriodEnd != 0 {
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
