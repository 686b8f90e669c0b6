package store

import (
	"context"
	"time"

	"github.com/gpusupply/supply/internal/store/litedb"
	"github.com/gpusupply/supply/internal/store/pgdb"
)

// Volume is storage rented from a vendor on its own, that outlives the
// machines it is attached to.
type Volume struct {
	ID           string
	AccountID    int64
	Vendor       string
	VendorRegion string
	Name         string
	SizeGB       int64
	// PricePerGBMonth is the vendor's price (USD per GB for 730 hours)
	// when the volume was made.
	PricePerGBMonth float64
	// Status is creating, available, deleting, deleted, failed or gone
	// (the vendor no longer has it); StatusMessage says more.
	Status        string
	StatusMessage string
	// VendorVolumeID is "" until the vendor names the volume.
	VendorVolumeID string
	// AttachedTo is the resource the volume was last attached to ("":
	// none); it is attached while that resource is live.
	AttachedTo string
	// MountPath is where a machine shows the volume, as the vendor says
	// ("" until the vendor has made it).
	MountPath         string
	CreateAttemptedAt *time.Time
	// BillingStartedAt and DeletedAt bound what the volume costs.
	BillingStartedAt *time.Time
	DeletedAt        *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
	// Version counts the row's writes, as Resource.Version does.
	Version int64
}

// Volume statuses (Volume.Status).
const (
	VolumeCreating  = "creating"
	VolumeAvailable = "available"
	VolumeDeleting  = "deleting"
	VolumeDeleted   = "deleted"
	VolumeFailed    = "failed"
	VolumeGone      = "gone"
)

// VolumeQueries are the reads and writes of volumes.
type VolumeQueries interface {
	// InsertVolume stores v as given; ErrConflict if its ID is taken.
	InsertVolume(ctx context.Context, v Volume) error
	VolumeByID(ctx context.Context, id string) (Volume, error)
	// VolumesOfAccount returns the account's volumes, newest first.
	VolumesOfAccount(ctx context.Context, accountID int64) ([]Volume, error)
	// LiveVolumes returns every account's volumes that the vendor may
	// still hold (not deleted, failed or gone), oldest first.
	LiveVolumes(ctx context.Context) ([]Volume, error)
	// VolumesAttachedTo returns the volumes last attached to a resource.
	VolumesAttachedTo(ctx context.Context, resourceID string) ([]Volume, error)
	// UpdateVolume writes v's mutable fields (status and message, vendor
	// id, attachment, the nullable times, UpdatedAt) if the row is still
	// at v.Version, as UpdateResource does; ErrConflict if it is not.
	UpdateVolume(ctx context.Context, v Volume) (Volume, error)
}

// ChangeVolume is ChangeResource for volume id.
func ChangeVolume(ctx context.Context, q Queries, id string, change func(*Volume) bool) (Volume, bool, error) {
	return changeRow(ctx, "volume "+id, func(ctx context.Context) (Volume, error) { return q.VolumeByID(ctx, id) },
		q.UpdateVolume, change)
}

// volumesGenerated is the part of generated for volumes.
type volumesGenerated interface {
	InsertVolume(ctx context.Context, v volumeRow) (int64, error)
	VolumeByID(ctx context.Context, id string) (volumeRow, error)
	VolumesOfAccount(ctx context.Context, accountID int64) ([]volumeRow, error)
	LiveVolumes(ctx context.Context) ([]volumeRow, error)
	VolumesAttachedTo(ctx context.Context, attachedTo string) ([]volumeRow, error)
	UpdateVolume(ctx context.Context, v volumeRow) (volumeRow, error)
}

// volumeRow is a volumes row as both engines' sqlc code has it.
type volumeRow struct {
	ID                string
	AccountID         int64
	Vendor            string
	VendorRegion      string
	Name              string
	SizeGb            int64
	PricePerGbMonth   float64
	Status            string
	StatusMessage     string
	VendorVolumeID    string
	AttachedTo        string
	MountPath         string
	CreateAttemptedAt *time.Time
	BillingStartedAt  *time.Time
	DeletedAt         *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Version           int64
}

func (r volumeRow) volume() Volume {
	return Volume{
		ID: r.ID, AccountID: r.AccountID, Vendor: r.Vendor, VendorRegion: r.VendorRegion, Name: r.Name, SizeGB: r.SizeGb,
		PricePerGBMonth: r.PricePerGbMonth, Status: r.Status, StatusMessage: r.StatusMessage, VendorVolumeID: r.VendorVolumeID,
		AttachedTo: r.AttachedTo, MountPath: r.MountPath, CreateAttemptedAt: r.CreateAttemptedAt, BillingStartedAt: r.BillingStartedAt,
		DeletedAt: r.DeletedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version,
	}
}

// newVolumeRow converts v to a row, its times normalised as the store
// writes them.
func newVolumeRow(v Volume) volumeRow {
	return volumeRow{
		ID: v.ID, AccountID: v.AccountID, Vendor: v.Vendor, VendorRegion: v.VendorRegion, Name: v.Name, SizeGb: v.SizeGB,
		PricePerGbMonth: v.PricePerGBMonth, Status: v.Status, StatusMessage: v.StatusMessage, VendorVolumeID: v.VendorVolumeID,
		AttachedTo: v.AttachedTo, MountPath: v.MountPath, CreateAttemptedAt: dbTimePtr(v.CreateAttemptedAt), BillingStartedAt: dbTimePtr(v.BillingStartedAt),
		DeletedAt: dbTimePtr(v.DeletedAt), CreatedAt: dbTime(v.CreatedAt), UpdatedAt: dbTime(v.UpdatedAt), Version: v.Version,
	}
}

