// Package lambda is supply's adapter for Lambda Cloud (cloud.lambda.ai)
// and a stand-in server of Lambda's API for tests and sandbox mode.
//
// Lambda sells on-demand GPU machines only. Its catalog is one call
// (instance types with a price and the regions that have capacity), SSH
// keys are registered by name and referenced at launch, and instances
// carry key/value tags, which is where supply's resource id goes.
package lambda

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/userdata"
	"github.com/gpusupply/supply/internal/vendors"
)

// DefaultBaseURL is Lambda's production API.
const DefaultBaseURL = "https://cloud.lambda.ai/api/v1"

// Name is the vendor slug.
const Name = "lambda"

// Lambda's published rate limits: about one request per second in
// general, and one launch per 12 seconds.
const (
	publishedRateLimit      = rate.Limit(1)
	publishedBurst          = 1
	publishedLaunchInterval = 12 * time.Second
	defaultTimeout          = 30 * time.Second
)

// Config configures an Adapter.
type Config struct {
	APIKey string
	// BaseURL is DefaultBaseURL when empty.
	BaseURL string
	// HTTP does the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// SSHPort tells where sshd answers on an instance's IP; nil → 22.
	SSHPort func(ip string) int
	// RateLimit and Burst override the general request limit; zero →
	// Lambda's published limit.
	RateLimit rate.Limit
	Burst     int
	// LaunchInterval overrides the spacing of launches; zero → Lambda's
	// published 12 s.
	LaunchInterval time.Duration
	// Timeout bounds one HTTP attempt; zero → 30 s.
	Timeout time.Duration
	// Logger receives warnings (unknown regions); nil → slog.Default().
	Logger *slog.Logger
}

// Adapter speaks Lambda's API. It is safe for concurrent use.
type Adapter struct {
	client  *vendors.Client
	launch  *rate.Limiter
	sshPort func(ip string) int
	log     *slog.Logger
	// unplaced are the regions regionCountries lacks, logged once, not
	// at every catalog refresh.
	unplaced vendors.Unplaced

	// identifiers are the configured values that name the operator's
	// account at the vendor, never to be shown to tenants (vendors.Redact).
	identifiers []string
}

var _ vendors.Vendor = (*Adapter)(nil)

// AccountIdentifiers implements vendors.AccountIdentifiers: what the
// adapter was configured with that names the operator's account.
func (a *Adapter) AccountIdentifiers() []string { return a.identifiers }

// New returns an adapter for the account whose key is c.APIKey.
func New(c Config) *Adapter {
	c.LaunchInterval = cmp.Or(c.LaunchInterval, publishedLaunchInterval)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	if c.SSHPort == nil {
		c.SSHPort = func(string) int { return 22 }
	}
	return &Adapter{
		identifiers: []string{c.APIKey},
		client: vendors.NewClient(vendors.ClientConfig{
			Vendor:     Name,
			BaseURL:    cmp.Or(c.BaseURL, DefaultBaseURL),
			HTTP:       c.HTTP,
			RateLimit:  cmp.Or(c.RateLimit, publishedRateLimit),
			Burst:      cmp.Or(c.Burst, publishedBurst),
			Timeout:    cmp.Or(c.Timeout, defaultTimeout),
			MaxWait:    30 * time.Second,
			Authorize:  vendors.BearerAuth(c.APIKey),
			ParseError: parseError,
		}),
		launch:  rate.NewLimiter(rate.Every(c.LaunchInterval), 1),
		sshPort: c.SSHPort,
		log:     c.Logger.With("vendor", Name),
	}
}

// Name returns "lambda".
func (a *Adapter) Name() string { return Name }

// Info describes Lambda: on-demand VMs with cloud-init and tags.
func (a *Adapter) Info() vendors.Info {
	return vendors.Info{
		Name:        Name,
		DisplayName: "Lambda",
		CloudInit:   true,
		Tags:        true,
		Cilium:      true,
		Volumes:     true,
		Ports:       true,
	}
}

// Catalog lists every instance type in every region Lambda has, marked
// available where the type has capacity now. Lambda only names the
// regions with capacity, so the full region list comes from GET /regions
// and a type appears sold out in the others.
func (a *Adapter) Catalog(ctx context.Context) ([]vendors.CatalogItem, error) {
	return a.catalog(ctx, false)
}

// CatalogInStock lists what Catalog lists as available (vendors.InStock):
// a type only in the regions Lambda names as having capacity for it.
func (a *Adapter) CatalogInStock(ctx context.Context) ([]vendors.CatalogItem, error) {
	return a.catalog(ctx, true)
}

