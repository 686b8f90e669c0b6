package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/gpusupply/supply/internal/store/pgdb"
)

//go:embed migrations/postgres/*.sql
var postgresMigrations embed.FS

// defaultPoolSize is the pool size unless the URL sets pool_max_conns. pgx's
// default (4 on small machines) is too small: River's listener holds one
// connection for good, and running jobs compete with API requests for the rest.
const defaultPoolSize = 25

// migrateLockID keys the advisory lock that serialises migrations of
// replicas racing at boot (rivermigrate has no lock of its own).
const migrateLockID = 0x737570706c79 // "supply"

// pgStore is the Store on PostgreSQL.
type pgStore struct {
	queries
	*jobs[pgx.Tx]
	pool *pgxpool.Pool
}

func openPostgres(ctx context.Context, o Options) (Store, error) {
	cfg, err := poolConfig(o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	s, err := newPostgres(ctx, pool, o)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func newPostgres(ctx context.Context, pool *pgxpool.Pool, o Options) (*pgStore, error) {
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	driver := riverpgxv5.New(pool)
	if o.Migrate {
		if err := migratePostgres(ctx, pool, driver, o); err != nil {
			return nil, err
		}
	}
	j, err := newJobs(driver, o, pgReplicas{pool}, false)
	if err != nil {
		return nil, err
	}
	return &pgStore{queries: queries{pgQueries{pgdb.New(pool)}}, jobs: j, pool: pool}, nil
}

// poolConfig parses the URL into a pool config that returns timestamps in UTC,
// like SQLite does, and leaves room for River.
func poolConfig(databaseURL string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, errors.New("open PostgreSQL: invalid database URL")
	}
	if u, err := url.Parse(databaseURL); err == nil && !u.Query().Has("pool_max_conns") {
		cfg.MaxConns = defaultPoolSize
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		conn.TypeMap().RegisterType(&pgtype.Type{
			Name:  "timestamptz",
			OID:   pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}
	return cfg, nil
}

// migratePostgres runs goose and River migrations under a session advisory
// lock held on a connection of its own.
func migratePostgres(ctx context.Context, pool *pgxpool.Pool, driver *riverpgxv5.Driver, o Options) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockID); err != nil {
		return fmt.Errorf("migrate: take lock: %w", err)
	}
	// Unlock even if ctx has ended. Should that fail, closing the connection
	// ends the session, which frees the lock too.
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLockID); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()

	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	fsys, _ := fs.Sub(postgresMigrations, "migrations/postgres") // cannot fail: the path is valid
	return migrate(ctx, goose.DialectPostgres, db, fsys, driver, o.Logger)
}

func (s *pgStore) InTx(ctx context.Context, fn func(Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(t pgx.Tx) error {
		return fn(tx[pgx.Tx]{queries: queries{pgQueries{pgdb.New(t)}}, tx: t, jobs: s.jobs})
	})
}

func (s *pgStore) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping PostgreSQL: %w", err)
	}
	return nil
}

func (s *pgStore) Engine() string { return EnginePostgres }

func (s *pgStore) Close() error {
	err := s.cancel()
	s.pool.Close()
	return err
}

// pgQueries adapts the PostgreSQL code that sqlc generated to generated: the
// methods returning rows convert them, the rest are promoted as they are.
type pgQueries struct{ *pgdb.Queries }

func (e pgQueries) AccountByName(ctx context.Context, name string) (Account, error) {
	r, err := e.Queries.AccountByName(ctx, name)
	return Account(r), err
}

func (e pgQueries) AccountByID(ctx context.Context, id int64) (Account, error) {
	r, err := e.Queries.AccountByID(ctx, id)
	return Account(r), err
}

func (e pgQueries) CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error) {
	r, err := e.Queries.CreateAPIKey(ctx, pgdb.CreateAPIKeyParams{
		AccountID: k.AccountID, Prefix: k.Prefix, Hash: k.Hash, CreatedAt: k.CreatedAt, Name: k.Name, Role: k.Role,
		MaxHourlyUSD: k.MaxHourlyUSD, MaxGPUCount: k.MaxGPUCount, Vendors: k.Vendors, ExpiresAt: k.ExpiresAt,
	})
	return APIKey(r), err
}

func (e pgQueries) APIKeyByID(ctx context.Context, id int64) (APIKey, error) {
	r, err := e.Queries.APIKeyByID(ctx, id)
	return APIKey(r), err
}

func (e pgQueries) AccountAPIKey(ctx context.Context, id, accountID int64) (APIKey, error) {
	r, err := e.Queries.AccountAPIKey(ctx, id, accountID)
	return APIKey(r), err
}

