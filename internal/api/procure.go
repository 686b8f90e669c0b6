package api

import (
	"context"
	"errors"
	"net/http"
	"reflect"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/supplyapi"
)

type procureInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Retries carrying the same key answer as the first request did instead of procuring twice"`
	// RawBody is decoded by procureDecoder, like get_offers' body, so that
	// both bodies get the same budget, strictness and errors.
	RawBody     []byte `contentType:"application/json"`
	contentType string
}

// Resolve captures the Content-Type without documenting it as a parameter.
func (in *procureInput) Resolve(ctx huma.Context) []error {
	in.contentType = ctx.Header("Content-Type")
	return nil
}

type procureOutput struct {
	Body supplyapi.ProcureOfferResponse
}

func (a *API) registerProcurement() {
	op := operation(roles.Member, "procure_offer", http.MethodPost, "/procure_offer", tagOffers, "Procure an offer")
	op.Description = "Starts procurement and answers before the vendor has finished; poll GET /offers/{offer_id}/status."
	// The handler decodes and validates the raw body itself.
	op.SkipValidateBody = true
	huma.Register(a.huma, op, a.procure)
	a.documentBody(a.huma.OpenAPI().Paths["/procure_offer"].Post, reflect.TypeFor[supplyapi.ProcureOfferRequest]())

	op = operation(roles.Viewer, "get_offer_status", http.MethodGet, "/offers/{offer_id}/status", tagOffers, "Procurement status of an offer")
	documentAnswer[supplyapi.OfferStatusResponse](a, &op)
	huma.Register(a.huma, op, a.offerStatus)

	op = operation(roles.Member, "cancel_procurement", http.MethodPost, "/offers/{offer_id}/cancel", tagOffers, "Cancel a procurement under way")
	op.Description = "Extension: ends a procurement that is still under way (a try, or a wait for stock), as a forced delete of its resources would, and answers its status."
	huma.Register(a.huma, op, a.cancelProcurement)
}

type offerStatusOutput struct {
	Body supplyapi.OfferStatusResponse
}

func (a *API) cancelProcurement(ctx context.Context, in *offerIDInput) (*offerStatusOutput, error) {
	id, err := parseID("path", "offer_id", in.OfferID)
	if err != nil {
		return nil, err
	}
	st, err := a.cfg.Provision.Cancel(ctx, AccountID(ctx), id)
	if err != nil {
		return nil, a.provisionError(ctx, "cancel procurement", err)
	}
	st.Instances = emptyIfNil(st.Instances)
	st.ResourceIDs = emptyIfNil(st.ResourceIDs)
	return &offerStatusOutput{Body: st}, nil
}

func (a *API) procure(ctx context.Context, in *procureInput) (*procureOutput, error) {
	var req supplyapi.ProcureOfferRequest
	if err := a.procureDecoder.decode(in.contentType, in.RawBody, &req); err != nil {
		return nil, err
	}
	res, err := a.cfg.Provision.Procure(ctx, AccountID(ctx), in.IdempotencyKey, req)
	if err != nil {
		return nil, a.provisionError(ctx, "procure offer", err)
	}
	res.ResourceIDs = emptyIfNil(res.ResourceIDs)
	return &procureOutput{Body: res}, nil
}

// offerStatus answers with an ETag: a poller that sends it back as
// If-None-Match gets 304 until the status changes. A status rendered from
// unchanged rows is written from the bytes encoded the first time.
func (a *API) offerStatus(ctx context.Context, in *offerIDInput) (*taggedOutput, error) {
	id, err := parseID("path", "offer_id", in.OfferID)
	if err != nil {
		return nil, err
	}
	account := AccountID(ctx)
	st, err := a.cfg.Provision.OfferStatus(ctx, account, id)
	if err != nil {
		return nil, a.provisionError(ctx, "offer status", err)
	}
	st.Instances = emptyIfNil(st.Instances)
	st.ResourceIDs = emptyIfNil(st.ResourceIDs)
	if st.Version == 0 {
		return a.tagged(st), nil
	}
	ans, ok := a.statuses.Get(id, account, st.Version)
	if !ok {
		body, err := appendJSON(nil, st)
		if err != nil {
			return nil, a.internalError(ctx, "encode offer status", err)
		}
		ans = encodedAnswer{body: body, tag: etag(body)}
		a.statuses.Put(id, account, st.Version, ans)
	}
	return &taggedOutput{Body: func(hctx huma.Context) { a.writeAnswer(hctx, ans.body, ans.tag) }}, nil
}

// documentBody documents op's raw body, which huma documents as binary,
// as the JSON of t, whose unknown fields are refused: what the operation's
// bodyDecoder takes.
func (a *API) documentBody(op *huma.Operation, t reflect.Type) {
	schemas := a.huma.OpenAPI().Components.Schemas
	ref := schemas.Schema(t, true, "")
	op.RequestBody.Content["application/json"].Schema = ref
	schemas.SchemaFromRef(ref.Ref).AdditionalProperties = false
}

// provisionError answers an error of the ProvisionService: a refusal with
// its status and the service's sentence, a rejected field as a 422, and
// anything else as a 500 that only the log explains.
func (a *API) provisionError(ctx context.Context, what string, err error) error {
	var qe *offers.QueryError
	switch {
	case errors.Is(err, refusal.ErrNotFound):
		return errorf(http.StatusNotFound, "%s", err)
	case errors.Is(err, refusal.ErrGone):
		return errorf(http.StatusGone, "%s", err)
	case errors.Is(err, refusal.ErrConflict):
		return errorf(http.StatusConflict, "%s", err)
	case errors.Is(err, refusal.ErrForbidden):
		return errorf(http.StatusForbidden, "%s", err)
	case errors.As(err, &qe):
		return validationFailed(toValidationError(http.StatusUnprocessableEntity, qe))
	}
	return a.internalError(ctx, what, err)
}

// parseID parses the id a client sent as parameter name in the path or the
// query. Huma has already checked the format (uuid), so a failure here is
// only a safety net, worded like the format check's.
func parseID(in, name, value string) (uuid.UUID, error) {
	id, err := uuid.Parse(value)
	if err != nil {
		return uuid.Nil, validationFailed(pydantic(finding{typ: "uuid_parsing"}, []any{in, name}, value))
	}
	return id, nil
}

// emptyIfNil makes a nil slice empty, so that it is [] in JSON, never null.
func emptyIfNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
