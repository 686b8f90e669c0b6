package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gpusupply/supply/internal/roles"
)

// generated is one engine's sqlc code with its rows converted to domain types.
// It is the only per-engine part of Queries: pgQueries and liteQueries are thin
// adapters, and queries holds the logic once for both engines.
type generated interface {
	InsertAccountIfAbsent(ctx context.Context, name string, createdAt time.Time) error
	AccountByName(ctx context.Context, name string) (Account, error)
	AccountByID(ctx context.Context, id int64) (Account, error)
	SetAccountLimits(ctx context.Context, maxHourlyUSD *float64, maxGPUCount *int64, id int64) (int64, error)
	LockAccount(ctx context.Context, id int64) (int64, error)
	CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error)
	ActiveAPIKeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	AccountAPIKey(ctx context.Context, id, accountID int64) (APIKey, error)
	APIKeyByID(ctx context.Context, id int64) (APIKey, error)
	AccountAPIKeys(ctx context.Context, accountID int64) ([]APIKey, error)
	UpdateAPIKey(ctx context.Context, name, role string, maxHourlyUSD *float64, maxGPUCount *int64, vendors string, expiresAt *time.Time, id, accountID int64) (int64, error)
	RevokeAPIKey(ctx context.Context, revokedAt *time.Time, keyID, accountID int64) (int64, error)
	TouchAPIKey(ctx context.Context, lastUsedAt *time.Time, id int64) error
	CountAPIKeys(ctx context.Context) (int64, error)
	InsertSettingIfAbsent(ctx context.Context, key string, value []byte, createdAt time.Time) error
	Setting(ctx context.Context, key string) ([]byte, error)
	InsertSnapshot(ctx context.Context, vendor string, observedAt time.Time, contentHash string, offers []byte, createdAt time.Time) (int64, error)
	SnapshotByID(ctx context.Context, id int64) (Snapshot, error)
	LatestSnapshot(ctx context.Context, vendor string) (Snapshot, error)
	DeleteSnapshotsSupersededBefore(ctx context.Context, before time.Time) (int64, error)
	InsertProcurement(ctx context.Context, p Procurement) (int64, error)
	ProcurementByOffer(ctx context.Context, offerID string) (Procurement, error)
	UpdateProcurement(ctx context.Context, p Procurement) (Procurement, error)
	ProcurementsBetweenTries(ctx context.Context) ([]Procurement, error)
	InsertResource(ctx context.Context, r resourceRow) (int64, error)
	ResourceByID(ctx context.Context, id string) (resourceRow, error)
	ResourcesByOffer(ctx context.Context, offerID string) ([]resourceRow, error)
	ResourcesByParent(ctx context.Context, parentID *string) ([]resourceRow, error)
	ListResources(ctx context.Context, accountID int64, offerID, status string, createdBy int64, beforeID string, beforeCreatedAt time.Time, maxRows int64) ([]resourceRow, error)
	LiveResources(ctx context.Context) ([]resourceRow, error)
	LiveResourcesOfAccount(ctx context.Context, accountID int64) ([]resourceRow, error)
	ResourcesByVendorInstance(ctx context.Context, vendor, vendorInstanceID string) ([]resourceRow, error)
	UpdateResource(ctx context.Context, u resourceUpdate) (resourceRow, error)
	SetDeleteAt(ctx context.Context, deleteAt *time.Time, updatedAt time.Time, offerID string) (int64, error)
	InsertIdempotencyRecord(ctx context.Context, accountID int64, key, requestHash string, response []byte, createdAt time.Time) (int64, error)
	IdempotencyRecord(ctx context.Context, accountID int64, key string) (IdempotencyRecord, error)
	DeleteIdempotencyRecordsBefore(ctx context.Context, before time.Time) (int64, error)
	eventsGenerated
	sessionsGenerated
	volumesGenerated
	portsGenerated
}

// resourceRow is a resources row as both engines' sqlc code has it. Resource
// differs (ParentID is "" for NULL, the integers are ints), so it takes a
// conversion both ways rather than a plain struct conversion.
type resourceRow struct {
	ID                string
	AccountID         int64
	OfferID           string
	ParentID          *string
	ResourceType      string
	Vendor            string
	VendorRegion      string
	Name              string
	NodeIndex         int64
	Status            string
	StatusMessage     string
	FailureReason     string
	VendorInstanceID  string
	ExternalIP        string
	InternalIP        string
	SSHPort           int64
	Spec              []byte
	PricePerHour      float64
	CreateAttemptedAt *time.Time
	DeleteRequestedAt *time.Time
	ReadyAt           *time.Time
	DeletedAt         *time.Time
	LastSyncedAt      *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
	DeleteAt          *time.Time
	BillingStartedAt  *time.Time
	Version           int64
	CreatedByKeyID    *int64
	Stops             []byte
}

