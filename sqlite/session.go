package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/paywall/paywall"
)

// CreateLink stores the hash of a single-use link token for a member. email
// is the address an email-change link confirms, else "".
func (s *Store) CreateLink(ctx context.Context, hash []byte, member int64, purpose, email string, ttl time.Duration) error {
	return s.tx(ctx, func(tx *txn) error {
		if purpose == "setup" {
			var has bool
			err := tx.QueryRowContext(ctx, `SELECT password_hash IS NOT NULL FROM members WHERE id = ?`,
				member).Scan(&has)
			if err != nil {
				return fmt.Errorf("create link: %w", err)
			}
			if has {
				return ErrPasswordChosen
			}
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO links (token_hash, member_id, purpose, email, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			hash, member, purpose, email, s.now(), s.Now().Add(ttl).Unix())
		if err != nil {
			return fmt.Errorf("create link: %w", err)
		}
		return nil
	})
}

var errLinkInvalid = paywall.Errorf(paywall.NotFound, "this link is not valid any more")

// ErrPasswordChosen refuses a setup link for a member who has chosen a
// password: a setup link chooses the first one only.
var ErrPasswordChosen = paywall.Errorf(paywall.Conflict, "the member has chosen a password already")

// LinkMember returns the member a valid, unused link belongs to, without
// using it: a mail scanner's GET must not burn the link.
func (s *Store) LinkMember(ctx context.Context, hash []byte, purpose string) (int64, error) {
	var member int64
	err := s.db.QueryRowContext(ctx, `
		SELECT l.member_id FROM links l JOIN members m ON m.id = l.member_id
		WHERE l.token_hash = ? AND l.purpose = ? AND l.used_at IS NULL AND l.expires_at > ?
			AND (l.purpose <> 'setup' OR m.password_hash IS NULL)`,
		hash, purpose, s.now()).Scan(&member)
	if isNoRows(err) {
		return 0, errLinkInvalid
	}
	if err != nil {
		return 0, fmt.Errorf("get link: %w", err)
	}
	return member, nil
}

// useLink marks a valid link used and returns its member and email. The
// UPDATE's condition makes a link usable once even by two requests at once.
func (s *Store) useLink(ctx context.Context, tx *txn, hash []byte, purpose string) (int64, string, error) {
	var member int64
	var email string
	err := tx.QueryRowContext(ctx, `
		UPDATE links SET used_at = ?
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
		RETURNING member_id, email`, s.now(), hash, purpose, s.now()).Scan(&member, &email)
	if isNoRows(err) {
		return 0, "", errLinkInvalid
	}
	if err != nil {
		return 0, "", fmt.Errorf("use link: %w", err)
	}
	return member, email, nil
}

// SetPasswordWithLink uses a setup link: it marks the link used, sets the
// member's password hash and opens a session, all or nothing. A setup link
// chooses the first password only: once one is chosen, the member's other
// setup links (an earlier purchase's, a grant's) choose none.
func (s *Store) SetPasswordWithLink(ctx context.Context, link []byte, pwHash []byte, session []byte, ttl time.Duration) (int64, error) {
	var member int64
	err := s.tx(ctx, func(tx *txn) error {
		var err error
		if member, _, err = s.useLink(ctx, tx, link, "setup"); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE members SET password_hash = ?
			WHERE id = ? AND password_hash IS NULL`, string(pwHash), member)
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if n == 0 {
			return errLinkInvalid // chosen already, with another link: this one chooses no second
		}
		return s.insertSession(ctx, tx, session, member, ttl)
	})
	return member, err
}

// SignInWithLink uses a sign-in link and opens a session, all or nothing.
func (s *Store) SignInWithLink(ctx context.Context, link, session []byte, ttl time.Duration) (int64, error) {
	var member int64
	err := s.tx(ctx, func(tx *txn) error {
		var err error
		if member, _, err = s.useLink(ctx, tx, link, "signin"); err != nil {
			return err
		}
		return s.insertSession(ctx, tx, session, member, ttl)
	})
	return member, err
}

// ChangeEmailWithLink uses an email-change link: the member signs in with
// the link's address from now on. Another member holding that address
// already is a conflict, and the link stays unused.
func (s *Store) ChangeEmailWithLink(ctx context.Context, link []byte) (int64, error) {
	var member int64
	err := s.tx(ctx, func(tx *txn) error {
		var email string
		var err error
		if member, email, err = s.useLink(ctx, tx, link, "email_change"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE members SET email = ? WHERE id = ?`, email, member)
		if isUnique(err) {
			return paywall.Errorf(paywall.Conflict, "Another account uses %s already.", email)
		}
		if err != nil {
			return fmt.Errorf("change email: %w", err)
		}
		return tx.forget(ctx, member)
	})
	return member, err
}

// CreateSession opens a session for member under the hash of a new token.
func (s *Store) CreateSession(ctx context.Context, hash []byte, member int64, ttl time.Duration) error {
	return s.tx(ctx, func(tx *txn) error { return s.insertSession(ctx, tx, hash, member, ttl) })
}

func (s *Store) insertSession(ctx context.Context, tx *txn, hash []byte, member int64, ttl time.Duration) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO sessions (token_hash, member_id, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, hash, member, s.now(), s.now(), s.Now().Add(ttl).Unix())
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// touchEvery is how stale a session's last_seen_at may be before a lookup
// writes it again: idle expiry is counted in days, so a write per minute of
// use is plenty, and most lookups stay reads.
const touchEvery = time.Minute

// SessionMember returns the member of a session that has neither passed its
// absolute expiry nor been idle for longer than idle, marks it seen, and
// returns when it ends if not used again. A token that opens no session
// costs one read and takes no write lock.
func (s *Store) SessionMember(ctx context.Context, hash []byte, idle time.Duration) (int64, time.Time, error) {
	now := s.now()
	idleSecs := int64(idle / time.Second)
	var member, expires, seen int64
	err := s.db.QueryRowContext(ctx, `
		SELECT member_id, expires_at, last_seen_at FROM sessions
		WHERE token_hash = ? AND expires_at > ? AND last_seen_at > ?`,
		hash, now, now-idleSecs).Scan(&member, &expires, &seen)
	if isNoRows(err) {
		return 0, time.Time{}, paywall.Errorf(paywall.Unauthorized, "not signed in")
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("get session: %w", err)
	}
	if now-seen >= int64(touchEvery/time.Second) {
		err := s.tx(ctx, func(tx *txn) error {
			_, err := tx.ExecContext(ctx,
				`UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`, now, hash)
			return err
		})
		if err != nil {
			return 0, time.Time{}, fmt.Errorf("mark session seen: %w", err)
		}
		seen = now
	}
	return member, unix(min(expires, seen+idleSecs)), nil
}

// DeleteSession ends a session; ending one that does not exist is no error.
// Other processes forget what they cached of the session's member.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	return s.tx(ctx, func(tx *txn) error {
		var member int64
		err := tx.QueryRowContext(ctx,
			`DELETE FROM sessions WHERE token_hash = ? RETURNING member_id`, hash).Scan(&member)
		if isNoRows(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return tx.forget(ctx, member)
	})
}

// DeleteMemberSessions ends every session of a member and every expired
// session of anyone. Other processes forget what they cached of the member.
func (s *Store) DeleteMemberSessions(ctx context.Context, member int64) error {
	return s.tx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx,
			`DELETE FROM sessions WHERE member_id = ? OR expires_at <= ?`, member, s.now())
		if err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		return tx.forget(ctx, member)
	})
}
