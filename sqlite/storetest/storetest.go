// Package storetest gives storage tests their databases: a SQLite file
// always, and a PostgreSQL schema of their own when PAYWALL_TEST_POSTGRES_URL
// names a database. Under CI=true that database must be set and reachable.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvPostgres names the PostgreSQL database the tests may use.
const EnvPostgres = "PAYWALL_TEST_POSTGRES_URL"

// DB is one kind of database a test runs against.
type DB struct {
	Name string // "sqlite" or "postgres"
}

// URL returns a new, empty database of this kind for t, removed when t
// ends: a file in t's temporary directory, or a fresh PostgreSQL schema.
func (d DB) URL(t testing.TB) string {
	t.Helper()
	if d.Name == "postgres" {
		return PostgresURL(t)
	}
	return filepath.Join(t.TempDir(), "data", "paywall.db")
}

// Each runs fn once per database: SQLite, then PostgreSQL, which skips
// with the reason when it is not configured (and fails under CI=true).
// Tests run this way run in parallel with each other: each has its own
// database, and most of their time is spent waiting for it.
func Each(t *testing.T, fn func(t *testing.T, db DB)) {
	t.Helper()
	t.Parallel()
	for _, d := range []DB{{"sqlite"}, {"postgres"}} {
		t.Run(d.Name, func(t *testing.T) {
			if d.Name == "postgres" {
				Require(t)
			}
			fn(t, d)
		})
	}
}

// Require skips t when no PostgreSQL database is configured, and fails it
// instead under CI=true.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvPostgres) != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set; CI requires PostgreSQL", EnvPostgres)
	}
	t.Skipf("%s is not set", EnvPostgres)
}

// PostgresURL creates a schema with a random name in the configured
// database and returns a URL whose connections use it; the schema is
// dropped with everything in it when t ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	Require(t)
	base := os.Getenv(EnvPostgres)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Fatalf("%s is not reachable: %v", EnvPostgres, err)
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "paywall_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
