// Package vastai is supply's adapter for Vast.ai, a marketplace of GPU
// machines offered by third-party hosts, and a stand-in server of Vast's
// REST API for tests and sandbox mode.
//
// Vast sells machines, not instance types: every offer ("ask") is one
// specific machine that may be rented away at any moment, so each offer
// becomes one catalog item with stock 1 whose instance type is the ask id.
// Renting an ask creates a Docker container (an "instance") on that
// machine; supply asks for direct SSH and marks the container with its
// label.
package vastai

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/userdata"
	"github.com/gpusupply/supply/internal/vendors"
)

// DefaultBaseURL is Vast's production API; paths start with /api/v0 or
// /api/v1.
const DefaultBaseURL = "https://console.vast.ai"

// Name is the vendor slug.
const Name = "vastai"

// DefaultImage is Vast's base image: Ubuntu with CUDA and an sshd that
// Vast's ssh launch modes start and give the attached keys to root.
const DefaultImage = "vastai/base-image:@vastai-automatic-tag"

// Defaults for what Vast leaves to the renter.
const (
	// DefaultDiskGB is the container disk asked for, and priced in.
	DefaultDiskGB = 100
	// DefaultMinReliability drops hosts Vast scores as flaky.
	DefaultMinReliability = 0.95
	// DefaultOfferLimit is how many offers one search returns.
	DefaultOfferLimit = 2000
)

// Vast publishes no numbers for its limits: they are per endpoint and
// per caller, enforced as a minimum interval between calls, and a 429
// carries no Retry-After. The adapter spaces its own calls at a modest
// rate and, on a 429, waits rateLimitWait before trying again, a little
// longer than the thresholds Vast's 429 bodies quote (1–4.5 s).
const (
	publishedRate  = rate.Limit(2)
	publishedBurst = 4
	rateLimitWait  = 2 * time.Second
	defaultTimeout = 30 * time.Second
)

// hoursPerMonth is the month Vast divides storage_cost (USD per
// GB-month) by: its own storage_total_cost figures are disk_space ×
// storage_cost / 720.
const hoursPerMonth = 720

// maxOnstart is the longest onstart script Vast accepts.
const maxOnstart = 4048

// listPageSize is the most instances GET /api/v1/instances/ returns at once.
const listPageSize = 25

// Config configures an Adapter.
type Config struct {
	APIKey string
	// BaseURL is DefaultBaseURL when empty.
	BaseURL string
	// HTTP does the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// SSHPort tells where sshd answers on an instance's IP when Vast's
	// port map does not say; nil → 22.
	SSHPort func(ip string) int
	// RateLimit and Burst override the request pacing; zero → 2/s, burst 4.
	RateLimit rate.Limit
	Burst     int
	// Timeout bounds one HTTP attempt; zero → 30 s.
	Timeout time.Duration
	// Logger receives warnings (unknown locations); nil → slog.Default().
	Logger *slog.Logger
	// Image is the Docker image instances run; "" → DefaultImage.
	Image string
	// DiskGB is the disk each instance gets; 0 → DefaultDiskGB.
	DiskGB int
	// MinReliability filters offers by host reliability; 0 → 0.95.
	MinReliability float64
	// OfferLimit caps the offers of one search; 0 → DefaultOfferLimit.
	OfferLimit int
}

