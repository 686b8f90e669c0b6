-- name: CreateAPIKey :one
INSERT INTO api_keys (account_id, prefix, hash, created_at)
VALUES (sqlc.arg(account_id), sqlc.arg(prefix), sqlc.arg(hash), sqlc.arg(created_at))
RETURNING *;

-- name: ActiveAPIKeyByHash :one
SELECT * FROM api_keys WHERE hash = sqlc.arg(hash) AND revoked_at IS NULL;

-- name: RevokeAPIKey :execrows
UPDATE api_keys SET revoked_at = sqlc.arg(revoked_at)
WHERE id = sqlc.arg(key_id) AND revoked_at IS NULL;

-- name: CountAPIKeys :one
SELECT count(*) FROM api_keys;
