package store

import (
	"context"
	"errors"
)

// PortQueries are the reads and writes of the ports resources asked to
// open. The ports are JSON (the provision package's shape), one document
// per resource.
type PortQueries interface {
	// InsertResourcePorts records the ports resourceID asks to open.
	InsertResourcePorts(ctx context.Context, resourceID string, ports []byte) error
	// ResourcePorts are the ports of resourceID; nil when it asked for
	// none.
	ResourcePorts(ctx context.Context, resourceID string) ([]byte, error)
	// SetResourcePorts replaces the ports of resourceID (with where the
	// vendor put them).
	SetResourcePorts(ctx context.Context, resourceID string, ports []byte) error
}

// portsGenerated is the part of generated for ports.
type portsGenerated interface {
	InsertResourcePorts(ctx context.Context, resourceID string, ports string) error
	ResourcePorts(ctx context.Context, resourceID string) (string, error)
	SetResourcePorts(ctx context.Context, ports string, resourceID string) error
}

func (q queries) InsertResourcePorts(ctx context.Context, resourceID string, ports []byte) error {
	return wrap(q.db.InsertResourcePorts(ctx, resourceID, string(ports)), "insert ports of resource %s", resourceID)
}

func (q queries) ResourcePorts(ctx context.Context, resourceID string) ([]byte, error) {
	ports, err := q.db.ResourcePorts(ctx, resourceID)
	if err = wrap(err, "ports of resource %s", resourceID); errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return []byte(ports), err
}

func (q queries) SetResourcePorts(ctx context.Context, resourceID string, ports []byte) error {
	return wrap(q.db.SetResourcePorts(ctx, string(ports), resourceID), "set ports of resource %s", resourceID)
}
