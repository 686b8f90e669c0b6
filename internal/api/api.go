// Package api is the HTTP layer of supply: huma operations on net/http,
// Bearer API keys, FastAPI-compatible errors and the OpenAPI 3.1 document.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gpusupply/supply/internal/apikeys"
	"github.com/gpusupply/supply/internal/contentcoding"
	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/internal/versioned"
	"github.com/gpusupply/supply/supplyapi"
)

// maxBodyBytes caps every request body; larger ones get 413.
const maxBodyBytes = 1 << 20

// The bounds of API.packed. An answer is shared while it stays the same,
// which for get_offers is within one second (offer ids are sealed per
// second) and for the polled answers until they change: 1,024 entries
// hold every answer of hundreds of clients polling at once, and 64 MiB
// (answers and their compressed bodies) about 270 answers of 225 KB. An
// answer not asked for in 10 s goes: a poller that comes back later than
// that is rarely the only one to have asked in between.
const (
	maxPackedAnswers = 1024
	maxPackedBytes   = 64 << 20
	packedIdle       = 10 * time.Second
)

// Tags group operations in the OpenAPI document as the reference does.
const (
	tagOffers    = "Offers"
	tagResources = "Resources"
	tagDiscovery = "Discovery"
	tagAccount   = "Account"
)

// securityScheme is the name FastAPI gives its Bearer scheme.
const securityScheme = "HTTPBearer"

// Config is what the API needs from the rest of the service.
type Config struct {
	// Auth says what an API key is (its account and role); errors
	// wrapping apikeys.ErrUnknownKey mean 401, any other error 503.
	Auth interface {
		Authenticate(ctx context.Context, key string) (apikeys.Key, error)
		// AuthenticateKnown is Authenticate without a lookup of any key
		// not already known to be valid (apikeys.Authenticator's), for
		// client addresses that sent too many invalid keys.
		AuthenticateKnown(ctx context.Context, key string) (apikeys.Key, error)
		// Forget drops what is cached of the key id: the replica that
		// revokes or changes a key applies it to the key's next request.
		Forget(id int64)
	}
	// OperatorAccount is the account whose admin keys may create accounts
	// (POST /admin/accounts); 0: none.
	OperatorAccount int64
	// Keys administers the account's keys and caps (/keys,
	// /account/limits, /admin/accounts); nil leaves those out.
	Keys KeyService
	// Installation is the installation id, shown by GET /readyz.
	Installation string
	// Ready reports whether the database is reachable (GET /readyz).
	Ready func(ctx context.Context) error
	// Sessions, when set, lets a console session cookie stand in for an
	// API key (see Sessions) and serves GET /sessions and DELETE
	// /sessions/{id}.
	Sessions Sessions
	// GPUs lists GPU families and their canonical names (GET /available_gpus).
	GPUs interface{ Families() map[string][]string }
	// Vendors lists configured vendors and their health (GET /available_vendors).
	Vendors interface {
		Vendors() []supplyapi.VendorStatus
	}
	// Offers answers offer queries.
	Offers OfferService
	// Provision procures offers and manages the resources they become.
	Provision ProvisionService
	// Events serves GET /events and the webhooks; nil leaves them out.
	Events EventService
	// Volumes serves /volumes; nil leaves them out.
	Volumes VolumeService
	// StreamHeartbeat is how often an idle event stream sends a comment
	// line, so that proxies keep it open (default 15s).
	StreamHeartbeat time.Duration
	// Logger receives one line per request and every panic; nil discards.
	Logger *slog.Logger
	// Metrics is where the API registers its HTTP metrics; MetricsHandler
	// serves this registry. Nil means a fresh registry.
	Metrics *prometheus.Registry
	// Version is the API version in the OpenAPI document.
	Version string
	// Pprof adds Go's profiling endpoints (/debug/pprof/) to
	// MetricsHandler, for measuring the server under load. Off by
	// default: a profile shows the service's internals.
	Pprof bool
	// RateLimit is how many requests per second one account may make,
	// with bursts of RateBurst; over it the answer is 429 with
	// Retry-After. Zero turns the limit off.
	RateLimit float64
	RateBurst int
	// AuthFailureRate is how many requests with an invalid API key per
	// second one client address may make, with bursts of
	// AuthFailureBurst; over it a request from the address is a 429 until
	// the bucket refills unless its key is one already known to be valid,
	// so keys cannot be guessed at speed and one client cannot lock out
	// the others at its address. Zero turns the limit off.
	AuthFailureRate  float64
	AuthFailureBurst int
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client of a request they pass on (see clientKey); a request from
	// any other peer is that peer's.
	TrustedProxies []netip.Prefix
}

