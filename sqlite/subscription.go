package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/paywall/paywall"
)

// applySubscription stores s unless what is stored is newer (see
// paywall.Subscription.Newer).
func (s *Store) applySubscription(ctx context.Context, tx *txn, sub paywall.Subscription) error {
	// Recorded before the version check: a stale snapshot still tells
	// which period was the last one paid before collection paused.
	_, err := tx.ExecContext(ctx, `
		INSERT INTO subscription_pauses (subscription_id, version, paused, period_end)
		VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		sub.ID, sub.Version, sub.PauseCollection, unixOf(sub.PeriodEnd))
	if err != nil {
		return fmt.Errorf("record pause state: %w", err)
	}
	old, err := scanSubscription(tx.QueryRowContext(ctx, subscriptionSelect+` WHERE id = ?`, sub.ID))
	switch {
	case isNoRows(err):
	case err != nil:
		return fmt.Errorf("get subscription: %w", err)
	case !sub.Newer(old):
		return nil
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO subscriptions (id, customer_id, status, plan_id, lookup_key, period_start,
			period_end, cancel_at, pause_collection, version, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id,
			status = excluded.status, plan_id = excluded.plan_id,
			lookup_key = excluded.lookup_key, period_start = excluded.period_start,
			period_end = excluded.period_end,
			cancel_at = excluded.cancel_at, pause_collection = excluded.pause_collection,
			version = excluded.version, updated_at = excluded.updated_at`,
		sub.ID, sub.CustomerID, sub.Status, sub.PlanID, sub.LookupKey, unixOf(sub.PeriodStart),
		unixOf(sub.PeriodEnd),
		unixOf(sub.CancelAt), sub.PauseCollection, sub.Version, s.now())
	if err != nil {
		return fmt.Errorf("store subscription: %w", err)
	}
	return nil
}

// subscriptionSelect reads a subscription with its holds: the active holds
// on its customer, directly or through a charge, and whether its checkout
// is still waiting for a delayed payment. Holds are joined when read, not
// copied when written, so they apply whichever event arrives first.
const subscriptionSelect = `
	SELECT s.id, s.customer_id, s.status, s.plan_id, s.lookup_key, s.period_start, s.period_end,
		s.cancel_at, s.pause_collection, s.version,
		(SELECT {reasons} FROM holds h
			LEFT JOIN charges ch ON ch.id = h.charge_id
			WHERE h.active = 1 AND (h.customer_id = s.customer_id
				OR (h.customer_id = '' AND ch.customer_id = s.customer_id))),
		EXISTS (SELECT 1 FROM checkouts k WHERE k.subscription_id = s.id AND k.paid = 0),
		(SELECT min(p.period_end) FROM subscription_pauses p
			WHERE p.subscription_id = s.id AND p.paused = 1 AND p.version >
				(SELECT coalesce(max(u.version), -1) FROM subscription_pauses u
					WHERE u.subscription_id = s.id AND u.paused = 0))
	FROM subscriptions s`

type scanner interface{ Scan(...any) error }

func scanSubscription(row scanner) (paywall.Subscription, error) {
	var sub paywall.Subscription
	var periodStart, periodEnd, cancelAt int64
	var holds sql.NullString
	var pending bool
	var pausedUntil sql.NullInt64
	err := row.Scan(&sub.ID, &sub.CustomerID, &sub.Status, &sub.PlanID, &sub.LookupKey,
		&periodStart, &periodEnd, &cancelAt, &sub.PauseCollection, &sub.Version, &holds, &pending,
		&pausedUntil)
	sub.PausedUntil = unix(pausedUntil.Int64)
	sub.PeriodStart, sub.PeriodEnd, sub.CancelAt = unix(periodStart), unix(periodEnd), unix(cancelAt)
	if holds.String != "" {
		sub.Holds = strings.Split(holds.String, ",")
	}
	if pending {
		sub.Holds = append(sub.Holds, paywall.HoldPaymentPending)
	}
	return sub, err
}

// Subscriptions returns every subscription of every Stripe customer of the member.
func (s *Store) Subscriptions(ctx context.Context, member int64) ([]paywall.Subscription, error) {
	return querySubscriptions(ctx, s.db, subscriptionSelect+`
		JOIN customers c ON c.id = s.customer_id WHERE c.member_id = ?
		ORDER BY s.version`, member)
}

// querySubscriptions runs a query that selects subscriptionSelect's columns.
func querySubscriptions(ctx context.Context, q querier, query string, args ...any) ([]paywall.Subscription, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	defer rows.Close()
	var out []paywall.Subscription
	for rows.Next() {
		sub, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("scan subscription: %w", err)
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

func (s *Store) applyInvoice(ctx context.Context, tx *txn, in paywall.Invoice) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO invoices (id, customer_id, subscription_id, number, status, amount,
			currency, url, created_at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, amount = excluded.amount,
			number = excluded.number, url = excluded.url, version = excluded.version
		WHERE excluded.version >= invoices.version`,
		in.ID, in.CustomerID, in.SubscriptionID, in.Number, in.Status, in.Amount, in.Currency,
		in.URL, unixOf(in.Created), in.Version)
	if err != nil {
		return fmt.Errorf("store invoice: %w", err)
	}
	return nil
}

// Invoices returns the member's invoices, newest first.
func (s *Store) Invoices(ctx context.Context, member int64) ([]paywall.Invoice, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT i.id, i.customer_id, i.subscription_id, i.number, i.status, i.amount,
			i.currency, i.url, i.created_at, i.version
		FROM invoices i JOIN customers c ON c.id = i.customer_id
		WHERE c.member_id = ? ORDER BY i.created_at DESC, i.id`, member)
	if err != nil {
		return nil, fmt.Errorf("list invoices: %w", err)
	}
	defer rows.Close()
	var out []paywall.Invoice
	for rows.Next() {
		var in paywall.Invoice
		var created int64
		err := rows.Scan(&in.ID, &in.CustomerID, &in.SubscriptionID, &in.Number, &in.Status,
			&in.Amount, &in.Currency, &in.URL, &created, &in.Version)
		if err != nil {
			return nil, fmt.Errorf("scan invoice: %w", err)
		}
		in.Created = unix(created)
		out = append(out, in)
	}
	return out, rows.Err()
}

// CheckoutEmail returns the email of the member a completed checkout created
// or linked, and whether it was paid. found is false while the checkout's
// webhook has not been processed.
func (s *Store) CheckoutEmail(ctx context.Context, sessionID string) (email string, paid, found bool, err error) {
	err = s.db.QueryRowContext(ctx, `
		SELECT m.email, c.paid FROM checkouts c JOIN members m ON m.id = c.member_id
		WHERE c.id = ?`, sessionID).Scan(&email, &paid)
	if isNoRows(err) {
		return "", false, false, nil
	}
	if err != nil {
		return "", false, false, fmt.Errorf("get checkout: %w", err)
	}
	return email, paid, true, nil
}
