-- +goose Up
-- Volumes are storage that outlives a machine: rented from a vendor on
-- their own, attached to a machine when it is procured, kept when it is
-- deleted. The row is written before the vendor is called, as a resource's
-- is; vendor_volume_id is '' until the vendor names the volume.
-- attached_to is the resource the volume was last attached to ('' never):
-- the volume is attached while that resource is live. price_per_gb_month
-- is the vendor's price when the volume was made; mount_path is where a
-- machine shows it, as the vendor says ('' until it does); billing_started_at and
-- deleted_at bound what it costs.
CREATE TABLE volumes (
    id                  TEXT PRIMARY KEY,
    account_id          BIGINT NOT NULL REFERENCES accounts (id),
    vendor              TEXT NOT NULL,
    vendor_region       TEXT NOT NULL,
    name                TEXT NOT NULL,
    size_gb             BIGINT NOT NULL,
    price_per_gb_month  DOUBLE PRECISION NOT NULL,
    status              TEXT NOT NULL,
    status_message      TEXT NOT NULL,
    vendor_volume_id    TEXT NOT NULL,
    attached_to         TEXT NOT NULL,
    mount_path          TEXT NOT NULL,
    create_attempted_at TIMESTAMPTZ,
    billing_started_at  TIMESTAMPTZ,
    deleted_at          TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    version             BIGINT NOT NULL
);

CREATE INDEX volumes_account_id ON volumes (account_id, created_at);
CREATE INDEX volumes_attached_to ON volumes (attached_to);

-- +goose Down
DROP TABLE volumes;
