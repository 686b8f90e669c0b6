-- Inserts report 0 rows on a taken key instead of failing: on PostgreSQL a
-- failed statement aborts its transaction, and callers insert in one.
-- name: InsertProcurement :execrows
INSERT INTO procurements (
    offer_id, account_id, vendor, offer, item, ssh_public_key, cloud_init,
    cluster_name, status, failure_reason, created_at, updated_at, version, fallback, attempts,
    phase, attempt
) VALUES (
    sqlc.arg(offer_id), sqlc.arg(account_id), sqlc.arg(vendor), sqlc.arg(offer), sqlc.arg(item),
    sqlc.arg(ssh_public_key), sqlc.arg(cloud_init), sqlc.arg(cluster_name), sqlc.arg(status),
    sqlc.arg(failure_reason), sqlc.arg(created_at), sqlc.arg(updated_at), sqlc.arg(version),
    sqlc.arg(fallback), sqlc.arg(attempts), sqlc.arg(phase), sqlc.arg(attempt)
)
ON CONFLICT (offer_id) DO NOTHING;

-- name: ProcurementByOffer :one
SELECT * FROM procurements WHERE offer_id = sqlc.arg(offer_id);

-- As UpdateResource: the write of a writer that read this version of the
-- row, which bumps it.
-- name: UpdateProcurement :one
UPDATE procurements
SET vendor = sqlc.arg(vendor), item = sqlc.arg(item), status = sqlc.arg(status),
    failure_reason = sqlc.arg(failure_reason), updated_at = sqlc.arg(updated_at),
    fallback = sqlc.arg(fallback), attempts = sqlc.arg(attempts), phase = sqlc.arg(phase),
    attempt = sqlc.arg(attempt), version = version + 1
WHERE offer_id = sqlc.arg(offer_id) AND version = sqlc.arg(version)
RETURNING *;

-- The procurements between tries (switching or waiting), oldest first:
-- each needs its failover job.
-- name: ProcurementsBetweenTries :many
SELECT * FROM procurements WHERE phase IN ('switching', 'waiting') ORDER BY created_at, offer_id;
