package runpod

import (
	"context"
	"net/http"

	"github.com/gpusupply/supply/internal/vendors"
)

var _ vendors.Stopper = (*Adapter)(nil)

// podActionRequest is PodActionRequest, the body of podAction.
type podActionRequest struct {
	Action string `json:"action"`
}

// Stop stops the pod: podAction {"action": "stop"}, which "stop[s] a
// running or provisioning pod, releasing GPU/CPU compute while keeping its
// disk. The pod moves to EXITED."
func (a *Adapter) Stop(ctx context.Context, id string) error { return a.action(ctx, "stop", id) }

// Start boots the stopped pod again: podAction {"action": "start"}, "boot
// a stopped pod (EXITED or ERROR) back toward RUNNING". Its GPU was
// released at the stop: a data centre with none free now refuses with
// its no-capacity 400 (ErrNoCapacity).
func (a *Adapter) Start(ctx context.Context, id string) error { return a.action(ctx, "start", id) }

// action sends one podAction; "Requesting an action that is not valid for
// the pod's current status returns 409" (ErrInvalid).
func (a *Adapter) action(ctx context.Context, action, id string) error {
	var p pod
	return a.client.Do(ctx, vendors.Request{Op: action + " pod", Method: http.MethodPost, Path: podPath(id) + "/action",
		JSON: podActionRequest{Action: action}}, &p)
}

// StoppedPricePerHour is RunPod's rule for a stopped pod: a stop releases
// "GPU/CPU compute while keeping its disk" (podAction), and Pod.cost is
// "the cost in Runpod credits per hour of running a Pod": a stopped pod is
// billed its disk only.
func (a *Adapter) StoppedPricePerHour(item vendors.CatalogItem) float64 {
	return item.BootDiskPricePerHour
}
