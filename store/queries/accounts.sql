-- name: InsertAccountIfAbsent :exec
INSERT INTO accounts (name, created_at)
VALUES (sqlc.arg(name), sqlc.arg(created_at))
ON CONFLICT (name) DO NOTHING;

-- name: AccountByName :one
SELECT * FROM accounts WHERE name = sqlc.arg(name);

-- name: AccountByID :one
SELECT * FROM accounts WHERE id = sqlc.arg(id);
