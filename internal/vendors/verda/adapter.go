// Package verda is supply's adapter for Verda (formerly DataCrunch) and a
// stand-in server of Verda's API for tests and sandbox mode.
//
// Verda authenticates with OAuth2 client credentials, sells every
// instance type on demand and as spot, and boots instances with a start-up
// script (a shell script, not cloud-init) registered before the launch.
// Instances have no tags in the API supply relies on, so supply's
// resource id travels in the hostname and the description.
package verda

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
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/userdata"
	"github.com/gpusupply/supply/internal/vendors"
)

// DefaultBaseURL is Verda's production API (the legacy host is
// api.datacrunch.io/v1).
const DefaultBaseURL = "https://api.verda.com/v1"

// Name is the vendor slug.
const Name = "verda"

// DefaultImage is the Ubuntu image with NVIDIA drivers, CUDA and Docker
// that instances boot.
const DefaultImage = "ubuntu-24.04-cuda-12.8-open-docker"

// DefaultOSVolumeGB is the boot volume asked for each instance.
const DefaultOSVolumeGB = 100

// Verda publishes no rate limit (its SDK backs off on 429s), so the
// adapter paces itself modestly.
const (
	defaultRateLimit = rate.Limit(10)
	defaultBurst     = 10
	defaultTimeout   = 30 * time.Second
)

// hoursPerMonth turns Verda's monthly volume prices into hourly ones; it
// bills volumes by the hour at price/730.
const hoursPerMonth = 730

// Config configures an Adapter.
type Config struct {
	// ClientID and ClientSecret are the OAuth2 client credentials from
	// Verda's console (Keys → Cloud API credentials).
	ClientID     string
	ClientSecret string
	// BaseURL is DefaultBaseURL when empty.
	BaseURL string
	// HTTP does the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// SSHPort tells where sshd answers on an instance's IP; nil → 22.
	SSHPort func(ip string) int
	// RateLimit and Burst pace requests; zero → 10 a second.
	RateLimit rate.Limit
	Burst     int
	// Timeout bounds one HTTP attempt; zero → 30 s.
	Timeout time.Duration
	// Logger receives warnings (unknown regions); nil → slog.Default().
	Logger *slog.Logger
	// Image is what instances boot; empty → DefaultImage.
	Image string
	// OSVolumeGB sizes the boot volume; zero → DefaultOSVolumeGB.
	OSVolumeGB int
}

// Adapter speaks Verda's API. It is safe for concurrent use.
type Adapter struct {
	client *vendors.Client
	// deleter is client without retries: an instance still provisioning
	// refuses deletion for minutes, so retrying within one call only
	// spends requests; the caller calls Terminate again.
	deleter    *vendors.Client
	tokens     *tokenSource
	sshPort    func(ip string) int
	log        *slog.Logger
	image      string
	osVolumeGB int

	mu sync.Mutex
	// keyIDs maps SSH key names known to exist to their ids.
	keyIDs map[string]string
	// unplaced are the locations neither the table nor /locations places.
	unplaced vendors.Unplaced
	// volumePrice is the NVMe price per GB-month, as /volume-types last
	// said it.
	volumePrice float64

	// identifiers are the configured values that name the operator's
	// account at the vendor, never to be shown to tenants (vendors.Redact).
	identifiers []string
}

var _ vendors.Vendor = (*Adapter)(nil)

// AccountIdentifiers implements vendors.AccountIdentifiers: what the
// adapter was configured with that names the operator's account.
func (a *Adapter) AccountIdentifiers() []string { return a.identifiers }

