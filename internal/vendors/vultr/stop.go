package vultr

import (
	"context"

	"github.com/gpusupply/supply/internal/vendors"
)

var _ vendors.Stopper = (*Adapter)(nil)

// Stop halts the instance: POST /instances/{instance-id}/halt (204). Its
// power_status becomes "stopped". An instance that is not running is
// refused here: the description documents no refusal of a halt for it.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	return a.power(ctx, id, "halt instance", vendors.StateRunning, func(ctx context.Context) error {
		return a.gv.Instance.Halt(ctx, id)
	})
}

// Start boots the halted instance: POST /instances/{instance-id}/start
// (204). Vultr restarts an instance that is already running (govultr's
// Start: "the machine is already running, it will be restarted"), so only
// a halted instance is started.
func (a *Adapter) Start(ctx context.Context, id string) error {
	return a.power(ctx, id, "start instance", vendors.StateStopped, func(ctx context.Context) error {
		return a.gv.Instance.Start(ctx, id)
	})
}

// power sends do once the instance is in state from, and refuses with
// ErrInvalid otherwise.
func (a *Adapter) power(ctx context.Context, id, op string, from vendors.State, do func(ctx context.Context) error) error {
	in, err := a.Get(ctx, id)
	if err != nil {
		return err
	}
	if in.State != from {
		return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrInvalid, Message: "instance is " + in.VendorState + ", not " + string(from)}
	}
	return a.call(ctx, op, true, do)
}

// StoppedPricePerHour is Vultr's rule for a halted instance: halt-instance
// only powers it off ("Halt an Instance"), and Vultr bills an instance
// until it is destroyed, halted or not. It is billed in full.
func (a *Adapter) StoppedPricePerHour(item vendors.CatalogItem) float64 {
	return item.PricePerHour
}
