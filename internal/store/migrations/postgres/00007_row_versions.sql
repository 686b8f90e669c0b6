-- +goose Up
-- Every write of a resource or a procurement compares the row's version
-- with the one its writer read, and bumps it (store.UpdateResource,
-- store.UpdateProcurement): a writer holding an older copy of the row
-- finds it changed and re-reads, instead of writing back fields another
-- writer has just set (a vendor instance id, a billing start).
ALTER TABLE resources ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE procurements ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE procurements DROP COLUMN version;
ALTER TABLE resources DROP COLUMN version;