// New returns an adapter for the account behind c's client credentials.
func New(c Config) *Adapter {
	if c.SSHPort == nil {
		c.SSHPort = func(string) int { return 22 }
	}
	// The token exchange shares the API's budget: one client without
	// credentials and with the token endpoint's own error envelope.
	tokenClient := vendors.NewClient(vendors.ClientConfig{
		Vendor:     Name,
		BaseURL:    cmp.Or(c.BaseURL, DefaultBaseURL),
		HTTP:       c.HTTP,
		RateLimit:  cmp.Or(c.RateLimit, defaultRateLimit),
		Burst:      cmp.Or(c.Burst, defaultBurst),
		Timeout:    cmp.Or(c.Timeout, defaultTimeout),
		MaxWait:    5 * time.Second,
		ParseError: parseTokenError,
	})
	tokens := &tokenSource{client: tokenClient, clientID: c.ClientID, clientSecret: c.ClientSecret}
	client := *tokenClient
	client.ParseError = parseError
	client.Authorize = func(ctx context.Context, r *http.Request) error {
		token, err := tokens.token(ctx)
		if err != nil {
			return err
		}
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
	return &Adapter{
		identifiers: []string{c.ClientID, c.ClientSecret},
		client:      &client,
		deleter:     client.WithoutRetries(),
		tokens:      tokens,
		sshPort:     c.SSHPort,
		log:         cmp.Or(c.Logger, slog.Default()).With("vendor", Name),
		image:       cmp.Or(c.Image, DefaultImage),
		osVolumeGB:  cmp.Or(c.OSVolumeGB, DefaultOSVolumeGB),
		keyIDs:      map[string]string{},
		volumePrice: defaultVolumePrice,
	}
}

// Name returns "verda".
func (a *Adapter) Name() string { return Name }

// Info describes Verda: VMs on demand and as spot, booted with a start-up
// script, with block volumes; no clusters through this adapter.
func (a *Adapter) Info() vendors.Info {
	return vendors.Info{
		Name:        Name,
		DisplayName: "Verda (formerly DataCrunch)",
		Spot:        true,
		Cilium:      true,
		Stop:        true,
		Volumes:     true,
		MinVolumeGB: minVolumeGB,
	}
}

// opToken names the token exchange in errors.
const opToken = "get access token"

// tokenSource holds the OAuth2 access token: fetched on first use, cached,
// and renewed shortly before it expires (refresh token first, the client
// credentials when that fails) or when the API answers 401.
type tokenSource struct {
	client                 *vendors.Client
	clientID, clientSecret string

	mu      sync.Mutex
	access  string
	refresh string
	renewAt time.Time
}

// token returns a valid access token. Holding the lock through the
// exchange makes concurrent callers share one fetch.
func (t *tokenSource) token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.access != "" && time.Now().Before(t.renewAt) {
		return t.access, nil
	}
	var resp tokenResponse
	err := errors.New("no refresh token")
	if t.refresh != "" {
		err = t.exchange(ctx, tokenRequest{GrantType: grantRefreshToken, RefreshToken: t.refresh}, &resp)
	}
	if err != nil {
		// A refresh token expires or is revoked; the credentials do not.
		err = t.exchange(ctx, tokenRequest{GrantType: grantClientCredentials, ClientID: t.clientID, ClientSecret: t.clientSecret}, &resp)
	}
	if err != nil {
		return "", err
	}
	if resp.AccessToken == "" {
		return "", &vendors.Error{Vendor: Name, Op: opToken, Kind: vendors.ErrTransient, Message: "token answer without an access_token"}
	}
	lifetime := time.Duration(resp.ExpiresIn) * time.Second
	t.access, t.refresh = resp.AccessToken, resp.RefreshToken
	// Renew a minute early (a fifth early for short-lived tokens), so a
	// token never expires between being read and being checked.
	t.renewAt = time.Now().Add(lifetime - min(time.Minute, lifetime/5))
	return t.access, nil
}

func (t *tokenSource) exchange(ctx context.Context, body tokenRequest, out *tokenResponse) error {
	return t.client.Do(ctx, vendors.Request{
		Op: opToken, Method: http.MethodPost, Path: "/oauth2/token", JSON: body,
		// Asking for a token twice creates nothing that needs cleaning up.
		Repeatable: true,
	}, out)
}

