-- name: CreateAPIKey :one
INSERT INTO api_keys (account_id, prefix, hash, created_at, name, role, max_hourly_usd, max_gpu_count, vendors, expires_at)
VALUES (sqlc.arg(account_id), sqlc.arg(prefix), sqlc.arg(hash), sqlc.arg(created_at), sqlc.arg(name), sqlc.arg(role),
        sqlc.arg(max_hourly_usd), sqlc.arg(max_gpu_count), sqlc.arg(vendors), sqlc.arg(expires_at))
RETURNING *;

-- An expired key is still found here: the caller compares expires_at with
-- its clock, so that the same row can be cached and refused once it expires.
-- name: ActiveAPIKeyByHash :one
SELECT * FROM api_keys WHERE hash = sqlc.arg(hash) AND revoked_at IS NULL;

-- name: AccountAPIKey :one
SELECT * FROM api_keys WHERE id = sqlc.arg(id) AND account_id = sqlc.arg(account_id) AND revoked_at IS NULL;

-- The account's keys that are not revoked, oldest first.
-- name: AccountAPIKeys :many
SELECT * FROM api_keys WHERE account_id = sqlc.arg(account_id) AND revoked_at IS NULL ORDER BY id;

-- name: UpdateAPIKey :execrows
UPDATE api_keys
SET name = sqlc.arg(name), role = sqlc.arg(role), max_hourly_usd = sqlc.arg(max_hourly_usd),
    max_gpu_count = sqlc.arg(max_gpu_count), vendors = sqlc.arg(vendors), expires_at = sqlc.arg(expires_at)
WHERE id = sqlc.arg(id) AND account_id = sqlc.arg(account_id) AND revoked_at IS NULL;

-- name: RevokeAPIKey :execrows
UPDATE api_keys SET revoked_at = sqlc.arg(revoked_at)
WHERE id = sqlc.arg(key_id) AND account_id = sqlc.arg(account_id) AND revoked_at IS NULL;

-- Written at most once a minute per key: last_used_at informs a listing.
-- name: TouchAPIKey :exec
UPDATE api_keys SET last_used_at = sqlc.arg(last_used_at)
WHERE id = sqlc.arg(id) AND (last_used_at IS NULL OR last_used_at < sqlc.arg(last_used_at));

-- name: CountAPIKeys :one
SELECT count(*) FROM api_keys;

-- Revoked keys too: events and caps name the key that procured a resource
-- for as long as the resource lives.
-- name: APIKeyByID :one
SELECT * FROM api_keys WHERE id = sqlc.arg(id);
