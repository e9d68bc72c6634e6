package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Listen calls forget with each member whose cached sessions or access
// another process's transaction changed (a sign-out, a sign-out everywhere,
// an email change, a webhook event), until ctx ends or the connection
// fails, which it returns. Once listening, it calls forget(0) first: what
// was cached before may have changed unheard, so the caller drops it all.
// On SQLite, one process's file, it waits for ctx and returns nil.
func (s *Store) Listen(ctx context.Context, forget func(member int64)) error {
	if s.url == "" {
		<-ctx.Done()
		return nil
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