// forget drops the access token after the API refused it.
func (t *tokenSource) forget() {
	t.mu.Lock()
	t.access = ""
	t.mu.Unlock()
}

// do sends req through c. A 401 means the token was refused before
// anything happened, so the request is sent once more with a new token,
// even a create.
func (a *Adapter) do(ctx context.Context, c *vendors.Client, req vendors.Request, out any) error {
	err := c.Do(ctx, req, out)
	var e *vendors.Error
	if errors.As(err, &e) && e.Status == http.StatusUnauthorized && e.Op != opToken {
		a.tokens.forget()
		err = c.Do(ctx, req, out)
	}
	return err
}

func (a *Adapter) get(ctx context.Context, op, path string, query url.Values, out any) error {
	return a.do(ctx, a.client, vendors.Request{Op: op, Method: http.MethodGet, Path: path, Query: query}, out)
}

// regionCountry places Verda's locations: Helsinki-area data centres in
// Finland and one in Iceland. Verda has no US or APAC location.
var regionCountry = map[string]string{
	"FIN-01": "FI",
	"FIN-02": "FI",
	"FIN-03": "FI",
	"ICE-01": "IS",
}

// country returns the ISO code of a location: from the table, else from
// what /locations said about it, else "" (logged once).
func (a *Adapter) country(code, reported string) string {
	if _, ok := regionCountry[vendors.RealRegion(code)]; !ok && len(reported) == 2 {
		return strings.ToUpper(reported)
	}
	return a.unplaced.Country(a.log, regionCountry, code, "Verda location")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Catalog crosses every GPU instance type with every location, once on
// demand and once as spot, priced with the boot volume and marked
// available where Verda lists the type as deployable now.
func (a *Adapter) Catalog(ctx context.Context) ([]vendors.CatalogItem, error) {
	return a.catalog(ctx, false)
}

// CatalogInStock lists what Catalog lists as available (vendors.InStock):
// most locations can deploy few of the types.
func (a *Adapter) CatalogInStock(ctx context.Context) ([]vendors.CatalogItem, error) {
	return a.catalog(ctx, true)
}

func (a *Adapter) catalog(ctx context.Context, inStockOnly bool) ([]vendors.CatalogItem, error) {
	var types []instanceType
	if err := a.get(ctx, "list instance types", "/instance-types", url.Values{"currency": {"usd"}}, &types); err != nil {
		return nil, err
	}
	var locations []location
	if err := a.get(ctx, "list locations", "/locations", nil, &locations); err != nil {
		return nil, err
	}
	diskPerHour, err := a.bootDiskPrice(ctx)
	if err != nil {
		return nil, err
	}
	stock := map[vendors.Contract]map[string]bool{}
	for _, contract := range []vendors.Contract{vendors.OnDemand, vendors.Spot} {
		if stock[contract], err = a.availability(ctx, contract); err != nil {
			return nil, err
		}
	}
	// Sized once: appended to, a list of tens of thousands of items would
	// be copied again every time it grew by a quarter.
	size := 2 * len(locations) * len(types)
	if inStockOnly {
		size = len(stock[vendors.OnDemand]) + len(stock[vendors.Spot])
	}
	items := make([]vendors.CatalogItem, 0, size)
	for _, loc := range locations {
		country := a.country(loc.Code, loc.CountryCode)
		for _, t := range types {
			if t.GPU.NumberOfGPUs < 1 {
				continue // CPU nodes are not GPU capacity
			}
			for _, offer := range []struct {
				contract vendors.Contract
				price    flexFloat
			}{{vendors.OnDemand, t.PricePerHour}, {vendors.Spot, t.SpotPrice}} {
				contract, price := offer.contract, offer.price
				if price <= 0 {
					continue // not sold under this contract
				}
				available := stock[contract][loc.Code+"/"+t.InstanceType]
				if inStockOnly && !available {
					continue
				}
				items = append(items, vendors.CatalogItem{
					InstanceType:         t.InstanceType,
					Region:               loc.Code,
					Country:              country,
					Contract:             contract,
					GPUName:              gpuName(t),
					GPUCount:             int(t.GPU.NumberOfGPUs),
					VCPUs:                int(t.CPU.NumberOfCores),
					MemoryGB:             t.Memory.SizeInGigabytes,
					BootDiskGB:           a.osVolumeGB,
					PricePerHour:         roundPrice(float64(price) + diskPerHour),
					BootDiskPricePerHour: roundPrice(diskPerHour),
					Available:            available,
					Stock:                stockCount(available),
				})
			}
		}
	}
	return items, nil
}

// stockCount says "some" or "none": Verda reports availability, not counts.
func stockCount(available bool) int {
	if available {
		return -1
	}
	return 0
}

// bootDiskPrice is what the boot volume costs per hour: Verda bills
// volumes apart from the instance, per GB-month.
func (a *Adapter) bootDiskPrice(ctx context.Context) (float64, error) {
	var vols []volumeType
	if err := a.get(ctx, "list volume types", "/volume-types", nil, &vols); err != nil {
		return 0, err
	}
	for _, v := range vols {
		if v.Type == osVolumeType {
			// The boot volume's type is also the data volumes'.
			a.mu.Lock()
			a.volumePrice = v.Price.PricePerMonthPerGB
			a.mu.Unlock()
			return float64(a.osVolumeGB) * v.Price.PricePerMonthPerGB / hoursPerMonth, nil
		}
	}
	return 0, &vendors.Error{Vendor: Name, Op: "list volume types", Kind: vendors.ErrInvalid,
		Message: "no " + osVolumeType + " volume price: boot volumes cannot be priced"}
}

// availability returns "location/type" for every type deployable now
// under contract, in every location: one call answers for all of them.
func (a *Adapter) availability(ctx context.Context, contract vendors.Contract) (map[string]bool, error) {
	var list []locationAvailability
	// The description and Verda's Python SDK name the flag isSpot, its Go
	// SDK is_spot: both are sent, so either reading of the live API sees
	// it (an unknown query parameter is ignored).
	spot := fmt.Sprint(contract == vendors.Spot)
	q := url.Values{"isSpot": {spot}, "is_spot": {spot}}
	if err := a.get(ctx, "list availability", "/instance-availability", q, &list); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, l := range list {
		for _, t := range l.types() {
			set[l.LocationCode+"/"+t] = true
		}
	}
	return set, nil
}

// gpuName is the GPU model as Verda describes it, without the count:
// "8x H100 SXM5 80GB" → "H100 SXM5 80GB". The description says the form
// factor and memory the bare model ("A100") leaves out.
func gpuName(t instanceType) string {
	d := strings.TrimSpace(t.GPU.Description)
	if count, rest, ok := strings.Cut(d, "x "); ok && isDigits(count) {
		d = strings.TrimSpace(rest)
	}
	if d == "" {
		return t.Model
	}
	return d
}

// roundPrice drops floating-point noise below a hundredth of a cent.
func roundPrice(v float64) float64 {
	return float64(int64(v*10000+0.5)) / 10000
}

// Create launches one instance for req.ResourceID, or returns the one that
// already carries that id.
func (a *Adapter) Create(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
	if req.ResourceID == "" {
		return vendors.Instance{}, a.invalid("create", "resource id is required")
	}
	if req.Cluster != nil {
		return vendors.Instance{}, a.invalid("create", "Verda clusters are not offered through supply")
	}
	// The key goes in twice: as an account SSH key (Verda's way, for root
	// on its images) and in the start-up script that makes sure of it.
	publicKey, err := userdata.ValidateKey(req.SSHPublicKey)
	if err != nil {
		return vendors.Instance{}, a.invalid("create", err.Error())
	}
	if err := attachable(req.Volumes); err != nil {
		return vendors.Instance{}, a.invalid("create", err.Error())
	}
	script, err := userdata.StartupScript(publicKey, req.UserData, mountScript(req.Volumes))
	if err != nil {
		return vendors.Instance{}, a.invalid("create", err.Error())
	}
	if existing, found, err := a.findByResource(ctx, req.ResourceID); err != nil || found {
		return existing, err
	}
	keyID, err := a.ensureKey(ctx, publicKey)
	if err != nil {
		return vendors.Instance{}, err
	}
	scriptID, err := a.ensureScript(ctx, req.ResourceID, script)
	if err != nil {
		return vendors.Instance{}, err
	}
	name := hostname(req.ResourceID)
	body := deployRequest{
		InstanceType:    req.InstanceType,
		Image:           a.image,
		Hostname:        name,
		Description:     description(req.ResourceID, req.Owner),
		LocationCode:    req.Region,
		SSHKeyIDs:       []string{keyID},
		StartupScriptID: scriptID,
		OSVolume:        osVolume{Name: name + "-os", Size: a.osVolumeGB},
		IsSpot:          req.Contract == vendors.Spot,
		ExistingVolumes: volumeIDs(req.Volumes),
	}
	var raw []byte
	// A create is never re-sent by the client: a timeout or 5xx comes back
	// as ErrTransient and the next Create finds the instance if it was made.
	err = a.do(ctx, a.client, vendors.Request{Op: "deploy", Method: http.MethodPost, Path: "/instances", JSON: body}, &raw)
	if err != nil {
		err = deployError(err)
		if !vendors.Retryable(err) {
			// Refused outright: no instance will ever run the script.
			a.dropScript(ctx, scriptID)
		}
		return vendors.Instance{}, err
	}
	id, err := plainID(raw)
	if err != nil {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "deploy", Kind: vendors.ErrTransient, Message: "read instance id: " + err.Error()}
	}
	return vendors.Instance{
		ID: id, ResourceID: req.ResourceID, Owner: req.Owner, Name: name, State: vendors.StatePending, VendorState: "ordered",
		InstanceType: req.InstanceType, Region: req.Region, SSHPort: 22, CreatedAt: time.Now().UTC(),
	}, nil
}

