package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/offers"
)

// Defaults of the get_offers query, filled here because a raw body gets no
// help from huma's default tags.
const (
	defaultGPUCount = 1
	defaultLimit    = 100
)

// yamlContentTypes are the media types a get_offers body may be sent as;
// JSON is parsed as JSON, for JSON-accurate errors.
var yamlContentTypes = map[string]bool{
	"":                   true, // curl --data-binary without a type: the contract says YAML
	"application/yaml":   true,
	"application/x-yaml": true,
	"text/yaml":          true,
}

type getOffersInput struct {
	RawBody     []byte `contentType:"application/yaml"`
	contentType string
}

// Resolve captures the Content-Type, which decides how the body is parsed,
// without documenting it as a parameter.
func (in *getOffersInput) Resolve(ctx huma.Context) []error {
	in.contentType = ctx.Header("Content-Type")
	return nil
}

type getOffersOutput struct {
	Body offers.Result
}

// offerIDInput is the input of the operations on one offer.
type offerIDInput struct {
	OfferID string `path:"offer_id" format:"uuid"`
}

type offerDetailsOutput struct {
	Body offers.Details
}

func (a *API) registerOffers() {
	op := operation("get_offers", http.MethodPost, "/get_offers", tagOffers, "Query offers")
	op.Description = "The body is a YAML document (JSON is accepted too)."
	huma.Register(a.huma, op, a.getOffers)
	// huma documents a raw body as binary; the contract documents a string.
	a.huma.OpenAPI().Paths["/get_offers"].Post.RequestBody.Content["application/yaml"].Schema = &huma.Schema{Type: huma.TypeString}

	huma.Register(a.huma, operation("get_offer_details", http.MethodGet, "/offers/{offer_id}", tagOffers, "Offer details"), a.offerDetails)
}

func (a *API) getOffers(ctx context.Context, in *getOffersInput) (*getOffersOutput, error) {
	q, err := a.decodeQuery(in.contentType, in.RawBody)
	if err != nil {
		return nil, err
	}
	res, err := a.cfg.Offers.Search(ctx, AccountID(ctx), q)
	var qe *offers.QueryError
	if errors.As(err, &qe) {
		return nil, validationFailed(toValidationError(http.StatusUnprocessableEntity, qe))
	}
	if err != nil {
		return nil, a.internalError(ctx, "search offers", err)
	}
	return &getOffersOutput{Body: res}, nil
}

func (a *API) offerDetails(ctx context.Context, in *offerIDInput) (*offerDetailsOutput, error) {
	id, err := parseID("path", "offer_id", in.OfferID)
	if err != nil {
		return nil, err
	}
	d, err := a.cfg.Offers.Details(ctx, AccountID(ctx), id)
	switch {
	case errors.Is(err, offers.ErrNotFound):
		return nil, errorf(http.StatusNotFound, "Offer not found")
	case err != nil:
		return nil, a.internalError(ctx, "offer details", err)
	}
	return &offerDetailsOutput{Body: d}, nil
}

// unavailableRetryAfter is the Retry-After of a 503 for a database that
// does not answer: long enough not to hammer it, short enough to notice
// its return.
const unavailableRetryAfter = "5"

// internalError logs what went wrong and tells the client only that it
// did. When the database does not answer a quick ping either, the failure
// is the dependency's, not the server's: a 503 with Retry-After, which
// clients (ours included) retry, instead of a 500, which they do not.
func (a *API) internalError(ctx context.Context, what string, err error) error {
	a.log.ErrorContext(ctx, what, "error", err)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if a.cfg.Ready != nil && a.cfg.Ready(pctx) != nil {
		return huma.ErrorWithHeaders(
			errorf(http.StatusServiceUnavailable, "The database is unavailable; retry in a few seconds"),
			http.Header{"Retry-After": {unavailableRetryAfter}})
	}
	return errorf(http.StatusInternalServerError, "Internal Server Error")
}

// decodeQuery parses, validates and completes a get_offers body.
func (a *API) decodeQuery(contentType string, body []byte) (offers.Query, error) {
	var q offers.Query
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	isJSON := mediaType == "application/json"
	if !isJSON && !yamlContentTypes[mediaType] {
		return q, errorf(http.StatusUnsupportedMediaType,
			"Unsupported Content-Type %q: send application/yaml or application/json", mediaType)
	}
	if len(body) == 0 {
		return q, validationFailed(missingBody())
	}

	var tree any
	if isJSON {
		if err := json.Unmarshal(body, &tree); err != nil {
			return q, validationFailed(jsonInvalid(body))
		}
	} else {
		var err error
		if tree, err = decodeYAML(body); err != nil {
			return q, validationFailed(yamlInvalid(body, err))
		}
	}
	if tree == nil {
		return q, validationFailed(missingBody())
	}
	if err := a.queryValidator.decode(tree, &q); err != nil {
		return q, err
	}
	if q.Compute.GPUCount == 0 && q.Compute.NodeCount == nil {
		// A cluster query without gpu_count means any GPUs per node.
		q.Compute.GPUCount = defaultGPUCount
	}
	if q.Limit == 0 {
		q.Limit = defaultLimit
	}
	return q, nil
}

// bodyValidator checks a decoded body against the JSON Schema of a Go type,
// with huma's validator, so raw bodies fail exactly like typed ones.
type bodyValidator struct {
	registry huma.Registry
	schema   *huma.Schema
}

// newBodyValidator builds the schema of T once, in a registry of its own so
// it does not appear in the OpenAPI document.
func newBodyValidator[T any]() *bodyValidator {
	registry := huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer)
	schema := registry.Schema(reflect.TypeFor[T](), true, "")
	// Like pydantic (and the main registry's config), ignore unknown fields.
	for _, s := range registry.Map() {
		s.AdditionalProperties = nil
	}
	return &bodyValidator{registry: registry, schema: schema}
}

// decode validates tree and, when it is valid, fills into from it.
func (v *bodyValidator) decode(tree any, into any) error {
	res := &huma.ValidateResult{}
	pb := huma.NewPathBuffer(make([]byte, 0, 64), 0)
	pb.Push("body")
	huma.Validate(v.registry, v.schema, pb, huma.ModeWriteToServer, tree, res)
	if len(res.Errors) > 0 {
		details := make([]ValidationError, len(res.Errors))
		for i, err := range res.Errors {
			details[i] = toValidationError(http.StatusUnprocessableEntity, err)
		}
		return validationFailed(details...)
	}
	// The tree is valid, so this round trip only moves it into the struct.
	b, err := json.Marshal(tree)
	if err == nil {
		err = json.Unmarshal(b, into)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		loc := []any{"body"}
		for _, f := range strings.Split(te.Field, ".") {
			loc = append(loc, f)
		}
		return validationFailed(ValidationError{Type: "value_error", Loc: loc, Msg: "Value error, " + te.Error(), Input: te.Value})
	}
	return err
}
