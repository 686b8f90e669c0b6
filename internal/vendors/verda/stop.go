package verda

import (
	"context"

	"github.com/gpusupply/supply/internal/vendors"
)

var _ vendors.Stopper = (*Adapter)(nil)

// The power actions of PUT /instances (ActionType).
const (
	actionShutdown = "shutdown"
	actionStart    = "start"
)

// Stop shuts the instance down: PUT /instances {"action": "shutdown"}.
// It becomes offline.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	return a.act(ctx, "stop", actionShutdown, id)
}

// Start boots the offline instance again: PUT /instances {"action": "start"}.
func (a *Adapter) Start(ctx context.Context, id string) error {
	return a.act(ctx, "start", actionStart, id)
}

// StoppedPricePerHour is Verda's rule for a shut-down instance: "Using
// `shutdown` will keep charging your account" (PUT /instances); only a
// delete stops the charge. It is billed in full.
func (a *Adapter) StoppedPricePerHour(item vendors.CatalogItem) float64 {
	return item.PricePerHour
}
