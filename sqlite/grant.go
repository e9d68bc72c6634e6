package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/mail"
	"strconv"
	"strings"

	"github.com/paywall/paywall"
)

// Granted says what Grant did.
type Granted struct {
	Member paywall.Member
	// Created says nobody had the email: the member was made, and their
	// setup mail queued.
	Created bool
	// Replaced says the member held an unrevoked grant of the plan, whose
	// end is now the new one; Previous is that grant as it was.
	Replaced bool
	Previous paywall.Grant
}

// Grant gives the member with email complimentary access to g.PlanID until
// g.Until (zero: no end). Nobody having the email, it creates the member
// and queues the mail through which they choose a password, as a purchase
// does, worded for a gift. A member holds one unrevoked grant per plan: granting it
// again replaces its end. Other processes forget what they cached of the
// member. The caller checks that the plan is one of the catalog's.
func (s *Store) Grant(ctx context.Context, email string, g paywall.Grant) (Granted, error) {
	email = strings.TrimSpace(email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return Granted{}, paywall.Errorf(paywall.Invalid, "%q is not an email address", email)
	}
	if g.PlanID == "" {
		return Granted{}, paywall.Errorf(paywall.Invalid, "a grant needs a plan")
	}
	if !g.Until.IsZero() && !s.Now().Before(g.Until) {
		return Granted{}, paywall.Errorf(paywall.Invalid, "a grant must end in the future, not %s",
			g.Until.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	var out Granted
	err := s.tx(ctx, func(tx *txn) error {
		if err := tx.lockApply(ctx); err != nil {
			return err
		}
		member, err := s.memberByEmail(ctx, tx, email)
		if err != nil {
			return err
		}
		if member == 0 {
			if member, err = s.createMember(ctx, tx, email); err != nil {
				return err
			}
			if err := s.enqueueMail(ctx, tx, member, paywall.MailComped,
				"member:"+strconv.FormatInt(member, 10)); err != nil {
				return err
			}
			out.Created = true
		}
		// A grant that ran out is closed at its end, so that granting the
		// plan again makes a new grant, not a replacement of a dead one.
		if _, err := tx.ExecContext(ctx, `UPDATE grants SET revoked_at = ends_at
			WHERE member_id = ? AND plan_id = ? AND revoked_at = 0 AND ends_at <> 0 AND ends_at <= ?`,
			member, g.PlanID, s.now()); err != nil {
			return fmt.Errorf("close ended grant: %w", err)
		}
		if out.Previous, out.Replaced, err = openGrant(ctx, tx, member, g.PlanID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO grants (member_id, plan_id, ends_at, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (member_id, plan_id) WHERE revoked_at = 0
			DO UPDATE SET ends_at = excluded.ends_at`,
			member, g.PlanID, unixOf(g.Until), s.now())
		if err != nil {
			return fmt.Errorf("store grant: %w", err)
		}
		if out.Member, err = s.scanMember(tx.QueryRowContext(ctx, memberSelect+` WHERE id = ?`,
			member)); err != nil {
			return err
		}
		return tx.forget(ctx, member)
	})
	return out, err
}

// openGrant returns the member's unrevoked grant of plan, if any.
func openGrant(ctx context.Context, tx *txn, member int64, plan string) (paywall.Grant, bool, error) {
	g, err := scanGrant(tx.QueryRowContext(ctx, grantSelect+`
		WHERE member_id = ? AND plan_id = ? AND revoked_at = 0`, member, plan))
	if isNoRows(err) {
		return paywall.Grant{}, false, nil
	}
	if err != nil {
		return paywall.Grant{}, false, fmt.Errorf("get grant: %w", err)
	}
	return g, true, nil
}

// RevokeGrants ends every grant of the member that still gives access,
// now, and returns them as they were. Revoked grants are kept, marked
// revoked. Other processes forget what they cached of the member.
func (s *Store) RevokeGrants(ctx context.Context, member int64) ([]paywall.Grant, error) {
	var out []paywall.Grant
	err := s.tx(ctx, func(tx *txn) error {
		if err := tx.lockApply(ctx); err != nil {
			return err
		}
		var err error
		if out, err = queryGrants(ctx, tx, grantSelect+` WHERE member_id = ? AND `+grantLasting,
			member, s.now()); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE grants SET revoked_at = ?
			WHERE member_id = ? AND `+grantLasting, s.now(), member, s.now())
		if err != nil {
			return fmt.Errorf("revoke grants: %w", err)
		}
		return tx.forget(ctx, member)
	})
	return out, err
}

// Grants returns the member's grants that give access now, by plan.
func (s *Store) Grants(ctx context.Context, member int64) ([]paywall.Grant, error) {
	return queryGrants(ctx, s.db, grantSelect+` WHERE member_id = ? AND `+grantLasting+
		` ORDER BY plan_id`, member, s.now())
}

// AllGrants returns every grant that gives access now, by member.
func (s *Store) AllGrants(ctx context.Context) (map[int64][]paywall.Grant, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT member_id, plan_id, ends_at, created_at
		FROM grants WHERE `+grantLasting+` ORDER BY member_id, plan_id`, s.now())
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	defer rows.Close()
	out := map[int64][]paywall.Grant{}
	for rows.Next() {
		var member int64
		var g paywall.Grant
		var until, created int64
		if err := rows.Scan(&member, &g.PlanID, &until, &created); err != nil {
			return nil, fmt.Errorf("scan grant: %w", err)
		}
		g.Until, g.Created = unix(until), unix(created)
		out[member] = append(out[member], g)
	}
	return out, rows.Err()
}

const (
	grantSelect = `SELECT plan_id, ends_at, created_at FROM grants`
	// grantLasting is the condition of a grant giving access at ?.
	grantLasting = `revoked_at = 0 AND (ends_at = 0 OR ends_at > ?)`
)

func scanGrant(row scanner) (paywall.Grant, error) {
	var g paywall.Grant
	var until, created int64
	err := row.Scan(&g.PlanID, &until, &created)
	g.Until, g.Created = unix(until), unix(created)
	return g, err
}

// querier is a connection or a transaction.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func queryGrants(ctx context.Context, q querier, query string, args ...any) ([]paywall.Grant, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	defer rows.Close()
	var out []paywall.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("scan grant: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
