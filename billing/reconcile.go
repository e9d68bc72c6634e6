package billing

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v84"

	"github.com/paywall/paywall"
)

// ReconcileStore is the local state reconcile compares with Stripe's and
// repairs.
type ReconcileStore interface {
	Applier
	AllSubscriptions(ctx context.Context) ([]paywall.Subscription, error)
	CustomerMembers(ctx context.Context) (map[string]int64, error)
}

// Difference is one way local state differs from Stripe's.
type Difference struct {
	Subscription string
	Customer     string
	Field        string // status, plan, period_end, cancel_at, or what is missing where
	Local        string
	Stripe       string
	// Repairable says applying Stripe's subscription fixes it; what Stripe
	// does not list is only reported.
	Repairable bool
}

// Reconciliation is the outcome of one comparison.
type Reconciliation struct {
	Customers     int // listed in Stripe
	Subscriptions int // listed in Stripe, every status
	Differences   []Difference
	Repaired      int // subscriptions applied from Stripe's record
}

// Reconcile lists every customer and every subscription in Stripe,
// following every page, and compares them with local state. Unless dryRun,
// it applies Stripe's record of each subscription that differs, through the
// same decoder and store code as a customer.subscription.updated event
// dated now. Local subscriptions Stripe does not list are reported and left
// alone: there is no Stripe record to apply.
func (s *Stripe) Reconcile(ctx context.Context, store ReconcileStore, cat paywall.Catalog, now time.Time, dryRun bool) (Reconciliation, error) {
	var rec Reconciliation
	remote, err := s.listSubscriptions(ctx, cat, now)
	if err != nil {
		return rec, err
	}
	customers, err := s.listCustomers(ctx)
	if err != nil {
		return rec, err
	}
	rec.Customers, rec.Subscriptions = len(customers), len(remote)
	locals, err := store.AllSubscriptions(ctx)
	if err != nil {
		return rec, err
	}
	linked, err := store.CustomerMembers(ctx)
	if err != nil {
		return rec, err
	}
	rec.Differences = compare(remote, locals, linked)
	if dryRun {
		return rec, nil
	}
	for _, sub := range toRepair(remote, rec.Differences) {
		if _, err := store.ApplyChange(ctx, paywall.Change{Subscription: &sub}); err != nil {
			return rec, fmt.Errorf("repair subscription %s: %w", sub.ID, err)
		}
		rec.Repaired++
	}
	return rec, nil
}

func (s *Stripe) listSubscriptions(ctx context.Context, cat paywall.Catalog, now time.Time) ([]paywall.Subscription, error) {
	params := &stripe.SubscriptionListParams{Status: stripe.String("all")}
	params.Limit = stripe.Int64(100)
	var out []paywall.Subscription
	for sub, err := range s.client.V1Subscriptions.List(ctx, params) {
		if err != nil {
			return nil, stripeError("list subscriptions", err)
		}
		// Back to JSON, so that the event decoder reads it: one reading of
		// a subscription for events, the success page and reconcile.
		raw, err := json.Marshal(sub)
		if err != nil {
			return nil, fmt.Errorf("encode subscription %s: %w", sub.ID, err)
		}
		change, err := subscriptionChange(raw, cat, now)
		if err != nil {
			return nil, err
		}
		out = append(out, *change.Subscription)
	}
	return out, nil
}

func (s *Stripe) listCustomers(ctx context.Context) (map[string]string, error) {
	params := &stripe.CustomerListParams{}
	params.Limit = stripe.Int64(100)
	out := map[string]string{}
	for c, err := range s.client.V1Customers.List(ctx, params) {
		if err != nil {
			return nil, stripeError("list customers", err)
		}
		out[c.ID] = c.Email
	}
	return out, nil
}

