-- +goose Up
-- A procurement is one procured offer; its resources are what the vendors run
-- for it (a cluster is a parent resource with one child per node). The store
-- keeps the JSON in offer, item and spec verbatim. The statuses belong to
-- package provision, so the schema does not list them.

CREATE TABLE procurements (
    offer_id       TEXT PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    vendor         TEXT NOT NULL,
    offer          BLOB NOT NULL,
    item           BLOB NOT NULL,
    ssh_public_key TEXT NOT NULL,
    cloud_init     TEXT NOT NULL,
    cluster_name   TEXT NOT NULL,
    status         TEXT NOT NULL,
    failure_reason TEXT NOT NULL,
    created_at     DATETIME NOT NULL,
    updated_at     DATETIME NOT NULL
);

CREATE INDEX procurements_account_id_created_at ON procurements (account_id, created_at);

CREATE TABLE resources (
    id                  TEXT PRIMARY KEY,
    account_id          INTEGER NOT NULL REFERENCES accounts (id),
    offer_id            TEXT NOT NULL REFERENCES procurements (offer_id),
    parent_id           TEXT REFERENCES resources (id),
    resource_type       TEXT NOT NULL,
    vendor              TEXT NOT NULL,
    vendor_region       TEXT NOT NULL,
    name                TEXT NOT NULL,
    node_index          INTEGER NOT NULL,
    status              TEXT NOT NULL,
    status_message      TEXT NOT NULL,
    failure_reason      TEXT NOT NULL,
    vendor_instance_id  TEXT NOT NULL,
    external_ip         TEXT NOT NULL,
    internal_ip         TEXT NOT NULL,
    ssh_port            INTEGER NOT NULL,
    spec                BLOB NOT NULL,
    price_per_hour      REAL NOT NULL,
    create_attempted_at DATETIME,
    delete_requested_at DATETIME,
    ready_at            DATETIME,
    deleted_at          DATETIME,
    last_synced_at      DATETIME,
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL
);

CREATE INDEX resources_account_id_created_at_id ON resources (account_id, created_at, id);
CREATE INDEX resources_offer_id ON resources (offer_id);
CREATE INDEX resources_status ON resources (status);
CREATE INDEX resources_parent_id ON resources (parent_id);

-- The stored response of a request that carried an Idempotency-Key.
CREATE TABLE idempotency_keys (
    account_id   INTEGER NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     BLOB NOT NULL,
    created_at   DATETIME NOT NULL,
    PRIMARY KEY (account_id, key)
);

-- For the periodic purge of expired keys.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE resources;
DROP TABLE procurements;
