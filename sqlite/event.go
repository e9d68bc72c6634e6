package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paywall/paywall"
)

// SaveEvent stores a verified event unless one with its ID is already stored,
// and reports whether it was new. It returns only after the commit, so a 200
// sent to Stripe after it never loses the event.
func (s *Store) SaveEvent(ctx context.Context, e paywall.Event) (bool, error) {
	var inserted bool
	err := s.tx(ctx, func(tx *txn) error {
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
// oldest Stripe timestamp first. With a Lease, it claims them: their next
// attempt moves a lease ahead, so no other worker takes them up meanwhile.
func (s *Store) DueEvents(ctx context.Context, limit int) ([]paywall.Event, error) {
	const due = `
		SELECT id FROM events
		WHERE processed_at IS NULL AND failed = 0 AND next_attempt_at <= ?
		ORDER BY created, received_at, id LIMIT ?`
	const cols = `id, type, api_version, livemode, created, payload, received_at, attempts,
			last_error`
	if s.Lease <= 0 {
		return queryEvents(s.db.QueryContext(ctx, `SELECT `+cols+` FROM events
			WHERE id IN (`+due+`) ORDER BY created, received_at, id`, s.now(), limit))
	}
	var out []paywall.Event
	err := s.tx(ctx, func(tx *txn) error {
		var err error
		out, err = queryEvents(tx.QueryContext(ctx, `
			UPDATE events SET next_attempt_at = ?
			WHERE id IN (`+due+` {skip_locked}) AND processed_at IS NULL AND next_attempt_at <= ?
			RETURNING `+cols, s.Now().Add(s.Lease).Unix(), s.now(), limit, s.now()))
		return err
	})
	slices.SortFunc(out, func(a, b paywall.Event) int {
		return cmp.Or(a.Created.Compare(b.Created), a.ReceivedAt.Compare(b.ReceivedAt),
			strings.Compare(a.ID, b.ID))
	})
	return out, err
}

func queryEvents(rows *sql.Rows, err error) ([]paywall.Event, error) {
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
	return s.tx(ctx, func(tx *txn) error {
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
// member the change touched, or 0, and tells the other processes on one
// PostgreSQL database to forget what they cached of that member.
func (s *Store) ApplyEvent(ctx context.Context, eventID string, c paywall.Change) (int64, error) {
	var member int64
	err := s.tx(ctx, func(tx *txn) error {
		if err := tx.lockApply(ctx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`UPDATE events SET processed_at = ?, attempts = attempts + 1, last_error = ''
			 WHERE id = ? AND processed_at IS NULL`, s.now(), eventID)
		if err != nil {
			return fmt.Errorf("mark event processed: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // already applied, or never stored
		}
		if member, err = s.applyChange(ctx, tx, eventID, c); err != nil {
			return err
		}
		return tx.forget(ctx, member)
	})
	return member, err
}

func (s *Store) applyChange(ctx context.Context, tx *txn, eventID string, c paywall.Change) (int64, error) {
	var member int64
	if c.Purchase != nil {
		m, err := s.applyPurchase(ctx, tx, *c.Purchase)
		if err != nil {
			return 0, err
		}
		member = m
		// Mail owed by events that came before the checkout can go now.
		if err := s.queueNotices(ctx, tx, c.Purchase.CustomerID, m, nil); err != nil {
			return 0, err
		}
	}
	steps := []func() error{
		func() error { return s.applyCharge(ctx, tx, c.Charge) },
		func() error { return s.applySubscriptionChange(ctx, tx, c.Subscription) },
		func() error { return s.applyInvoiceChange(ctx, tx, c.Invoice) },
		func() error { return s.applyHold(ctx, tx, c.Hold) },
		func() error { return s.applyPrice(ctx, tx, c.Price) },
		func() error { return s.applyCustomerContact(ctx, tx, c.Customer) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return 0, err
		}
	}
	if c.Notice != nil {
		m, err := s.applyNotice(ctx, tx, *c.Notice, c.Subscription)
		if err != nil {
			return 0, err
		}
		if member == 0 {
			member = m
		}
	}
	if member == 0 {
		return affectedMember(ctx, tx, c)
	}
	return member, nil
}

// affectedMember returns the member whose access a subscription or hold
// change may have changed, or 0, so that caches of their access are dropped.
func affectedMember(ctx context.Context, tx *txn, c paywall.Change) (int64, error) {
	customer := ""
	switch {
	case c.Subscription != nil:
		customer = c.Subscription.CustomerID
	case c.Hold != nil && c.Hold.CustomerID != "":
		customer = c.Hold.CustomerID
	case c.Hold != nil && c.Hold.ChargeID != "":
		err := tx.QueryRowContext(ctx, `SELECT customer_id FROM charges WHERE id = ?`,
			c.Hold.ChargeID).Scan(&customer)
		if err != nil && !isNoRows(err) {
			return 0, fmt.Errorf("find charge customer: %w", err)
		}
	}
	return memberByCustomer(ctx, tx, customer)
}

func (s *Store) applySubscriptionChange(ctx context.Context, tx *txn, sub *paywall.Subscription) error {
	if sub == nil {
		return nil
	}
	return s.applySubscription(ctx, tx, *sub)
}

func (s *Store) applyInvoiceChange(ctx context.Context, tx *txn, in *paywall.Invoice) error {
	if in == nil {
		return nil
	}
	return s.applyInvoice(ctx, tx, *in)
}

func (s *Store) applyCharge(ctx context.Context, tx *txn, ch *paywall.Charge) error {
	if ch == nil || ch.CustomerID == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO charges (id, customer_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, ch.ID, ch.CustomerID, s.now())
	if err != nil {
		return fmt.Errorf("store charge: %w", err)
	}
	return nil
}

// applyHold stores h unless what is stored is newer (paywall.Hold.Newer).
func (s *Store) applyHold(ctx context.Context, tx *txn, h *paywall.Hold) error {
	if h == nil {
		return nil
	}
	var old paywall.Hold
	err := tx.QueryRowContext(ctx, `SELECT active, version FROM holds WHERE id = ?`, h.ID).
		Scan(&old.Active, &old.Version)
	switch {
	case isNoRows(err):
	case err != nil:
		return fmt.Errorf("get hold: %w", err)
	case !h.Newer(old):
		return nil
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO holds (id, reason, customer_id, charge_id, active, version, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET active = excluded.active, version = excluded.version,
			customer_id = CASE WHEN excluded.customer_id != '' THEN excluded.customer_id
				ELSE holds.customer_id END,
			charge_id = CASE WHEN excluded.charge_id != '' THEN excluded.charge_id
				ELSE holds.charge_id END,
			updated_at = excluded.updated_at`,
		h.ID, h.Reason, h.CustomerID, h.ChargeID, h.Active, h.Version, s.now())
	if err != nil {
		return fmt.Errorf("store hold: %w", err)
	}
	return nil
}

func (s *Store) applyPrice(ctx context.Context, tx *txn, p *paywall.StripePrice) error {
	if p == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO stripe_prices (id, lookup_key, active, amount, currency, version, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET lookup_key = excluded.lookup_key,
			active = excluded.active, amount = excluded.amount, currency = excluded.currency,
			version = excluded.version, updated_at = excluded.updated_at
		WHERE excluded.version >= stripe_prices.version`,
		p.ID, p.LookupKey, p.Active, p.Amount, p.Currency, p.Version, s.now())
	if err != nil {
		return fmt.Errorf("store price: %w", err)
	}
	return nil
}

// applyNotice records the mail n owes, unless it is no longer owed
// (noticeOwed), and queues it at once when the customer's member is known.
// It returns that member, or 0. sub is the subscription that came with n.
func (s *Store) applyNotice(ctx context.Context, tx *txn, n paywall.Notice,
	sub *paywall.Subscription) (int64, error) {
	if n.Ends != "" {
		// Settled already: the deleted event that owes this mail later
		// finds its notice and sends nothing.
		_, err := tx.ExecContext(ctx, `
			INSERT INTO notices (kind, cause, customer_id, created_at, queued_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, cause) DO NOTHING`,
			paywall.MailSubscriptionEnded, paywall.EndedCause(n.Ends), n.CustomerID, s.now(), s.now())
		if err != nil {
			return 0, fmt.Errorf("settle notice: %w", err)
		}
	}
	if owed, err := s.noticeOwed(ctx, tx, n, sub); err != nil || !owed {
		return 0, err
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO notices (kind, cause, customer_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, cause) DO NOTHING`, n.Kind, n.Cause, n.CustomerID, s.now())
	if err != nil {
		return 0, fmt.Errorf("record notice: %w", err)
	}
	member, err := memberByCustomer(ctx, tx, n.CustomerID)
	if err != nil || member == 0 {
		return 0, err
	}
	return member, s.queueNotices(ctx, tx, n.CustomerID, member, sub)
}

// queueNotices moves the customer's unqueued notices to the outbox, but for
// a trial notice its subscription overtook (noticeOwed; sub is the
// subscription of the change being applied, or nil), which is settled
// without mail. The outbox's unique (kind, cause) keeps each one mail.
func (s *Store) queueNotices(ctx context.Context, tx *txn, customer string, member int64,
	sub *paywall.Subscription) error {
	if customer == "" {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT kind, cause FROM notices WHERE customer_id = ? AND queued_at IS NULL`, customer)
	if err != nil {
		return fmt.Errorf("list notices: %w", err)
	}
	var due []paywall.Notice
	for rows.Next() {
		var n paywall.Notice
		if err := rows.Scan(&n.Kind, &n.Cause); err != nil {
			rows.Close()
			return fmt.Errorf("scan notice: %w", err)
		}
		due = append(due, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list notices: %w", err)
	}
	for _, n := range due {
		owed, err := s.noticeOwed(ctx, tx, n, sub)
		if err != nil {
			return err
		}
		if !owed {
			continue
		}
		if err := s.enqueueMail(ctx, tx, member, n.Kind, n.Cause); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE notices SET queued_at = ? WHERE customer_id = ? AND queued_at IS NULL`,
		s.now(), customer)
	if err != nil {
		return fmt.Errorf("mark notices queued: %w", err)
	}
	return nil
}

// EventFilter selects events to list.
type EventFilter struct {
	FailedOnly bool
	Limit      int // 0 means 100
}

// Events lists stored events, newest received first, without their payloads.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]paywall.Event, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT id, type, api_version, livemode, created, received_at, processed_at, attempts,
			last_error, failed
		FROM events WHERE failed = 1 OR ? = 0
		ORDER BY received_at DESC, created DESC, id LIMIT ?`, f.FailedOnly, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []paywall.Event
	for rows.Next() {
		var e paywall.Event
		var created, received int64
		var processed sql.NullInt64
		err := rows.Scan(&e.ID, &e.Type, &e.APIVersion, &e.Livemode, &created, &received,
			&processed, &e.Attempts, &e.LastError, &e.Failed)
		if err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		e.Created, e.ReceivedAt, e.ProcessedAt = unix(created), unix(received), nullUnix(processed)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ReplayEvent makes a stored event pending again, processed or failed, so
// the worker applies it once more. Applying is idempotent: a replay
// changes state only where the event is newer than what is stored, and
// sends no mail already sent.
func (s *Store) ReplayEvent(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE events SET processed_at = NULL, failed = 0, attempts = 0, next_attempt_at = ?
			WHERE id = ?`, s.now(), id)
		if err != nil {
			return fmt.Errorf("replay event: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return paywall.Errorf(paywall.NotFound, "no event %s", id)
		}
		return nil
	})
}

// RetryFailed makes every failed event pending again and returns how many.
func (s *Store) RetryFailed(ctx context.Context) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE events SET failed = 0, attempts = 0, next_attempt_at = ? WHERE failed = 1`, s.now())
		if err != nil {
			return fmt.Errorf("retry failed events: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
