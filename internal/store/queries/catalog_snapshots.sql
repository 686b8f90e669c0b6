-- Only the id comes back: the offers blob can be tens of megabytes, and
-- the caller already has it.
-- name: InsertSnapshot :one
INSERT INTO catalog_snapshots (vendor, observed_at, content_hash, offers, created_at)
VALUES (sqlc.arg(vendor), sqlc.arg(observed_at), sqlc.arg(content_hash), sqlc.arg(offers), sqlc.arg(created_at))
RETURNING id;

-- name: SnapshotByID :one
SELECT * FROM catalog_snapshots WHERE id = sqlc.arg(id);

-- name: LatestSnapshot :one
SELECT * FROM catalog_snapshots WHERE vendor = sqlc.arg(vendor) ORDER BY id DESC LIMIT 1;

-- A snapshot goes once a newer one of the same vendor was stored before the
-- cutoff: until then it was the latest and offers shown from it may still be
-- live. The latest snapshot of a vendor has no newer one, so it always stays.
-- name: DeleteSnapshotsSupersededBefore :execrows
DELETE FROM catalog_snapshots
WHERE EXISTS (
    SELECT 1 FROM catalog_snapshots AS newer
    WHERE newer.vendor = catalog_snapshots.vendor
      AND newer.id > catalog_snapshots.id
      AND newer.created_at < sqlc.arg(before)
);
