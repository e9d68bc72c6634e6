package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/stripe/stripe-go/v84"

	"github.com/paywall/paywall"
)

// DuplicateStore is what the duplicate check reads and writes locally.
type DuplicateStore interface {
	Applier
	MemberOfCustomer(ctx context.Context, customer string) (int64, error)
	Subscriptions(ctx context.Context, member int64) ([]paywall.Subscription, error)
}

// Duplicates finds a member's second live subscription, which checkout
// refuses but two checkouts completed in parallel can still make, and
// cancels it with a refund.
type Duplicates struct {
	Stripe *Stripe
	Store  DuplicateStore
	Log    *slog.Logger
	Now    func() time.Time
	// Cancel turns the cancellation and refund on; off, the case is only
	// logged for a person to decide.
	Cancel bool
	// Applied is called with the member a cancellation touched, to send mail.
	Applied func(member int64)
}

// Watch returns inbox as the worker should see it: after each applied event
// that brings a live subscription or a checkout, the customer's member is
// checked for a second live subscription.
func (d *Duplicates) Watch(inbox Inbox) Inbox { return duplicateWatch{Inbox: inbox, d: d} }

type duplicateWatch struct {
	Inbox
	d *Duplicates
}

func (w duplicateWatch) ApplyEvent(ctx context.Context, id string, c paywall.Change) (int64, error) {
	member, err := w.Inbox.ApplyEvent(ctx, id, c)
	if err != nil {
		return member, err
	}
	switch {
	case c.Subscription != nil && c.Subscription.Status.Live():
		w.d.Check(ctx, c.Subscription.CustomerID, c.Subscription.ID)
	case c.Purchase != nil && c.Purchase.SubscriptionID != "":
		w.d.Check(ctx, c.Purchase.CustomerID, c.Purchase.SubscriptionID)
	}
	return member, nil
}

// Check looks at the member of customer: when subscription is live and
// another live subscription of the member is at least as old, subscription
// is the duplicate. Its failures are logged, not returned: the event that
// brought the news is applied and marked processed already, so the worker
// does not take it up again. A cancellation Stripe refused is tried again
// only when a later event brings news of the duplicate (its checkout, an
// update); reconcile only reports a member with two live subscriptions, so
// the error log asks a person to cancel it meanwhile.
func (d *Duplicates) Check(ctx context.Context, customer, subscription string) {
	log := d.Log.With("customer_id", customer, "subscription_id", subscription)
	member, err := d.Store.MemberOfCustomer(ctx, customer)
	if err != nil || member == 0 {
		return
	}
	log = log.With("member_id", member)
	subs, err := d.Store.Subscriptions(ctx, member)
	if err != nil {
		log.Error("check duplicate subscription", "error", err)
		return
	}
	kept, dup, err := d.duplicate(ctx, subs, subscription)
	if err != nil {
		log.Error("check duplicate subscription", "error", err)
		return
	}
	if dup == nil {
		return
	}
	log = log.With("kept_subscription_id", kept)
	if !d.Cancel {
		log.Warn("duplicate subscription left active (PAYWALL_CANCEL_DUPLICATES=off)")
		return
	}
	if d.cancel(ctx, log, *dup) && d.Applied != nil {
		d.Applied(member)
	}
}

// duplicate returns the subscription to keep and the one to cancel, or nil
// when id is not live or is the oldest of the member's live subscriptions.
func (d *Duplicates) duplicate(ctx context.Context, subs []paywall.Subscription, id string) (string, *paywall.Subscription, error) {
	var this *paywall.Subscription
	var others []paywall.Subscription
	for _, s := range subs {
		switch {
		case !s.Status.Live():
		case s.ID == id:
			this = &s
		default:
			others = append(others, s)
		}
	}
	if this == nil || len(others) == 0 {
		return "", nil, nil
	}
	created, err := d.created(ctx, id)
	if err != nil {
		return "", nil, err
	}
	for _, o := range others {
		c, err := d.created(ctx, o.ID)
		if err != nil {
			return "", nil, err
		}
		// On a tie the subscription whose news just came is the newer.
		if c <= created {
			return o.ID, this, nil
		}
	}
	return "", nil, nil
}

func (d *Duplicates) created(ctx context.Context, id string) (int64, error) {
	s, err := d.Stripe.client.V1Subscriptions.Retrieve(ctx, id, nil)
	if err != nil {
		return 0, stripeStep("get subscription "+id, err)
	}
	return s.Created, nil
}

// duplicateComment marks a subscription the duplicate check cancelled, in
// its cancellation details, which Stripe's deleted event carries back.
const duplicateComment = "paywall: duplicate of an earlier live subscription"

// duplicateNotice is the mail telling the member their duplicate sub was
// cancelled. It tells of the end too: the "subscription ended" notice
// Stripe's deleted event for sub owes is settled by it (Ends).
func duplicateNotice(sub paywall.Subscription) *paywall.Notice {
	return &paywall.Notice{Kind: paywall.MailDuplicate, CustomerID: sub.CustomerID,
		Cause: "duplicate:" + sub.ID, Ends: sub.ID}
}

