package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paywall/paywall"
)

// enqueueMail writes a mail to the outbox inside the caller's transaction.
// A second mail of the same kind and cause is dropped.
func (s *Store) enqueueMail(ctx context.Context, tx *txn, member int64, kind, cause string) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO outbox (member_id, kind, cause, created_at, next_attempt_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (kind, cause) DO NOTHING`, member, kind, cause, s.now(), s.now())
	if err != nil {
		return fmt.Errorf("enqueue %s mail: %w", kind, err)
	}
	return nil
}

// RequestLinkMail queues the mail a member asked for with their email: a
// sign-in link, or a new setup link while they have no password. It does the
// same work whether or not the email belongs to a member (one statement that
// inserts one row or none), so that neither the answer nor its time tells
// which addresses have accounts. request makes each request's mail unique.
func (s *Store) RequestLinkMail(ctx context.Context, email, request string) error {
	return s.tx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO outbox (member_id, kind, cause, created_at, next_attempt_at)
			SELECT id, CASE WHEN password_hash IS NULL THEN ? ELSE ? END,
				'request:' || CAST(? AS TEXT), ?, ?
			FROM members WHERE email = ?
			ON CONFLICT (kind, cause) DO NOTHING`,
			paywall.MailSetup, paywall.MailSignIn, request, s.now(), s.now(), email)
		if err != nil {
			return fmt.Errorf("enqueue link mail: %w", err)
		}
		return nil
	})
}

// RequestEmailChange queues a mail to the address a signed-in member wants
// to sign in with from now on; the change happens only when its link is used.
func (s *Store) RequestEmailChange(ctx context.Context, member int64, email, request string) error {
	return s.tx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO outbox (member_id, kind, cause, to_address, created_at, next_attempt_at)
			VALUES (?, ?, 'request:' || CAST(? AS TEXT), ?, ?, ?)`,
			member, paywall.MailEmailChange, request, email, s.now(), s.now())
		if err != nil {
			return fmt.Errorf("enqueue email change mail: %w", err)
		}
		return nil
	})
}

// DueMails returns up to limit unsent mails whose next attempt is due. With
// a Lease, it claims them: their next attempt moves a lease ahead, so no
// other process sends them meanwhile.
func (s *Store) DueMails(ctx context.Context, limit int) ([]paywall.Outgoing, error) {
	const due = `WHERE o.sent_at IS NULL AND o.failed_at IS NULL
		AND o.next_attempt_at <= ? ORDER BY o.id LIMIT ?`
	if s.Lease <= 0 {
		return s.mails(ctx, s.db.QueryContext, due, s.now(), limit)
	}
	var out []paywall.Outgoing
	err := s.tx(ctx, func(tx *txn) error {
		var ids []int64
		rows, err := tx.QueryContext(ctx, `
			UPDATE outbox SET next_attempt_at = ?
			WHERE id IN (SELECT o.id FROM outbox o `+due+` {skip_locked})
				AND sent_at IS NULL AND next_attempt_at <= ?
			RETURNING id`, s.Now().Add(s.Lease).Unix(), s.now(), limit, s.now())
		if err != nil {
			return fmt.Errorf("claim mail: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("claim mail: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		out, err = s.mails(ctx, tx.QueryContext, `WHERE o.id IN (`+
			strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+`) ORDER BY o.id`,
			anys(ids)...)
		return err
	})
	return out, err
}

func anys[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// Mails returns the outbox, newest first: every mail, or only the failed ones.
func (s *Store) Mails(ctx context.Context, failedOnly bool, limit int) ([]paywall.Outgoing, error) {
	where := `WHERE 1 = 1`
	if failedOnly {
		where = `WHERE o.failed_at IS NOT NULL`
	}
	return s.mails(ctx, s.db.QueryContext, where+` ORDER BY o.id DESC LIMIT ?`, limit)
}

const mailSelect = `
	SELECT o.id, o.member_id, CASE WHEN o.to_address != '' THEN o.to_address ELSE m.email END,
		o.kind, o.cause, o.attempts, o.last_error, o.created_at, o.next_attempt_at,
		o.sent_at, o.failed_at
	FROM outbox o JOIN members m ON m.id = o.member_id`

type queryFunc func(ctx context.Context, q string, args ...any) (*sql.Rows, error)

func (s *Store) mails(ctx context.Context, query queryFunc, where string, args ...any) ([]paywall.Outgoing, error) {
	rows, err := query(ctx, mailSelect+" "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list mail: %w", err)
	}
	defer rows.Close()
	var out []paywall.Outgoing
	for rows.Next() {
		var o paywall.Outgoing
		var created, next int64
		var sent, failed sql.NullInt64
		err := rows.Scan(&o.ID, &o.MemberID, &o.To, &o.Kind, &o.Cause, &o.Attempts,
			&o.LastError, &created, &next, &sent, &failed)
		if err != nil {
			return nil, fmt.Errorf("scan mail: %w", err)
		}
		o.CreatedAt, o.NextAttempt = unix(created), unix(next)
		o.SentAt, o.FailedAt = nullUnix(sent), nullUnix(failed)
		out = append(out, o)
	}
	return out, rows.Err()
}

// MailSent marks a mail sent.
func (s *Store) MailSent(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx,
			`UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`,
			s.now(), id)
		if err != nil {
			return fmt.Errorf("mark mail sent: %w", err)
		}
		return nil
	})
}

// DeferMail records a failed attempt and when to try again, or, when failed
// is true, sets the mail aside as failed until an operator retries it.
func (s *Store) DeferMail(ctx context.Context, id int64, msg string, next time.Time, failed bool) error {
	var failedAt any
	if failed {
		failedAt = s.now()
	}
	return s.tx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
				failed_at = ?
			WHERE id = ?`, msg, next.Unix(), failedAt, id)
		if err != nil {
			return fmt.Errorf("defer mail: %w", err)
		}
		return nil
	})
}

// RetryMail makes an unsent mail due now, failed or not, with a fresh count
// of attempts.
func (s *Store) RetryMail(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE outbox SET failed_at = NULL, attempts = 0, next_attempt_at = ?
			WHERE id = ? AND sent_at IS NULL`, s.now(), id)
		if err != nil {
			return fmt.Errorf("retry mail: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return paywall.Errorf(paywall.NotFound, "no unsent mail %s", strconv.FormatInt(id, 10))
		}
		return nil
	})
}