// deployError reads a refused deploy: the description documents the
// deploy's 503 as "Not enough resources at the moment", so it is capacity,
// not an outage (its 402, "Not enough balance", is ErrQuota by status).
func deployError(err error) error {
	var e *vendors.Error
	if errors.As(err, &e) && e.Status == http.StatusServiceUnavailable {
		e.Kind = vendors.ErrNoCapacity
	}
	return err
}

func (a *Adapter) invalid(op, msg string) error {
	return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrInvalid, Message: msg}
}

// maxHostname keeps hostnames within one DNS label.
const maxHostname = 63

// hostname names the instance vendors.InstanceName(resourceID), cut to a
// DNS label if a resource id is ever that long; the description carries
// the whole id either way.
func hostname(resourceID string) string {
	name := vendors.InstanceName(resourceID)
	if len(name) > maxHostname {
		name = strings.TrimRight(name[:maxHostname], "-")
	}
	return name
}

// description carries supply's marks in the instance's free text:
// "supply-resource=<id> supply-installation=<owner>".
func description(resourceID, owner string) string {
	return strings.Join(vendors.MarkText(resourceID, owner), " ")
}

// marksOf reads supply's resource id and owner from the description, or
// the resource id from the hostname.
func marksOf(in instance) (resourceID, owner string) {
	if resourceID, owner = vendors.ReadMarkText(strings.Fields(in.Description)); resourceID != "" {
		return resourceID, owner
	}
	return vendors.ParseName(in.Hostname)
}

