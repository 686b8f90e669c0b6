-- +goose Up
-- Every process running jobs beats here every few seconds; a job whose
-- holder has stopped beating is taken over by a live process at once,
-- instead of after River's rescue delay.
CREATE TABLE replica_heartbeats (
    client_id    TEXT PRIMARY KEY,
    heartbeat_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE replica_heartbeats;
