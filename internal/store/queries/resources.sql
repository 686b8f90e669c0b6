-- name: InsertResource :execrows
INSERT INTO resources (
    id, account_id, offer_id, parent_id, resource_type, vendor, vendor_region, name,
    node_index, status, status_message, failure_reason, vendor_instance_id, external_ip,
    internal_ip, ssh_port, spec, price_per_hour, create_attempted_at, delete_requested_at,
    ready_at, deleted_at, last_synced_at, created_at, updated_at, delete_at, billing_started_at,
    version, created_by_key_id, stops
) VALUES (
    sqlc.arg(id), sqlc.arg(account_id), sqlc.arg(offer_id), sqlc.arg(parent_id),
    sqlc.arg(resource_type), sqlc.arg(vendor), sqlc.arg(vendor_region), sqlc.arg(name),
    sqlc.arg(node_index), sqlc.arg(status), sqlc.arg(status_message), sqlc.arg(failure_reason),
    sqlc.arg(vendor_instance_id), sqlc.arg(external_ip), sqlc.arg(internal_ip), sqlc.arg(ssh_port),
    sqlc.arg(spec), sqlc.arg(price_per_hour), sqlc.arg(create_attempted_at),
    sqlc.arg(delete_requested_at), sqlc.arg(ready_at), sqlc.arg(deleted_at),
    sqlc.arg(last_synced_at), sqlc.arg(created_at), sqlc.arg(updated_at), sqlc.arg(delete_at),
    sqlc.arg(billing_started_at), sqlc.arg(version), sqlc.arg(created_by_key_id), sqlc.arg(stops)
)
ON CONFLICT (id) DO NOTHING;

-- name: ResourceByID :one
SELECT * FROM resources WHERE id = sqlc.arg(id);

-- name: ResourcesByOffer :many
SELECT * FROM resources WHERE offer_id = sqlc.arg(offer_id) ORDER BY node_index, id;

-- name: ResourcesByParent :many
SELECT * FROM resources WHERE parent_id = sqlc.arg(parent_id) ORDER BY node_index, id;

-- An empty offer_id or status, or a created_by of 0, matches every row.
-- A page of the account's resources, newest first: up to max_rows of
-- those after the one (before_created_at, before_id) in that order, or from
-- the first when before_id is ''.
-- name: ListResources :many
SELECT * FROM resources
WHERE account_id = sqlc.arg(account_id)
  AND (offer_id = sqlc.arg(offer_id) OR sqlc.arg(offer_id) = '')
  AND (status = sqlc.arg(status) OR sqlc.arg(status) = '')
  AND (created_by_key_id = CAST(sqlc.arg(created_by) AS BIGINT) OR CAST(sqlc.arg(created_by) AS BIGINT) = 0)
  AND (CAST(sqlc.arg(before_id) AS TEXT) = '' OR created_at < sqlc.arg(before_created_at)
       OR (created_at = sqlc.arg(before_created_at) AND id < sqlc.arg(before_id)))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(max_rows);

-- name: LiveResources :many
SELECT * FROM resources WHERE status NOT IN ('deleted', 'failed') ORDER BY created_at, id;

-- name: LiveResourcesOfAccount :many
SELECT * FROM resources
WHERE account_id = sqlc.arg(account_id) AND status NOT IN ('deleted', 'failed')
ORDER BY created_at, id;

-- name: ResourcesByVendorInstance :many
SELECT * FROM resources
WHERE vendor = sqlc.arg(vendor) AND vendor_instance_id = sqlc.arg(vendor_instance_id)
ORDER BY created_at, id;

-- The version condition is the optimistic lock: of two writers that read
-- the same version of the row, only the first changes it; the other finds
-- no row, re-reads and decides again. Every write bumps the version.
-- name: UpdateResource :one
UPDATE resources SET
    name = sqlc.arg(name),
    vendor = sqlc.arg(vendor),
    vendor_region = sqlc.arg(vendor_region),
    spec = sqlc.arg(spec),
    price_per_hour = sqlc.arg(price_per_hour),
    status = sqlc.arg(status),
    status_message = sqlc.arg(status_message),
    failure_reason = sqlc.arg(failure_reason),
    vendor_instance_id = sqlc.arg(vendor_instance_id),
    external_ip = sqlc.arg(external_ip),
    internal_ip = sqlc.arg(internal_ip),
    ssh_port = sqlc.arg(ssh_port),
    create_attempted_at = sqlc.arg(create_attempted_at),
    delete_requested_at = sqlc.arg(delete_requested_at),
    ready_at = sqlc.arg(ready_at),
    deleted_at = sqlc.arg(deleted_at),
    last_synced_at = sqlc.arg(last_synced_at),
    billing_started_at = sqlc.arg(billing_started_at),
    stops = sqlc.arg(stops),
    updated_at = sqlc.arg(updated_at),
    -- A resource on its way out has no time to be deleted at: whatever
    -- ends it, its auto-delete time ends with it.
    delete_at = CASE sqlc.arg(status) WHEN 'deleting' THEN NULL WHEN 'deleted' THEN NULL WHEN 'failed' THEN NULL ELSE delete_at END,
    version = version + 1
WHERE id = sqlc.arg(id) AND version = sqlc.arg(version)
RETURNING *;

-- delete_at is set only here (UpdateResource only clears it, for a resource
-- on its way out), and without a new version: it is the renter's field
-- alone, so a worker step that read the row before a renter moved the time
-- neither moves it back nor has to re-read for it. Only resources not yet
-- on their way out change.
-- name: SetDeleteAt :execrows
UPDATE resources SET delete_at = sqlc.arg(delete_at), updated_at = sqlc.arg(updated_at)
WHERE offer_id = sqlc.arg(offer_id) AND status NOT IN ('deleting', 'deleted', 'failed');
