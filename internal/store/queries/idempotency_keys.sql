-- name: InsertIdempotencyRecord :execrows
INSERT INTO idempotency_keys (account_id, key, request_hash, response, created_at)
VALUES (sqlc.arg(account_id), sqlc.arg(key), sqlc.arg(request_hash), sqlc.arg(response), sqlc.arg(created_at))
ON CONFLICT (account_id, key) DO NOTHING;

-- name: IdempotencyRecord :one
SELECT * FROM idempotency_keys WHERE account_id = sqlc.arg(account_id) AND key = sqlc.arg(key);

-- name: DeleteIdempotencyRecordsBefore :execrows
DELETE FROM idempotency_keys WHERE created_at < sqlc.arg(before);
