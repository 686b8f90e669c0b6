-- +goose Up
-- A resource on its way out (deleting, deleted, failed) has no auto-delete
-- time: UpdateResource clears it from now on; this clears what older
-- releases left.
UPDATE resources SET delete_at = NULL WHERE status IN ('deleting', 'deleted', 'failed') AND delete_at IS NOT NULL;

-- +goose Down
