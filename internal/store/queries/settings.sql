-- name: InsertSettingIfAbsent :exec
INSERT INTO settings (key, value, created_at)
VALUES (sqlc.arg(key), sqlc.arg(value), sqlc.arg(created_at))
ON CONFLICT (key) DO NOTHING;

-- name: Setting :one
SELECT value FROM settings WHERE key = sqlc.arg(key);