// resourceUpdate is both engines' UpdateResourceParams: the mutable fields
// of a resource, the row to write them to and the version it must have.
type resourceUpdate struct {
	Name              string
	Vendor            string
	VendorRegion      string
	Spec              []byte
	PricePerHour      float64
	Status            string
	StatusMessage     string
	FailureReason     string
	VendorInstanceID  string
	ExternalIP        string
	InternalIP        string
	SSHPort           int64
	CreateAttemptedAt *time.Time
	DeleteRequestedAt *time.Time
	ReadyAt           *time.Time
	DeletedAt         *time.Time
	LastSyncedAt      *time.Time
	BillingStartedAt  *time.Time
	Stops             []byte
	UpdatedAt         time.Time
	ID                string
	Version           int64
}

// newResourceRow converts r to a row, its times normalised as the store writes them.
func newResourceRow(r Resource) resourceRow {
	var parentID *string
	if r.ParentID != "" {
		parentID = &r.ParentID
	}
	var createdBy *int64
	if r.CreatedBy != 0 {
		createdBy = &r.CreatedBy
	}
	return resourceRow{
		ID:                r.ID,
		AccountID:         r.AccountID,
		OfferID:           r.OfferID,
		ParentID:          parentID,
		ResourceType:      r.ResourceType,
		Vendor:            r.Vendor,
		VendorRegion:      r.VendorRegion,
		Name:              r.Name,
		NodeIndex:         int64(r.NodeIndex),
		Status:            r.Status,
		StatusMessage:     r.StatusMessage,
		FailureReason:     r.FailureReason,
		VendorInstanceID:  r.VendorInstanceID,
		ExternalIP:        r.ExternalIP,
		InternalIP:        r.InternalIP,
		SSHPort:           int64(r.SSHPort),
		Spec:              r.Spec,
		PricePerHour:      r.PricePerHour,
		CreateAttemptedAt: dbTimePtr(r.CreateAttemptedAt),
		DeleteRequestedAt: dbTimePtr(r.DeleteRequestedAt),
		ReadyAt:           dbTimePtr(r.ReadyAt),
		DeletedAt:         dbTimePtr(r.DeletedAt),
		LastSyncedAt:      dbTimePtr(r.LastSyncedAt),
		CreatedAt:         dbTime(r.CreatedAt),
		UpdatedAt:         dbTime(r.UpdatedAt),
		DeleteAt:          dbTimePtr(r.DeleteAt),
		BillingStartedAt:  dbTimePtr(r.BillingStartedAt),
		Version:           r.Version,
		CreatedByKeyID:    createdBy,
		Stops:             nonNil(r.Stops),
	}
}

// resource converts a row back to a Resource.
func (r resourceRow) resource() Resource {
	var parentID string
	if r.ParentID != nil {
		parentID = *r.ParentID
	}
	var createdBy int64
	if r.CreatedByKeyID != nil {
		createdBy = *r.CreatedByKeyID
	}
	return Resource{
		ID:                r.ID,
		OfferID:           r.OfferID,
		AccountID:         r.AccountID,
		ParentID:          parentID,
		ResourceType:      r.ResourceType,
		Vendor:            r.Vendor,
		VendorRegion:      r.VendorRegion,
		Name:              r.Name,
		NodeIndex:         int(r.NodeIndex),
		Status:            r.Status,
		StatusMessage:     r.StatusMessage,
		FailureReason:     r.FailureReason,
		VendorInstanceID:  r.VendorInstanceID,
		ExternalIP:        r.ExternalIP,
		InternalIP:        r.InternalIP,
		SSHPort:           int(r.SSHPort),
		Spec:              r.Spec,
		PricePerHour:      r.PricePerHour,
		CreateAttemptedAt: r.CreateAttemptedAt,
		DeleteRequestedAt: r.DeleteRequestedAt,
		ReadyAt:           r.ReadyAt,
		DeletedAt:         r.DeletedAt,
		LastSyncedAt:      r.LastSyncedAt,
		CreatedAt:         r.CreatedAt,
		UpdatedAt:         r.UpdatedAt,
		DeleteAt:          r.DeleteAt,
		BillingStartedAt:  r.BillingStartedAt,
		Version:           r.Version,
		CreatedBy:         createdBy,
		Stops:             nilIfEmpty(r.Stops),
	}
}