// Adapter speaks Vast's API. It is safe for concurrent use.
type Adapter struct {
	client *vendors.Client
	// creator is client without retries: renting an ask is a PUT, which
	// the shared client would repeat after an ambiguous failure, and a
	// repeated rent can start a second container.
	creator        *vendors.Client
	sshPort        func(ip string) int
	log            *slog.Logger
	image          string
	diskGB         int
	minReliability float64
	offerLimit     int
	// unplaced are the locations without a country code.
	unplaced vendors.Unplaced
	// size sizes a catalog read.
	size vendors.ItemsSize

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
	if c.SSHPort == nil {
		c.SSHPort = func(string) int { return 22 }
	}
	client := vendors.NewClient(vendors.ClientConfig{
		Vendor:     Name,
		BaseURL:    cmp.Or(c.BaseURL, DefaultBaseURL),
		HTTP:       c.HTTP,
		RateLimit:  cmp.Or(c.RateLimit, publishedRate),
		Burst:      cmp.Or(c.Burst, publishedBurst),
		Timeout:    cmp.Or(c.Timeout, defaultTimeout),
		MaxWait:    5 * time.Second,
		Authorize:  vendors.BearerAuth(c.APIKey),
		ParseError: parseError,
	})
	return &Adapter{
		identifiers:    []string{c.APIKey},
		client:         client,
		creator:        client.WithoutRetries(),
		sshPort:        c.SSHPort,
		log:            cmp.Or(c.Logger, slog.Default()).With("vendor", Name),
		image:          cmp.Or(c.Image, DefaultImage),
		diskGB:         cmp.Or(c.DiskGB, DefaultDiskGB),
		minReliability: cmp.Or(c.MinReliability, DefaultMinReliability),
		offerLimit:     cmp.Or(c.OfferLimit, DefaultOfferLimit),
	}
}

// Name returns "vastai".
func (a *Adapter) Name() string { return Name }

// Info describes Vast: containers on marketplace machines, on demand or
// interruptible, with a start-up script instead of cloud-init.
func (a *Adapter) Info() vendors.Info {
	return vendors.Info{
		Name:        Name,
		DisplayName: "Vast.ai",
		Spot:        true,
		// Labels carry the instance name, which holds the resource id.
		Tags:       false,
		Containers: true,
		Stop:       true,
		Ports:      true,
	}
}

// Catalog searches the marketplace twice, on demand and interruptible,
// and returns one item per offer and contract. Every offer is one machine
// listed because it is rentable now, so each has stock 1.
func (a *Adapter) Catalog(ctx context.Context) ([]vendors.CatalogItem, error) {
	items := a.size.Make()
	for _, contract := range []vendors.Contract{vendors.OnDemand, vendors.Spot} {
		// The offers (searchResult's) are read one at a time as they
		// arrive and kept only as items.
		before := len(items)
		each := &vendors.Each[offer]{
			Field: "offers",
			Start: func() { items = items[:before] },
			Item: func(o *offer) error {
				if it, ok := a.item(*o, contract); ok {
					items = append(items, it)
				}
				return nil
			},
		}
		err := a.client.Do(ctx, vendors.Request{Op: "search offers", Method: http.MethodPost, Path: "/api/v0/bundles/",
			JSON: a.search(contract), Repeatable: true}, each)
		if err != nil {
			return nil, err
		}
	}
	return a.size.Keep(items), nil
}

// search is the filter document for one contract: verified hosts that
// are rentable now, with a direct port for SSH, reliable enough and with
// room for supply's disk, whose price Vast includes in dph_total.
func (a *Adapter) search(contract vendors.Contract) searchQuery {
	typ := "ondemand"
	if contract == vendors.Spot {
		typ = "bid"
	}
	return searchQuery{
		Verified:         is(true),
		Rentable:         is(true),
		Rented:           is(false),
		NumGPUs:          atLeast(1),
		DirectPortCount:  atLeast(1),
		Reliability:      atLeast(a.minReliability),
		DiskSpace:        atLeast(float64(a.diskGB)),
		Type:             typ,
		Limit:            a.offerLimit,
		AllocatedStorage: float64(a.diskGB),
		// Cheapest first, the more reliable host first at one price. (The
		// spec's schema also wants exactly two sort entries.)
		Order: [][]string{{"dph_total", "asc"}, {"reliability2", "desc"}},
	}
}