// keyName names a public key the same way every time, so it is added to
// the account once however many instances use it.
func keyName(publicKey string) string {
	sum := sha256.Sum256([]byte(publicKey))
	return vendors.NamePrefix + hex.EncodeToString(sum[:])[:16]
}

// scriptName names the start-up script of one resource, so a retried
// Create finds the script an earlier attempt registered.
func scriptName(resourceID string) string { return vendors.InstanceName(resourceID) + ".sh" }

// ensureKey returns the id of publicKey in the account, adding it the
// first time.
func (a *Adapter) ensureKey(ctx context.Context, publicKey string) (string, error) {
	name := keyName(publicKey)
	a.mu.Lock()
	id, ok := a.keyIDs[name]
	a.mu.Unlock()
	if ok {
		return id, nil
	}
	var keys []sshKey
	if err := a.get(ctx, "list ssh keys", "/ssh-keys", nil, &keys); err != nil {
		return "", err
	}
	for _, k := range keys {
		if k.Name == name {
			id = k.ID
		}
	}
	if id == "" {
		var raw []byte
		// Not repeated: a second POST would add the key twice. The next
		// Create finds it by name if the first one went through.
		err := a.do(ctx, a.client, vendors.Request{Op: "add ssh key", Method: http.MethodPost, Path: "/ssh-keys",
			JSON: sshKeyRequest{Name: name, Key: publicKey}}, &raw)
		if err != nil {
			return "", err
		}
		if id, err = plainID(raw); err != nil {
			return "", &vendors.Error{Vendor: Name, Op: "add ssh key", Kind: vendors.ErrTransient, Message: "read key id: " + err.Error()}
		}
	}
	a.mu.Lock()
	a.keyIDs[name] = id
	a.mu.Unlock()
	return id, nil
}