func (a *Adapter) catalog(ctx context.Context, inStockOnly bool) ([]vendors.CatalogItem, error) {
	var types envelope[map[string]instanceTypesItem]
	if err := a.client.Do(ctx, vendors.Request{Op: "list instance types", Method: http.MethodGet, Path: "/instance-types"}, &types); err != nil {
		return nil, err
	}
	var regions envelope[[]region]
	if err := a.client.Do(ctx, vendors.Request{Op: "list regions", Method: http.MethodGet, Path: "/regions"}, &regions); err != nil {
		return nil, err
	}
	size := len(types.Data) * len(regions.Data)
	if inStockOnly {
		size = 0
		for _, t := range types.Data {
			size += len(t.RegionsWithCapacityAvailable)
		}
	}
	items := make([]vendors.CatalogItem, 0, size)
	// In the order of the types' names, not the map's: a catalog read
	// like the last one item for item is one the offer index takes as
	// unchanged without re-sorting or persisting anything.
	for _, name := range slices.Sorted(maps.Keys(types.Data)) {
		t := types.Data[name]
		it := t.InstanceType
		available := map[string]bool{}
		for _, r := range t.RegionsWithCapacityAvailable {
			available[r.Name] = true
		}
		for _, r := range regions.Data {
			if inStockOnly && !available[r.Name] {
				continue
			}
			price := float64(it.PriceCentsPerHour) / 100
			items = append(items, vendors.CatalogItem{
				InstanceType: it.Name,
				Region:       r.Name,
				Country:      a.country(r.Name),
				Contract:     vendors.OnDemand,
				GPUName:      it.GPUDescription,
				GPUCount:     it.Specs.GPUs,
				VCPUs:        it.Specs.VCPUs,
				MemoryGB:     float64(it.Specs.MemoryGiB),
				// Storage comes with the instance type and its price.
				BootDiskGB:   it.Specs.StorageGiB,
				PricePerHour: price,
				Available:    available[r.Name],
				Stock:        -1,
			})
		}
	}
	return items, nil
}

// regionCountries maps Lambda's regions to the ISO country of their data
// centre (from GET /regions descriptions and Lambda's documentation).
var regionCountries = map[string]string{
	"us-west-1":        "US", // California
	"us-west-2":        "US", // Arizona
	"us-west-3":        "US", // Utah
	"us-south-1":       "US", // Texas
	"us-south-2":       "US", // North Texas
	"us-south-3":       "US", // Central Texas
	"us-east-1":        "US", // Virginia
	"us-east-2":        "US", // Washington DC
	"us-east-3":        "US", // Georgia
	"us-midwest-1":     "US", // Illinois
	"europe-central-1": "DE", // Germany
	"asia-south-1":     "IN", // India
	"asia-northeast-1": "JP", // Tokyo
	"asia-northeast-2": "JP", // Osaka
	"me-west-1":        "IL", // Israel
}

// country returns the region's ISO country, or "" (logged once) for a
// region the table does not know.
func (a *Adapter) country(region string) string {
	return a.unplaced.Country(a.log, regionCountries, region, "Lambda region")
}

// Create launches one instance tagged with req.ResourceID, or returns the
// one that already carries it.
func (a *Adapter) Create(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
	existing, err := a.find(ctx, req.ResourceID)
	if err != nil {
		return vendors.Instance{}, err
	}
	if existing != nil {
		return a.instance(*existing), nil
	}
	userData, err := userdata.CloudInit(req.SSHPublicKey, req.UserData)
	if err != nil {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "launch", Kind: vendors.ErrInvalid, Message: err.Error()}
	}
	keyName, err := a.ensureKey(ctx, req.SSHPublicKey)
	if err != nil {
		return vendors.Instance{}, err
	}
	if err := a.launch.Wait(ctx); err != nil {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "launch", Kind: vendors.ErrTransient, Message: "launch rate limiter: " + err.Error()}
	}
	body := launchRequest{
		RegionName:       req.Region,
		InstanceTypeName: req.InstanceType,
		SSHKeyNames:      []string{keyName},
		Name:             vendors.InstanceName(req.ResourceID),
		UserData:         userData,
		Tags:             tags(req.ResourceID, req.Owner),
		FileSystemNames:  fileSystemNames(req.Volumes),
	}
	if len(req.Ports) > 0 {
		id, err := a.ensureRuleset(ctx, req)
		if err != nil {
			return vendors.Instance{}, err
		}
		body.FirewallRulesets = []rulesetEntry{{ID: id}}
	}
	var launched envelope[launchResponse]
	err = a.client.Do(ctx, vendors.Request{Op: "launch", Method: http.MethodPost, Path: "/instance-operations/launch", JSON: body}, &launched)
	if err != nil {
		// At launch, "does not exist" means the type, region or key named
		// in the request: the request is wrong, not the instance gone.
		var ve *vendors.Error
		if errors.As(err, &ve) && ve.Kind == vendors.ErrNotFound {
			ve.Kind = vendors.ErrInvalid
		}
		return vendors.Instance{}, err
	}
	if len(launched.Data.InstanceIDs) == 0 {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "launch", Kind: vendors.ErrTransient, Message: "launch answered no instance id"}
	}
	id := launched.Data.InstanceIDs[0]
	inst, err := a.Get(ctx, id)
	if err != nil {
		// Launched for sure; the caller polls Get for the rest.
		return vendors.Instance{ID: id, ResourceID: req.ResourceID, Owner: req.Owner, Name: body.Name, State: vendors.StatePending,
			InstanceType: req.InstanceType, Region: req.Region}, nil
	}
	return inst, nil
}

