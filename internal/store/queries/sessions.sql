-- name: InsertSession :one
INSERT INTO sessions (token_hash, account_id, api_key_id, created_at, last_seen_at, expires_at, user_agent, address)
VALUES (sqlc.arg(token_hash), sqlc.arg(account_id), sqlc.arg(api_key_id), sqlc.arg(created_at), sqlc.arg(created_at),
        sqlc.arg(expires_at), sqlc.arg(user_agent), sqlc.arg(address))
RETURNING id;

-- A session counts while neither it nor its key has expired and its key is
-- not revoked: revoking a key ends its sessions without writing to them.
-- name: ActiveSessionByTokenHash :one
SELECT s.id, s.account_id, s.api_key_id, k.prefix AS key_prefix, s.token_hash, s.created_at, s.last_seen_at,
       s.expires_at, s.user_agent, s.address, k.name AS key_name, k.role AS key_role
FROM sessions s JOIN api_keys k ON k.id = s.api_key_id
WHERE s.token_hash = sqlc.arg(token_hash) AND s.expires_at > sqlc.arg(now) AND k.revoked_at IS NULL
  AND (k.expires_at IS NULL OR k.expires_at > sqlc.arg(now));

-- name: ActiveSessionsByAccount :many
SELECT s.id, s.account_id, s.api_key_id, k.prefix AS key_prefix, s.token_hash, s.created_at, s.last_seen_at,
       s.expires_at, s.user_agent, s.address, k.name AS key_name, k.role AS key_role
FROM sessions s JOIN api_keys k ON k.id = s.api_key_id
WHERE s.account_id = sqlc.arg(account_id) AND s.expires_at > sqlc.arg(now) AND k.revoked_at IS NULL
  AND (k.expires_at IS NULL OR k.expires_at > sqlc.arg(now))
ORDER BY s.created_at DESC, s.id DESC;

-- name: TouchSession :exec
UPDATE sessions SET last_seen_at = sqlc.arg(last_seen_at)
WHERE id = sqlc.arg(id) AND last_seen_at < sqlc.arg(last_seen_at);

-- name: DeleteSessionByTokenHash :exec
DELETE FROM sessions WHERE token_hash = sqlc.arg(token_hash);

-- name: DeleteAccountSession :execrows
DELETE FROM sessions WHERE id = sqlc.arg(id) AND account_id = sqlc.arg(account_id);

-- name: DeleteEndedSessions :execrows
DELETE FROM sessions
WHERE sessions.expires_at <= sqlc.arg(now)
   OR api_key_id IN (SELECT k.id FROM api_keys k WHERE k.revoked_at IS NOT NULL OR k.expires_at <= sqlc.arg(now));
