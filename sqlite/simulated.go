package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/paywall/paywall"
)

// CreateSimulatedCheckout stores a new simulated order.
func (s *Store) CreateSimulatedCheckout(ctx context.Context, c paywall.SimulatedCheckout) error {
	return s.tx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO simulated_checkouts (id, plan_id, "interval", email, created_at)
			VALUES (?, ?, ?, ?, ?)`, c.ID, c.PlanID, c.Interval, c.Email, s.now())
		if err != nil {
			return fmt.Errorf("create simulated checkout: %w", err)
		}
		return nil
	})
}

// SimulatedCheckout returns a simulated order by ID.
func (s *Store) SimulatedCheckout(ctx context.Context, id string) (paywall.SimulatedCheckout, error) {
	var c paywall.SimulatedCheckout
	var created int64
	var completed sql.NullInt64
	err := s.db.QueryRowContext(ctx, `
		SELECT id, plan_id, "interval", email, created_at, completed_at
		FROM simulated_checkouts WHERE id = ?`, id).Scan(&c.ID, &c.PlanID, &c.Interval,
		&c.Email, &created, &completed)
	if isNoRows(err) {
		return c, paywall.Errorf(paywall.NotFound, "no such checkout")
	}
	if err != nil {
		return c, fmt.Errorf("get simulated checkout: %w", err)
	}
	c.CreatedAt, c.CompletedAt = unix(created), nullUnix(completed)
	return c, nil
}

// CompleteSimulatedCheckout marks an order completed with the buyer's email
// and returns it. An order completed before keeps its first email, so that a
// second click sends the same events again, which the inbox then ignores.
func (s *Store) CompleteSimulatedCheckout(ctx context.Context, id, email string) (paywall.SimulatedCheckout, error) {
	err := s.tx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			UPDATE simulated_checkouts SET completed_at = ?, email = ?
			WHERE id = ? AND completed_at IS NULL`, s.now(), email, id)
		if err != nil {
			return fmt.Errorf("complete simulated checkout: %w", err)
		}
		return nil
	})
	if err != nil {
		return paywall.SimulatedCheckout{}, err
	}
	return s.SimulatedCheckout(ctx, id)
}

// Setting returns the stored value of key, storing value first when the key
// has none, so that concurrent first starts agree on one value.
func (s *Store) Setting(ctx context.Context, key, value string) (string, error) {
	var got string
	err := s.tx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value)
		if err != nil {
			return fmt.Errorf("store setting: %w", err)
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&got)
	})
	return got, err
}
