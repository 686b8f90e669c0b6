-- +goose Up
-- A procurement may fail over to equivalent offers (package provision):
-- fallback is what the renter asked for and the state of a wait for stock
-- (JSON; empty when the procurement does not fail over), attempts the
-- offers tried so far (a JSON array; empty likewise), attempt the number
-- of the current try (0 for the offer procured), and phase where the
-- current try is: '' or 'trying' (its resources are being made), 'switching'
-- (the last try is being cleaned up at its vendor) or 'waiting' (no
-- equivalent offer is in stock). vendor and item are the current try's.
ALTER TABLE procurements ADD COLUMN fallback BLOB NOT NULL DEFAULT x'';
ALTER TABLE procurements ADD COLUMN attempts BLOB NOT NULL DEFAULT x'';
ALTER TABLE procurements ADD COLUMN phase TEXT NOT NULL DEFAULT '';
ALTER TABLE procurements ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;

-- The reconciler looks for procurements between tries.
CREATE INDEX procurements_phase ON procurements (phase) WHERE phase <> '';

-- +goose Down
DROP INDEX procurements_phase;
ALTER TABLE procurements DROP COLUMN attempt;
ALTER TABLE procurements DROP COLUMN phase;
ALTER TABLE procurements DROP COLUMN attempts;
ALTER TABLE procurements DROP COLUMN fallback;
