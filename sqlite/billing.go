package sqlite

import (
	"context"
	"fmt"

	"github.com/paywall/paywall"
)

// ApplyChange applies a change read from Stripe's own records rather than
// from an event: the success page's look-up of a checkout whose webhook has
// not arrived, and reconcile's repairs. It is the same code as an event's,
// in one transaction, and as idempotent: applying it twice, or before or
// after the event that carries the same news, leaves the same state. It
// returns the member the change touched, or 0.
func (s *Store) ApplyChange(ctx context.Context, c paywall.Change) (int64, error) {
	var member int64
	err := s.tx(ctx, func(tx *txn) error {
		if err := tx.lockApply(ctx); err != nil {
			return err
		}
		var err error
		if member, err = s.applyChange(ctx, tx, "", c); err != nil {
			return err
		}
		return tx.forget(ctx, member)
	})
	return member, err
}

// AllSubscriptions returns every stored subscription, by ID.
func (s *Store) AllSubscriptions(ctx context.Context) ([]paywall.Subscription, error) {
	return querySubscriptions(ctx, s.db, subscriptionSelect+` ORDER BY s.id`)
}

// CustomerMembers returns every linked Stripe customer and its member.
func (s *Store) CustomerMembers(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, member_id FROM customers`)
	if err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var member int64
		if err := rows.Scan(&id, &member); err != nil {
			return nil, fmt.Errorf("scan customer: %w", err)
		}
		out[id] = member
	}
	return out, rows.Err()
}

// MemberOfCustomer returns the member linked to a Stripe customer, or 0.
func (s *Store) MemberOfCustomer(ctx context.Context, customer string) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT member_id FROM customers WHERE id = ?`, customer).Scan(&id)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find member of customer: %w", err)
	}
	return id, nil
}

// EnqueueMail writes a mail of kind to the outbox for member, once per cause.
func (s *Store) EnqueueMail(ctx context.Context, member int64, kind, cause string) error {
	return s.tx(ctx, func(tx *txn) error {
		return s.enqueueMail(ctx, tx, member, kind, cause)
	})
}
