package api

import (
	"context"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/supplyapi"
)

// The guardrail operations are extensions of the Supply API: changing a
// resource's auto-delete time, an account's caps and live spend, and
// what its resources have cost.

// durationSchema stands in for supplyapi.Duration in schemas: a Go
// duration string or a number of seconds, or null for "never".
type durationSchema string

// Schema is the schema of every supplyapi.Duration.
func (durationSchema) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{
		Description: `A Go duration ("4h", "90m", "1h30m"), a number of seconds, or null for never`,
		Examples:    []any{"4h"},
		AnyOf:       []*huma.Schema{{Type: huma.TypeString}, {Type: huma.TypeNumber}, {Type: "null"}},
	}
}

// registerTypeAliases documents the types whose JSON is not their Go
// shape, in the OpenAPI document and in the body validators alike.
func registerTypeAliases(r huma.Registry) {
	r.RegisterTypeAlias(reflect.TypeFor[supplyapi.Duration](), reflect.TypeFor[durationSchema]())
	registerPortAliases(r)
}

type patchResourceInput struct {
	ResourceID  string `path:"resource_id" format:"uuid"`
	RawBody     []byte `contentType:"application/json"`
	contentType string
}

// Resolve captures the Content-Type without documenting it as a parameter.
func (in *patchResourceInput) Resolve(ctx huma.Context) []error {
	in.contentType = ctx.Header("Content-Type")
	return nil
}

type accountOutput struct {
	Body supplyapi.AccountInfo
}

type usageInput struct {
	From    string `query:"from" doc:"Start of the window (RFC 3339); default: 30 days before to"`
	To      string `query:"to" doc:"End of the window (RFC 3339); default: now"`
	GroupBy string `query:"group_by" enum:"vendor,gpu_type,day" doc:"Split the cost by vendor, GPU type or UTC day"`
}

type usageOutput struct {
	Body supplyapi.Usage
}

// defaultUsageWindow is GET /usage's window when from is not given.
const defaultUsageWindow = 30 * 24 * time.Hour

func (a *API) registerGuardrails() {
	op := operation(roles.Member, "update_resource", http.MethodPatch, "/resources/{resource_id}", tagResources, "Change a resource's auto-delete time")
	op.Description = `Extension. {"auto_delete_after": "2h"} deletes the resource (a cluster: all of it) two hours from now, ` +
		`as DELETE would; {"auto_delete_after": null} never. A node of a cluster follows its cluster.`
	op.SkipValidateBody = true
	huma.Register(a.huma, op, a.patchResource)
	a.documentBody(a.huma.OpenAPI().Paths["/resources/{resource_id}"].Patch, reflect.TypeFor[supplyapi.AutoDeleteRequest]())

	op = operation(roles.Viewer, "get_account", http.MethodGet, "/account", tagAccount, "The account's spend caps and live spend")
	op.Description = "Extension. Caps are set with PATCH /account/limits (admin keys) or on the server with supply accounts limits; null means no cap."
	huma.Register(a.huma, op, a.account)

	op = operation(roles.Viewer, "get_usage", http.MethodGet, "/usage", tagAccount, "What the account's resources cost within a window")
	op.Description = "Extension. Each machine accrues its procured price from when the vendor made it until the vendor confirmed it gone; " +
		"a cluster counts by its nodes. Only the part of that span within [from, to) counts."
	huma.Register(a.huma, op, a.usage)
}

func (a *API) patchResource(ctx context.Context, in *patchResourceInput) (*resourceOutput, error) {
	id, err := parseID("path", "resource_id", in.ResourceID)
	if err != nil {
		return nil, err
	}
	var req supplyapi.AutoDeleteRequest
	if err := a.patchDecoder.decode(in.contentType, in.RawBody, &req); err != nil {
		return nil, err
	}
	r, err := a.cfg.Provision.SetAutoDelete(ctx, AccountID(ctx), id, req)
	if err != nil {
		return nil, a.provisionError(ctx, "update resource", err)
	}
	completeSummary(&r)
	return &resourceOutput{Body: r}, nil
}

func (a *API) account(ctx context.Context, _ *struct{}) (*accountOutput, error) {
	info, err := a.cfg.Provision.Account(ctx, AccountID(ctx))
	if err != nil {
		return nil, a.provisionError(ctx, "account", err)
	}
	return &accountOutput{Body: info}, nil
}

func (a *API) usage(ctx context.Context, in *usageInput) (*usageOutput, error) {
	q := ledger.UsageQuery{To: time.Now().UTC(), GroupBy: in.GroupBy}
	var errs []ValidationError
	for _, p := range []struct {
		name, value string
		into        *time.Time
	}{{"to", in.To, &q.To}, {"from", in.From, &q.From}} {
		if p.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, p.value)
		if err != nil {
			errs = append(errs, ValidationError{Type: "datetime_from_date_parsing", Loc: []any{"query", p.name},
				Msg: "Input should be a valid datetime (RFC 3339, e.g. 2026-12-01T00:00:00Z)", Input: p.value})
			continue
		}
		*p.into = t.UTC()
	}
	if len(errs) > 0 {
		return nil, validationFailed(errs...)
	}
	if in.From == "" {
		q.From = q.To.Add(-defaultUsageWindow)
	}
	if !q.From.Before(q.To) {
		return nil, validationFailed(ValidationError{Type: "value_error", Loc: []any{"query", "from"},
			Msg: "Value error, from must be before to", Input: in.From})
	}
	u, err := a.cfg.Provision.Usage(ctx, AccountID(ctx), q)
	if err != nil {
		return nil, a.provisionError(ctx, "usage", err)
	}
	u.Groups = emptyIfNil(u.Groups)
	return &usageOutput{Body: u}, nil
}
