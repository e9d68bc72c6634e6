package sqlite

import (
	"context"
	"fmt"
	"time"
)

// TakeToken takes one token from the bucket of key, which holds n tokens
// and refills at n per period per, or reports how long until one is free.
// Buckets are rows, so every process on the database counts against the
// same budget; each take locks its row until it commits.
func (s *Store) TakeToken(ctx context.Context, key string, n int, per time.Duration) (bool, time.Duration, error) {
	now := s.Now().UnixMilli()
	size := float64(max(n, 1))
	perMilli := size / float64(max(per.Milliseconds(), 1)) // tokens per millisecond
	var ok bool
	var wait time.Duration
	err := s.tx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO rate_buckets (key, tokens, updated_at, full_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO NOTHING`, key, size, now, now)
		if err != nil {
			return fmt.Errorf("create rate bucket: %w", err)
		}
		var tokens float64
		var at int64
		err = tx.QueryRowContext(ctx,
			`SELECT tokens, updated_at FROM rate_buckets WHERE key = ? {for_update}`, key).
			Scan(&tokens, &at)
		if isNoRows(err) { // full, and swept by another take meanwhile
			tokens, at, err = size, now, nil
		}
		if err != nil {
			return fmt.Errorf("read rate bucket: %w", err)
		}
		tokens = min(size, tokens+float64(max(now-at, 0))*perMilli)
		if ok = tokens >= 1; ok {
			tokens--
		} else {
			wait = time.Duration((1-tokens)/perMilli) * time.Millisecond
		}
		full := now + int64((size-tokens)/perMilli)
		_, err = tx.ExecContext(ctx, `
			INSERT INTO rate_buckets (key, tokens, updated_at, full_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens,
				updated_at = excluded.updated_at, full_at = excluded.full_at`,
			key, tokens, now, full)
		if err != nil {
			return fmt.Errorf("update rate bucket: %w", err)
		}
		// A few full buckets go with each take, skipping those another
		// take holds, so the table stays as small as the keys in use.
		_, err = tx.ExecContext(ctx, `
			DELETE FROM rate_buckets WHERE full_at < ? AND key IN (
				SELECT key FROM rate_buckets WHERE full_at < ? LIMIT 10 {skip_locked})`,
			now, now)
		if err != nil {
			return fmt.Errorf("drop full rate buckets: %w", err)
		}
		return nil
	})
	return ok, wait, err
}
