// Package hyperstack is supply's adapter for Hyperstack (NexGen Cloud's
// "Infrahub" API) and a stand-in server of that API for tests and
// sandbox mode.
//
// Hyperstack scopes everything to an environment bound to one region, so
// the adapter keeps one environment per region ("supply-canada-1") and one
// key pair per public key in each of them, creating both on first use.
package hyperstack

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/userdata"
	"github.com/gpusupply/supply/internal/vendors"
)

// DefaultBaseURL is Hyperstack's production API.
const DefaultBaseURL = "https://infrahub-api.nexgencloud.com/v1"

// DefaultImage is the Ubuntu image with NVIDIA drivers and CUDA that
// instances boot.
const DefaultImage = "Ubuntu Server 22.04 LTS R535 CUDA 12.2"

// vendorName is the slug under which the adapter reports itself.
const vendorName = "hyperstack"

// Hyperstack allows 500 requests a minute per source IP and answers 429
// "for the rest of the minute" without a Retry-After header.
const (
	publishedRate  = rate.Limit(500.0 / 60)
	publishedBurst = 20
	rateLimitWait  = time.Minute
)

// listPageSize is how many instances one List page asks for.
const listPageSize = 100

// Config configures an Adapter.
type Config struct {
	APIKey string
	// BaseURL defaults to DefaultBaseURL.
	BaseURL string
	// HTTP does the requests; its Timeout bounds each attempt.
	HTTP *http.Client
	// SSHPort maps an instance's IP to its SSH port; nil means 22.
	SSHPort func(ip string) int
	// RateLimit and Burst default to Hyperstack's published limit.
	RateLimit rate.Limit
	Burst     int
	Logger    *slog.Logger
}

// Adapter talks to Hyperstack. It is safe for concurrent use.
type Adapter struct {
	client *vendors.Client
	// deleter is client without retries: a VM still being created stays
	// undeletable for minutes, so retrying the refusal within one call
	// would only spend the rate limit; the caller calls Terminate again.
	deleter *vendors.Client
	sshPort func(ip string) int
	log     *slog.Logger

	mu   sync.Mutex
	envs map[string]bool // environment names known to exist
	keys map[string]bool // "<environment>/<key name>" known to exist
	// unplaced are the regions regionCountry lacks.
	unplaced vendors.Unplaced

	// identifiers are the configured values that name the operator's
	// account at the vendor, never to be shown to tenants (vendors.Redact).
	identifiers []string
}

var _ vendors.Vendor = (*Adapter)(nil)

// AccountIdentifiers implements vendors.AccountIdentifiers: what the
// adapter was configured with that names the operator's account.
func (a *Adapter) AccountIdentifiers() []string { return a.identifiers }

// New returns an adapter for the account behind c.APIKey.
func New(c Config) *Adapter {
	key := c.APIKey
	client := vendors.NewClient(vendors.ClientConfig{
		Vendor:    vendorName,
		BaseURL:   cmp.Or(c.BaseURL, DefaultBaseURL),
		HTTP:      c.HTTP,
		RateLimit: cmp.Or(c.RateLimit, publishedRate),
		Burst:     cmp.Or(c.Burst, publishedBurst),
		Timeout:   time.Minute,
		MaxWait:   5 * time.Second,
		Authorize: func(_ context.Context, r *http.Request) error {
			// The header name really is "api_key", not a canonical form.
			r.Header["api_key"] = []string{key}
			return nil
		},
		ParseError: parseError,
	})
	return &Adapter{
		identifiers: []string{c.APIKey},
		client:      client,
		deleter:     client.WithoutRetries(),
		sshPort:     c.SSHPort,
		log:         cmp.Or(c.Logger, slog.Default()).With("vendor", vendorName),
		envs:        map[string]bool{},
		keys:        map[string]bool{},
	}
}

// Name is the vendor slug.
func (a *Adapter) Name() string { return vendorName }

// Info describes what Hyperstack supports.
func (a *Adapter) Info() vendors.Info {
	return vendors.Info{
		Name:        vendorName,
		DisplayName: "Hyperstack",
		CloudInit:   true,
		Tags:        true,
		Cilium:      true,
		Stop:        true,
		Ports:       true,
		Volumes:     true,
		MaxVolumes:  maxVolumes,
	}
}

