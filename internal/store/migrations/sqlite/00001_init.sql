-- +goose Up
-- Timestamps are always written by the application (UTC, microseconds) so that
-- both engines return identical values; hence no DEFAULT CURRENT_TIMESTAMP.
-- AUTOINCREMENT keeps ids of deleted rows from being reused, as on PostgreSQL.

CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    created_at DATETIME NOT NULL
);

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    prefix     TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE,
    created_at DATETIME NOT NULL,
    revoked_at DATETIME
);

CREATE INDEX api_keys_account_id ON api_keys (account_id);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at DATETIME NOT NULL
);

CREATE TABLE catalog_snapshots (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor       TEXT NOT NULL,
    observed_at  DATETIME NOT NULL,
    content_hash TEXT NOT NULL,
    offers       BLOB NOT NULL,
    created_at   DATETIME NOT NULL
);

CREATE INDEX catalog_snapshots_vendor_id ON catalog_snapshots (vendor, id DESC);

-- +goose Down
DROP TABLE catalog_snapshots;
DROP TABLE settings;
DROP TABLE api_keys;
DROP TABLE accounts;