// ensureScript returns the id of resourceID's start-up script, adding it
// unless an earlier attempt did.
func (a *Adapter) ensureScript(ctx context.Context, resourceID, script string) (string, error) {
	name := scriptName(resourceID)
	var scripts []startupScript
	if err := a.get(ctx, "list scripts", "/scripts", nil, &scripts); err != nil {
		return "", err
	}
	for _, s := range scripts {
		if s.Name == name && s.Script == script {
			return s.ID, nil
		}
	}
	var raw []byte
	err := a.do(ctx, a.client, vendors.Request{Op: "add script", Method: http.MethodPost, Path: "/scripts",
		JSON: scriptRequest{Name: name, Script: script}}, &raw)
	if err != nil {
		return "", err
	}
	id, err := plainID(raw)
	if err != nil {
		return "", &vendors.Error{Vendor: Name, Op: "add script", Kind: vendors.ErrTransient, Message: "read script id: " + err.Error()}
	}
	return id, nil
}

// dropScript deletes a start-up script no instance needs any more. A
// failure only leaves a few bytes behind, so it is logged, not returned.
func (a *Adapter) dropScript(ctx context.Context, id string) {
	if id == "" {
		return
	}
	err := a.do(ctx, a.client, vendors.Request{Op: "delete script", Method: http.MethodDelete, Path: "/scripts/" + url.PathEscape(id)}, nil)
	if err != nil && !vendors.IsNotFound(err) {
		a.log.WarnContext(ctx, "start-up script left behind", "script", id, "err", err)
	}
}

// findByResource looks for a live instance carrying resourceID.
func (a *Adapter) findByResource(ctx context.Context, resourceID string) (vendors.Instance, bool, error) {
	all, err := a.List(ctx)
	if err != nil {
		return vendors.Instance{}, false, err
	}
	for _, in := range all {
		if in.ResourceID == resourceID {
			return in, true, nil
		}
	}
	return vendors.Instance{}, false, nil
}

// instancePath is the path of instance id; Verda ids are UUIDs, so
// anything else cannot name an instance.
func instancePath(op, id string) (string, error) {
	if _, err := uuid.Parse(id); err != nil {
		return "", &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrNotFound, Message: fmt.Sprintf("%q is not a Verda instance id", id)}
	}
	return "/instances/" + id, nil
}