// regionCountry places Hyperstack's regions. Hyperstack has no APAC region.
var regionCountry = map[string]string{
	"CANADA-1": "CA",
	"NORWAY-1": "NO",
	"US-1":     "US",
}

// country is region's country (regionCountry), or "" logged once.
func (a *Adapter) country(region string) string {
	return a.unplaced.Country(a.log, regionCountry, region, "Hyperstack region")
}

// Catalog joins the flavors (what exists where, and whether it is in
// stock) with the pricebook (USD per GPU-hour by GPU model).
func (a *Adapter) Catalog(ctx context.Context) ([]vendors.CatalogItem, error) {
	var flavors flavorList
	if err := a.client.Do(ctx, vendors.Request{Op: "list flavors", Method: http.MethodGet, Path: "/core/flavors"}, &flavors); err != nil {
		return nil, err
	}
	var book []priceEntry
	if err := a.client.Do(ctx, vendors.Request{Op: "get pricebook", Method: http.MethodGet, Path: "/pricebook"}, &book); err != nil {
		return nil, err
	}
	perGPUHour := make(map[string]float64, len(book))
	for _, p := range book {
		perGPUHour[p.Name] = p.Value
	}
	n := 0
	for _, group := range flavors.Data {
		n += len(group.Flavors)
	}
	items := make([]vendors.CatalogItem, 0, n) // sized once: growing it would copy it again and again
	unpriced := map[string]bool{}
	for _, group := range flavors.Data {
		for _, f := range group.Flavors {
			if f.GPU == "" || f.GPUCount == 0 {
				continue // CPU-only flavors are not GPU capacity
			}
			price, ok := perGPUHour[f.GPU]
			if !ok {
				unpriced[f.GPU] = true
				continue
			}
			stock := -1
			if !f.StockAvailable {
				stock = 0
			}
			items = append(items, vendors.CatalogItem{
				InstanceType: f.Name,
				Region:       f.RegionName,
				Country:      a.country(f.RegionName),
				Contract:     vendors.OnDemand,
				GPUName:      f.GPU,
				GPUCount:     f.GPUCount,
				VCPUs:        f.CPU,
				MemoryGB:     f.RAM,
				// The flavor's root disk comes with it at no extra charge.
				BootDiskGB:   f.Disk,
				PricePerHour: roundCents(float64(f.GPUCount) * price),
				Available:    f.StockAvailable,
				Stock:        stock,
			})
		}
	}
	for gpu := range unpriced {
		a.log.Warn("Hyperstack flavor GPU missing from the pricebook: left out of the catalog", "gpu", gpu)
	}
	return items, nil
}

// roundCents drops floating-point noise below a hundredth of a cent.
func roundCents(v float64) float64 {
	return float64(int64(v*10000+0.5)) / 10000
}

// Create launches one VM for req.ResourceID, or returns the one that
// already carries that id.
func (a *Adapter) Create(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
	if req.ResourceID == "" {
		return vendors.Instance{}, a.invalid("create", "resource id is required")
	}
	if req.Contract == vendors.Spot {
		return vendors.Instance{}, a.invalid("create", "Hyperstack sells no spot capacity")
	}
	// The key goes in twice: as the VM's key pair (Hyperstack's way, for
	// the image's default user) and in the user data that lets root in.
	publicKey, err := userdata.ValidateKey(req.SSHPublicKey)
	if err != nil {
		return vendors.Instance{}, a.invalid("create", err.Error())
	}
	volume, err := volumeName(req.Volumes)
	if err != nil {
		return vendors.Instance{}, a.invalid("create", err.Error())
	}
	userData, err := userdata.CloudInit(publicKey, req.UserData, mountScript(req.Volumes))
	if err != nil {
		return vendors.Instance{}, a.invalid("create", err.Error())
	}
	if existing, found, err := a.findByResource(ctx, req.ResourceID); err != nil || found {
		return existing, err
	}
	env, err := a.ensureEnvironment(ctx, req.Region)
	if err != nil {
		return vendors.Instance{}, err
	}
	keyName, err := a.ensureKeypair(ctx, env, publicKey)
	if err != nil {
		return vendors.Instance{}, err
	}
	body := createPayload{
		Name:                    vendors.InstanceName(req.ResourceID),
		EnvironmentName:         env,
		FlavorName:              req.InstanceType,
		ImageName:               DefaultImage,
		KeyName:                 keyName,
		Count:                   1,
		AssignFloatingIP:        true,
		EnablePortRandomization: false,
		UserData:                userData,
		Labels:                  vendors.MarkText(req.ResourceID, req.Owner),
		SecurityRules:           securityRules(req.Ports),
		VolumeName:              volume,
	}
	var resp createResponse
	// A create is never re-sent by the client: a timeout or 5xx comes back
	// as ErrTransient and the next Create finds the VM if it was made.
	if err := a.client.Do(ctx, vendors.Request{Op: "create", Method: http.MethodPost, Path: "/core/virtual-machines", JSON: body}, &resp); err != nil {
		return vendors.Instance{}, vendors.NotFoundIsInvalid(err)
	}
	if len(resp.Instances) == 0 {
		return vendors.Instance{}, &vendors.Error{Vendor: vendorName, Op: "create", Kind: vendors.ErrTransient, Message: "create answered without an instance"}
	}
	return a.instance(resp.Instances[0]), nil
}

