// Package storetest gives tests fresh, migrated databases on every engine the
// machine can run: SQLite always, PostgreSQL when a server is reachable.
//
// PostgreSQL is found through SUPPLY_TEST_DATABASE_URL, else at
// postgres://postgres@127.0.0.1:5432/postgres. Each test gets a database of its
// own, created on that server and dropped when the test ends. When no server
// answers, PostgreSQL tests are skipped, unless SUPPLY_TEST_REQUIRE_POSTGRES=1
// (as in CI), which fails them instead.
package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gpusupply/supply/internal/store"
)

const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Engines returns the engines to run a test against: "sqlite" and
// "postgres". Where no PostgreSQL server is reachable, the postgres runs
// skip, saying so (and fail when SUPPLY_TEST_REQUIRE_POSTGRES=1).
func Engines(t testing.TB) []string {
	t.Helper()
	return []string{store.EngineSQLite, store.EnginePostgres}
}

// Open returns a fresh migrated store on engine, closed when the test ends.
func Open(t testing.TB, engine string) store.Store {
	t.Helper()
	o := Options(t, engine)
	o.Migrate = true
	s, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open %s store: %v", engine, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close %s store: %v", engine, err)
		}
	})
	return s
}

// Options returns options naming a fresh, empty database on engine, for tests
// that open (or migrate) the store themselves. The database is removed when
// the test ends.
func Options(t testing.TB, engine string) store.Options {
	t.Helper()
	o := store.Options{Logger: Logger()}
	switch engine {
	case store.EngineSQLite:
		o.DataDir = t.TempDir()
	case store.EnginePostgres:
		o.DatabaseURL = PostgresURL(t)
	default:
		t.Fatalf("storetest: unknown engine %q", engine)
	}
	return o
}

// PostgresURL creates an empty PostgreSQL database for the test and returns
// its URL, for tests that hand it to a subprocess. The test is skipped when no
// server is reachable (failed if SUPPLY_TEST_REQUIRE_POSTGRES=1).
func PostgresURL(t testing.TB) string {
	t.Helper()
	if err := postgresReachable(); err != nil {
		if required() {
			t.Fatalf("PostgreSQL required (SUPPLY_TEST_REQUIRE_POSTGRES=1) but unreachable: %v", err)
		}
		t.Skipf("PostgreSQL tests skipped: %v", err)
	}
	name := "supply_test_" + rand.Text()[:16]
	ctx := context.Background()
	if err := adminExec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		// FORCE ends sessions a test left open, such as a subprocess's.
		if err := adminExec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	u, err := url.Parse(adminURL())
	if err != nil {
		t.Fatalf("parse PostgreSQL URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Logger is the logger test stores use: warnings and errors only, to stderr,
// which go test shows for failing or verbose runs.
func Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func adminURL() string {
	if u := os.Getenv("SUPPLY_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return defaultPostgresURL
}

func required() bool { return os.Getenv("SUPPLY_TEST_REQUIRE_POSTGRES") == "1" }

// postgresReachable reports, once per test binary, why PostgreSQL cannot be
// used, or nil if it can.
var postgresReachable = sync.OnceValue(func() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return adminExec(ctx, "SELECT 1")
})

// adminExec runs one statement on the server's administrative database.
func adminExec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, adminURL())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}