// cancel cancels sub at once, refunds what its latest invoice collected,
// records it canceled through the event code and queues the member's mail
// in the same transaction, logging each outcome. Once Stripe has cancelled
// it, a refund that fails stops neither the others nor the record and the
// mail: the subscription is no longer live, so no later check would come
// back to it. It reports whether the cancellation was recorded.
func (d *Duplicates) cancel(ctx context.Context, log *slog.Logger, sub paywall.Subscription) bool {
	params := &stripe.SubscriptionCancelParams{
		Prorate: stripe.Bool(false),
		CancellationDetails: &stripe.SubscriptionCancelCancellationDetailsParams{
			Comment: stripe.String(duplicateComment)},
	}
	params.AddExpand("latest_invoice")
	params.SetIdempotencyKey("cancel_duplicate_" + sub.ID)
	canceled, err := d.Stripe.client.V1Subscriptions.Cancel(ctx, sub.ID, params)
	if err != nil {
		log.Error("cancel duplicate subscription", "error",
			stripeStep("cancel subscription "+sub.ID, err),
			"note", "cancel it in the Stripe Dashboard and refund its payments")
		return false
	}
	var refunded int64
	var unrefunded int
	if canceled.LatestInvoice != nil && canceled.LatestInvoice.ID != "" {
		refunded, unrefunded = d.refund(ctx, log, sub.ID, canceled.LatestInvoice.ID)
	}

	// Stripe's answer to a cancellation is the subscription canceled; the
	// customer.subscription.deleted event will say the same later.
	sub.Status, sub.Version = paywall.Canceled, d.Now().Unix()
	mail := duplicateNotice(sub)
	if _, err := d.Store.ApplyChange(ctx, paywall.Change{Subscription: &sub, Notice: mail}); err != nil {
		log.Error("record cancelled duplicate subscription", "error", err,
			"refunded", refunded, "unrefunded", unrefunded,
			"note", "cancelled in Stripe, whose deleted event records it; tell the member")
		return false
	}
	log.Warn("duplicate subscription cancelled", "refunded", refunded, "unrefunded", unrefunded)
	return true
}

// refund refunds every paid payment of invoice, each on its own, under a
// key per payment so that a second attempt cannot refund twice. A payment
// is refunded by its PaymentIntent, or by its charge when Stripe names only
// the charge (invoices paid by a charge without a PaymentIntent). A payment
// recorded outside Stripe, or one Stripe refuses to refund (already
// refunded, disputed), is logged for a person. It returns the amount
// refunded and how many payments were not.
func (d *Duplicates) refund(ctx context.Context, log *slog.Logger,
	sub, invoice string) (total int64, unrefunded int) {
	log = log.With("invoice_id", invoice)
	params := &stripe.InvoicePaymentListParams{Invoice: stripe.String(invoice),
		Status: stripe.String("paid")}
	for p, err := range d.Stripe.client.V1InvoicePayments.List(ctx, params) {
		if err != nil {
			log.Error("duplicate invoice payments not listed", "error",
				stripeStep("list invoice payments", err),
				"note", "refund this invoice's payments in the Stripe Dashboard")
			return total, unrefunded + 1
		}
		log := log.With("invoice_payment_id", p.ID, "payment_type", paymentType(p.Payment))
		r, err := d.refundPayment(ctx, sub, p)
		if err != nil {
			log.Error("duplicate payment not refunded", "error", err,
				"note", "refund it in the Stripe Dashboard")
			unrefunded++
			continue
		}
		log.Info("duplicate payment refunded", "refund_id", r.ID, "amount", r.Amount,
			"currency", r.Currency)
		total += r.Amount
	}
	return total, unrefunded
}

// errNotRefundable says a payment was made outside Stripe's reach.
var errNotRefundable = errors.New("payment names no PaymentIntent or charge to refund")

func (d *Duplicates) refundPayment(ctx context.Context, sub string,
	p *stripe.InvoicePayment) (*stripe.Refund, error) {
	rp := &stripe.RefundCreateParams{Reason: stripe.String(string(stripe.RefundReasonDuplicate)),
		Metadata: map[string]string{"subscription": sub}}
	switch pay := p.Payment; {
	case pay != nil && pay.PaymentIntent != nil && pay.PaymentIntent.ID != "":
		rp.PaymentIntent = stripe.String(pay.PaymentIntent.ID)
	case pay != nil && pay.Charge != nil && pay.Charge.ID != "":
		rp.Charge = stripe.String(pay.Charge.ID)
	default:
		return nil, errNotRefundable
	}
	rp.SetIdempotencyKey("refund_duplicate_" + p.ID)
	r, err := d.Stripe.client.V1Refunds.Create(ctx, rp)
	if err != nil {
		return nil, stripeStep("refund duplicate payment "+p.ID, err)
	}
	return r, nil
}

func paymentType(p *stripe.InvoicePaymentPayment) string {
	if p == nil {
		return ""
	}
	return string(p.Type)
}

// stripeStep names the Stripe call that failed, with Stripe's status and
// request ID when it answered: these errors go to the log for a person,
// never to a buyer, so they carry none of stripeError's words for one.
func stripeStep(step string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		return &refusal{step: step, status: se.HTTPStatusCode, requestID: se.RequestID, err: err}
	}
	return fmt.Errorf("%s: %w", step, err)
}