func (a *Adapter) invalid(op, msg string) error {
	return &vendors.Error{Vendor: vendorName, Op: op, Kind: vendors.ErrInvalid, Message: msg}
}

// environmentName is supply's environment in a region.
func environmentName(region string) string { return vendors.NamePrefix + strings.ToLower(region) }

// keypairName names a public key the same way every time, so the key is
// imported once per environment however many instances use it.
func keypairName(publicKey string) string {
	sum := sha256.Sum256([]byte(publicKey))
	return vendors.NamePrefix + hex.EncodeToString(sum[:])[:16]
}

// ensureEnvironment returns supply's environment in region, creating it
// the first time.
func (a *Adapter) ensureEnvironment(ctx context.Context, region string) (string, error) {
	name := environmentName(region)
	if a.known(a.envs, name) {
		return name, nil
	}
	var list environmentList
	q := url.Values{"search": {name}}
	if err := a.client.Do(ctx, vendors.Request{Op: "list environments", Method: http.MethodGet, Path: "/core/environments", Query: q}, &list); err != nil {
		return "", err
	}
	found := false
	for _, e := range list.Environments {
		found = found || e.Name == name
	}
	if !found {
		err := a.client.Do(ctx, vendors.Request{
			Op: "create environment", Method: http.MethodPost, Path: "/core/environments",
			JSON: createEnvironmentPayload{Name: name, Region: region},
			// Creating a named environment twice is refused with a 409,
			// so re-sending after an ambiguous failure is harmless.
			Repeatable: true,
		}, nil)
		if err != nil && !isConflict(err) {
			return "", err
		}
	}
	a.remember(a.envs, name)
	return name, nil
}

// ensureKeypair imports publicKey into env under its hash name, once.
func (a *Adapter) ensureKeypair(ctx context.Context, env, publicKey string) (string, error) {
	name := keypairName(publicKey)
	id := env + "/" + name
	if a.known(a.keys, id) {
		return name, nil
	}
	var list keypairList
	q := url.Values{"search": {name}}
	if err := a.client.Do(ctx, vendors.Request{Op: "list keypairs", Method: http.MethodGet, Path: "/core/keypairs", Query: q}, &list); err != nil {
		return "", err
	}
	found := false
	for _, k := range list.Keypairs {
		found = found || (k.Name == name && k.Environment.Name == env)
	}
	if !found {
		err := a.client.Do(ctx, vendors.Request{
			Op: "import keypair", Method: http.MethodPost, Path: "/core/keypairs",
			JSON:       importKeypairPayload{Name: name, EnvironmentName: env, PublicKey: publicKey},
			Repeatable: true, // a duplicate name in the environment is a 409
		}, nil)
		if err != nil && !isConflict(err) {
			return "", err
		}
	}
	a.remember(a.keys, id)
	return name, nil
}

func (a *Adapter) known(set map[string]bool, k string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return set[k]
}

func (a *Adapter) remember(set map[string]bool, k string) {
	a.mu.Lock()
	set[k] = true
	a.mu.Unlock()
}