// find returns the live instance carrying resourceID, if any.
func (a *Adapter) find(ctx context.Context, resourceID string) (*instance, error) {
	all, err := a.list(ctx)
	if err != nil {
		return nil, err
	}
	for _, in := range all {
		if id, _ := marksOf(in); id == resourceID && in.Status != statusTerminated && in.Status != statusTerminating {
			return &in, nil
		}
	}
	return nil, nil
}

// ensureKey registers publicKey with Lambda unless it already is, and
// returns its name.
func (a *Adapter) ensureKey(ctx context.Context, publicKey string) (string, error) {
	name, err := vendors.KeyName(publicKey)
	if err != nil {
		return "", &vendors.Error{Vendor: Name, Op: "add ssh key", Kind: vendors.ErrInvalid, Message: err.Error()}
	}
	has := func() (bool, error) {
		var keys envelope[[]sshKey]
		if err := a.client.Do(ctx, vendors.Request{Op: "list ssh keys", Method: http.MethodGet, Path: "/ssh-keys"}, &keys); err != nil {
			return false, err
		}
		for _, k := range keys.Data {
			if k.Name == name {
				return true, nil
			}
		}
		return false, nil
	}
	if ok, err := has(); err != nil || ok {
		return name, err
	}
	err = a.client.Do(ctx, vendors.Request{Op: "add ssh key", Method: http.MethodPost, Path: "/ssh-keys",
		JSON: addSSHKeyRequest{Name: name, PublicKey: publicKey}}, nil)
	if err != nil && !vendors.Retryable(err) {
		// A concurrent Create may have registered the same key first.
		if ok, lerr := has(); lerr == nil && ok {
			return name, nil
		}
	}
	return name, err
}

// Get returns one instance. Lambda answers 404 once a terminated
// instance is gone.
func (a *Adapter) Get(ctx context.Context, id string) (vendors.Instance, error) {
	var got envelope[instance]
	err := a.client.Do(ctx, vendors.Request{Op: "get instance", Method: http.MethodGet, Path: "/instances/" + url.PathEscape(id)}, &got)
	if err != nil {
		return vendors.Instance{}, err
	}
	return a.instance(got.Data), nil
}

// List returns every instance carrying supply's tag or name.
func (a *Adapter) List(ctx context.Context) ([]vendors.Instance, error) {
	all, err := a.list(ctx)
	if err != nil {
		return nil, err
	}
	var ours []vendors.Instance
	for _, in := range all {
		if id, _ := marksOf(in); id != "" {
			ours = append(ours, a.instance(in))
		}
	}
	return ours, nil
}

// list returns every instance of the account; Lambda does not paginate.
func (a *Adapter) list(ctx context.Context) ([]instance, error) {
	var all envelope[[]instance]
	if err := a.client.Do(ctx, vendors.Request{Op: "list instances", Method: http.MethodGet, Path: "/instances"}, &all); err != nil {
		return nil, err
	}
	return all.Data, nil
}

// Terminate asks Lambda to terminate id; an instance Lambda no longer
// knows is already gone.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	err := a.client.Do(ctx, vendors.Request{Op: "terminate", Method: http.MethodPost, Path: "/instance-operations/terminate",
		JSON: terminateRequest{InstanceIDs: []string{id}}, Repeatable: true}, nil)
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// tags are the instance's marks (vendors.Marks) as Lambda's tags.
func tags(resourceID, owner string) []tag {
	var out []tag
	for _, m := range vendors.Marks(resourceID, owner) {
		out = append(out, tag{Key: m.Key, Value: m.Value})
	}
	return out
}

// marksOf reads supply's resource id and owner from the tags, or the
// resource id from the name of an instance whose tags were lost.
func marksOf(in instance) (resourceID, owner string) {
	resourceID, owner = vendors.ReadMarks(func(key string) string {
		for _, t := range in.Tags {
			if t.Key == key {
				return t.Value
			}
		}
		return ""
	})
	if resourceID == "" {
		return vendors.ParseName(in.Name)
	}
	return resourceID, owner
}

