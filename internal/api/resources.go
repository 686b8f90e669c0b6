package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/supplyapi"
)

type listResourcesInput struct {
	OfferID string `query:"offer_id" format:"uuid" doc:"Only resources procured from this offer"`
	Status  string `query:"status" enum:"provisioning,running,unhealthy,preempted,deleting,deleted,failed,stopping,stopped,starting" doc:"Only resources in this status"`
	// Extensions of the Supply API: paging.
	Limit int    `query:"limit" minimum:"1" maximum:"1000" doc:"Extension: answer at most this many resources (absent: all of them); when the page is full, the Link header (rel=\"next\") names the next page"`
	After string `query:"after" maxLength:"128" doc:"Extension: the cursor of the page to answer, from the previous page's Link header; pages read in turn neither miss nor repeat a resource, whatever changes meanwhile"`
	// CreatedBy (an extension) keeps the resources the API key with this
	// id procured. It is left out of the OpenAPI document, which keeps the
	// contract's operations as they are; README documents it.
	CreatedBy int64 `query:"created_by" minimum:"1" hidden:"true"`
}

type getResourceInput struct {
	ResourceID   string `path:"resource_id" format:"uuid"`
	ForceRefresh bool   `query:"force_refresh" default:"false" doc:"Re-sync with the vendor even if the stored state is fresh"`
}

type resourceOutput struct {
	Body supplyapi.ResourceSummary
}

type deleteResourceInput struct {
	ResourceID string `path:"resource_id" format:"uuid"`
	Force      bool   `query:"force" default:"false" doc:"Also delete a resource that is still provisioning, cancelling the provisioning"`
}

type deleteResourceOutput struct {
	Body supplyapi.DeleteResourceResponse
}

func (a *API) registerResources() {
	op := operation(roles.Viewer, "list_resources", http.MethodGet, "/resources", tagResources, "List resources, newest first")
	documentAnswer[[]supplyapi.ResourceSummary](a, &op)
	huma.Register(a.huma, op, a.listResources)
	huma.Register(a.huma, operation(roles.Viewer, "get_resource", http.MethodGet, "/resources/{resource_id}", tagResources, "One resource"),
		a.getResource)

	op = operation(roles.Member, "delete_resource", http.MethodDelete, "/resources/{resource_id}", tagResources, "Delete a resource")
	op.Description = "Termination is asynchronous: the resource is deleting until the vendor confirms it is gone."
	huma.Register(a.huma, op, a.deleteResource)
}

// listResources answers with an ETag, like offerStatus.
func (a *API) listResources(ctx context.Context, in *listResourcesInput) (*taggedOutput, error) {
	f := ledger.ResourceFilter{Status: in.Status, CreatedBy: in.CreatedBy}
	if in.OfferID != "" {
		id, err := parseID("query", "offer_id", in.OfferID)
		if err != nil {
			return nil, err
		}
		f.OfferID = &id
	}
	if in.After != "" {
		if in.Limit == 0 {
			return nil, validationFailed(ValidationError{Type: "value_error", Loc: []any{"query", "after"},
				Msg: "Value error, after pages the list: pass limit with it", Input: in.After})
		}
		after, err := ledger.ParseCursor(in.After)
		if err != nil {
			return nil, validationFailed(ValidationError{Type: "value_error", Loc: []any{"query", "after"},
				Msg: "Value error, " + err.Error(), Input: in.After})
		}
		f.After = after
	}
	f.Limit = in.Limit
	list, err := a.cfg.Provision.Resources(ctx, AccountID(ctx), f)
	if err != nil {
		return nil, a.provisionError(ctx, "list resources", err)
	}
	list = emptyIfNil(list)
	for i := range list {
		completeSummary(&list[i])
	}
	var out *taggedOutput
	if len(list) == 0 || list[0].Version == 0 {
		out = a.tagged(list)
	} else {
		buf := answerBuffers.Get().(*[]byte)
		body, err := a.appendSummaries((*buf)[:0], AccountID(ctx), list)
		*buf = body
		if err != nil {
			recycleAnswer(buf)
			return nil, a.internalError(ctx, "encode resources", err)
		}
		out = &taggedOutput{Body: func(hctx huma.Context) {
			defer recycleAnswer(buf)
			a.writeAnswer(hctx, body, etag(body))
		}}
	}
	if in.Limit > 0 && len(list) == in.Limit {
		next := url.Values{"limit": {strconv.Itoa(in.Limit)}, "after": {ledger.NextCursor(list[len(list)-1])}}
		if in.CreatedBy != 0 {
			next.Set("created_by", strconv.FormatInt(in.CreatedBy, 10))
		}
		if in.OfferID != "" {
			next.Set("offer_id", in.OfferID)
		}
		if in.Status != "" {
			next.Set("status", in.Status)
		}
		write := out.Body
		out.Body = func(ctx huma.Context) {
			ctx.SetHeader("Link", "</resources?"+next.Encode()+`>; rel="next"`)
			write(ctx)
		}
	}
	return out, nil
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

// appendSummaries appends list as encoding/json writes it (with the
// Encoder's newline), each summary from the bytes kept for its version
// (summaryHeads) and its accrued cost, the one field that moves with the
// clock: a list of unchanged resources costs no encoding but its costs.
func (a *API) appendSummaries(dst []byte, accountID int64, list []supplyapi.ResourceSummary) ([]byte, error) {
	dst = append(dst, '[')
	for i := range list {
		s := &list[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		head, ok := a.summaryHeads.Get(s.ResourceID, accountID, s.Version)
		if !ok {
			var err error
			if head, err = summaryHead(*s); err != nil {
				return dst, err
			}
			a.summaryHeads.Put(s.ResourceID, accountID, s.Version, head)
		}
		if math.IsInf(s.AccruedCost, 0) || math.IsNaN(s.AccruedCost) {
			return dst, fmt.Errorf("encode resource %s: accrued cost %v", s.ResourceID, s.AccruedCost)
		}
		dst = append(offers.AppendJSONFloat(append(dst, head...), s.AccruedCost), '}')
	}
	return append(dst, ']', '\n'), nil
}

// accruedCostKey opens the last field of a summary's JSON.
var accruedCostKey = []byte(`"accrued_cost":`)

// summaryHead is a summary's JSON up to the value of its last field,
// accrued_cost.
func summaryHead(s supplyapi.ResourceSummary) ([]byte, error) {
	b, err := appendJSON(nil, s)
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndex(b, accruedCostKey)
	if i < 0 {
		return nil, errors.New("encode resource summary: no accrued_cost field")
	}
	return slices.Clip(b[:i+len(accruedCostKey)]), nil
}

// completeSummary makes the lists of a resource [] rather than null.
func completeSummary(r *supplyapi.ResourceSummary) {
	r.LinkedResources = emptyIfNil(r.LinkedResources)
	r.OfferHistory = emptyIfNil(r.OfferHistory)
}
