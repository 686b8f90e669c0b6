package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/supplyapi"
)

type powerInput struct {
	ResourceID string `path:"resource_id" format:"uuid"`
}

type powerOutput struct {
	Body supplyapi.PowerResponse
}

// registerStop adds the extension's stop and start of a resource.
func (a *API) registerStop() {
	op := operation(roles.Member, "stop_resource", http.MethodPost, "/resources/{resource_id}/stop", tagResources, "Stop a resource (extension)")
	op.Description = "Asynchronous, like a deletion: the resource is stopping until the vendor confirms it stopped, then stopped, " +
		"billed at the vendor's rate for a stopped machine (accrued_cost). Only a running resource stops (409 otherwise); " +
		"a cluster stops as a whole. A vendor without stop (supports_stop false in /available_vendors) is a 422."
	huma.Register(a.huma, op, a.powerHandler(ProvisionService.Stop, "stop resource"))
	op = operation(roles.Member, "start_resource", http.MethodPost, "/resources/{resource_id}/start", tagResources, "Start a stopped resource (extension)")
	op.Description = "Asynchronous: the resource is starting until it is running again and answers over SSH, maybe at a new address. " +
		"Only a stopped resource starts (409 otherwise). A vendor that cannot give the machine its GPU back leaves it stopped and says so in status_message."
	huma.Register(a.huma, op, a.powerHandler(ProvisionService.Start, "start resource"))
}

// powerHandler serves one direction of the power change with the
// service's method change (chosen now, called on the service a request
// finds).
func (a *API) powerHandler(change func(ProvisionService, context.Context, int64, uuid.UUID) (supplyapi.PowerResponse, error), what string) func(context.Context, *powerInput) (*powerOutput, error) {
	return func(ctx context.Context, in *powerInput) (*powerOutput, error) {
		id, err := parseID("path", "resource_id", in.ResourceID)
		if err != nil {
			return nil, err
		}
		res, err := change(a.cfg.Provision, ctx, AccountID(ctx), id)
		if err != nil {
			return nil, a.provisionError(ctx, what, err)
		}
		return &powerOutput{Body: res}, nil
	}
}
