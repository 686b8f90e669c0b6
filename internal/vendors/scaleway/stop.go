package scaleway

import (
	"context"

	"github.com/scaleway/scaleway-sdk-go/api/instance/v1"

	"github.com/gpusupply/supply/internal/vendors"
)

var _ vendors.Stopper = (*Adapter)(nil)

// Stop powers the server off: ServerAction poweroff, which "Fully stop[s]
// the Instance and release[s] the hypervisor slot" (not stop_in_place,
// which keeps the slot, and its billing).
func (a *Adapter) Stop(ctx context.Context, id string) error {
	zone, serverID, err := splitID("stop", id)
	if err != nil {
		return err
	}
	return a.action(ctx, "stop", zone, serverID, instance.ServerActionPoweroff)
}

// Start powers the server on again: ServerAction poweron, "Start a stopped
// Instance". Scaleway allocates hardware at poweron, so a type out of
// stock is refused then (ErrNoCapacity).
func (a *Adapter) Start(ctx context.Context, id string) error {
	zone, serverID, err := splitID("start", id)
	if err != nil {
		return err
	}
	return a.poweron(ctx, zone, serverID)
}

// StoppedPricePerHour is Scaleway's rule for a powered-off server: poweroff
// releases "the hypervisor slot", so the server's own price stops and its
// SBS volume is billed on: its disk only.
func (a *Adapter) StoppedPricePerHour(item vendors.CatalogItem) float64 {
	return item.BootDiskPricePerHour
}
