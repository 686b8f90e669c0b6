-- +goose Up
-- Events are the durable record of every change of a procurement or
-- resource, written in the transaction of the change. Their ids count per
-- account: event_counters holds each account's last id, and a transaction
-- takes the next ids by updating that row. The row lock it takes is held to
-- commit, so an account's events commit in id order on both engines: a reader
-- that saw id N never sees an id below N appear later, which is what lets
-- streams resume after an id without loss or duplicates. (A global sequence
-- would not: on PostgreSQL ids are drawn at insert but become visible at
-- commit, in any order.)
--
-- The row also counts the account's webhooks, so that an event write learns
-- in the same statement whether it has deliveries to make.
CREATE TABLE event_counters (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id),
    last_id    BIGINT NOT NULL,
    webhooks   BIGINT NOT NULL
);

-- resource_id is '' for a procurement's own events. data is the object's new
-- state as the API shows it (JSON), kept verbatim.
CREATE TABLE events (
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    id          BIGINT NOT NULL,
    type        TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    offer_id    TEXT NOT NULL,
    data        BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, id)
);

-- For the periodic purge of old events.
CREATE INDEX events_created_at ON events (created_at);

-- event_types is a comma-separated list; '' means every type. disabled_at
-- is set, with the reason, once deliveries kept failing.
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES accounts (id),
    url             TEXT NOT NULL,
    event_types     TEXT NOT NULL,
    secret          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    disabled_at     TIMESTAMPTZ,
    disabled_reason TEXT NOT NULL
);

CREATE INDEX webhooks_account_id ON webhooks (account_id);

-- One delivery per webhook and event; stream is the resource (or, for a
-- procurement's events, the offer) whose events are delivered in order.
-- state is pending, delivered or failed.
CREATE TABLE webhook_deliveries (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         BIGINT NOT NULL,
    event_type       TEXT NOT NULL,
    stream           TEXT NOT NULL,
    payload          BYTEA NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    last_status_code INTEGER NOT NULL,
    last_error       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE INDEX webhook_deliveries_webhook_stream ON webhook_deliveries (webhook_id, stream, event_id);
CREATE INDEX webhook_deliveries_created_at ON webhook_deliveries (created_at);

-- Each attempt of a delivery: its HTTP status (0 when none came) and error.
CREATE TABLE webhook_attempts (
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    status_code INTEGER NOT NULL,
    error       TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE events;
DROP TABLE event_counters;
