-- +goose Up
-- A resource may be stopped and started again (package provision): stops
-- are its stops so far, a JSON array of spans {from, to, price_per_hour}
-- (to null while it is still stopped) at what the vendor bills per hour
-- while it is stopped; empty when it never was.
ALTER TABLE resources ADD COLUMN stops BLOB NOT NULL DEFAULT x'';

-- +goose Down
ALTER TABLE resources DROP COLUMN stops;
