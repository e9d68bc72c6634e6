package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/paywall/paywall"
)

// applyPurchase links the buyer of a completed checkout to a member: the one
// already holding the Stripe customer, else the one with the email Stripe
// recorded, else a new member, who is then owed a setup mail.
func (s *Store) applyPurchase(ctx context.Context, tx *txn, p paywall.Purchase) (int64, error) {
	email := strings.TrimSpace(p.Email)
	member, err := memberByCustomer(ctx, tx, p.CustomerID)
	if err != nil {
		return 0, err
	}
	if member == 0 && email != "" {
		member, err = s.memberByEmail(ctx, tx, email)
		if err != nil {
			return 0, err
		}
	}
	if member == 0 {
		if email == "" {
			return 0, paywall.Errorf(paywall.Invalid,
				"checkout %s has no customer email and an unknown customer", p.SessionID)
		}
		if member, err = s.createMember(ctx, tx, email); err != nil {
			return 0, err
		}
	}
	if err := s.linkCustomer(ctx, tx, p.CustomerID, member, email); err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO checkouts (id, member_id, customer_id, subscription_id, paid, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET paid = {greatest}(checkouts.paid, excluded.paid)`,
		p.SessionID, member, p.CustomerID, p.SubscriptionID, p.Paid, s.now())
	if err != nil {
		return 0, fmt.Errorf("record checkout: %w", err)
	}
	if !p.Paid {
		return member, nil // no setup mail until a delayed payment succeeds
	}
	return member, s.ensureSetupMail(ctx, tx, member)
}

func memberByCustomer(ctx context.Context, tx *txn, customer string) (int64, error) {
	if customer == "" {
		return 0, nil
	}
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT member_id FROM customers WHERE id = ?`, customer).Scan(&id)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find member by customer: %w", err)
	}
	return id, nil
}

func (s *Store) memberByEmail(ctx context.Context, tx *txn, email string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM members WHERE email = ?`, email).Scan(&id)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find member by email: %w", err)
	}
	return id, nil
}

func (s *Store) createMember(ctx context.Context, tx *txn, email string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx,
		`INSERT INTO members (email, created_at) VALUES (?, ?) RETURNING id`, email, s.now()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create member: %w", err)
	}
	return id, nil
}

// linkCustomer records a Stripe customer as the member's. The email Stripe
// holds for the customer is kept as the customer's contact address; it never
// becomes the member's sign-in address, which changes only through an
// email-change link the member confirms.
func (s *Store) linkCustomer(ctx context.Context, tx *txn, customer string, member int64, email string) error {
	if customer == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO customers (id, member_id, email, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET email = excluded.email WHERE excluded.email != ''`,
		customer, member, email, s.now())
	if err != nil {
		return fmt.Errorf("link customer: %w", err)
	}
	return nil
}

// ensureSetupMail queues the one setup mail a member is owed, unless the
// member has a password already. The outbox's unique cause makes a second
// purchase or a redelivered event queue nothing more.
func (s *Store) ensureSetupMail(ctx context.Context, tx *txn, member int64) error {
	var hasPassword bool
	err := tx.QueryRowContext(ctx,
		`SELECT password_hash IS NOT NULL FROM members WHERE id = ?`, member).Scan(&hasPassword)
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	if hasPassword {
		return nil
	}
	// A member a grant created was welcomed with a setup link of its own,
	// which may have expired or never arrived: the purchase mails one too.
	// Whichever is used first chooses the password; the other then chooses
	// none (SetPasswordWithLink).
	return s.enqueueMail(ctx, tx, member, paywall.MailSetup, "member:"+strconv.FormatInt(member, 10))
}

// memberSelect reads the columns scanMember scans.
const memberSelect = `SELECT id, email, password_hash IS NOT NULL, created_at FROM members`

// Member returns the member with the given ID.
func (s *Store) Member(ctx context.Context, id int64) (paywall.Member, error) {
	return s.scanMember(s.db.QueryRowContext(ctx, memberSelect+` WHERE id = ?`, id))
}

// MemberByEmail returns the member with the given email, compared without case.
func (s *Store) MemberByEmail(ctx context.Context, email string) (paywall.Member, error) {
	return s.scanMember(s.db.QueryRowContext(ctx, memberSelect+` WHERE email = ?`,
		strings.TrimSpace(email)))
}

// Members returns every member, by email.
func (s *Store) Members(ctx context.Context) ([]paywall.Member, error) {
	rows, err := s.db.QueryContext(ctx, memberSelect+` ORDER BY email, id`)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var out []paywall.Member
	for rows.Next() {
		m, err := s.scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *Store) scanMember(row scanner) (paywall.Member, error) {
	var m paywall.Member
	var created int64
	err := row.Scan(&m.ID, &m.Email, &m.HasPassword, &created)
	if isNoRows(err) {
		return m, paywall.Errorf(paywall.NotFound, "no such member")
	}
	if err != nil {
		return m, fmt.Errorf("get member: %w", err)
	}
	m.CreatedAt = unix(created)
	return m, nil
}

// PasswordHash returns the member with the given email and their password
// hash, which is nil when no password is set yet.
func (s *Store) PasswordHash(ctx context.Context, email string) (int64, []byte, error) {
	var id int64
	var hash sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT id, password_hash FROM members WHERE email = ?`,
		strings.TrimSpace(email)).Scan(&id, &hash)
	if isNoRows(err) {
		return 0, nil, paywall.Errorf(paywall.NotFound, "no such member")
	}
	if err != nil {
		return 0, nil, fmt.Errorf("get password hash: %w", err)
	}
	if !hash.Valid {
		return id, nil, nil
	}
	return id, []byte(hash.String), nil
}

// UpdatePasswordHash replaces a member's password hash, as when it was made
// with weaker parameters than today's.
func (s *Store) UpdatePasswordHash(ctx context.Context, member int64, hash []byte) error {
	return s.tx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `UPDATE members SET password_hash = ? WHERE id = ?`,
			string(hash), member)
		if err != nil {
			return fmt.Errorf("update password hash: %w", err)
		}
		return nil
	})
}

// CustomerIDs returns the member's Stripe customers, newest first.
func (s *Store) CustomerIDs(ctx context.Context, member int64) ([]string, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id FROM customers WHERE member_id = ? ORDER BY created_at DESC, id`, member)
	if err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan customer: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// applyCustomerContact records the email Stripe now holds for a customer
// (changed, say, in the Customer Portal) as that customer's contact
// address, and nothing else: the member's sign-in address stays as it is.
func (s *Store) applyCustomerContact(ctx context.Context, tx *txn, c *paywall.CustomerContact) error {
	if c == nil || c.Email == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE customers SET email = ? WHERE id = ?`, c.Email, c.ID)
	if err != nil {
		return fmt.Errorf("update customer email: %w", err)
	}
	return nil
}