func isConflict(err error) bool {
	var e *vendors.Error
	return errors.As(err, &e) && e.Status == http.StatusConflict
}

// findByResource looks for the VM that carries resourceID.
func (a *Adapter) findByResource(ctx context.Context, resourceID string) (vendors.Instance, bool, error) {
	found, err := a.list(ctx, vendors.InstanceName(resourceID))
	if err != nil {
		return vendors.Instance{}, false, err
	}
	for _, in := range found {
		if in.ResourceID == resourceID {
			return in, true, nil
		}
	}
	return vendors.Instance{}, false, nil
}

// Get returns one VM by its Hyperstack id.
func (a *Adapter) Get(ctx context.Context, id string) (vendors.Instance, error) {
	path, err := vmPath("get", id)
	if err != nil {
		return vendors.Instance{}, err
	}
	var resp instanceResponse
	if err := a.client.Do(ctx, vendors.Request{Op: "get", Method: http.MethodGet, Path: path}, &resp); err != nil {
		return vendors.Instance{}, err
	}
	return a.instance(resp.Instance), nil
}

// vmPath is the path of VM id; Hyperstack ids are integers, so anything
// else cannot name a VM.
func vmPath(op, id string) (string, error) {
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return "", &vendors.Error{Vendor: vendorName, Op: op, Kind: vendors.ErrNotFound, Message: fmt.Sprintf("%q is not a Hyperstack VM id", id)}
	}
	return "/core/virtual-machines/" + id, nil
}

// List returns every VM supply created, in any state short of gone.
func (a *Adapter) List(ctx context.Context) ([]vendors.Instance, error) {
	return a.list(ctx, vendors.NamePrefix)
}

// list pages through the VMs matching search and keeps supply's.
func (a *Adapter) list(ctx context.Context, search string) ([]vendors.Instance, error) {
	var ours []vendors.Instance
	seen := 0
	for page := 1; ; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(listPageSize)}, "search": {search}}
		var resp instanceList
		if err := a.client.Do(ctx, vendors.Request{Op: "list", Method: http.MethodGet, Path: "/core/virtual-machines", Query: q}, &resp); err != nil {
			return nil, err
		}
		for _, vm := range resp.Instances {
			if in := a.instance(vm); in.ResourceID != "" {
				ours = append(ours, in)
			}
		}
		seen += len(resp.Instances)
		if len(resp.Instances) < listPageSize || (resp.Count > 0 && seen >= resp.Count) {
			return ours, nil
		}
	}
}

// Terminate deletes a VM. A VM still being created cannot be deleted
// yet: that refusal comes back as ErrTransient so callers retry.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	path, err := vmPath("terminate", id)
	if err != nil {
		return nil // no such VM can exist
	}
	err = a.deleter.Do(ctx, vendors.Request{Op: "terminate", Method: http.MethodDelete, Path: path}, nil)
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// instance maps a Hyperstack VM to supply's view of it.
func (a *Adapter) instance(vm instanceFields) vendors.Instance {
	id, owner := marksOf(vm)
	in := vendors.Instance{
		ID:           strconv.FormatInt(vm.ID, 10),
		ResourceID:   id,
		Owner:        owner,
		Name:         vm.Name,
		State:        state(vm),
		VendorState:  vm.Status,
		InstanceType: vm.Flavor.Name,
		Region:       vm.Environment.Region,
		ExternalIP:   vm.FloatingIP,
		InternalIP:   vm.FixedIP,
		SSHPort:      22,
		CreatedAt:    vm.CreatedAt,
	}
	if a.sshPort != nil && in.ExternalIP != "" {
		in.SSHPort = a.sshPort(in.ExternalIP)
	}
	return in
}

// marksOf reads supply's resource id and owner from the labels, or the
// resource id from the name of a VM whose labels were lost.
func marksOf(vm instanceFields) (resourceID, owner string) {
	if resourceID, owner = vendors.ReadMarkText(vm.Labels); resourceID != "" {
		return resourceID, owner
	}
	return vendors.ParseName(vm.Name)
}

