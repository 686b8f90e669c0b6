package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// generated is one engine's sqlc code with its rows converted to domain types.
// It is the only per-engine part of Queries: pgQueries and liteQueries are thin
// adapters, and queries holds the logic once for both engines.
type generated interface {
	InsertAccountIfAbsent(ctx context.Context, name string, createdAt time.Time) error
	AccountByName(ctx context.Context, name string) (Account, error)
	AccountByID(ctx context.Context, id int64) (Account, error)
	CreateAPIKey(ctx context.Context, accountID int64, prefix string, hash []byte, createdAt time.Time) (APIKey, error)
	ActiveAPIKeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	RevokeAPIKey(ctx context.Context, revokedAt *time.Time, keyID int64) (int64, error)
	CountAPIKeys(ctx context.Context) (int64, error)
	InsertSettingIfAbsent(ctx context.Context, key string, value []byte, createdAt time.Time) error
	Setting(ctx context.Context, key string) ([]byte, error)
	InsertSnapshot(ctx context.Context, vendor string, observedAt time.Time, contentHash string, offers []byte, createdAt time.Time) (Snapshot, error)
	SnapshotByID(ctx context.Context, id int64) (Snapshot, error)
	LatestSnapshot(ctx context.Context, vendor string) (Snapshot, error)
	DeleteSnapshotsSupersededBefore(ctx context.Context, before time.Time) (int64, error)
}

// queries implements Queries over either engine.
type queries struct {
	db generated
}

func (q queries) EnsureAccount(ctx context.Context, name string) (Account, error) {
	// Insert-if-absent then read, rather than read then insert, so that two
	// callers racing on a new name both succeed.
	if err := q.db.InsertAccountIfAbsent(ctx, name, now()); err != nil {
		return Account{}, fmt.Errorf("ensure account %q: %w", name, err)
	}
	a, err := q.db.AccountByName(ctx, name)
	return a, wrap(err, "ensure account %q", name)
}

func (q queries) AccountByID(ctx context.Context, id int64) (Account, error) {
	a, err := q.db.AccountByID(ctx, id)
	return a, wrap(err, "account %d", id)
}

func (q queries) CreateAPIKey(ctx context.Context, accountID int64, prefix string, hash []byte) (APIKey, error) {
	k, err := q.db.CreateAPIKey(ctx, accountID, prefix, hash, now())
	return k, wrap(err, "create API key %q for account %d", prefix, accountID)
}

func (q queries) APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	k, err := q.db.ActiveAPIKeyByHash(ctx, hash)
	return k, wrap(err, "API key by hash")
}

func (q queries) RevokeAPIKey(ctx context.Context, id int64) error {
	at := now()
	n, err := q.db.RevokeAPIKey(ctx, &at, id)
	if err == nil && n == 0 {
		err = sql.ErrNoRows
	}
	return wrap(err, "revoke API key %d", id)
}

func (q queries) CountAPIKeys(ctx context.Context) (int64, error) {
	n, err := q.db.CountAPIKeys(ctx)
	return n, wrap(err, "count API keys")
}

func (q queries) Setting(ctx context.Context, key string) ([]byte, error) {
	v, err := q.db.Setting(ctx, key)
	return v, wrap(err, "setting %q", key)
}

func (q queries) InitSetting(ctx context.Context, key string, value []byte) ([]byte, error) {
	// The loser of a race inserts nothing and reads the winner's value: on
	// PostgreSQL the conflicting insert waits for the winner to commit, and
	// SQLite runs one writer at a time.
	if err := q.db.InsertSettingIfAbsent(ctx, key, value, now()); err != nil {
		return nil, fmt.Errorf("init setting %q: %w", key, err)
	}
	v, err := q.db.Setting(ctx, key)
	return v, wrap(err, "init setting %q", key)
}

func (q queries) InsertSnapshot(ctx context.Context, s Snapshot) (Snapshot, error) {
	stored, err := q.db.InsertSnapshot(ctx, s.Vendor, dbTime(s.ObservedAt), s.ContentHash, s.Offers, now())
	return stored, wrap(err, "insert %s snapshot", s.Vendor)
}

func (q queries) SnapshotByID(ctx context.Context, id int64) (Snapshot, error) {
	s, err := q.db.SnapshotByID(ctx, id)
	return s, wrap(err, "snapshot %d", id)
}

func (q queries) LatestSnapshot(ctx context.Context, vendor string) (Snapshot, error) {
	s, err := q.db.LatestSnapshot(ctx, vendor)
	return s, wrap(err, "latest %s snapshot", vendor)
}

func (q queries) DeleteSnapshotsBefore(ctx context.Context, before time.Time) (int64, error) {
	n, err := q.db.DeleteSnapshotsSupersededBefore(ctx, dbTime(before))
	return n, wrap(err, "delete snapshots before %s", before.Format(time.RFC3339))
}

// wrap adds context to a query error and turns "no rows" (sql.ErrNoRows, which
// pgx.ErrNoRows also matches) into ErrNotFound. It returns nil for nil.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// now is the current time as the store writes it.
func now() time.Time { return dbTime(time.Now()) }

// dbTime brings t to what both engines store: UTC with microsecond precision,
// PostgreSQL's resolution. In UTC, SQLite's text timestamps also sort in time
// order, which the snapshot cutoff relies on.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