func (e pgQueries) AccountAPIKeys(ctx context.Context, accountID int64) ([]APIKey, error) {
	rows, err := e.Queries.AccountAPIKeys(ctx, accountID)
	return convertRows(rows, func(r pgdb.ApiKey) APIKey { return APIKey(r) }), err
}

func (e pgQueries) ActiveAPIKeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	r, err := e.Queries.ActiveAPIKeyByHash(ctx, hash)
	return APIKey(r), err
}

func (e pgQueries) SnapshotByID(ctx context.Context, id int64) (Snapshot, error) {
	r, err := e.Queries.SnapshotByID(ctx, id)
	return Snapshot(r), err
}

func (e pgQueries) LatestSnapshot(ctx context.Context, vendor string) (Snapshot, error) {
	r, err := e.Queries.LatestSnapshot(ctx, vendor)
	return Snapshot(r), err
}

func (e pgQueries) ProcurementByOffer(ctx context.Context, offerID string) (Procurement, error) {
	r, err := e.Queries.ProcurementByOffer(ctx, offerID)
	return Procurement(r), err
}

func (e pgQueries) InsertProcurement(ctx context.Context, p Procurement) (int64, error) {
	return e.Queries.InsertProcurement(ctx, pgdb.InsertProcurementParams(p))
}

func (e pgQueries) InsertResource(ctx context.Context, r resourceRow) (int64, error) {
	return e.Queries.InsertResource(ctx, pgdb.InsertResourceParams(r))
}

func (e pgQueries) UpdateResource(ctx context.Context, u resourceUpdate) (resourceRow, error) {
	r, err := e.Queries.UpdateResource(ctx, pgdb.UpdateResourceParams(u))
	return resourceRow(r), err
}

func (e pgQueries) UpdateProcurement(ctx context.Context, p Procurement) (Procurement, error) {
	r, err := e.Queries.UpdateProcurement(ctx, pgdb.UpdateProcurementParams{
		Vendor: p.Vendor, Item: p.Item, Status: p.Status, FailureReason: p.FailureReason, UpdatedAt: p.UpdatedAt,
		Fallback: p.Fallback, Attempts: p.Attempts, Phase: p.Phase, Attempt: p.Attempt, OfferID: p.OfferID, Version: p.Version,
	})
	return Procurement(r), err
}

func (e pgQueries) ProcurementsBetweenTries(ctx context.Context) ([]Procurement, error) {
	rows, err := e.Queries.ProcurementsBetweenTries(ctx)
	return convertRows(rows, func(r pgdb.Procurement) Procurement { return Procurement(r) }), err
}

func (e pgQueries) ResourceByID(ctx context.Context, id string) (resourceRow, error) {
	r, err := e.Queries.ResourceByID(ctx, id)
	return resourceRow(r), err
}

func (e pgQueries) ResourcesByOffer(ctx context.Context, offerID string) ([]resourceRow, error) {
	rows, err := e.Queries.ResourcesByOffer(ctx, offerID)
	return convertRows(rows, pgResourceRow), err
}

func (e pgQueries) ResourcesByParent(ctx context.Context, parentID *string) ([]resourceRow, error) {
	rows, err := e.Queries.ResourcesByParent(ctx, parentID)
	return convertRows(rows, pgResourceRow), err
}

func (e pgQueries) ListResources(ctx context.Context, accountID int64, offerID, status string, createdBy int64, beforeID string, beforeCreatedAt time.Time, maxRows int64) ([]resourceRow, error) {
	rows, err := e.Queries.ListResources(ctx, accountID, offerID, status, createdBy, beforeID, beforeCreatedAt, int32(min(maxRows, math.MaxInt32)))
	return convertRows(rows, pgResourceRow), err
}

func (e pgQueries) LiveResources(ctx context.Context) ([]resourceRow, error) {
	rows, err := e.Queries.LiveResources(ctx)
	return convertRows(rows, pgResourceRow), err
}

func (e pgQueries) LiveResourcesOfAccount(ctx context.Context, accountID int64) ([]resourceRow, error) {
	rows, err := e.Queries.LiveResourcesOfAccount(ctx, accountID)
	return convertRows(rows, pgResourceRow), err
}

func (e pgQueries) ResourcesByVendorInstance(ctx context.Context, vendor, vendorInstanceID string) ([]resourceRow, error) {
	rows, err := e.Queries.ResourcesByVendorInstance(ctx, vendor, vendorInstanceID)
	return convertRows(rows, pgResourceRow), err
}

func (e pgQueries) IdempotencyRecord(ctx context.Context, accountID int64, key string) (IdempotencyRecord, error) {
	r, err := e.Queries.IdempotencyRecord(ctx, accountID, key)
	return IdempotencyRecord(r), err
}

// pgResourceRow converts a row for the lists of resources.
func pgResourceRow(r pgdb.Resource) resourceRow { return resourceRow(r) }
