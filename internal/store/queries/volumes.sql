-- name: InsertVolume :execrows
INSERT INTO volumes (
    id, account_id, vendor, vendor_region, name, size_gb, price_per_gb_month, status, status_message,
    vendor_volume_id, attached_to, mount_path, create_attempted_at, billing_started_at, deleted_at, created_at, updated_at, version
) VALUES (
    sqlc.arg(id), sqlc.arg(account_id), sqlc.arg(vendor), sqlc.arg(vendor_region), sqlc.arg(name), sqlc.arg(size_gb),
    sqlc.arg(price_per_gb_month), sqlc.arg(status), sqlc.arg(status_message), sqlc.arg(vendor_volume_id),
    sqlc.arg(attached_to), sqlc.arg(mount_path), sqlc.arg(create_attempted_at), sqlc.arg(billing_started_at), sqlc.arg(deleted_at),
    sqlc.arg(created_at), sqlc.arg(updated_at), sqlc.arg(version)
)
ON CONFLICT (id) DO NOTHING;

-- name: VolumeByID :one
SELECT * FROM volumes WHERE id = sqlc.arg(id);

-- name: VolumesOfAccount :many
SELECT * FROM volumes WHERE account_id = sqlc.arg(account_id) ORDER BY created_at DESC, id DESC;

-- Volumes the vendor may still hold: what the reconciler compares with
-- the vendors' volumes.
-- name: LiveVolumes :many
SELECT * FROM volumes WHERE status NOT IN ('deleted', 'gone', 'failed') ORDER BY created_at, id;

-- name: VolumesAttachedTo :many
SELECT * FROM volumes WHERE attached_to = sqlc.arg(attached_to) ORDER BY created_at, id;

-- The version condition is the optimistic lock, as UpdateResource's.
-- name: UpdateVolume :one
UPDATE volumes SET
    status = sqlc.arg(status),
    status_message = sqlc.arg(status_message),
    vendor_volume_id = sqlc.arg(vendor_volume_id),
    attached_to = sqlc.arg(attached_to),
    mount_path = sqlc.arg(mount_path),
    create_attempted_at = sqlc.arg(create_attempted_at),
    billing_started_at = sqlc.arg(billing_started_at),
    deleted_at = sqlc.arg(deleted_at),
    updated_at = sqlc.arg(updated_at),
    version = version + 1
WHERE id = sqlc.arg(id) AND version = sqlc.arg(version)
RETURNING *;