// item maps one offer; ok is false for offers that cannot be rented as
// a GPU machine.
func (a *Adapter) item(o offer, contract vendors.Contract) (vendors.CatalogItem, bool) {
	if o.ID <= 0 || o.NumGPUs < 1 || o.GPUName == "" {
		return vendors.CatalogItem{}, false
	}
	// The machine's own price: dph_base on demand, the minimum bid for an
	// interruptible rental. The disk is billed on top either way.
	machine := o.DphBase
	if contract == vendors.Spot {
		machine = o.MinBid
	}
	if machine <= 0 {
		return vendors.CatalogItem{}, false
	}
	disk := o.StorageCost * float64(a.diskGB) / hoursPerMonth
	extra := map[string]string{"ask_id": strconv.FormatInt(o.ID, 10), "machine_id": strconv.FormatInt(o.MachineID, 10)}
	if contract == vendors.Spot {
		extra["bid"] = strconv.FormatFloat(o.MinBid, 'f', -1, 64)
	}
	return vendors.CatalogItem{
		InstanceType:         strconv.FormatInt(o.ID, 10),
		Region:               o.Geolocation,
		Country:              a.country(o.Geolocation),
		Contract:             contract,
		GPUName:              gpuName(o.GPUName, o.GPURAM, o.BWNVLink),
		GPUCount:             o.NumGPUs,
		VCPUs:                int(o.CPUCoresEffective),
		MemoryGB:             math.Round(float64(o.CPURAM)/1024*10) / 10,
		BootDiskGB:           a.diskGB,
		PricePerHour:         roundPrice(machine + disk),
		BootDiskPricePerHour: roundPrice(disk),
		Available:            true,
		Stock:                1,
		Extra:                extra,
	}, true
}

// roundPrice drops floating-point noise below a hundredth of a cent.
func roundPrice(v float64) float64 { return math.Round(v*10000) / 10000 }

// gpuName makes Vast's spelling specific where it names several cards:
// "A100 SXM4" and "A100 PCIE" come in 40 and 80 GB, "Tesla V100" in 16
// and 32 GB as an SXM2 (NVLink) or PCIe board, and a bare "H200" is the
// SXM card (the NVL one is "H200 NVL"). ramMB is memory per GPU.
func gpuName(name string, ramMB int, nvlinkGBps float64) string {
	gb := 40
	if ramMB > 60*1024 {
		gb = 80
	}
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "A100 SXM4", "A100 SXM":
		return fmt.Sprintf("A100 SXM4 %dGB", gb)
	case "A100 PCIE":
		return fmt.Sprintf("A100 PCIe %dGB", gb)
	case "H200":
		return "H200 SXM"
	case "TESLA V100", "V100":
		size := 16
		if ramMB > 24*1024 {
			size = 32
		}
		if nvlinkGBps > 0 {
			return fmt.Sprintf("Tesla V100-SXM2-%dGB", size)
		}
		return fmt.Sprintf("Tesla V100-PCIE-%dGB", size)
	}
	return name
}