// Get returns one instance by its Verda id.
func (a *Adapter) Get(ctx context.Context, id string) (vendors.Instance, error) {
	path, err := instancePath("get", id)
	if err != nil {
		return vendors.Instance{}, err
	}
	var in instance
	if err := a.get(ctx, "get", path, nil, &in); err != nil {
		return vendors.Instance{}, err
	}
	return a.instance(in), nil
}

// List returns every instance supply created, in any state short of gone.
// Verda answers the whole list in one page.
func (a *Adapter) List(ctx context.Context) ([]vendors.Instance, error) {
	var all []instance
	if err := a.get(ctx, "list", "/instances", nil, &all); err != nil {
		return nil, err
	}
	var ours []vendors.Instance
	for _, raw := range all {
		if in := a.instance(raw); in.ResourceID != "" && in.State != vendors.StateTerminated {
			ours = append(ours, in)
		}
	}
	return ours, nil
}

// Terminate deletes an instance with its OS volume, then its start-up
// script. An instance still provisioning cannot be deleted yet: that
// refusal comes back as ErrTransient so callers retry.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	path, err := instancePath("terminate", id)
	if err != nil {
		return nil // no such instance can exist
	}
	var in instance
	if err := a.get(ctx, "terminate", path, nil, &in); err != nil {
		if vendors.IsNotFound(err) {
			return nil
		}
		return err
	}
	if s := state(in); s != vendors.StateTerminating && s != vendors.StateTerminated {
		if err := a.deleteInstance(ctx, id); err != nil && !vendors.IsNotFound(err) {
			return err
		}
	}
	if in.StartupScriptID != nil {
		a.dropScript(ctx, *in.StartupScriptID)
	}
	return nil
}

// deleteInstance asks for the delete action.
func (a *Adapter) deleteInstance(ctx context.Context, id string) error {
	return a.act(ctx, "terminate", actionDelete, id)
}

// act asks for action on instance id (operation op, for errors). The
// answer is a list of per-instance results, which on a 207 carry the
// refusal.
func (a *Adapter) act(ctx context.Context, op, action, id string) error {
	var raw []byte
	err := a.do(ctx, a.deleter, vendors.Request{Op: op, Method: http.MethodPut, Path: "/instances",
		JSON: instanceAction{Action: action, ID: []string{id}}}, &raw)
	if err != nil {
		return err
	}
	var results []actionResult
	if json.Unmarshal(raw, &results) != nil {
		return nil // a bodiless 202, as the 2023 spec describes it
	}
	for _, r := range results {
		if r.InstanceID == id && r.Error != "" {
			e := classify(r.StatusCode, r.Error, "")
			e.Vendor, e.Op, e.Status = Name, op, r.StatusCode
			return e
		}
	}
	return nil
}

// instance maps a Verda instance to supply's view of it.
func (a *Adapter) instance(in instance) vendors.Instance {
	id, owner := marksOf(in)
	out := vendors.Instance{
		ID:           in.ID,
		ResourceID:   id,
		Owner:        owner,
		Name:         in.Hostname,
		State:        state(in),
		VendorState:  in.Status,
		InstanceType: in.InstanceType,
		Region:       in.where(),
		SSHPort:      22,
	}
	if in.IP != nil && *in.IP != "" {
		out.ExternalIP = *in.IP
		out.SSHPort = a.sshPort(out.ExternalIP)
	}
	if t, err := time.Parse(time.RFC3339Nano, in.CreatedAt); err == nil {
		out.CreatedAt = t
	}
	return out
}

// state maps Verda's statuses (the current SDK's and the 2023 spec's). An
// instance is running only once it has its IP: before that SSH cannot
// answer.
func state(in instance) vendors.State {
	switch in.Status {
	case "running":
		if in.IP != nil && *in.IP != "" {
			return vendors.StateRunning
		}
		return vendors.StatePending
	case "offline", "starting hibernation", "hibernating":
		return vendors.StateStopped
	case "deleting", "discontinued":
		return vendors.StateTerminating
	case "notfound":
		return vendors.StateTerminated
	case "error", "no_capacity":
		return vendors.StateFailed
	default: // new, ordered, provisioning, validating, pending, restoring, unknown
		return vendors.StatePending
	}
}

