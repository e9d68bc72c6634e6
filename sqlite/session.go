package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/paywall/paywall"
)

// CreateLink stores the hash of a single-use link token for a member.
func (s *Store) CreateLink(ctx context.Context, hash []byte, member int64, purpose string, ttl time.Duration) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO links (token_hash, member_id, purpose, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, hash, member, purpose, s.now(), s.Now().Add(ttl).Unix())
		if err != nil {
			return fmt.Errorf("create link: %w", err)
		}
		return nil
	})
}

// LinkMember returns the member a valid, unused link belongs to, without
// using it: a mail scanner's GET must not burn the link.
func (s *Store) LinkMember(ctx context.Context, hash []byte, purpose string) (int64, error) {
	var member int64
	err := s.db.QueryRowContext(ctx, `
		SELECT member_id FROM links
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`,
		hash, purpose, s.now()).Scan(&member)
	if isNoRows(err) {
		return 0, paywall.Errorf(paywall.NotFound, "this link is not valid any more")
	}
	if err != nil {
		return 0, fmt.Errorf("get link: %w", err)
	}
	return member, nil
}

// SetPasswordWithLink uses a setup link: it marks the link used, sets the
// member's password hash and opens a session, all or nothing.
func (s *Store) SetPasswordWithLink(ctx context.Context, link []byte, pwHash []byte, session []byte, ttl time.Duration) (int64, error) {
	var member int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			UPDATE links SET used_at = ?
			WHERE token_hash = ? AND purpose = 'setup' AND used_at IS NULL AND expires_at > ?
			RETURNING member_id`, s.now(), link, s.now()).Scan(&member)
		if isNoRows(err) {
			return paywall.Errorf(paywall.NotFound, "this link is not valid any more")
		}
		if err != nil {
			return fmt.Errorf("use link: %w", err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE members SET password_hash = ? WHERE id = ?`,
			string(pwHash), member)
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		return s.insertSession(ctx, tx, session, member, ttl)
	})
	return member, err
}

// CreateSession opens a session for member under the hash of a new token.
func (s *Store) CreateSession(ctx context.Context, hash []byte, member int64, ttl time.Duration) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertSession(ctx, tx, hash, member, ttl) })
}

func (s *Store) insertSession(ctx context.Context, tx *sql.Tx, hash []byte, member int64, ttl time.Duration) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO sessions (token_hash, member_id, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, hash, member, s.now(), s.now(), s.Now().Add(ttl).Unix())
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionMember returns the member of an unexpired session.
func (s *Store) SessionMember(ctx context.Context, hash []byte) (int64, error) {
	var member int64
	err := s.db.QueryRowContext(ctx,
		`SELECT member_id FROM sessions WHERE token_hash = ? AND expires_at > ?`,
		hash, s.now()).Scan(&member)
	if isNoRows(err) {
		return 0, paywall.Errorf(paywall.Unauthorized, "not signed in")
	}
	if err != nil {
		return 0, fmt.Errorf("get session: %w", err)
	}
	return member, nil
}

// DeleteSession ends a session; ending one that does not exist is no error.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hash); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return nil
	})
}