// OfferService finds offers and reads one, always on behalf of an account.
type OfferService interface {
	// Answer finds offers; the API writes the answer's own JSON.
	Answer(ctx context.Context, accountID int64, q supplyapi.OfferQuery) (*offers.Answer, error)
	Details(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.OfferDetails, error)
}

// ProvisionService procures offers and keeps track of the resources they
// became, always on behalf of an account. Its refusals wrap
// refusal.ErrNotFound (404), refusal.ErrGone (410), refusal.ErrConflict
// (409) or refusal.ErrForbidden (403) and read as the response's detail;
// a field it rejects is an *offers.QueryError (422).
type ProvisionService interface {
	Procure(ctx context.Context, accountID int64, idempotencyKey string, req supplyapi.ProcureOfferRequest) (supplyapi.ProcureOfferResponse, error)
	OfferStatus(ctx context.Context, accountID int64, offerID uuid.UUID) (supplyapi.OfferStatusResponse, error)
	Resources(ctx context.Context, accountID int64, f ledger.ResourceFilter) ([]supplyapi.ResourceSummary, error)
	Resource(ctx context.Context, accountID int64, id uuid.UUID, forceRefresh bool) (supplyapi.ResourceSummary, error)
	Delete(ctx context.Context, accountID int64, id uuid.UUID, force bool) (supplyapi.DeleteResourceResponse, error)
	// Cancel serves the extension POST /offers/{id}/cancel.
	Cancel(ctx context.Context, accountID int64, offerID uuid.UUID) (supplyapi.OfferStatusResponse, error)
	// SetAutoDelete, Account and Usage serve the extensions: PATCH
	// /resources/{id}, GET /account and GET /usage.
	SetAutoDelete(ctx context.Context, accountID int64, id uuid.UUID, req supplyapi.AutoDeleteRequest) (supplyapi.ResourceSummary, error)
	Account(ctx context.Context, accountID int64) (supplyapi.AccountInfo, error)
	Usage(ctx context.Context, accountID int64, q ledger.UsageQuery) (supplyapi.Usage, error)
	// Stop and Start serve the extensions POST /resources/{id}/stop and /start.
	Stop(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.PowerResponse, error)
	Start(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.PowerResponse, error)
}

// API is the HTTP server's routes and middleware.
type API struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	huma    huma.API
	metrics *httpMetrics
	// queryDecoder reads POST /get_offers bodies (YAML or JSON), and
	// queries keeps what recent bodies decoded to.
	queryDecoder *bodyDecoder
	queries      queryCache
	// statuses keeps the encoded answers of offer statuses and summaryHeads
	// the encoded resource summaries up to their accrued cost, under the
	// version they were rendered at (their Version fields, which the ledger
	// sets): an object of the same version is the same, so what was made of
	// it is written again instead of encoded and hashed again.
	statuses     *versioned.Cache[encodedAnswer]
	summaryHeads *versioned.Cache[[]byte]
	// packed keeps the compressed bodies of recent answers (see
	// writeAnswer), bounded by maxPackedAnswers and maxPackedBytes, for
	// packedIdle.
	packed *contentcoding.Cache
	// procureDecoder reads POST /procure_offer bodies (JSON); cloud_init
	// may carry private keys (host keys in a cloud-config).
	procureDecoder *bodyDecoder
	// patchDecoder reads PATCH /resources/{id} bodies (JSON), and
	// webhookDecoder POST /webhooks bodies.
	patchDecoder   *bodyDecoder
	webhookDecoder *bodyDecoder
	// keyDecoder, limitsDecoder and accountDecoder read the bodies of
	// the team operations (/keys, /account/limits, /admin/accounts).
	keyDecoder, limitsDecoder, accountDecoder *bodyDecoder
	// limiter is nil when Config.RateLimit is off.
	limiter *limiter[int64]
	// authFailures counts invalid keys per client address; nil when
	// Config.AuthFailureRate is off.
	authFailures *limiter[string]
	// closing is closed by CloseStreams, which ends the event streams.
	closing   chan struct{}
	closeOnce sync.Once
	// pageNotFound answers a browser's GET of a path no route serves;
	// nil: the JSON 404 answers everyone.
	pageNotFound http.Handler
}