// update is the write of the row's mutable fields if its version is still r's.
func (r resourceRow) update() resourceUpdate {
	return resourceUpdate{
		Name:              r.Name,
		Vendor:            r.Vendor,
		VendorRegion:      r.VendorRegion,
		Spec:              r.Spec,
		PricePerHour:      r.PricePerHour,
		Status:            r.Status,
		StatusMessage:     r.StatusMessage,
		FailureReason:     r.FailureReason,
		VendorInstanceID:  r.VendorInstanceID,
		ExternalIP:        r.ExternalIP,
		InternalIP:        r.InternalIP,
		SSHPort:           r.SSHPort,
		CreateAttemptedAt: r.CreateAttemptedAt,
		DeleteRequestedAt: r.DeleteRequestedAt,
		ReadyAt:           r.ReadyAt,
		DeletedAt:         r.DeletedAt,
		LastSyncedAt:      r.LastSyncedAt,
		BillingStartedAt:  r.BillingStartedAt,
		Stops:             r.Stops,
		UpdatedAt:         r.UpdatedAt,
		ID:                r.ID,
		Version:           r.Version,
	}
}

// convertRows converts each of an engine's rows with f.
func convertRows[T, U any](rows []T, f func(T) U) []U {
	out := make([]U, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}

// resources converts rows to Resources, or returns err as wrap does.
func resources(rows []resourceRow, err error, format string, args ...any) ([]Resource, error) {
	if err != nil {
		return nil, wrap(err, format, args...)
	}
	return convertRows(rows, resourceRow.resource), nil
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

func (q queries) AccountByName(ctx context.Context, name string) (Account, error) {
	a, err := q.db.AccountByName(ctx, name)
	return a, wrap(err, "account %q", name)
}

func (q queries) SetAccountLimits(ctx context.Context, id int64, maxHourlyUSD *float64, maxGPUCount *int64) error {
	n, err := q.db.SetAccountLimits(ctx, maxHourlyUSD, maxGPUCount, id)
	if err == nil && n == 0 {
		err = sql.ErrNoRows
	}
	return wrap(err, "set limits of account %d", id)
}

func (q queries) LockAccount(ctx context.Context, id int64) error {
	n, err := q.db.LockAccount(ctx, id)
	if err == nil && n == 0 {
		err = sql.ErrNoRows
	}
	return wrap(err, "lock account %d", id)
}

func (q queries) CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error) {
	k.CreatedAt, k.ExpiresAt = now(), dbTimePtr(k.ExpiresAt)
	if k.Role == "" {
		k.Role = string(roles.Admin)
	}
	out, err := q.db.CreateAPIKey(ctx, k)
	return out, wrap(err, "create API key %q for account %d", k.Prefix, k.AccountID)
}

func (q queries) APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	k, err := q.db.ActiveAPIKeyByHash(ctx, hash)
	return k, wrap(err, "API key by hash")
}

func (q queries) APIKeyByID(ctx context.Context, id int64) (APIKey, error) {
	k, err := q.db.APIKeyByID(ctx, id)
	return k, wrap(err, "API key %d", id)
}

func (q queries) AccountAPIKey(ctx context.Context, accountID, id int64) (APIKey, error) {
	k, err := q.db.AccountAPIKey(ctx, id, accountID)
	return k, wrap(err, "API key %d of account %d", id, accountID)
}

func (q queries) AccountAPIKeys(ctx context.Context, accountID int64) ([]APIKey, error) {
	ks, err := q.db.AccountAPIKeys(ctx, accountID)
	return ks, wrap(err, "API keys of account %d", accountID)
}

func (q queries) UpdateAPIKey(ctx context.Context, k APIKey) error {
	n, err := q.db.UpdateAPIKey(ctx, k.Name, k.Role, k.MaxHourlyUSD, k.MaxGPUCount, k.Vendors, dbTimePtr(k.ExpiresAt), k.ID, k.AccountID)
	if err == nil && n == 0 {
		err = sql.ErrNoRows
	}
	return wrap(err, "update API key %d of account %d", k.ID, k.AccountID)
}

