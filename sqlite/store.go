// Package sqlite is the store: members, subscriptions, the webhook inbox, the
// mail outbox, sessions and links. It is embedded by default, one SQLite file
// through the pure-Go modernc.org/sqlite driver, and PostgreSQL through pgx
// when several replicas share one database: the same SQL serves both (see
// dialect).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Store is a SQLite or PostgreSQL database. Its methods are safe for
// concurrent use, also by several processes on one PostgreSQL database;
// each exported method runs in one transaction.
type Store struct {
	db  conn
	url string // the PostgreSQL URL, for listening; "" for SQLite
	// Now is the clock; tests replace it to control expiry.
	Now func() time.Time
	// Lease is how long DueEvents and DueMails keep what they return from
	// every other caller, so that replicas never work on the same event or
	// send the same mail; past it, work a crashed process claimed is due
	// again. Zero returns due work without claiming it.
	Lease time.Duration
}

// IsPostgres reports whether a database URL names PostgreSQL.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// Describe names a database for logs: sqlite:PATH, or the URL without its
// password.
func Describe(path string) string {
	if !IsPostgres(path) {
		return "sqlite:" + path
	}
	u, err := url.Parse(path)
	if err != nil {
		return "postgres://…"
	}
	// libpq also takes the password as a parameter: hide it there too.
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Open opens the database: PostgreSQL when path is a postgres:// URL, else
// the SQLite file at path, created if needed.
func Open(path string) (*Store, error) {
	if IsPostgres(path) {
		return openPostgres(path)
	}
	return openSQLite(path)
}

// openPostgres opens a PostgreSQL database through pgx's database/sql driver.
func openPostgres(url string) (*Store, error) {
	sqldb, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	sqldb.SetMaxOpenConns(16)
	sqldb.SetMaxIdleConns(4)
	if err := sqldb.Ping(); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return &Store{db: conn{sqldb, postgresDialect}, url: url, Now: time.Now}, nil
}

// openSQLite opens a SQLite file. WAL lets readers go on while the webhook
// worker writes; the busy timeout makes a writer wait for another instead of
// failing; immediate transactions take the write lock up front so two
// writers never deadlock upgrading a read lock.
func openSQLite(path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	sqldb, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if err := sqldb.Ping(); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return &Store{db: conn{sqldb, sqliteDialect}, Now: time.Now}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.db.d.name }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Migrate applies every embedded migration not yet applied and returns how
// many it applied.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	fsys, err := fs.Sub(migrations, s.db.d.migrations)
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	var opts []goose.ProviderOption
	if s.db.d.name == "postgres" {
		// Replicas starting together on a new database take turns: a
		// session advisory lock lets one apply the migrations at a time.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return 0, fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(s.db.d.goose, s.db.DB, fsys, opts...)
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("apply migrations: %w", err)
	}
	return len(res), nil
}

func (s *Store) now() int64 { return s.Now().Unix() }

// tx runs fn in a transaction and commits it when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(*txn) error) error {
	sqltx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &txn{sqltx, s.db.d}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// unix turns a stored Unix time into a time.Time, with 0 meaning zero time.
func unix(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(v, 0)
}

// unixOf is the inverse of unix.
func unixOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func nullUnix(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(v.Int64, 0)
}

var errNoRows = sql.ErrNoRows

func isNoRows(err error) bool { return errors.Is(err, errNoRows) }