// CloseStreams ends every event stream (at shutdown: http.Server.Shutdown
// does not wait for them then, and their clients resume elsewhere).
func (a *API) CloseStreams() { a.closeOnce.Do(func() { close(a.closing) }) }

// New builds the API and registers every operation.
func New(cfg Config) *API {
	// First: huma words a schema's validation messages as it makes it.
	configureHuma()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	if cfg.StreamHeartbeat <= 0 {
		cfg.StreamHeartbeat = 15 * time.Second
	}
	a := &API{
		cfg:            cfg,
		log:            cfg.Logger,
		mux:            http.NewServeMux(),
		metrics:        newHTTPMetrics(cfg.Metrics),
		limiter:        newLimiter[int64](cfg.RateLimit, cfg.RateBurst),
		authFailures:   newLimiter[string](cfg.AuthFailureRate, cfg.AuthFailureBurst),
		queryDecoder:   newBodyDecoder[supplyapi.OfferQuery](true),
		statuses:       versioned.New[encodedAnswer](maxEncoded),
		summaryHeads:   versioned.New[[]byte](maxEncoded),
		packed:         contentcoding.NewCache(maxPackedAnswers, maxPackedBytes, packedIdle),
		procureDecoder: newBodyDecoder[supplyapi.ProcureOfferRequest](false, "cloud_init"),
		patchDecoder:   newBodyDecoder[supplyapi.AutoDeleteRequest](false),
		webhookDecoder: newBodyDecoder[supplyapi.WebhookRequest](false),
		keyDecoder:     newBodyDecoder[supplyapi.APIKeyRequest](false),
		limitsDecoder:  newBodyDecoder[supplyapi.AccountLimitsRequest](false),
		accountDecoder: newBodyDecoder[supplyapi.AccountRequest](false),
		closing:        make(chan struct{}),
	}

	hc := huma.DefaultConfig("Supply Service", cfg.Version)
	hc.Info.Description = "GPU offers querying and provisioning service"
	hc.CreateHooks = nil // no $schema field, no Link header: FastAPI bodies
	hc.AllowAdditionalPropertiesByDefault = true
	hc.OpenAPIPath = "/openapi"
	hc.SchemasPath = ""
	hc.DocsPath = "" // served by registerDocs, without a CDN
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		securityScheme: {Type: "http", Scheme: "bearer"},
	}
	hc.Tags = []*huma.Tag{{Name: tagOffers}, {Name: tagResources}, {Name: tagDiscovery}, {Name: tagAccount}, {Name: tagEvents}, {Name: tagVolumes}}
	hc.Components.Schemas = huma.NewMapRegistry("#/components/schemas/", schemaName)
	hc.Components.Schemas.RegisterTypeAlias(reflect.TypeFor[uuid.UUID](), reflect.TypeFor[uuidString]())
	registerTypeAliases(hc.Components.Schemas)
	for name, s := range httpValidationErrorSchemas() {
		hc.Components.Schemas.Map()[name] = s
	}
	a.huma = humago.New(a.mux, hc)
	a.huma.UseMiddleware(a.authenticate)

	a.registerOps()
	a.registerDocs()
	a.registerDiscovery()
	a.registerOffers()
	a.registerProcurement()
	a.registerResources()
	a.registerStop()
	a.registerGuardrails()
	if cfg.Events != nil {
		a.registerEvents()
		a.registerWebhooks()
	}
	if cfg.Sessions != nil {
		a.registerSessions()
	}
	if cfg.Keys != nil {
		a.registerKeys()
	}
	if cfg.Volumes != nil {
		a.registerVolumes()
	}
	return a
}