// state maps Hyperstack's status. A VM is running only once it is ACTIVE,
// its hypervisor state is active and its public IP is attached: before
// that, SSH cannot answer.
func state(vm instanceFields) vendors.State {
	switch strings.ToUpper(vm.Status) {
	case "ACTIVE":
		if strings.EqualFold(vm.VMState, "active") && strings.EqualFold(vm.FloatingIPStatus, "ATTACHED") && vm.FloatingIP != "" {
			return vendors.StateRunning
		}
		return vendors.StatePending
	case "SHUTOFF", "HIBERNATED":
		return vendors.StateStopped
	case "DELETING":
		return vendors.StateTerminating
	case "DELETED":
		return vendors.StateTerminated
	case "ERROR":
		return vendors.StateFailed
	default: // CREATING, BUILD, STARTING, REBOOTING, HARD_REBOOT, ...
		return vendors.StatePending
	}
}

// parseError reads Hyperstack's error envelope, ErrorResponseModel
// {status, message, error_reason}, which the description gives every
// 4xx of the operations the adapter calls. Hyperstack documents no error
// codes: error_reason is free text ("bad_request"), so the kind comes from
// the status as its documentation reads it (infrahub-doc.nexgencloud.com,
// docs/api-reference/errors: 401 "No valid API key provided", 403 "Access
// is denied", 404 "Requested resource does not exist", 409 "Resource being
// created already exists", 500 "Retry your request after a brief wait";
// the description's 500 has no body) and, for a 400 or 409, from the
// phrases of messagePatterns. The
// description documents no 429: the rate limit (500 requests a minute per
// IP, 429 "for the rest of the minute", no Retry-After) is from the docs'
// rate-limit page.
func parseError(status int, header http.Header, body []byte) *vendors.Error {
	var env errorEnvelope
	_ = json.Unmarshal(body, &env) // a 500 may have no body at all
	e := &vendors.Error{Kind: vendors.StatusKind(status), Message: env.Message}
	if env.ErrorReason != "" {
		e.Message = strings.TrimSpace(env.Message + " [" + env.ErrorReason + "]")
	}
	switch status {
	case http.StatusBadRequest, http.StatusConflict:
		e.Kind = cmp.Or(messagePatterns.Kind(env.Message), e.Kind)
	case http.StatusTooManyRequests:
		if header.Get("Retry-After") == "" {
			e.RetryAfter = rateLimitWait
		}
	}
	return e
}

// messagePatterns are the phrases of Hyperstack's refusals that mean
// something other than a malformed request, matched case-insensitively
// anywhere in the message. Hyperstack documents no error code and almost
// no message, so each line says where its phrase comes from; the ones
// "documented nowhere" rest on our reading and are to be checked against
// the live API.
var messagePatterns = vendors.Phrases{
	// Deleting a VM still being created: documented nowhere; the phrases
	// are from the real refusal SkyPilot quotes and matches
	// (sky/provision/hyperstack/instance.py: "VM … is currently being
	// created and cannot be deleted yet. Please wait until the creation
	// process is finished before attempting deletion").
	{Phrase: "currently being created", Kind: vendors.ErrTransient},
	{Phrase: "creation process", Kind: vendors.ErrTransient},
	// The description's own words for a refusal for money: the 402 of
	// Attach_public_IP_to_VM, "Insufficient balance to create the
	// resource" (a 402 is ErrQuota by status already; the phrase catches
	// it in a 400).
	{Phrase: "insufficient balance", Kind: vendors.ErrQuota},
	// Documented nowhere as a refusal; "credit balance" is the
	// description's word (Get_user_credit: "a positive credit balance
	// allows you to create resources").
	{Phrase: "insufficient credit", Kind: vendors.ErrQuota},
	// Documented nowhere as a refusal; the word is the description's
	// (Get_environment_VM_quota, VM_Quota {max_vms, available_vms}).
	{Phrase: "quota", Kind: vendors.ErrQuota},
	// Documented nowhere as a refusal; "stock" is the description's word
	// for capacity (stock_available on flavors, Get_GPU_stock, its 404
	// "Stocks Not Found").
	{Phrase: "stock", Kind: vendors.ErrNoCapacity},
	// Documented nowhere; our guess at other wordings of the same refusal.
	{Phrase: "capacity", Kind: vendors.ErrNoCapacity},
	{Phrase: "not enough resources", Kind: vendors.ErrNoCapacity},
	{Phrase: "insufficient resources", Kind: vendors.ErrNoCapacity},
}
