package supplyapi

import "github.com/google/uuid"

// Resource statuses of stop and start (an extension of the Supply API):
// stopping → stopped → starting → running.
const (
	ResourceStopping = "stopping"
	ResourceStopped  = "stopped"
	ResourceStarting = "starting"
)

// Events of stop and start.
const (
	EventResourceStopping = "resource.stopping"
	EventResourceStopped  = "resource.stopped" // the vendor confirmed it stopped; billed at its stopped rate
	EventResourceStarting = "resource.starting"
)

// PowerResponse answers POST /resources/{resource_id}/stop and /start.
type PowerResponse struct {
	ResourceID uuid.UUID `json:"resource_id"`
	Status     string    `json:"status"`
	Message    string    `json:"message"`
}