// country reads the ISO code from a Vast location, "City, CC" (or a bare
// "CC"). Anything else is logged once and given no country: a wrong
// country is worse than none.
func (a *Adapter) country(geolocation string) string {
	place, code := splitLocation(strings.TrimSpace(geolocation))
	if code == "" {
		code = place
	}
	if len(code) == 2 && isUpper(code[0]) && isUpper(code[1]) {
		return code
	}
	a.unplaced.Warn(a.log, "Vast.ai location (no country code)", geolocation)
	return ""
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// Create rents the ask named by req.InstanceType for req.ResourceID, or
// returns the instance already labelled with that id.
func (a *Adapter) Create(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
	if req.ResourceID == "" {
		return vendors.Instance{}, a.invalid("create", "resource id is required")
	}
	askID, err := strconv.ParseInt(req.InstanceType, 10, 64)
	if err != nil || askID <= 0 {
		return vendors.Instance{}, a.invalid("create", fmt.Sprintf("%q is not a Vast.ai offer id", req.InstanceType))
	}
	key, err := userdata.ValidateKey(req.SSHPublicKey)
	if err != nil {
		return vendors.Instance{}, a.invalid("create", err.Error())
	}
	script, err := userdata.StartupScript(key, req.UserData)
	if err != nil {
		return vendors.Instance{}, a.invalid("create", err.Error())
	}
	onstart, err := compactOnstart(script)
	if err != nil {
		return vendors.Instance{}, a.invalid("create", err.Error())
	}
	body := createRequest{
		Image:         a.image,
		Label:         vendors.OwnedName(req.Owner, req.ResourceID),
		Disk:          float64(a.diskGB),
		Runtype:       "ssh_direct",
		TargetState:   "running",
		Onstart:       onstart,
		CancelUnavail: new(true),
		Env:           portFlags(req.Ports),
	}
	if req.Contract == vendors.Spot {
		bid, err := bidPrice(req.Item)
		if err != nil {
			return vendors.Instance{}, a.invalid("create", err.Error())
		}
		body.Price = &bid
	}
	existing, found, err := a.findByResource(ctx, req.Owner, req.ResourceID)
	if err != nil {
		return vendors.Instance{}, err
	}
	id := existing.ID
	if !found {
		var resp createResponse
		// A rent is sent once: a timeout or 5xx comes back as
		// ErrTransient and the next Create finds the instance by label.
		err := a.creator.Do(ctx, vendors.Request{Op: "create", Method: http.MethodPut,
			Path: "/api/v0/asks/" + strconv.FormatInt(askID, 10) + "/", JSON: body}, &resp)
		if err != nil {
			return vendors.Instance{}, offerGone(err)
		}
		if resp.NewContract <= 0 {
			return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "create", Kind: vendors.ErrTransient, Message: "create answered no new_contract"}
		}
		id = strconv.FormatInt(resp.NewContract, 10)
	}
	// The key also reaches root through onstart; attaching it is Vast's
	// own way and works before the container is up. It is repeated for a
	// found instance, whose first Create may have stopped short of it.
	if err := a.attachKey(ctx, id, key); err != nil {
		return vendors.Instance{}, err
	}
	if found {
		return existing, nil
	}
	in, err := a.Get(ctx, id)
	if err != nil {
		// Rented for sure; the caller polls Get for the rest.
		return vendors.Instance{ID: id, ResourceID: req.ResourceID, Owner: req.Owner, Name: body.Label, State: vendors.StatePending,
			InstanceType: req.InstanceType, Region: req.Region}, nil
	}
	in.InstanceType = req.InstanceType
	return in, nil
}

// bidPrice is the interruptible bid for an item: the minimum bid the
// catalog saw.
func bidPrice(item vendors.CatalogItem) (float64, error) {
	bid, err := strconv.ParseFloat(item.Extra["bid"], 64)
	if err != nil || bid <= 0 {
		return 0, errors.New("an interruptible rental needs the offer's minimum bid (catalog item extra \"bid\")")
	}
	return bid, nil
}

// offerGone turns a rent's "no such ask" (404 "Offer not found or not
// available", or 410 "Offer no longer available" once the machine is
// taken) and its 403 (the spec's example: "Offer 1234567 is not your own.
// Hosts can only rent their own machines.") into ErrNoCapacity: this
// machine is not for rent to this account and the caller should try
// another offer.
func offerGone(err error) error {
	var e *vendors.Error
	if errors.As(err, &e) && (e.Kind == vendors.ErrNotFound || e.Status == http.StatusForbidden) {
		e.Kind = vendors.ErrNoCapacity
	}
	return err
}

func (a *Adapter) invalid(op, msg string) error {
	return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrInvalid, Message: msg}
}

// attachKey gives instance id the public key. Vast's ssh launch modes
// install attached keys for root, the container's only login; account
// keys would work too, but Vast copies them into every instance of the
// account, so one renter's key would open every other renter's machine.
func (a *Adapter) attachKey(ctx context.Context, id, key string) error {
	return a.client.Do(ctx, vendors.Request{Op: "attach ssh key", Method: http.MethodPost,
		Path: "/api/v0/instances/" + url.PathEscape(id) + "/ssh/", JSON: sshKeyRequest{SSHKey: key},
		// Attaching a key the instance already has changes nothing.
		Repeatable: true}, nil)
}