// parseTokenError reads a refused token exchange. The description
// documents its errors with codes: 400 {code: invalid_request |
// invalid_scope | unsupported_grant_type | invalid_grant} and 401
// unauthorized_request ("Invalid client id or client secret"). Each means
// the credentials (or the refresh token, which the token source then
// replaces with them) cannot get in, so all are ErrAuth.
func parseTokenError(status int, header http.Header, body []byte) *vendors.Error {
	e := parseError(status, header, body)
	if status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden {
		e.Kind = vendors.ErrAuth
	}
	return e
}

// parseError reads Verda's {"code", "message"} envelope (the token
// endpoint's, which the Go SDK reads from every error); a body that is
// not one is the message itself, as the SDK reads it too.
func parseError(status int, header http.Header, body []byte) *vendors.Error {
	var env apiError
	if json.Unmarshal(body, &env) != nil || env.Message == "" {
		env.Message = strings.TrimSpace(string(body))
	}
	return classify(status, env.Message, env.Code)
}

// classify picks the kind of a refusal. Outside the token endpoint the
// description documents no error code, only each status's meaning, which
// is the kind: 400 "One or more of the inputs were invalid" (ErrInvalid),
// 401 "Access token is missing or invalid" (ErrAuth), 402 "Not enough
// balance" (ErrQuota), 403 "The Action is forbidden" (an action the
// instance's state does not allow: ErrInvalid, not a credentials problem),
// 404 "Instance was not found" (ErrNotFound), 503 on a deploy "Not enough
// resources at the moment" (deployError). It documents no 429 and no 5xx
// elsewhere; the Go SDK retries both (middleware.go shouldRetry), so they
// are ErrRateLimited and ErrTransient. A 400, 403 or 409, or a per-instance
// action result (status 0 when it carries none), is then read for the
// phrases of messagePatterns.
func classify(status int, message, code string) *vendors.Error {
	e := &vendors.Error{Kind: vendors.StatusKind(status), Message: message}
	if status == http.StatusForbidden {
		e.Kind = vendors.ErrInvalid
	}
	if code != "" {
		e.Message = strings.TrimSpace(message + " [" + code + "]")
	}
	if status == http.StatusBadRequest || status == http.StatusForbidden || status == http.StatusConflict || status == 0 {
		e.Kind = cmp.Or(messagePatterns.Kind(message), e.Kind)
	}
	return e
}

// messagePatterns are the phrases of Verda's refusals that mean something
// other than a malformed request, matched case-insensitively anywhere in
// the message. Verda documents no code for them, so each line says where
// its phrase comes from.
var messagePatterns = vendors.Phrases{
	// Documented nowhere; the phrases are from the refusals dstack quotes
	// and matches exactly (core/backends/verda/compute.py
	// terminate_instance: "Can't discontinue a provisioning instance" is
	// retried later, "Invalid instance id" and "Can't discontinue a
	// discontinued instance" mean the instance is gone or going).
	{Phrase: "discontinue a provisioning", Kind: vendors.ErrTransient},
	{Phrase: "invalid instance id", Kind: vendors.ErrNotFound},
	{Phrase: "discontinue a discontinued", Kind: vendors.ErrNotFound},
	// The description's own words: the deploy's 402 "Not enough balance"
	// and 503 "Not enough resources at the moment", caught when they come
	// with another status (a 400, a per-instance result).
	{Phrase: "not enough balance", Kind: vendors.ErrQuota},
	{Phrase: "not enough resources", Kind: vendors.ErrNoCapacity},
	// Documented nowhere; our guess at another wording of the 402.
	{Phrase: "insufficient balance", Kind: vendors.ErrQuota},
}