func (q queries) RevokeAPIKey(ctx context.Context, accountID, id int64) error {
	at := now()
	n, err := q.db.RevokeAPIKey(ctx, &at, id, accountID)
	if err == nil && n == 0 {
		err = sql.ErrNoRows
	}
	return wrap(err, "revoke API key %d of account %d", id, accountID)
}

func (q queries) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	return wrap(q.db.TouchAPIKey(ctx, dbTimePtr(&at), id), "touch API key %d", id)
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
	s.ObservedAt, s.CreatedAt = dbTime(s.ObservedAt), now()
	id, err := q.db.InsertSnapshot(ctx, s.Vendor, s.ObservedAt, s.ContentHash, s.Offers, s.CreatedAt)
	s.ID = id
	return s, wrap(err, "insert %s snapshot", s.Vendor)
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

// procurementRow is p as the columns hold it: JSON columns are never NULL.
func procurementRow(p Procurement) Procurement {
	p.Fallback, p.Attempts = nonNil(p.Fallback), nonNil(p.Attempts)
	return p
}

// procurement is a row as Procurement has it: an empty JSON column is nil,
// as it was before it was written.
func procurement(p Procurement) Procurement {
	if len(p.Fallback) == 0 {
		p.Fallback = nil
	}
	if len(p.Attempts) == 0 {
		p.Attempts = nil
	}
	return p
}

// nilIfEmpty is an empty JSON column as a Go value has it before it was
// written: nil.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (q queries) InsertProcurement(ctx context.Context, p Procurement) error {
	p = procurementRow(p)
	p.CreatedAt, p.UpdatedAt = dbTime(p.CreatedAt), dbTime(p.UpdatedAt)
	n, err := q.db.InsertProcurement(ctx, p)
	return wrap(inserted(n, err), "insert procurement of offer %s", p.OfferID)
}

func (q queries) ProcurementsBetweenTries(ctx context.Context) ([]Procurement, error) {
	ps, err := q.db.ProcurementsBetweenTries(ctx)
	return convertRows(ps, procurement), wrap(err, "procurements between tries")
}

func (q queries) ProcurementByOffer(ctx context.Context, offerID string) (Procurement, error) {
	p, err := q.db.ProcurementByOffer(ctx, offerID)
	return procurement(p), wrap(err, "procurement of offer %s", offerID)
}

func (q queries) UpdateProcurement(ctx context.Context, p Procurement) (Procurement, error) {
	p = procurementRow(p)
	p.UpdatedAt = dbTime(p.UpdatedAt)
	out, err := q.db.UpdateProcurement(ctx, p)
	if err == nil {
		return procurement(out), nil
	}
	return Procurement{}, versionedUpdateError(err, "procurement "+p.OfferID, p.Version, func() (int64, error) {
		current, err := q.db.ProcurementByOffer(ctx, p.OfferID)
		return current.Version, err
	})
}

// versionedUpdateError is the error of an update of what (written over
// version) that failed with err: when it changed no row, either there is
// none (ErrNotFound) or another writer changed it first (ErrConflict), as
// the row's current version says.
func versionedUpdateError(err error, what string, version int64, current func() (int64, error)) error {
	if !errors.Is(err, sql.ErrNoRows) {
		return wrap(err, "update %s", what)
	}
	now, err := current()
	if err != nil {
		return wrap(err, "update %s", what)
	}
	return fmt.Errorf("update %s: it is at version %d, not %d: %w", what, now, version, ErrConflict)
}

func (q queries) InsertResource(ctx context.Context, r Resource) error {
	n, err := q.db.InsertResource(ctx, newResourceRow(r))
	return wrap(inserted(n, err), "insert resource %s", r.ID)
}

func (q queries) ResourceByID(ctx context.Context, id string) (Resource, error) {
	r, err := q.db.ResourceByID(ctx, id)
	return r.resource(), wrap(err, "resource %s", id)
}

func (q queries) ResourcesByOffer(ctx context.Context, offerID string) ([]Resource, error) {
	rows, err := q.db.ResourcesByOffer(ctx, offerID)
	return resources(rows, err, "resources of offer %s", offerID)
}

func (q queries) ResourcesByParent(ctx context.Context, parentID string) ([]Resource, error) {
	rows, err := q.db.ResourcesByParent(ctx, &parentID)
	return resources(rows, err, "resources of cluster %s", parentID)
}

