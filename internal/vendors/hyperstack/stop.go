package hyperstack

import (
	"context"
	"net/http"

	"github.com/gpusupply/supply/internal/vendors"
)

var _ vendors.Stopper = (*Adapter)(nil)

// Stop shuts the VM down: GET /core/virtual-machines/{vm_id}/stop
// ("Shuts down a virtual machine"). The VM becomes SHUTOFF.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	return a.power(ctx, "stop", id)
}

// Start boots a stopped VM again: GET /core/virtual-machines/{vm_id}/start
// ("Initiates the startup of a virtual machine").
func (a *Adapter) Start(ctx context.Context, id string) error {
	return a.power(ctx, "start", id)
}

// power sends one of the VM's power actions; Hyperstack answers its
// ResponseModel, or a 400 ErrorResponseModel for a VM not in a state the
// action applies to.
func (a *Adapter) power(ctx context.Context, action, id string) error {
	path, err := vmPath(action, id)
	if err != nil {
		return err
	}
	var resp okEnvelope
	return a.client.Do(ctx, vendors.Request{Op: action, Method: http.MethodGet, Path: path + "/" + action}, &resp)
}

// StoppedPricePerHour is Hyperstack's rule for a stopped VM. Its
// description says of Stop_VM only that it "Shuts down a virtual machine",
// and nowhere that a shut-down VM is billed less (only hibernation, a
// separate action, is meant to release the GPU): a stopped VM is billed
// in full.
func (a *Adapter) StoppedPricePerHour(item vendors.CatalogItem) float64 {
	return item.PricePerHour
}
