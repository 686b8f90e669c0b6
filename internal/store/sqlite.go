package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/gpusupply/supply/internal/store/litedb"
)

//go:embed migrations/sqlite/*.sql
var sqliteMigrations embed.FS

// SQLiteFile is the name of the database file under Options.DataDir.
const SQLiteFile = "supply.db"

// sqliteParams configure every connection (see go-deps.md):
//   - WAL lets readers run beside the writer; busy_timeout waits out locks.
//   - foreign_keys is off by default in SQLite.
//   - _txlock=immediate takes the write lock at BEGIN: a deferred transaction
//     that reads and then writes can fail with SQLITE_BUSY_SNAPSHOT, which
//     ignores busy_timeout.
//   - _time_format=sqlite writes sortable text without Go's monotonic clock
//     reading, and _timezone=UTC reads timestamps back in UTC.
const sqliteParams = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite&_timezone=UTC"

// liteStore is the Store on SQLite.
type liteStore struct {
	queries
	*jobs[*sql.Tx]
	db *sql.DB
}

func openSQLite(ctx context.Context, o Options) (Store, error) {
	if o.DataDir == "" {
		return nil, errors.New("open SQLite: no data directory given")
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("open SQLite: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(o.DataDir, SQLiteFile)+"?"+sqliteParams)
	if err != nil {
		return nil, fmt.Errorf("open SQLite: %w", err)
	}
	// One connection, as River advises for SQLite: with more, busy_timeout
	// still lets SQLITE_BUSY through.
	db.SetMaxOpenConns(1)
	s, err := newSQLite(ctx, db, o)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

func newSQLite(ctx context.Context, db *sql.DB, o Options) (*liteStore, error) {
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("open SQLite: %w", err)
	}
	driver := riversqlite.New(db)
	if o.Migrate {
		fsys, _ := fs.Sub(sqliteMigrations, "migrations/sqlite") // cannot fail: the path is valid
		if err := migrate(ctx, goose.DialectSQLite3, db, fsys, driver, o.Logger); err != nil {
			return nil, err
		}
	}
	j, err := newJobs(driver, o, liteReplicas{db}, true)
	if err != nil {
		return nil, err
	}
	return &liteStore{queries: queries{liteQueries{litedb.New(&preparedDB{db: db, stmts: map[string]*sql.Stmt{}})}}, jobs: j, db: db}, nil
}

// preparedDB is the database as the queries outside transactions use it:
// each query's statement is prepared once and kept. Without it SQLite
// compiles the query's text again on every call, which was a fifth of the
// CPU of a status poll. The statements are sqlc's, a fixed set.
type preparedDB struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// stmt is query's prepared statement, prepared on first use.
func (p *preparedDB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.stmts[query]; ok {
		return st, nil
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.stmts[query] = st
	return st, nil
}

func (p *preparedDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (p *preparedDB) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.db.PrepareContext(ctx, query)
}

func (p *preparedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (p *preparedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.stmt(ctx, query)
	if err != nil {
		// The same query unprepared fails the same way, and its Row
		// carries the error.
		return p.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (s *liteStore) InTx(ctx context.Context, fn func(Tx) error) error {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// Roll back on error and on panic alike, or the one connection stays taken.
	defer func() { _ = t.Rollback() }()
	if err := fn(tx[*sql.Tx]{queries: queries{liteQueries{litedb.New(t)}}, tx: t, jobs: s.jobs}); err != nil {
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (s *liteStore) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping SQLite: %w", err)
	}
	return nil
}

func (s *liteStore) Engine() string { return EngineSQLite }

func (s *liteStore) Close() error {
	return errors.Join(s.cancel(), s.db.Close())
}

// liteQueries adapts the SQLite code that sqlc generated to generated: the
// methods returning rows convert them, the rest are promoted as they are.
type liteQueries struct{ *litedb.Queries }

// ChangeVersion reads the account's change count without its context's
// cancellation: the read takes microseconds from a local file, and a
// cancellable context costs two watcher goroutines per query (database/sql's
// and the driver's) on the hottest read there is, one per status poll.
func (e liteQueries) ChangeVersion(ctx context.Context, accountID int64) (int64, error) {
	return e.Queries.ChangeVersion(context.WithoutCancel(ctx), accountID)
}

func (e liteQueries) AccountByName(ctx context.Context, name string) (Account, error) {
	r, err := e.Queries.AccountByName(ctx, name)
	return Account(r), err
}

func (e liteQueries) AccountByID(ctx context.Context, id int64) (Account, error) {
	r, err := e.Queries.AccountByID(ctx, id)
	return Account(r), err
}

func (e liteQueries) CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error) {
	r, err := e.Queries.CreateAPIKey(ctx, litedb.CreateAPIKeyParams{
		AccountID: k.AccountID, Prefix: k.Prefix, Hash: k.Hash, CreatedAt: k.CreatedAt, Name: k.Name, Role: k.Role,
		MaxHourlyUSD: k.MaxHourlyUSD, MaxGPUCount: k.MaxGPUCount, Vendors: k.Vendors, ExpiresAt: k.ExpiresAt,
	})
	return APIKey(r), err
}

func (e liteQueries) APIKeyByID(ctx context.Context, id int64) (APIKey, error) {
	r, err := e.Queries.APIKeyByID(ctx, id)
	return APIKey(r), err
}

func (e liteQueries) AccountAPIKey(ctx context.Context, id, accountID int64) (APIKey, error) {
	r, err := e.Queries.AccountAPIKey(ctx, id, accountID)
	return APIKey(r), err
}

func (e liteQueries) AccountAPIKeys(ctx context.Context, accountID int64) ([]APIKey, error) {
	rows, err := e.Queries.AccountAPIKeys(ctx, accountID)
	return convertRows(rows, func(r litedb.ApiKey) APIKey { return APIKey(r) }), err
}

func (e liteQueries) ActiveAPIKeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	r, err := e.Queries.ActiveAPIKeyByHash(ctx, hash)
	return APIKey(r), err
}

func (e liteQueries) SnapshotByID(ctx context.Context, id int64) (Snapshot, error) {
	r, err := e.Queries.SnapshotByID(ctx, id)
	return Snapshot(r), err
}

func (e liteQueries) LatestSnapshot(ctx context.Context, vendor string) (Snapshot, error) {
	r, err := e.Queries.LatestSnapshot(ctx, vendor)
	return Snapshot(r), err
}

func (e liteQueries) ProcurementByOffer(ctx context.Context, offerID string) (Procurement, error) {
	r, err := e.Queries.ProcurementByOffer(ctx, offerID)
	return Procurement(r), err
}

func (e liteQueries) InsertProcurement(ctx context.Context, p Procurement) (int64, error) {
	return e.Queries.InsertProcurement(ctx, litedb.InsertProcurementParams(p))
}

func (e liteQueries) InsertResource(ctx context.Context, r resourceRow) (int64, error) {
	return e.Queries.InsertResource(ctx, litedb.InsertResourceParams(r))
}

func (e liteQueries) UpdateResource(ctx context.Context, u resourceUpdate) (resourceRow, error) {
	r, err := e.Queries.UpdateResource(ctx, litedb.UpdateResourceParams(u))
	return resourceRow(r), err
}

func (e liteQueries) UpdateProcurement(ctx context.Context, p Procurement) (Procurement, error) {
	r, err := e.Queries.UpdateProcurement(ctx, litedb.UpdateProcurementParams{
		Vendor: p.Vendor, Item: p.Item, Status: p.Status, FailureReason: p.FailureReason, UpdatedAt: p.UpdatedAt,
		Fallback: p.Fallback, Attempts: p.Attempts, Phase: p.Phase, Attempt: p.Attempt, OfferID: p.OfferID, Version: p.Version,
	})
	return Procurement(r), err
}

func (e liteQueries) ProcurementsBetweenTries(ctx context.Context) ([]Procurement, error) {
	rows, err := e.Queries.ProcurementsBetweenTries(ctx)
	return convertRows(rows, func(r litedb.Procurement) Procurement { return Procurement(r) }), err
}

func (e liteQueries) ResourceByID(ctx context.Context, id string) (resourceRow, error) {
	r, err := e.Queries.ResourceByID(ctx, id)
	return resourceRow(r), err
}

func (e liteQueries) ResourcesByOffer(ctx context.Context, offerID string) ([]resourceRow, error) {
	rows, err := e.Queries.ResourcesByOffer(ctx, offerID)
	return convertRows(rows, liteResourceRow), err
}

func (e liteQueries) ResourcesByParent(ctx context.Context, parentID *string) ([]resourceRow, error) {
	rows, err := e.Queries.ResourcesByParent(ctx, parentID)
	return convertRows(rows, liteResourceRow), err
}

func (e liteQueries) ListResources(ctx context.Context, accountID int64, offerID, status string, createdBy int64, beforeID string, beforeCreatedAt time.Time, maxRows int64) ([]resourceRow, error) {
	rows, err := e.Queries.ListResources(ctx, accountID, offerID, status, createdBy, beforeID, beforeCreatedAt, maxRows)
	return convertRows(rows, liteResourceRow), err
}

func (e liteQueries) LiveResources(ctx context.Context) ([]resourceRow, error) {
	rows, err := e.Queries.LiveResources(ctx)
	return convertRows(rows, liteResourceRow), err
}

func (e liteQueries) LiveResourcesOfAccount(ctx context.Context, accountID int64) ([]resourceRow, error) {
	rows, err := e.Queries.LiveResourcesOfAccount(ctx, accountID)
	return convertRows(rows, liteResourceRow), err
}

func (e liteQueries) ResourcesByVendorInstance(ctx context.Context, vendor, vendorInstanceID string) ([]resourceRow, error) {
	rows, err := e.Queries.ResourcesByVendorInstance(ctx, vendor, vendorInstanceID)
	return convertRows(rows, liteResourceRow), err
}

func (e liteQueries) IdempotencyRecord(ctx context.Context, accountID int64, key string) (IdempotencyRecord, error) {
	r, err := e.Queries.IdempotencyRecord(ctx, accountID, key)
	return IdempotencyRecord(r), err
}

// liteResourceRow converts a row for the lists of resources.
func liteResourceRow(r litedb.Resource) resourceRow { return resourceRow(r) }