// compare lists the differences between Stripe's subscriptions and ours,
// in a stable order.
func compare(remote, locals []paywall.Subscription, linked map[string]int64) []Difference {
	local := map[string]paywall.Subscription{}
	for _, l := range locals {
		local[l.ID] = l
	}
	var out []Difference
	unlinked := map[string]bool{}
	for _, r := range remote {
		if _, ok := linked[r.CustomerID]; !ok && r.Status.Live() && !unlinked[r.CustomerID] {
			unlinked[r.CustomerID] = true
			out = append(out, Difference{Subscription: r.ID, Customer: r.CustomerID,
				Field: "member", Local: "none", Stripe: "customer with a live subscription"})
		}
		l, ok := local[r.ID]
		if !ok {
			out = append(out, Difference{Subscription: r.ID, Customer: r.CustomerID,
				Field: "subscription", Local: "missing", Stripe: string(r.Status), Repairable: true})
			continue
		}
		out = append(out, fieldDifferences(l, r)...)
		delete(local, r.ID)
	}
	for _, l := range local {
		out = append(out, Difference{Subscription: l.ID, Customer: l.CustomerID,
			Field: "subscription", Local: string(l.Status), Stripe: "missing"})
	}
	out = append(out, duplicates(remote, linked)...)
	slices.SortStableFunc(out, func(a, b Difference) int {
		if a.Subscription != b.Subscription {
			return cmp.Compare(a.Subscription, b.Subscription)
		}
		return cmp.Compare(a.Field, b.Field)
	})
	return out
}

// duplicates reports each member Stripe bills through more than one live
// subscription, which checkout refuses and the duplicate check cancels when
// the newer one's events come; one missed (PAYWALL_CANCEL_DUPLICATES off
// then, or a cancellation Stripe refused) shows here, for a person to
// settle in the Stripe Dashboard.
func duplicates(remote []paywall.Subscription, linked map[string]int64) []Difference {
	live := map[int64][]paywall.Subscription{}
	var members []int64
	for _, r := range remote {
		m, ok := linked[r.CustomerID]
		if !ok || !r.Status.Live() {
			continue
		}
		if len(live[m]) == 0 {
			members = append(members, m)
		}
		live[m] = append(live[m], r)
	}
	var out []Difference
	for _, m := range members {
		subs := live[m]
		if len(subs) < 2 {
			continue
		}
		slices.SortFunc(subs, func(a, b paywall.Subscription) int { return cmp.Compare(a.ID, b.ID) })
		ids := make([]string, len(subs))
		for i, s := range subs {
			ids[i] = s.ID
		}
		out = append(out, Difference{Subscription: subs[0].ID, Customer: subs[0].CustomerID,
			Field: "duplicate", Local: fmt.Sprintf("member %d", m),
			Stripe: fmt.Sprintf("%d live subscriptions: %s", len(subs), strings.Join(ids, ", "))})
	}
	return out
}

func fieldDifferences(l, r paywall.Subscription) []Difference {
	var out []Difference
	add := func(field, local, remote string) {
		local, remote = cmp.Or(local, "-"), cmp.Or(remote, "-")
		if local != remote {
			out = append(out, Difference{Subscription: r.ID, Customer: r.CustomerID, Field: field,
				Local: local, Stripe: remote, Repairable: true})
		}
	}
	add("status", string(l.Status), string(r.Status))
	add("plan", l.PlanID, r.PlanID)
	add("customer", l.CustomerID, r.CustomerID)
	add("period_end", day(l.PeriodEnd), day(r.PeriodEnd))
	add("cancel_at", day(l.CancelAt), day(r.CancelAt))
	return out
}

func toRepair(remote []paywall.Subscription, diffs []Difference) []paywall.Subscription {
	want := map[string]bool{}
	for _, d := range diffs {
		if d.Repairable {
			want[d.Subscription] = true
		}
	}
	var out []paywall.Subscription
	for _, r := range remote {
		if want[r.ID] {
			out = append(out, r)
		}
	}
	return out
}

// day shows a time to the second in UTC, or "-" for none.
func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateTime)
}
