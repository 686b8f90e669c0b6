-- +goose Up
-- Teams: every key has a role (admin, member or viewer; the keys made before
-- roles existed could do everything, so they are admins), a name to tell it
-- apart, caps of its own on what it holds live (NULL: none; the account's caps
-- hold as well), the vendors it may rent from (a comma-separated list; '':
-- every vendor), when it expires (NULL: never) and when it was last used.
-- A resource names the key that procured it, and an event the key whose
-- request made it (NULL and '': none, a change of the service's own).
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_keys ADD COLUMN max_hourly_usd DOUBLE PRECISION;
ALTER TABLE api_keys ADD COLUMN max_gpu_count BIGINT;
ALTER TABLE api_keys ADD COLUMN vendors TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMPTZ;
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMPTZ;
ALTER TABLE resources ADD COLUMN created_by_key_id BIGINT;
ALTER TABLE events ADD COLUMN actor_key_id BIGINT;
ALTER TABLE events ADD COLUMN actor_name TEXT NOT NULL DEFAULT '';
CREATE INDEX resources_created_by_key_id ON resources (created_by_key_id);

-- +goose Down
DROP INDEX resources_created_by_key_id;
ALTER TABLE events DROP COLUMN actor_name;
ALTER TABLE events DROP COLUMN actor_key_id;
ALTER TABLE resources DROP COLUMN created_by_key_id;
ALTER TABLE api_keys DROP COLUMN last_used_at;
ALTER TABLE api_keys DROP COLUMN expires_at;
ALTER TABLE api_keys DROP COLUMN vendors;
ALTER TABLE api_keys DROP COLUMN max_gpu_count;
ALTER TABLE api_keys DROP COLUMN max_hourly_usd;
ALTER TABLE api_keys DROP COLUMN role;
ALTER TABLE api_keys DROP COLUMN name;