// findByResource looks for the instance owner labelled for resourceID.
func (a *Adapter) findByResource(ctx context.Context, owner, resourceID string) (vendors.Instance, bool, error) {
	label := vendors.OwnedName(owner, resourceID)
	found, err := a.list(ctx, fmt.Sprintf(`{"label":{"eq":%q}}`, label))
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

// Get returns one instance. Vast forgets a destroyed instance at once.
func (a *Adapter) Get(ctx context.Context, id string) (vendors.Instance, error) {
	if !isID(id) {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "get", Kind: vendors.ErrNotFound, Message: fmt.Sprintf("%q is not a Vast.ai instance id", id)}
	}
	var resp instanceEnvelope
	if err := a.client.Do(ctx, vendors.Request{Op: "get", Method: http.MethodGet, Path: "/api/v0/instances/" + id + "/"}, &resp); err != nil {
		return vendors.Instance{}, err
	}
	if resp.Instances == nil {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "get", Kind: vendors.ErrNotFound, Status: http.StatusOK, Message: "no such instance"}
	}
	return a.instance(*resp.Instances), nil
}

func isID(id string) bool {
	n, err := strconv.ParseInt(id, 10, 64)
	return err == nil && n > 0
}

// List returns every instance labelled by supply.
func (a *Adapter) List(ctx context.Context) ([]vendors.Instance, error) {
	return a.list(ctx, "")
}

// list pages through the account's instances (Vast's keyset pagination,
// 25 at a time) matching the select_filters document filters, and keeps
// those whose label carries a resource id.
func (a *Adapter) list(ctx context.Context, filters string) ([]vendors.Instance, error) {
	var ours []vendors.Instance
	token := ""
	for {
		q := url.Values{"limit": {strconv.Itoa(listPageSize)}}
		if filters != "" {
			q.Set("select_filters", filters)
		}
		if token != "" {
			q.Set("after_token", token)
		}
		var page instanceList
		if err := a.client.Do(ctx, vendors.Request{Op: "list", Method: http.MethodGet, Path: "/api/v1/instances/", Query: q}, &page); err != nil {
			return nil, err
		}
		for _, raw := range page.Instances {
			if in := a.instance(raw); in.ResourceID != "" {
				ours = append(ours, in)
			}
		}
		if page.NextToken == nil || *page.NextToken == "" || *page.NextToken == token {
			return ours, nil
		}
		token = *page.NextToken
	}
}

