-- +goose Up
-- Timestamps are always written by the application (UTC, microseconds) so that
-- both engines return identical values; hence no DEFAULT now().

CREATE TABLE accounts (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    prefix     TEXT NOT NULL,
    hash       BYTEA NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

CREATE INDEX api_keys_account_id ON api_keys (account_id);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- offers is BYTEA, not JSONB: the store treats it as opaque and must return it
-- byte for byte.
CREATE TABLE catalog_snapshots (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vendor       TEXT NOT NULL,
    observed_at  TIMESTAMPTZ NOT NULL,
    content_hash TEXT NOT NULL,
    offers       BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX catalog_snapshots_vendor_id ON catalog_snapshots (vendor, id DESC);

-- +goose Down
DROP TABLE catalog_snapshots;
DROP TABLE settings;
DROP TABLE api_keys;
DROP TABLE accounts;
