package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/paywall/paywall"
)

// SaveEvent stores a verified event unless one with its ID is already stored,
// and reports whether it was new. It returns only after the commit, so a 200
// sent to Stripe after it never loses the event.
func (s *Store) SaveEvent(ctx context.Context, e paywall.Event) (bool, error) {
	var inserted bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO events (id, type, api_version, livemode, created, payload,
				received_at, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`,
			e.ID, e.Type, e.APIVersion, e.Livemode, e.Created.Unix(), e.Payload,
			s.now(), s.now())
		if err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		n, err := res.RowsAffected()
		inserted = n == 1
		return err
	})
	return inserted, err
}

// DueEvents returns up to limit pending events whose next attempt is due,
// oldest Stripe timestamp first.
func (s *Store) DueEvents(ctx context.Context, limit int) ([]paywall.Event, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT id, type, api_version, livemode, created, payload, received_at, attempts,
			last_error
		FROM events
		WHERE processed_at IS NULL AND failed = 0 AND next_attempt_at <= ?
		ORDER BY created, received_at, id
		LIMIT ?`, s.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("list due events: %w", err)
	}
	defer rows.Close()
	var out []paywall.Event
	for rows.Next() {
		var e paywall.Event
		var created, received int64
		err := rows.Scan(&e.ID, &e.Type, &e.APIVersion, &e.Livemode, &created, &e.Payload,
			&received, &e.Attempts, &e.LastError)
		if err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		e.Created, e.ReceivedAt = unix(created), unix(received)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Event returns the stored event with the given ID.
func (s *Store) Event(ctx context.Context, id string) (paywall.Event, error) {
	var e paywall.Event
	var created, received int64
	var processed sql.NullInt64
	err := s.db.QueryRowContext(ctx, `
		SELECT id, type, api_version, livemode, created, payload, received_at, processed_at,
			attempts, last_error, failed
		FROM events WHERE id = ?`, id).Scan(&e.ID, &e.Type, &e.APIVersion, &e.Livemode,
		&created, &e.Payload, &received, &processed, &e.Attempts, &e.LastError, &e.Failed)
	if isNoRows(err) {
		return e, paywall.Errorf(paywall.NotFound, "no event %s", id)
	}
	if err != nil {
		return e, fmt.Errorf("get event: %w", err)
	}
	e.Created, e.ReceivedAt, e.ProcessedAt = unix(created), unix(received), nullUnix(processed)
	return e, nil
}

// DeferEvent records a failed attempt. The event is tried again at next, or,
// when failed is true, set aside as failed until replayed.
func (s *Store) DeferEvent(ctx context.Context, id, msg string, next time.Time, failed bool) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			UPDATE events SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
				failed = ?
			WHERE id = ? AND processed_at IS NULL`, msg, next.Unix(), failed, id)
		if err != nil {
			return fmt.Errorf("defer event: %w", err)
		}
		return nil
	})
}

// ApplyEvent applies the change an event carries and marks the event
// processed, in one transaction. An event already processed changes nothing,
// so a redelivery or a second worker can never apply it twice. It returns the
// member the change touched, or 0.
func (s *Store) ApplyEvent(ctx context.Context, eventID string, c paywall.Change) (int64, error) {
	var member int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE events SET processed_at = ?, attempts = attempts + 1, last_error = ''
			 WHERE id = ? AND processed_at IS NULL`, s.now(), eventID)
		if err != nil {
			return fmt.Errorf("mark event processed: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // already applied, or never stored
		}
		member, err = s.applyChange(ctx, tx, eventID, c)
		return err
	})
	return member, err
}

func (s *Store) applyChange(ctx context.Context, tx *sql.Tx, eventID string, c paywall.Change) (int64, error) {
	var member int64
	if c.Purchase != nil {
		m, err := s.applyPurchase(ctx, tx, *c.Purchase)
		if err != nil {
			return 0, err
		}
		member = m
	}
	if c.Subscription != nil {
		if err := s.applySubscription(ctx, tx, *c.Subscription); err != nil {
			return 0, err
		}
		if member == 0 {
			// Report whose access may have changed, so that caches forget it.
			m, err := memberByCustomer(ctx, tx, c.Subscription.CustomerID)
			if err != nil {
				return 0, err
			}
			member = m
		}
	}
	if c.Invoice != nil {
		if err := s.applyInvoice(ctx, tx, *c.Invoice); err != nil {
			return 0, err
		}
	}
	return member, nil
}
