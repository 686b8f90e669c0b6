-- name: InsertWebhook :exec
INSERT INTO webhooks (id, account_id, url, event_types, secret, created_at, disabled_at, disabled_reason)
VALUES (sqlc.arg(id), sqlc.arg(account_id), sqlc.arg(url), sqlc.arg(event_types), sqlc.arg(secret),
        sqlc.arg(created_at), NULL, '');

-- name: WebhookByID :one
SELECT * FROM webhooks WHERE id = sqlc.arg(id);

-- name: WebhooksByAccount :many
SELECT * FROM webhooks WHERE account_id = sqlc.arg(account_id) ORDER BY created_at, id;

-- name: DeleteWebhook :execrows
DELETE FROM webhooks WHERE id = sqlc.arg(id) AND account_id = sqlc.arg(account_id);

-- name: DisableWebhook :execrows
UPDATE webhooks SET disabled_at = sqlc.arg(disabled_at), disabled_reason = sqlc.arg(disabled_reason)
WHERE id = sqlc.arg(id) AND disabled_at IS NULL;

-- name: InsertWebhookDelivery :one
INSERT INTO webhook_deliveries (
    webhook_id, event_id, event_type, stream, payload, state, attempts, last_status_code,
    last_error, created_at, updated_at
) VALUES (
    sqlc.arg(webhook_id), sqlc.arg(event_id), sqlc.arg(event_type), sqlc.arg(stream), sqlc.arg(payload),
    'pending', 0, 0, '', sqlc.arg(created_at), sqlc.arg(created_at)
)
RETURNING id;

-- name: WebhookDeliveryByID :one
SELECT * FROM webhook_deliveries WHERE id = sqlc.arg(id);

-- Pending deliveries of the same webhook and stream before an event: a
-- delivery waits for them, so that a stream's events arrive in order.
-- name: CountEarlierPendingDeliveries :one
SELECT count(*) FROM webhook_deliveries
WHERE webhook_id = sqlc.arg(webhook_id) AND stream = sqlc.arg(stream)
  AND event_id < sqlc.arg(event_id) AND state = 'pending';

-- name: RecordWebhookAttempt :exec
INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, duration_ms, created_at)
VALUES (sqlc.arg(delivery_id), sqlc.arg(attempt), sqlc.arg(status_code), sqlc.arg(error),
        sqlc.arg(duration_ms), sqlc.arg(created_at))
ON CONFLICT (delivery_id, attempt) DO NOTHING;

-- A pending delivery moves. One that its webhook's disabling failed while
-- an attempt was on the wire stays failed, unless that attempt got through.
-- name: SetWebhookDeliveryState :execrows
UPDATE webhook_deliveries
SET state = sqlc.arg(state), attempts = sqlc.arg(attempts), last_status_code = sqlc.arg(last_status_code),
    last_error = sqlc.arg(last_error), updated_at = sqlc.arg(updated_at)
WHERE id = sqlc.arg(id) AND (state = 'pending' OR sqlc.arg(state) = 'delivered');

-- Once an endpoint is disabled, what it still had pending fails with it.
-- name: FailPendingDeliveries :execrows
UPDATE webhook_deliveries SET state = 'failed', last_error = sqlc.arg(last_error), updated_at = sqlc.arg(updated_at)
WHERE webhook_id = sqlc.arg(webhook_id) AND state = 'pending';

-- name: RecentWebhookDeliveries :many
SELECT * FROM webhook_deliveries WHERE webhook_id = sqlc.arg(webhook_id) ORDER BY id DESC LIMIT sqlc.arg(max_rows);

-- name: WebhookAttempts :many
SELECT * FROM webhook_attempts WHERE delivery_id = sqlc.arg(delivery_id) ORDER BY attempt;

-- name: DeleteWebhookDeliveriesBefore :execrows
DELETE FROM webhook_deliveries WHERE created_at < sqlc.arg(before) AND state <> 'pending';
