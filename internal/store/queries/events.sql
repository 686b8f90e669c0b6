-- Takes n ids for the account's next events and returns the last of them,
-- and how many webhooks the account has. The row stays locked until the
-- transaction ends: see the migration.
-- name: TakeEventIDs :one
INSERT INTO event_counters (account_id, last_id, webhooks) VALUES (sqlc.arg(account_id), sqlc.arg(n), 0)
ON CONFLICT (account_id) DO UPDATE SET last_id = event_counters.last_id + excluded.last_id
RETURNING last_id, webhooks;

-- name: CountWebhooks :exec
INSERT INTO event_counters (account_id, last_id, webhooks) VALUES (sqlc.arg(account_id), 0, sqlc.arg(delta))
ON CONFLICT (account_id) DO UPDATE SET webhooks = event_counters.webhooks + excluded.webhooks;

-- name: InsertEvent :exec
INSERT INTO events (account_id, id, type, resource_id, offer_id, data, created_at, actor_key_id, actor_name, actor_tool)
VALUES (sqlc.arg(account_id), sqlc.arg(id), sqlc.arg(type), sqlc.arg(resource_id), sqlc.arg(offer_id),
        sqlc.arg(data), sqlc.arg(created_at), sqlc.arg(actor_key_id), sqlc.arg(actor_name), sqlc.arg(actor_tool));

-- The account's events after an id, oldest first. An empty type or
-- resource_id matches every event; resource_id also matches the offer id,
-- so that a procurement's own events can be followed.
-- name: EventsAfter :many
SELECT * FROM events
WHERE account_id = sqlc.arg(account_id) AND id > sqlc.arg(after_id)
  AND (type = sqlc.arg(type) OR sqlc.arg(type) = '')
  AND (resource_id = sqlc.arg(resource_id) OR offer_id = sqlc.arg(resource_id) OR sqlc.arg(resource_id) = '')
ORDER BY id
LIMIT sqlc.arg(max_rows);

-- name: LastEventID :one
SELECT last_id FROM event_counters WHERE account_id = sqlc.arg(account_id);

-- name: DeleteEventsBefore :execrows
DELETE FROM events WHERE created_at < sqlc.arg(before);

-- How many writes the account's procurements and resources have had (see
-- the change_counters migration).
-- name: ChangeVersion :one
SELECT version FROM change_counters WHERE account_id = sqlc.arg(account_id);