// Terminate destroys an instance; Vast does it at once, and an instance it
// no longer knows is already gone.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	if !isID(id) {
		return nil // no such instance can exist
	}
	err := a.client.Do(ctx, vendors.Request{Op: "terminate", Method: http.MethodDelete, Path: "/api/v0/instances/" + id + "/"}, nil)
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// instance maps a Vast instance to supply's view of it. InstanceType
// stays empty: an instance names its machine but not the ask it was
// rented through.
func (a *Adapter) instance(in instance) vendors.Instance {
	out := vendors.Instance{
		ID:          strconv.FormatInt(in.ID, 10),
		State:       state(in),
		VendorState: deref(in.ActualStatus),
		Region:      in.Geolocation,
		ExternalIP:  in.PublicIPAddr,
		InternalIP:  firstField(in.LocalIPAddrs),
		Message:     deref(in.StatusMsg),
	}
	if in.Label != nil {
		out.Name = *in.Label
		out.Owner, out.ResourceID = vendors.ParseName(*in.Label)
	}
	if in.StartDate > 0 {
		sec, frac := math.Modf(in.StartDate)
		out.CreatedAt = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	if out.ExternalIP != "" {
		out.SSHPort = in.Ports.hostPort("22/tcp")
		out.Ports = mappings(in.Ports)
		if out.SSHPort == 0 {
			out.SSHPort = a.sshPort(out.ExternalIP)
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// state maps Vast's container status. actual_status is null while the
// machine is being prepared and "loading" while the image is pulled;
// "running" is ready once the public address and SSH port are known. A
// container that exited because it was asked to stop is stopped, or
// preempted when it was an interruptible rental that lost its bid (every
// state field then says "stopped"). Vast's own advice is that exited,
// offline and unknown never come back to running: they fail.
func state(in instance) vendors.State {
	switch deref(in.ActualStatus) {
	case "", "loading", "created", "scheduling":
		if in.IntendedStatus == "stopped" && in.CurState == "stopped" {
			return stoppedOrPreempted(in)
		}
		return vendors.StatePending
	case "running":
		if in.PublicIPAddr == "" || in.Ports.hostPort("22/tcp") == 0 {
			return vendors.StatePending
		}
		return vendors.StateRunning
	case "stopped", "exited":
		if in.IntendedStatus == "stopped" {
			return stoppedOrPreempted(in)
		}
		return vendors.StateFailed
	default: // offline, unknown
		return vendors.StateFailed
	}
}

func stoppedOrPreempted(in instance) vendors.State {
	if in.IsBid && in.CurState == "stopped" && in.NextState == "stopped" {
		return vendors.StatePreempted
	}
	return vendors.StateStopped
}

// parseError reads Vast's error answers, which differ by endpoint: the
// {success, error, msg} Error schema (errorEnvelope), {error, msg} on
// search and the instance list (errorBody), and on most 429s
// {"detail": "API requests too frequent endpoint threshold=..."}
// (tooFrequent). None carries a Retry-After: the spec documents the
// header on no response, so a 429 waits rateLimitWait. A body that is
// none of these (a proxy's 5xx) is kept as it came.
func parseError(status int, _ http.Header, body []byte) *vendors.Error {
	var e errorBody
	var busy tooFrequent
	// Each envelope reads what it knows of the body, and a 5xx may not
	// be JSON at all.
	_ = json.Unmarshal(body, &e)
	_ = json.Unmarshal(body, &busy)
	msg := strings.Join(nonEmpty(e.Error, e.Msg, busy.Detail), ": ")
	if msg == "" {
		msg = strings.TrimSpace(string(body[:min(len(body), 300)]))
	}
	out := &vendors.Error{Kind: codeKind(status, e.Error), Message: msg}
	if out.Kind == vendors.ErrRateLimited {
		out.RetryAfter = rateLimitWait
	}
	return out
}

// codeKind classifies an error by its code, where Vast documents one,
// else by its status. Where each is documented in Vast's description:
//
//	auth_error: the 401 example of show instance ("Invalid user key");
//	    search answers it with 404 "Unauthorized - invalid or missing
//	    API key", so the code, not the status, decides → ErrAuth
//	no_such_ask: create's 410 "Offer no longer available" → ErrNoCapacity
//	not_found: destroy's 404 "Instance not found"; no_such_instance: the
//	    404 of the per-instance operations (change bid, cancel sync,
//	    detach ssh-key) → ErrNotFound
//	rate_limit_exceeded: destroy's 429; any 429 → ErrRateLimited
//	invalid_args, invalid_price, no_ssh_key_for_vm: create's 400 enum;
//	    invalid_request, invalid_token: the instance list's 400 enum and
//	    search's 400 → ErrInvalid. Create's 404 "Offer not found or not
//	    available" is invalid_args too (msg "no_such_ask ..."): a 404
//	    with these codes is ErrNotFound, which offerGone makes
//	    ErrNoCapacity for a create.
//
// Statuses without a code: 401 (the Error schema on every operation) is
// ErrAuth; 5xx is documented nowhere in Vast's description and read as
// transient, as any HTTP 5xx.
func codeKind(status int, code string) error {
	if status == http.StatusTooManyRequests {
		return vendors.ErrRateLimited
	}
	switch code {
	case codeAuth:
		return vendors.ErrAuth
	case codeNoSuchAsk:
		return vendors.ErrNoCapacity
	case codeNotFound, codeNoSuchInst:
		return vendors.ErrNotFound
	case codeRateLimit:
		return vendors.ErrRateLimited
	case codeInvalidArgs, codeInvalidPrice, codeNoSSHKeyForVM, codeInvalidReq, codeInvalidToken:
		if status == http.StatusNotFound {
			return vendors.ErrNotFound
		}
		return vendors.ErrInvalid
	}
	return vendors.StatusKind(status)
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
