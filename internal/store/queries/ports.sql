-- name: InsertResourcePorts :exec
INSERT INTO resource_ports (resource_id, ports) VALUES (sqlc.arg(resource_id), sqlc.arg(ports));

-- name: ResourcePorts :one
SELECT ports FROM resource_ports WHERE resource_id = sqlc.arg(resource_id);

-- name: SetResourcePorts :exec
UPDATE resource_ports SET ports = sqlc.arg(ports) WHERE resource_id = sqlc.arg(resource_id);
