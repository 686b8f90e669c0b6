package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/internal/contentcoding"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/supplyapi"
)

// Defaults of the get_offers query, filled here because a raw body gets no
// help from huma's default tags.
const (
	defaultGPUCount = 1
	defaultLimit    = 100
)

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

// getOffersOutput streams the answer's own JSON (see writeAnswer); the
// operation documents supplyapi.OfferResult, the type that JSON is.
type getOffersOutput struct {
	Body func(huma.Context)
}

// offerIDInput is the input of the operations on one offer.
type offerIDInput struct {
	OfferID string `path:"offer_id" format:"uuid"`
}

type offerDetailsOutput struct {
	Body supplyapi.OfferDetails
}

func (a *API) registerOffers() {
	op := operation(roles.Viewer, "get_offers", http.MethodPost, "/get_offers", tagOffers, "Query offers")
	op.Description = "The body is a YAML document (JSON is accepted too)."
	documentAnswer[supplyapi.OfferResult](a, &op)
	huma.Register(a.huma, op, a.getOffers)
	// huma documents a raw body as binary; the contract documents a string.
	// The string is a YAML document of the fields the JSON form documents,
	// so both say what a query holds.
	body := a.huma.OpenAPI().Paths["/get_offers"].Post.RequestBody
	body.Content["application/yaml"] = &huma.MediaType{
		Schema: &huma.Schema{Type: huma.TypeString, Description: "A YAML document with the fields of OfferQuery (see the application/json form): " +
			"compute.gpu_type is required (a family such as H100, or an exact name such as nvidia-h100-sxm5-80gb); " +
			"compute.gpu_count (default 1), compute.max_price_per_gpu_hour, compute.contract_type (ondemand or spot), " +
			"compute.node_count (clusters), region (US, EU, APAC or Other), vendor, network.supports_cilium and limit narrow it."},
		Example: "compute:\n  gpu_type: H100\n  gpu_count: 1\n  max_price_per_gpu_hour: 3\nregion: US\nlimit: 5\n",
	}
	body.Content["application/json"] = &huma.MediaType{
		Schema:  a.huma.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[supplyapi.OfferQuery](), true, ""),
		Example: map[string]any{"compute": map[string]any{"gpu_type": "H100", "gpu_count": 1}, "region": "EU", "limit": 5},
	}

	huma.Register(a.huma, operation(roles.Viewer, "get_offer_details", http.MethodGet, "/offers/{offer_id}", tagOffers, "Offer details"), a.offerDetails)
}

func (a *API) getOffers(ctx context.Context, in *getOffersInput) (*getOffersOutput, error) {
	q, err := a.decodeQuery(in.contentType, in.RawBody)
	if err != nil {
		return nil, err
	}
	if err := a.placeQuery(ctx, &q); err != nil {
		return nil, err
	}
	ans, err := a.cfg.Offers.Answer(ctx, AccountID(ctx), q)
	var qe *offers.QueryError
	if errors.As(err, &qe) {
		return nil, validationFailed(toValidationError(http.StatusUnprocessableEntity, qe))
	}
	if err != nil {
		return nil, a.internalError(ctx, "search offers", err)
	}
	buf := answerBuffers.Get().(*[]byte)
	body, err := ans.AppendJSON((*buf)[:0])
	if err != nil {
		answerBuffers.Put(buf)
		return nil, a.internalError(ctx, "encode offers", err)
	}
	// An Encoder's newline, as huma's JSON format writes.
	*buf = append(body, '\n')
	return &getOffersOutput{Body: func(hctx huma.Context) {
		defer recycleAnswer(buf)
		a.writeAnswer(hctx, *buf, "")
	}}, nil
}

// answerBuffers hold encoded answers between the handler and the write.
var answerBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledAnswer is the largest buffer kept for reuse; a rare huge answer
// is left to the garbage collector rather than held by the pool.
const maxPooledAnswer = 4 << 20

// compressMinAnswer is the smallest answer sent compressed to a client
// that accepts it: below it (an answer of a few offers) compressing costs
// more time than the bytes it saves on any network.
const compressMinAnswer = 8 << 10