// MetricsHandler serves the Prometheus registry. It is not one of the
// API's routes: it belongs on a listener of its own that only the
// monitoring network reaches, so that no API client reads the service's
// traffic and failure counts.
func (a *API) MetricsHandler() http.Handler {
	metrics := promhttp.HandlerFor(a.cfg.Metrics, promhttp.HandlerOpts{})
	if !a.cfg.Pprof {
		return metrics
	}
	mux := http.NewServeMux()
	mux.Handle("/", metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Handle adds a route outside the API's operations (the web console's
// pages) that gets what every request gets: recovery, the request log and
// metrics.
func (a *API) Handle(pattern string, h http.Handler) { a.mux.Handle(pattern, h) }

// HandlePageNotFound sets what answers a browser that asks for a page at a
// path no route serves (the web console's not-found page): a GET or HEAD
// whose Accept header names text/html. Every other request keeps the
// API's {"detail":"Not Found"}.
func (a *API) HandlePageNotFound(h http.Handler) { a.pageNotFound = h }

// Huma is the underlying huma API, for registering further operations.
func (a *API) Huma() huma.API { return a.huma }

// Handler is the whole server: panic recovery, request log, metrics, routes.
func (a *API) Handler() http.Handler { return http.HandlerFunc(a.serveHTTP) }

// componentNames names the OpenAPI components whose Go type names differ
// from the reference's component names: supplyapi names every other type
// as its component, and these for what they are outside the document.
var componentNames = map[reflect.Type]string{
	reflect.TypeFor[supplyapi.OfferResult]():     "Result",
	reflect.TypeFor[supplyapi.Event]():           "Message",
	reflect.TypeFor[supplyapi.DeliveryAttempt](): "AttemptInfo",
}

// uuidString stands in for uuid.UUID in schemas, which huma would otherwise
// document as a plain string: the contract documents ids as format uuid, and
// the format makes huma reject a malformed id in a body with pydantic's error.
type uuidString string

// Schema is the schema of every uuid.UUID.
func (uuidString) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeString, Format: "uuid"}
}

func schemaName(t reflect.Type, hint string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name, ok := componentNames[t]; ok {
		return name
	}
	return huma.DefaultSchemaNamer(t, hint)
}

var nonWord = regexp.MustCompile(`\W`)

// OperationID is FastAPI's operationId for a route: the handler name and the
// path with every non-word character replaced by "_", then the method.
// ("get_offer_details", "GET", "/offers/{offer_id}") gives
// "get_offer_details_offers__offer_id__get".
func OperationID(name, method, path string) string {
	return nonWord.ReplaceAllString(name+path, "_") + "_" + strings.ToLower(method)
}

// roleKey is the key of huma.Operation.Metadata under which an operation
// declares the role a key needs to call it (see operation).
const roleKey = "role"

// operation describes an operation the way every group registers it:
// FastAPI operationId, one tag, Bearer auth and a documented 422, and the
// role a key needs to call it. The middleware refuses every key an
// operation that declares no role.
func operation(role roles.Role, name, method, path, tag, summary string) huma.Operation {
	return huma.Operation{
		Metadata:     map[string]any{roleKey: role},
		OperationID:  OperationID(name, method, path),
		Method:       method,
		Path:         path,
		Summary:      summary,
		Tags:         []string{tag},
		Security:     []map[string][]string{{securityScheme: {}}},
		MaxBodyBytes: maxBodyBytes,
		Responses: map[string]*huma.Response{
			"422": {
				Description: "Validation Error",
				Content: map[string]*huma.MediaType{
					"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/HTTPValidationError"}},
				},
			},
		},
	}
}

// publicOperation is an operation that needs no API key.
func publicOperation(name, method, path, summary string) huma.Operation {
	op := operation("", name, method, path, "", summary)
	op.Tags, op.Security, op.Responses, op.Metadata = nil, nil, nil, nil
	return op
}
