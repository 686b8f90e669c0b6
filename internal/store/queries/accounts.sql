-- name: InsertAccountIfAbsent :exec
INSERT INTO accounts (name, created_at)
VALUES (sqlc.arg(name), sqlc.arg(created_at))
ON CONFLICT (name) DO NOTHING;

-- name: AccountByName :one
SELECT * FROM accounts WHERE name = sqlc.arg(name);

-- name: AccountByID :one
SELECT * FROM accounts WHERE id = sqlc.arg(id);

-- NULL clears a cap.
-- name: SetAccountLimits :execrows
UPDATE accounts
SET max_hourly_usd = sqlc.arg(max_hourly_usd), max_gpu_count = sqlc.arg(max_gpu_count)
WHERE id = sqlc.arg(id);

-- Changes nothing but takes the account's row lock on PostgreSQL (SQLite
-- runs one writing transaction at a time anyway): procurements of one
-- account that check its caps then record resources take turns.
-- name: LockAccount :execrows
UPDATE accounts SET name = name WHERE id = sqlc.arg(id);