// recycleAnswer returns an answer's buffer to the pool once it is written.
func recycleAnswer(buf *[]byte) {
	if cap(*buf) <= maxPooledAnswer {
		answerBuffers.Put(buf)
	}
}

// writeAnswer writes an encoded answer with the content type huma would
// negotiate, compressed when it is large and the client accepts gzip or
// zstd. The compressed body of an answer sent before, byte for byte, is
// taken from a.packed rather than compressed again. tag, when not empty,
// is the answer's weak ETag (see etag): the answer is sent with the tag of
// its coding (codedTag), or is a bodyless 304 Not Modified when the
// request's If-None-Match names that tag.
func (a *API) writeAnswer(ctx huma.Context, body []byte, tag string) {
	// Whether or not this answer is compressed, a larger one would be:
	// caches must key every answer by Accept-Encoding.
	ctx.SetHeader("Vary", "Accept-Encoding")
	coding := contentcoding.Identity
	if len(body) >= compressMinAnswer {
		coding = contentcoding.Negotiate(ctx.Header("Accept-Encoding"))
	}
	if tag != "" {
		// Each coding of an answer is its own representation with its
		// own tag: a cache holding the gzip body must not take a 304 to
		// a plain request as leave to serve it.
		tag = codedTag(tag, coding)
		ctx.SetHeader("ETag", tag)
		if inm := ctx.Header("If-None-Match"); inm != "" && etagMatches(inm, tag) {
			ctx.SetStatus(http.StatusNotModified)
			return
		}
	}
	ct, err := a.huma.Negotiate(ctx.Header("Accept"))
	if err != nil {
		huma.WriteErr(a.huma, ctx, http.StatusNotAcceptable, "unable to marshal response", err)
		return
	}
	ctx.SetHeader("Content-Type", ct)
	if coding != contentcoding.Identity {
		packed, kept := a.packed.Get(body, coding)
		a.metrics.compressed.WithLabelValues(coding.Name(), strconv.FormatBool(kept)).Inc()
		body = packed
		ctx.SetHeader("Content-Encoding", coding.Name())
	}
	ctx.SetHeader("Content-Length", strconv.Itoa(len(body)))
	ctx.SetStatus(http.StatusOK)
	// A write error is the client gone; there is no one left to tell.
	ctx.BodyWriter().Write(body)
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
// did. A request whose client hung up while it was served failed because
// of that: the client's doing, a 400 that only the debug log explains.
// When the database does not answer a quick ping either, the failure is
// the dependency's, not the server's: a 503 with Retry-After, which
// clients (ours included) retry, instead of a 500, which they do not.
func (a *API) internalError(ctx context.Context, what string, err error) error {
	if clientGone(ctx, what, err) {
		return errClientGone
	}
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

// errClientGone answers a request whose client hung up; nobody reads it,
// but the log and the metrics do.
var errClientGone = errorf(http.StatusBadRequest, "The client closed the connection")

// clientGone reports whether the request's client hung up while it was
// served, and if so notes err on the request for its debug log line.
func clientGone(ctx context.Context, what string, err error) bool {
	if ctx.Err() == nil {
		return false
	}
	if info := requestInfoFrom(ctx); info != nil {
		info.clientError = fmt.Errorf("%s: %w", what, err)
	}
	return true
}

// decodeQuery parses, validates and completes a get_offers body, or
// takes it from the cache of bodies seen before.
func (a *API) decodeQuery(contentType string, body []byte) (supplyapi.OfferQuery, error) {
	key, cacheable := cacheKey(contentType, body)
	if cacheable {
		if q, ok := a.queries.get(key); ok {
			return q, nil
		}
	}
	var q supplyapi.OfferQuery
	if err := a.queryDecoder.decode(contentType, body, &q); err != nil {
		return q, err
	}
	if q.Compute.GPUCount == 0 && q.Compute.NodeCount == nil {
		// A cluster query without gpu_count means any GPUs per node.
		q.Compute.GPUCount = defaultGPUCount
	}
	if q.Limit == 0 {
		q.Limit = defaultLimit
	}
	if cacheable {
		a.queries.put(key, q)
	}
	return q, nil
}
