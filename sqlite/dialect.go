package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
)

// dialect is what differs between SQLite and PostgreSQL. Every query is
// written once, with ? placeholders and the few words below in braces; the
// dialect rewrites it before it reaches the driver.
type dialect struct {
	name       string
	goose      goose.Dialect
	migrations string // directory inside the embedded migrations
	numbered   bool   // placeholders are $1, $2 … rather than ?
	words      *strings.Replacer
	// lockApply serializes the application of changes across processes.
	// SQLite needs none: its immediate transactions take the one write
	// lock up front.
	lockApply string
	// notify announces, inside a transaction, a member whose cached
	// sessions and access other processes must drop: pg_notify on
	// PostgreSQL, a row of the forgotten table on SQLite, which the
	// running server polls for (the command line is another process).
	notify string
}

// forgetChannel is the PostgreSQL channel that carries forgotten members.
const forgetChannel = "paywall_forget"

var sqliteDialect = &dialect{
	name:       "sqlite",
	goose:      goose.DialectSQLite3,
	migrations: "migrations",
	words: strings.NewReplacer(
		"{greatest}", "max",
		"{reasons}", "group_concat(DISTINCT h.reason)",
		"{skip_locked}", "",
		"{for_update}", "",
	),
	notify: `INSERT INTO forgotten (member_id, at)
		VALUES (?, CAST(strftime('%s', 'now') AS INTEGER))`,
}

var postgresDialect = &dialect{
	name:       "postgres",
	goose:      goose.DialectPostgres,
	migrations: "migrations/postgres",
	numbered:   true,
	words: strings.NewReplacer(
		"{greatest}", "GREATEST",
		"{reasons}", "string_agg(DISTINCT h.reason, ',')",
		"{skip_locked}", "FOR UPDATE SKIP LOCKED",
		"{for_update}", "FOR UPDATE",
	),
	// One key for every change: the same order SQLite's single writer
	// gives, so a member's effects never interleave across replicas.
	lockApply: `SELECT pg_advisory_xact_lock(7262311200)`,
	notify:    `SELECT pg_notify('` + forgetChannel + `', current_schema() || ':' || CAST(? AS TEXT))`,
}

// rebind turns a query into this dialect's text.
func (d *dialect) rebind(q string) string {
	q = d.words.Replace(q)
	if !d.numbered {
		return q
	}
	var b strings.Builder
	n := 0
	inString := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inString = !inString
		case c == '?' && !inString:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// args stores booleans as the integers both schemas keep them in.
func (d *dialect) args(args []any) []any {
	if !d.numbered {
		return args
	}
	for i, a := range args {
		if v, ok := a.(bool); ok {
			args[i] = 0
			if v {
				args[i] = 1
			}
		}
	}
	return args
}

// isUnique reports whether err is a unique constraint refusing a row.
func isUnique(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE")
}

// conn and txn rewrite every query for the store's dialect.
type conn struct {
	*sql.DB
	d *dialect
}

type txn struct {
	*sql.Tx
	d *dialect
}

func (x conn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return x.DB.ExecContext(ctx, x.d.rebind(q), x.d.args(args)...)
}

func (x conn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return x.DB.QueryContext(ctx, x.d.rebind(q), x.d.args(args)...)
}

func (x conn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return x.DB.QueryRowContext(ctx, x.d.rebind(q), x.d.args(args)...)
}

func (x *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return x.Tx.ExecContext(ctx, x.d.rebind(q), x.d.args(args)...)
}

func (x *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return x.Tx.QueryContext(ctx, x.d.rebind(q), x.d.args(args)...)
}

func (x *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return x.Tx.QueryRowContext(ctx, x.d.rebind(q), x.d.args(args)...)
}

// forget announces member to the other processes on commit.
func (x *txn) forget(ctx context.Context, member int64) error {
	if x.d.notify == "" || member == 0 {
		return nil
	}
	// The member travels as text: pg_notify's payload is text, and
	// SQLite's INTEGER column turns it back into a number.
	if _, err := x.ExecContext(ctx, x.d.notify, strconv.FormatInt(member, 10)); err != nil {
		return fmt.Errorf("announce member: %w", err)
	}
	return nil
}

// lockApply waits for every other process's change to be committed.
func (x *txn) lockApply(ctx context.Context) error {
	if x.d.lockApply == "" {
		return nil
	}
	if _, err := x.ExecContext(ctx, x.d.lockApply); err != nil {
		return fmt.Errorf("lock changes: %w", err)
	}
	return nil
}
