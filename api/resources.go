package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/provision"
)

type listResourcesInput struct {
	OfferID string `query:"offer_id" format:"uuid" doc:"Only resources procured from this offer"`
	Status  string `query:"status" enum:"provisioning,running,unhealthy,preempted,deleting,deleted,failed" doc:"Only resources in this status"`
}

type getResourceInput struct {
	ResourceID   string `path:"resource_id" format:"uuid"`
	ForceRefresh bool   `query:"force_refresh" default:"false" doc:"Re-sync with the vendor even if the stored state is fresh"`
}

type resourceOutput struct {
	Body provision.ResourceSummary
}

type deleteResourceInput struct {
	ResourceID string `path:"resource_id" format:"uuid"`
	Force      bool   `query:"force" default:"false" doc:"Also delete a resource that is still provisioning, cancelling the provisioning"`
}

type deleteResourceOutput struct {
	Body provision.DeleteResponse
}

func (a *API) registerResources() {
	op := operation("list_resources", http.MethodGet, "/resources", tagResources, "List resources, newest first")
	documentAnswer[[]provision.ResourceSummary](a, &op)
	huma.Register(a.huma, op, a.listResources)
	huma.Register(a.huma, operation("get_resource", http.MethodGet, "/resources/{resource_id}", tagResources, "One resource"),
		a.getResource)

	op = operation("delete_resource", http.MethodDelete, "/resources/{resource_id}", tagResources, "Delete a resource")
	op.Description = "Termination is asynchronous: the resource is deleting until the vendor confirms it is gone."
	huma.Register(a.huma, op, a.deleteResource)
}

// listResources answers with an ETag, like offerStatus.
func (a *API) listResources(ctx context.Context, in *listResourcesInput) (*taggedOutput, error) {
	f := provision.ResourceFilter{Status: in.Status}
	if in.OfferID != "" {
		id, err := parseID("query", "offer_id", in.OfferID)
		if err != nil {
			return nil, err
		}
		f.OfferID = &id
	}
	list, err := a.cfg.Provision.Resources(ctx, AccountID(ctx), f)
	if err != nil {
		return nil, a.provisionError(ctx, "list resources", err)
	}
	list = emptyIfNil(list)
	for i := range list {
		completeSummary(&list[i])
	}
	return a.tagged(list), nil
}

func (a *API) getResource(ctx context.Context, in *getResourceInput) (*resourceOutput, error) {
	id, err := parseID("path", "resource_id", in.ResourceID)
	if err != nil {
		return nil, err
	}
	r, err := a.cfg.Provision.Resource(ctx, AccountID(ctx), id, in.ForceRefresh)
	if err != nil {
		return nil, a.provisionError(ctx, "get resource", err)
	}
	completeSummary(&r)
	return &resourceOutput{Body: r}, nil
}

func (a *API) deleteResource(ctx context.Context, in *deleteResourceInput) (*deleteResourceOutput, error) {
	id, err := parseID("path", "resource_id", in.ResourceID)
	if err != nil {
		return nil, err
	}
	res, err := a.cfg.Provision.Delete(ctx, AccountID(ctx), id, in.Force)
	if err != nil {
		return nil, a.provisionError(ctx, "delete resource", err)
	}
	return &deleteResourceOutput{Body: res}, nil
}

// completeSummary makes the lists of a resource [] rather than null.
func completeSummary(r *provision.ResourceSummary) {
	r.LinkedResources = emptyIfNil(r.LinkedResources)
	r.OfferHistory = emptyIfNil(r.OfferHistory)
}
