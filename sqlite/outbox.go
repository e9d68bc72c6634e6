package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/paywall/paywall"
)

// enqueueMail writes a mail to the outbox inside the caller's transaction.
// A second mail of the same kind and cause is dropped.
func (s *Store) enqueueMail(ctx context.Context, tx *sql.Tx, member int64, kind, cause string) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO outbox (member_id, kind, cause, created_at, next_attempt_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (kind, cause) DO NOTHING`, member, kind, cause, s.now(), s.now())
	if err != nil {
		return fmt.Errorf("enqueue %s mail: %w", kind, err)
	}
	return nil
}

// DueMails returns up to limit unsent mails whose next attempt is due.
func (s *Store) DueMails(ctx context.Context, limit int) ([]paywall.Outgoing, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT o.id, o.member_id, m.email, o.kind, o.attempts
		FROM outbox o JOIN members m ON m.id = o.member_id
		WHERE o.sent_at IS NULL AND o.next_attempt_at <= ?
		ORDER BY o.id LIMIT ?`, s.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("list due mail: %w", err)
	}
	defer rows.Close()
	var out []paywall.Outgoing
	for rows.Next() {
		var o paywall.Outgoing
		if err := rows.Scan(&o.ID, &o.MemberID, &o.To, &o.Kind, &o.Attempts); err != nil {
			return nil, fmt.Errorf("scan mail: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// MailSent marks a mail sent.
func (s *Store) MailSent(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`,
			s.now(), id)
		if err != nil {
			return fmt.Errorf("mark mail sent: %w", err)
		}
		return nil
	})
}

// DeferMail records a failed attempt and when to try again.
func (s *Store) DeferMail(ctx context.Context, id int64, msg string, next time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
			WHERE id = ?`, msg, next.Unix(), id)
		if err != nil {
			return fmt.Errorf("defer mail: %w", err)
		}
		return nil
	})
}
