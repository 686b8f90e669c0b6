-- +goose Up
-- The ports a resource asked to open (open_ports on POST /procure_offer), one
-- row per node that asked for any: ports is a JSON array of
-- {"port", "protocol", "public_port"}, public_port 0 until the vendor said
-- where it put the port (container vendors map ports; others open the port
-- itself). Kept apart from resources so that a resource without ports costs
-- nothing.
CREATE TABLE resource_ports (
    resource_id TEXT PRIMARY KEY REFERENCES resources (id),
    ports       TEXT NOT NULL
);

-- +goose Down
DROP TABLE resource_ports;