func (q queries) ListResources(ctx context.Context, accountID int64, f ResourceFilter, after ResourceCursor, limit int) ([]Resource, error) {
	maxRows := int64(math.MaxInt32)
	if limit > 0 {
		maxRows = int64(min(limit, math.MaxInt32))
	}
	rows, err := q.db.ListResources(ctx, accountID, f.OfferID, f.Status, f.CreatedBy, after.ID, dbTime(after.CreatedAt), maxRows)
	return resources(rows, err, "list resources of account %d", accountID)
}

func (q queries) LiveResources(ctx context.Context) ([]Resource, error) {
	rows, err := q.db.LiveResources(ctx)
	return resources(rows, err, "live resources")
}

func (q queries) LiveResourcesOfAccount(ctx context.Context, accountID int64) ([]Resource, error) {
	rows, err := q.db.LiveResourcesOfAccount(ctx, accountID)
	return resources(rows, err, "live resources of account %d", accountID)
}

func (q queries) ResourcesByVendorInstance(ctx context.Context, vendor, instanceID string) ([]Resource, error) {
	rows, err := q.db.ResourcesByVendorInstance(ctx, vendor, instanceID)
	return resources(rows, err, "resources of %s instance %q", vendor, instanceID)
}

func (q queries) UpdateResource(ctx context.Context, r Resource) (Resource, error) {
	out, err := q.db.UpdateResource(ctx, newResourceRow(r).update())
	if err == nil {
		return out.resource(), nil
	}
	return Resource{}, versionedUpdateError(err, "resource "+r.ID, r.Version, func() (int64, error) {
		current, err := q.db.ResourceByID(ctx, r.ID)
		return current.Version, err
	})
}

func (q queries) SetDeleteAt(ctx context.Context, offerID string, deleteAt *time.Time, at time.Time) (int64, error) {
	n, err := q.db.SetDeleteAt(ctx, dbTimePtr(deleteAt), dbTime(at), offerID)
	return n, wrap(err, "set delete_at of offer %s's resources", offerID)
}

func (q queries) InsertIdempotencyRecord(ctx context.Context, rec IdempotencyRecord) error {
	n, err := q.db.InsertIdempotencyRecord(ctx, rec.AccountID, rec.Key, rec.RequestHash, rec.Response, dbTime(rec.CreatedAt))
	return wrap(inserted(n, err), "insert idempotency record %q of account %d", rec.Key, rec.AccountID)
}

func (q queries) IdempotencyRecord(ctx context.Context, accountID int64, key string) (IdempotencyRecord, error) {
	rec, err := q.db.IdempotencyRecord(ctx, accountID, key)
	return rec, wrap(err, "idempotency record %q of account %d", key, accountID)
}

func (q queries) DeleteIdempotencyRecordsBefore(ctx context.Context, before time.Time) (int64, error) {
	n, err := q.db.DeleteIdempotencyRecordsBefore(ctx, dbTime(before))
	return n, wrap(err, "delete idempotency records before %s", before.Format(time.RFC3339))
}

// inserted turns an insert that skipped a taken key (0 rows) into ErrConflict.
// The inserts skip rather than fail because on PostgreSQL a failed statement
// aborts the transaction, and callers insert inside one.
func inserted(n int64, err error) error {
	if err == nil && n == 0 {
		return ErrConflict
	}
	return err
}

// wrap adds context to a query error, turns "no rows" (sql.ErrNoRows, which
// pgx.ErrNoRows also matches) into ErrNotFound and marks a unique-constraint
// violation as ErrConflict. It returns nil for nil.
func wrap(err error, format string, args ...any) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		err = ErrNotFound
	case uniqueViolation(err):
		err = fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// uniqueViolation reports whether err is either engine's unique-constraint
// (or primary key) violation.
func uniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505" // unique_violation
	}
	var liteErr *sqlite.Error
	return errors.As(err, &liteErr) &&
		(liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// now is the current time as the store writes it.
func now() time.Time { return dbTime(time.Now()) }

// dbTimePtr is dbTime for a nullable time.
func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := dbTime(*t)
	return &u
}

// dbTime brings t to what both engines store: UTC with microsecond precision,
// PostgreSQL's resolution. In UTC, SQLite's text timestamps also sort in time
// order, which the snapshot cutoff relies on.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
