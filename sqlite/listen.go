package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen calls forget with each member whose cached sessions or access
// another process's transaction changed (a sign-out, a sign-out everywhere,
// an email change, a webhook event), until ctx ends or the connection
// fails, which it returns. Once listening, it calls forget(0) first: what
// was cached before may have changed unheard, so the caller drops it all.
// PostgreSQL announces changes with NOTIFY; on SQLite, Listen polls the
// forgotten table every PollEvery (see pollForgotten).
func (s *Store) Listen(ctx context.Context, forget func(member int64)) error {
	if s.url == "" {
		return s.pollForgotten(ctx, forget)
	}
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return fmt.Errorf("connect to listen: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+forgetChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	forget(0)
	for {
		n, err := conn.WaitForNotification(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		// Channels are per database: a payload names its schema, so
		// stores in other schemas of the same database are not ours.
		sch, id, ok := strings.Cut(n.Payload, ":")
		member, err := strconv.ParseInt(id, 10, 64)
		if ok && sch == schema && err == nil && member != 0 {
			forget(member)
		}
	}
}

// PollEvery is how often Listen asks SQLite for members forgotten by other
// processes, such as the command line granting access.
const PollEvery = 250 * time.Millisecond

// forgottenKeep is how long a row of the forgotten table is kept: a server
// reads each within PollEvery, and one that was away longer starts with
// forget(0) anyway.
const forgottenKeep = 5 * time.Minute

// pollForgotten is Listen on SQLite: it starts past the newest row of the
// forgotten table, calls forget(0), then hands each newer row's member to
// forget in order, pruning old rows now and then, until ctx ends.
func (s *Store) pollForgotten(ctx context.Context, forget func(member int64)) error {
	var last int64
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM forgotten`).Scan(&last)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	forget(0)
	tick := time.NewTicker(PollEvery)
	defer tick.Stop()
	var pruned time.Time // prune at the first tick, then every minute
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if last, err = s.readForgotten(ctx, last, forget); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if time.Since(pruned) >= time.Minute {
			pruned = time.Now()
			if err := s.pruneForgotten(ctx); err != nil && ctx.Err() == nil {
				return err
			}
		}
	}
}

// readForgotten calls forget for each row past last and returns the last
// seq it saw.
func (s *Store) readForgotten(ctx context.Context, last int64, forget func(int64)) (int64, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT seq, member_id FROM forgotten WHERE seq > ? ORDER BY seq`, last)
	if err != nil {
		return last, fmt.Errorf("read forgotten members: %w", err)
	}
	var members []int64
	for rows.Next() {
		var member int64
		if err := rows.Scan(&last, &member); err != nil {
			rows.Close()
			return last, fmt.Errorf("scan forgotten member: %w", err)
		}
		members = append(members, member)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return last, fmt.Errorf("read forgotten members: %w", err)
	}
	// Called after the rows are closed: forget may take the cache's lock,
	// and a read must not hold the connection meanwhile.
	for _, m := range members {
		forget(m)
	}
	return last, nil
}

func (s *Store) pruneForgotten(ctx context.Context) error {
	cutoff := time.Now().Add(-forgottenKeep).Unix()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM forgotten WHERE at < ?`, cutoff); err != nil {
		return fmt.Errorf("prune forgotten members: %w", err)
	}
	return nil
}