func (a *Adapter) instance(in instance) vendors.Instance {
	id, owner := marksOf(in)
	out := vendors.Instance{
		ID:           in.ID,
		ResourceID:   id,
		Owner:        owner,
		Name:         in.Name,
		VendorState:  in.Status,
		InstanceType: in.InstanceType.Name,
		Region:       in.Region.Name,
		ExternalIP:   in.IP,
		InternalIP:   in.PrivateIP,
	}
	switch in.Status {
	case statusActive:
		// Ready means reachable: an active instance without its IP yet
		// is still coming up.
		out.State = vendors.StatePending
		if in.IP != "" {
			out.State = vendors.StateRunning
		}
	case statusBooting:
		out.State = vendors.StatePending
	case statusUnhealthy:
		out.State = vendors.StateFailed
		out.Message = "Lambda reports the instance unhealthy"
	case statusTerminating:
		out.State = vendors.StateTerminating
	case statusTerminated:
		out.State = vendors.StateTerminated
	case statusPreempted:
		out.State = vendors.StatePreempted
	default:
		out.State = vendors.StatePending
		out.Message = "unknown Lambda status " + in.Status
	}
	if in.IP != "" {
		out.SSHPort = a.sshPort(in.IP)
	}
	return out
}

// parseError reads Lambda's error envelope and maps its code to a kind.
func parseError(status int, _ http.Header, body []byte) *vendors.Error {
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" {
		return nil // not Lambda's envelope: the status decides
	}
	msg := e.Error.Message
	if e.Error.Suggestion != "" {
		msg += " (" + e.Error.Suggestion + ")"
	}
	return &vendors.Error{Kind: codeKind(status, e.Error.Code), Message: fmt.Sprintf("%s: %s", e.Error.Code, msg)}
}

// codeKinds classifies the error codes Lambda documents: each is the
// `code` const of an ApiError* schema of the Lambda Cloud API OpenAPI
// document (v1.10.0, components/schemas, named beside each line). Lambda
// asks clients to branch on `code` and never on `message` or `suggestion`
// ("Error responses" in the document's introduction), so nothing here
// reads a message.
var codeKinds = map[string]error{
	codeInvalidAPIKey:        vendors.ErrAuth,       // ApiErrorUnauthorized
	codeAccountInactive:      vendors.ErrAuth,       // ApiErrorAccountInactive
	codeForbidden:            vendors.ErrAuth,       // ApiErrorForbidden
	codeInsufficientCapacity: vendors.ErrNoCapacity, // ApiErrorInsufficientCapacity
	codeQuotaExceeded:        vendors.ErrQuota,      // ApiErrorQuotaExceeded
	codeInvalidAddress:       vendors.ErrQuota,      // ApiErrorInvalidBillingAddress: blocks launches like a spent quota
	codeInvalidParameters:    vendors.ErrInvalid,    // ApiErrorInvalidParameters
	codeFileSystemWrongPlace: vendors.ErrInvalid,    // ApiErrorFileSystemInWrongRegion
	codeDuplicate:            vendors.ErrInvalid,    // ApiErrorDuplicate
	codeObjectDoesNotExist:   vendors.ErrNotFound,   // ApiError{Instance,Resource,LaunchResource,...}NotFound
	codeNotFound:             vendors.ErrNotFound,   // ApiErrorNotFound
	codeConflict:             vendors.ErrTransient,  // ApiErrorConflict: another operation holds the object
	codeInternal:             vendors.ErrTransient,  // ApiErrorInternal
	codeFileSystemInUse:      vendors.ErrInvalid,    // ApiErrorFilesystemInUse
	codeFirewallInUse:        vendors.ErrInvalid,    // ApiErrorFirewallRulesetInUse
}

// providerKinds classifies `provider/*` codes, which Lambda documents only
// as a family ("Provider errors": "network outages or connectivity issues,
// service unavailability, quota limitations or resource exhaustion"), with
// one example, provider/internal-unavailable. The document names no other
// code, so the kind is read from the code's own words: a quota or
// exhaustion is not worth retrying as is, an outage is.
var providerKinds = vendors.Phrases{
	{Phrase: "quota", Kind: vendors.ErrQuota},
	{Phrase: "limit", Kind: vendors.ErrQuota},
	{Phrase: "exhaust", Kind: vendors.ErrNoCapacity},
	{Phrase: "capacity", Kind: vendors.ErrNoCapacity},
	{Phrase: "insufficient", Kind: vendors.ErrNoCapacity},
}

func codeKind(status int, code string) error {
	if status == http.StatusTooManyRequests {
		// Lambda documents its limits (1 request/s, 1 launch per 12 s)
		// but no 429 body or code: the status is the signal.
		return vendors.ErrRateLimited
	}
	if kind, ok := codeKinds[code]; ok {
		return kind
	}
	if rest, ok := strings.CutPrefix(code, codeProviderPrefix); ok {
		return cmp.Or(providerKinds.Kind(rest), vendors.ErrTransient)
	}
	return vendors.StatusKind(status)
}
