-- +goose Up
-- Guardrails: an account's spend caps (NULL: no cap), and per resource when
-- it is deleted on its own (NULL: never) and when its vendor started billing
-- for it (NULL: no instance was ever made), from which its cost accrues.
ALTER TABLE accounts ADD COLUMN max_hourly_usd REAL;
ALTER TABLE accounts ADD COLUMN max_gpu_count INTEGER;
ALTER TABLE resources ADD COLUMN delete_at DATETIME;
ALTER TABLE resources ADD COLUMN billing_started_at DATETIME;

-- +goose Down
ALTER TABLE resources DROP COLUMN billing_started_at;
ALTER TABLE resources DROP COLUMN delete_at;
ALTER TABLE accounts DROP COLUMN max_gpu_count;
ALTER TABLE accounts DROP COLUMN max_hourly_usd;
