package vastai

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gpusupply/supply/internal/vendors"
)

var _ vendors.Stopper = (*Adapter)(nil)

// manageRequest is the body of manageInstance (PUT
// /api/v0/instances/{id}/) as supply sends it: the state only.
type manageRequest struct {
	State string `json:"state"`
}

// manageAnswer is manageInstance's answer, SimpleBooleanSuccessResponse.
type manageAnswer struct {
	Success bool `json:"success"`
}

// Stop stops the container: manageInstance {"state": "stopped"} ("To
// stop: vastai stop instance <id>").
func (a *Adapter) Stop(ctx context.Context, id string) error {
	return a.manage(ctx, "stop", id, "stopped")
}

// Start runs the stopped container again: manageInstance {"state":
// "running"}. Its machine's GPU may be rented by someone else meanwhile:
// Vast then keeps it scheduling until the GPU is free.
func (a *Adapter) Start(ctx context.Context, id string) error {
	return a.manage(ctx, "start", id, "running")
}

func (a *Adapter) manage(ctx context.Context, op, id, state string) error {
	if !isID(id) {
		return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrNotFound, Message: fmt.Sprintf("%q is not a Vast.ai instance id", id)}
	}
	var ok manageAnswer
	return a.client.Do(ctx, vendors.Request{Op: op, Method: http.MethodPut, Path: "/api/v0/instances/" + id + "/",
		JSON: manageRequest{State: state}}, &ok)
}

// StoppedPricePerHour is Vast's rule for a stopped instance: its
// description prices storage apart from the machine (storage_cost "in
// $/GB/month", beside dph_base), and its reboot "stops and starts a
// container without losing GPU priority", where a stop gives the GPU up:
// a stopped instance is billed its storage only.
func (a *Adapter) StoppedPricePerHour(item vendors.CatalogItem) float64 {
	return item.BootDiskPricePerHour
}