func (q queries) InsertVolume(ctx context.Context, v Volume) error {
	n, err := q.db.InsertVolume(ctx, newVolumeRow(v))
	return wrap(inserted(n, err), "insert volume %s", v.ID)
}

func (q queries) VolumeByID(ctx context.Context, id string) (Volume, error) {
	r, err := q.db.VolumeByID(ctx, id)
	return r.volume(), wrap(err, "volume %s", id)
}

func (q queries) VolumesOfAccount(ctx context.Context, accountID int64) ([]Volume, error) {
	rows, err := q.db.VolumesOfAccount(ctx, accountID)
	return convertRows(rows, volumeRow.volume), wrap(err, "volumes of account %d", accountID)
}

func (q queries) LiveVolumes(ctx context.Context) ([]Volume, error) {
	rows, err := q.db.LiveVolumes(ctx)
	return convertRows(rows, volumeRow.volume), wrap(err, "live volumes")
}

func (q queries) VolumesAttachedTo(ctx context.Context, resourceID string) ([]Volume, error) {
	rows, err := q.db.VolumesAttachedTo(ctx, resourceID)
	return convertRows(rows, volumeRow.volume), wrap(err, "volumes attached to %s", resourceID)
}

func (q queries) UpdateVolume(ctx context.Context, v Volume) (Volume, error) {
	out, err := q.db.UpdateVolume(ctx, newVolumeRow(v))
	if err == nil {
		return out.volume(), nil
	}
	return Volume{}, versionedUpdateError(err, "volume "+v.ID, v.Version, func() (int64, error) {
		cur, err := q.db.VolumeByID(ctx, v.ID)
		return cur.Version, err
	})
}

// The engines' adapters: rows and parameters converted.

func (e liteQueries) InsertVolume(ctx context.Context, v volumeRow) (int64, error) {
	return e.Queries.InsertVolume(ctx, litedb.InsertVolumeParams(v))
}

func (e liteQueries) VolumeByID(ctx context.Context, id string) (volumeRow, error) {
	r, err := e.Queries.VolumeByID(ctx, id)
	return volumeRow(r), err
}

func (e liteQueries) VolumesOfAccount(ctx context.Context, accountID int64) ([]volumeRow, error) {
	return liteVolumes(e.Queries.VolumesOfAccount(ctx, accountID))
}

func (e liteQueries) LiveVolumes(ctx context.Context) ([]volumeRow, error) {
	return liteVolumes(e.Queries.LiveVolumes(ctx))
}

func (e liteQueries) VolumesAttachedTo(ctx context.Context, attachedTo string) ([]volumeRow, error) {
	return liteVolumes(e.Queries.VolumesAttachedTo(ctx, attachedTo))
}

func (e liteQueries) UpdateVolume(ctx context.Context, v volumeRow) (volumeRow, error) {
	r, err := e.Queries.UpdateVolume(ctx, v.update())
	return volumeRow(r), err
}

// update is the row's UpdateVolume parameters, the same on both engines.
func (v volumeRow) update() litedb.UpdateVolumeParams {
	return litedb.UpdateVolumeParams{Status: v.Status, StatusMessage: v.StatusMessage, VendorVolumeID: v.VendorVolumeID,
		AttachedTo: v.AttachedTo, MountPath: v.MountPath, CreateAttemptedAt: v.CreateAttemptedAt, BillingStartedAt: v.BillingStartedAt,
		DeletedAt: v.DeletedAt, UpdatedAt: v.UpdatedAt, ID: v.ID, Version: v.Version}
}

func liteVolumes(rows []litedb.Volume, err error) ([]volumeRow, error) {
	return convertRows(rows, func(r litedb.Volume) volumeRow { return volumeRow(r) }), err
}

func (e pgQueries) InsertVolume(ctx context.Context, v volumeRow) (int64, error) {
	return e.Queries.InsertVolume(ctx, pgdb.InsertVolumeParams(v))
}

func (e pgQueries) VolumeByID(ctx context.Context, id string) (volumeRow, error) {
	r, err := e.Queries.VolumeByID(ctx, id)
	return volumeRow(r), err
}

func (e pgQueries) VolumesOfAccount(ctx context.Context, accountID int64) ([]volumeRow, error) {
	return pgVolumes(e.Queries.VolumesOfAccount(ctx, accountID))
}

func (e pgQueries) LiveVolumes(ctx context.Context) ([]volumeRow, error) {
	return pgVolumes(e.Queries.LiveVolumes(ctx))
}

func (e pgQueries) VolumesAttachedTo(ctx context.Context, attachedTo string) ([]volumeRow, error) {
	return pgVolumes(e.Queries.VolumesAttachedTo(ctx, attachedTo))
}

func (e pgQueries) UpdateVolume(ctx context.Context, v volumeRow) (volumeRow, error) {
	r, err := e.Queries.UpdateVolume(ctx, pgdb.UpdateVolumeParams(v.update()))
	return volumeRow(r), err
}

func pgVolumes(rows []pgdb.Volume, err error) ([]volumeRow, error) {
	return convertRows(rows, func(r pgdb.Volume) volumeRow { return volumeRow(r) }), err
}
