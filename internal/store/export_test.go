package store

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/rivertype"
)

// CountRows counts the rows of table through the store's own database handle,
// for tests that look at tables the Store does not expose (River's, goose's).
func CountRows(t testing.TB, s Store, table string) int64 {
	t.Helper()
	query := "SELECT count(*) FROM " + table
	var n int64
	var err error
	switch s := s.(type) {
	case *pgStore:
		err = s.pool.QueryRow(context.Background(), query).Scan(&n)
	case *liteStore:
		err = s.db.QueryRowContext(context.Background(), query).Scan(&n)
	default:
		t.Fatalf("CountRows: unknown store type %T", s)
	}
	if err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// MigrateTo applies the store's migrations up to version, and no further,
// to the empty database o names, and returns that database as an
// installation of that version left it (closed when the test ends), for
// tests of what a later migration makes of the rows it holds.
func MigrateTo(t testing.TB, o Options, version int64) *sql.DB {
	t.Helper()
	var (
		db      *sql.DB
		err     error
		dialect goose.Dialect
		fsys    fs.FS
	)
	if o.DatabaseURL == "" { // as Open tells the engines apart
		db, err = sql.Open("sqlite", "file:"+filepath.Join(o.DataDir, SQLiteFile)+"?"+sqliteParams)
		dialect = goose.DialectSQLite3
		fsys, _ = fs.Sub(sqliteMigrations, "migrations/sqlite")
	} else {
		db, err = sql.Open("pgx", o.DatabaseURL)
		dialect = goose.DialectPostgres
		fsys, _ = fs.Sub(postgresMigrations, "migrations/postgres")
	}
	if err != nil {
		t.Fatalf("open the database to migrate to %d: %v", version, err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := goose.NewProvider(dialect, db, fsys)
	if err == nil {
		_, err = p.UpTo(context.Background(), version)
	}
	if err != nil {
		t.Fatalf("migrate to %d: %v", version, err)
	}
	return db
}

// jobControl is what the takeover tests reach into: the store's job runner.
type jobControl interface {
	setClock(rivertype.TimeGenerator)
	failBeats() *atomic.Bool
	passes() int64
}

func (j *jobs[TTx]) setClock(c rivertype.TimeGenerator) { j.clock = c }

func (j *jobs[TTx]) failBeats() *atomic.Bool {
	fail := &atomic.Bool{}
	j.replicas = failingReplicas{replicas: j.replicas, fail: fail}
	return fail
}

func (j *jobs[TTx]) passes() int64 { return j.takenOver.Load() }

func control(t testing.TB, s Store) jobControl {
	t.Helper()
	switch s := s.(type) {
	case *pgStore:
		return s.jobs
	case *liteStore:
		return s.jobs
	}
	t.Fatalf("unknown store type %T", s)
	return nil
}

// SetClock gives the store's River client clock c, as the clock of the
// machine it runs on; call it before StartJobs.
func SetClock(t testing.TB, s Store, c rivertype.TimeGenerator) { control(t, s).setClock(c) }

// FailBeats returns a switch that makes the store's heartbeats fail while
// it is on, as when the database does not answer this process; call it
// before StartJobs.
func FailBeats(t testing.TB, s Store) *atomic.Bool { return control(t, s).failBeats() }

// TakeoverPasses counts the heartbeat loop's takeover passes so far.
func TakeoverPasses(t testing.TB, s Store) int64 { return control(t, s).passes() }

// failingReplicas fails every beat while fail is on.
type failingReplicas struct {
	replicas
	fail *atomic.Bool
}

func (f failingReplicas) beat(ctx context.Context, id string) error {
	if f.fail.Load() {
		return errors.New("beat refused by the test")
	}
	return f.replicas.beat(ctx, id)
}
