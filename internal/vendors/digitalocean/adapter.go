// Package digitalocean is supply's adapter for DigitalOcean's GPU Droplets
// and a stand-in server of DigitalOcean's API v2 for tests and sandbox
// mode.
//
// The adapter speaks through DigitalOcean's official Go client,
// github.com/digitalocean/godo, pointed at the configured base URL. The
// catalog is GET /v2/sizes (a GPU size carries gpu_info), a machine is a
// Droplet created with the renter's key imported to the account and
// cloud-init user data, and supply's marks travel as Droplet tags. Nothing
// of this was tried against DigitalOcean itself: it rests on the published
// OpenAPI description, which the stand-in and the spec tests follow.
package digitalocean

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/digitalocean/godo"
	"golang.org/x/crypto/ssh"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/userdata"
	"github.com/gpusupply/supply/internal/vendors"
)

// Name is the vendor slug.
const Name = "digitalocean"

// DefaultBaseURL is DigitalOcean's API (the description's server; its
// paths carry /v2).
const DefaultBaseURL = "https://api.digitalocean.com"

// DigitalOcean's published limits (description.yml, "Rate Limit"): 5,000
// requests an hour and 250 a minute per token. The bucket refills at the
// hourly rate; its burst stays well under the minute's 250.
const (
	publishedRateLimit = rate.Limit(5000.0 / 3600)
	publishedBurst     = 60
	defaultPageSize    = 200 // the description's maximum per_page
	defaultTimeout     = 30 * time.Second
)

// Droplet images supply boots: DigitalOcean's AI/ML-ready GPU images
// (the description's gpu_droplets example boots gpu-h100x1-base; AMD
// sizes take the ROCm one).
const (
	nvidiaImage = "gpu-h100x1-base"
	amdImage    = "gpu-amd-base"
)

// Droplet statuses (droplet.yml, status enum).
const (
	statusNew     = "new"
	statusActive  = "active"
	statusOff     = "off"
	statusArchive = "archive"
)

// Config configures an Adapter.
type Config struct {
	// Token is a personal access token (bearer_auth).
	Token string
	// BaseURL is DefaultBaseURL when empty.
	BaseURL string
	// HTTP's transport carries the requests; nil means the default one.
	HTTP *http.Client
	// SSHPort tells where sshd answers on an instance's IP; nil → 22.
	SSHPort func(ip string) int
	// RateLimit and Burst override the request budget; zero → the
	// published one.
	RateLimit rate.Limit
	Burst     int
	// PageSize is per_page of listings; zero → 200.
	PageSize int
	// Timeout bounds one HTTP attempt; zero → 30 s.
	Timeout time.Duration
	// Logger receives warnings (unknown regions); nil → slog.Default().
	Logger *slog.Logger
}

// Adapter speaks DigitalOcean's API through godo. It is safe for
// concurrent use.
type Adapter struct {
	// budget holds the rate limiter, timeout and retry policy every call
	// goes through.
	budget   *vendors.Client
	do       *godo.Client
	initErr  error
	sshPort  func(ip string) int
	pageSize int
	log      *slog.Logger
	// unplaced are the regions regionCountries lacks.
	unplaced vendors.Unplaced
	size     vendors.ItemsSize

	identifiers []string
}

var _ vendors.Vendor = (*Adapter)(nil)

// AccountIdentifiers implements vendors.AccountIdentifiers.
func (a *Adapter) AccountIdentifiers() []string { return a.identifiers }

// New returns an adapter for the account whose token is c.Token.
func New(c Config) *Adapter {
	if c.SSHPort == nil {
		c.SSHPort = func(string) int { return 22 }
	}
	a := &Adapter{
		identifiers: []string{c.Token},
		budget: vendors.NewClient(vendors.ClientConfig{
			Vendor:    Name,
			RateLimit: cmp.Or(c.RateLimit, publishedRateLimit),
			Burst:     cmp.Or(c.Burst, publishedBurst),
			Timeout:   cmp.Or(c.Timeout, defaultTimeout),
			MaxWait:   30 * time.Second,
		}),
		sshPort:  c.SSHPort,
		pageSize: cmp.Or(c.PageSize, defaultPageSize),
		log:      cmp.Or(c.Logger, slog.Default()).With("vendor", Name),
	}
	base := http.DefaultTransport
	if c.HTTP != nil && c.HTTP.Transport != nil {
		base = c.HTTP.Transport
	}
	hc := &http.Client{Transport: &vendors.SDKTransport{Base: vendors.TracedTransport(Name, base), Limiter: a.budget.Limiter, Bearer: c.Token}}
	// The base URL keeps a trailing slash: godo resolves "v2/..." against it.
	a.do, a.initErr = godo.New(hc, godo.SetBaseURL(strings.TrimRight(cmp.Or(c.BaseURL, DefaultBaseURL), "/")+"/"),
		godo.SetUserAgent("supply/1 (+https://github.com/gpusupply/supply)"))
	return a
}

// call makes one godo call under vendors.Client's retry policy (a
// repeatable call is sent again after a transient failure or a short rate
// limit), with failures as *vendors.Error classified by kindOf.
func (a *Adapter) call(ctx context.Context, op string, repeatable bool, do func(ctx context.Context) (*godo.Response, error)) error {
	if a.initErr != nil {
		return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrInvalid, Message: a.initErr.Error()}
	}
	return a.budget.Call(ctx, repeatable, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, a.budget.Timeout)
		defer cancel()
		ctx, ex := vendors.WithExchange(ctx)
		resp, err := do(ctx)
		if err == nil {
			return nil
		}
		return classify(op, resp, err, ex.Body)
	})
}

// apiError is DigitalOcean's error model (shared/models/error.yml).
type apiError struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// classify turns a failed godo call into a *vendors.Error.
func classify(op string, resp *godo.Response, err error, body []byte) *vendors.Error {
	var er *godo.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		// No answer: a timeout or a reset, after which DigitalOcean may
		// or may not have acted; or an answer that could not be read.
		status := 0
		if resp != nil && resp.Response != nil {
			status = resp.StatusCode
		}
		return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrTransient, Status: status, Message: err.Error()}
	}
	var e apiError
	_ = json.Unmarshal(body, &e)
	e.Message = cmp.Or(e.Message, er.Message)
	msg := e.Message
	if e.ID != "" {
		msg = e.ID + ": " + msg
	}
	return &vendors.Error{
		Vendor: Name, Op: op, Kind: kindOf(er.Response.StatusCode, e.ID, e.Message), Status: er.Response.StatusCode,
		Message: msg, RetryAfter: vendors.ParseRetryAfter(er.Response.Header.Get("Retry-After")),
	}
}

// refusals are the words of DigitalOcean's 422 refusals, which its
// description leaves to the default error response (droplets_create
// declares 202, 401, 429, 500 and default): the id is only
// "unprocessable_entity" (shared/responses/unprocessable_entity.yml), so
// the message says what went wrong.
var refusals = vendors.Phrases{
	// "Size is not available in this region." and "Region is not
	// available" (digitalocean/api-v2#41; its console: "Due to limited
	// availability we have temporarily disabled droplet creation in this
	// region"): nothing to launch there now.
	{Phrase: "not available", Kind: vendors.ErrNoCapacity},
	{Phrase: "capacity", Kind: vendors.ErrNoCapacity},
	// "creating this/these droplet(s) will exceed your droplet limit": the
	// account's Droplet limit, which DigitalOcean raises on request.
	{Phrase: "droplet limit", Kind: vendors.ErrQuota},
	{Phrase: "limit", Kind: vendors.ErrQuota},
}

// kindOf classifies an error answer by its status and id (the short code
// of error.yml: unauthorized, forbidden, not_found, too_many_requests,
// server_error...), and a 422 (unprocessable_entity) by its words.
func kindOf(status int, id, message string) error {
	switch {
	case status == http.StatusTooManyRequests || id == "too_many_requests":
		return vendors.ErrRateLimited
	case status == http.StatusUnprocessableEntity:
		return cmp.Or(refusals.Kind(message), vendors.ErrInvalid)
	}
	return vendors.StatusKind(status)
}

// Name returns "digitalocean".
func (a *Adapter) Name() string { return Name }

// Info describes DigitalOcean: on-demand GPU Droplets with cloud-init and
// tags.
func (a *Adapter) Info() vendors.Info {
	return vendors.Info{
		Name:        Name,
		DisplayName: "DigitalOcean",
		CloudInit:   true,
		Tags:        true,
		Cilium:      true,
		Stop:        true,
		Volumes:     true,
		Ports:       true,
	}
}

// regionCountries places DigitalOcean's data centres (its regions page
// and GET /v2/regions names: "New York 1", "Toronto 1", ...).
var regionCountries = map[string]string{
	"nyc1": "US", "nyc2": "US", "nyc3": "US", // New York
	"sfo1": "US", "sfo2": "US", "sfo3": "US", // San Francisco
	"atl1": "US",               // Atlanta
	"ric1": "US",               // Richmond
	"tor1": "CA",               // Toronto
	"ams2": "NL", "ams3": "NL", // Amsterdam
	"fra1": "DE", // Frankfurt
	"lon1": "GB", // London
	"sgp1": "SG", // Singapore
	"blr1": "IN", // Bangalore
	"syd1": "AU", // Sydney
}

// country returns the region's ISO country, or "" (logged once) for one
// the table does not know.
func (a *Adapter) country(region string) string {
	return a.unplaced.Country(a.log, regionCountries, region, "DigitalOcean region")
}

// Catalog lists every GPU size in every region it is sold in. A size
// says where it can be created now (regions) and whether at all
// (available); DigitalOcean gives no counts.
func (a *Adapter) Catalog(ctx context.Context) ([]vendors.CatalogItem, error) {
	sizes, err := a.sizes(ctx)
	if err != nil {
		return nil, err
	}
	items := a.size.Make()
	for _, s := range sizes {
		if s.GPUInfo == nil || s.GPUInfo.Count == 0 {
			continue
		}
		image := nvidiaImage
		if strings.HasPrefix(s.GPUInfo.Model, "amd") {
			image = amdImage
		}
		for _, region := range s.Regions {
			items = append(items, vendors.CatalogItem{
				InstanceType: s.Slug,
				Region:       region,
				Country:      a.country(region),
				Contract:     vendors.OnDemand,
				GPUName:      gpuName(*s.GPUInfo),
				GPUCount:     s.GPUInfo.Count,
				VCPUs:        s.Vcpus,
				MemoryGB:     float64(s.Memory) / 1024,
				// The boot disk comes with the size and its price.
				BootDiskGB:   s.Disk,
				PricePerHour: s.PriceHourly,
				Available:    s.Available,
				Stock:        -1,
				Extra:        map[string]string{"image": image},
			})
		}
	}
	return a.size.Keep(items), nil
}

// gpuName is the GPU's name for the registry: DigitalOcean's model with
// its memory ("nvidia_h100_80gb"), since the model alone ("nvidia_h100")
// names a family, not one card.
func gpuName(g godo.GPUInfo) string {
	if g.VRAM == nil || g.VRAM.Amount == 0 {
		return g.Model
	}
	return fmt.Sprintf("%s_%d%s", g.Model, g.VRAM.Amount, strings.TrimSuffix(strings.ToLower(g.VRAM.Unit), "ib")+"b")
}

// sizes reads every page of GET /v2/sizes.
func (a *Adapter) sizes(ctx context.Context) ([]godo.Size, error) {
	return readPages(ctx, a, "list sizes", a.do.Sizes.List)
}

// readPages reads every page of a listing, list reading one, in pages of
// a.pageSize.
func readPages[T any](ctx context.Context, a *Adapter, op string, list func(context.Context, *godo.ListOptions) ([]T, *godo.Response, error)) ([]T, error) {
	var all []T
	for page := 1; ; page++ {
		var got []T
		var resp *godo.Response
		err := a.call(ctx, op, true, func(ctx context.Context) (r *godo.Response, err error) {
			got, resp, err = list(ctx, &godo.ListOptions{Page: page, PerPage: a.pageSize})
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
		if lastPage(resp) {
			return all, nil
		}
	}
}

// lastPage says a listing has no page after resp's (links.pages.next).
func lastPage(resp *godo.Response) bool {
	return resp == nil || resp.Links == nil || resp.Links.Pages == nil || resp.Links.Pages.Next == ""
}

// Tag prefixes: DigitalOcean's tags are plain strings matching
// ^[a-zA-Z0-9_\-\:]+$ (tags/models/tag.yml), so supply's marks are
// "supply-resource:<id>" and "supply-installation:<owner>".
func tags(resourceID, owner string) []string {
	var out []string
	for _, m := range vendors.Marks(resourceID, owner) {
		out = append(out, m.Key+":"+m.Value)
	}
	return out
}

// marksOf reads supply's resource id and owner from the tags of a
// Droplet or volume, or from its name when the tags were lost.
func marksOf(name string, tags []string) (resourceID, owner string) {
	resourceID, owner = vendors.ReadMarks(func(key string) string {
		for _, t := range tags {
			if v, ok := strings.CutPrefix(t, key+":"); ok {
				return v
			}
		}
		return ""
	})
	if resourceID == "" {
		return vendors.ParseName(name)
	}
	return resourceID, owner
}

// Create launches one Droplet tagged with req.ResourceID, or returns the
// one that already carries it: DigitalOcean has no idempotency token, so
// the tag is looked up first.
func (a *Adapter) Create(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
	existing, err := a.find(ctx, req.ResourceID)
	if err != nil {
		return vendors.Instance{}, err
	}
	if existing != nil {
		// An earlier try made the Droplet: its firewall may be missing.
		return a.opened(ctx, req, *existing)
	}
	userData, err := userdata.CloudInit(req.SSHPublicKey, req.UserData)
	if err != nil {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "create droplet", Kind: vendors.ErrInvalid, Message: err.Error()}
	}
	fingerprint, err := a.ensureKey(ctx, req.SSHPublicKey)
	if err != nil {
		return vendors.Instance{}, err
	}
	image := req.Item.Extra["image"]
	if image == "" {
		image = nvidiaImage
	}
	body := &godo.DropletCreateRequest{
		Name:     vendors.InstanceName(req.ResourceID),
		Region:   req.Region,
		Size:     req.InstanceType,
		Image:    godo.DropletCreateImage{Slug: image},
		SSHKeys:  []godo.DropletCreateSSHKey{{Fingerprint: fingerprint}},
		UserData: userData,
		Tags:     tags(req.ResourceID, req.Owner),
	}
	for _, v := range req.Volumes {
		body.Volumes = append(body.Volumes, godo.DropletCreateVolume{ID: v.ID})
	}
	var created *godo.Droplet
	err = a.call(ctx, "create droplet", false, func(ctx context.Context) (resp *godo.Response, err error) {
		created, resp, err = a.do.Droplets.Create(ctx, body)
		return resp, err
	})
	if err != nil {
		var ve *vendors.Error
		if errors.As(err, &ve) && ve.Kind == vendors.ErrNotFound {
			// At create, "not found" is the size, region, image or key
			// named in the request.
			ve.Kind = vendors.ErrInvalid
		}
		return vendors.Instance{}, err
	}
	return a.opened(ctx, req, *created)
}

// opened is Droplet d of req once the ports req asks for are open on it.
func (a *Adapter) opened(ctx context.Context, req vendors.CreateRequest, d godo.Droplet) (vendors.Instance, error) {
	if len(req.Ports) > 0 {
		if err := a.ensureFirewall(ctx, req, d.ID); err != nil {
			return vendors.Instance{}, err
		}
	}
	return a.instance(d), nil
}

// find returns the Droplet carrying resourceID, if any.
func (a *Adapter) find(ctx context.Context, resourceID string) (*godo.Droplet, error) {
	all, err := a.list(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range all {
		if id, _ := marksOf(d.Name, d.Tags); id == resourceID && d.Status != statusArchive {
			return &d, nil
		}
	}
	return nil, nil
}

// ensureKey imports publicKey into the account unless it is there, and
// returns its fingerprint, by which DigitalOcean knows it (the MD5
// fingerprint of ssh_keys/models/ssh_key.yml).
func (a *Adapter) ensureKey(ctx context.Context, publicKey string) (string, error) {
	name, err := vendors.KeyName(publicKey)
	if err != nil {
		return "", &vendors.Error{Vendor: Name, Op: "import ssh key", Kind: vendors.ErrInvalid, Message: err.Error()}
	}
	parsed, _, _, _, err := ssh.ParseAuthorizedKey([]byte(publicKey))
	if err != nil {
		return "", &vendors.Error{Vendor: Name, Op: "import ssh key", Kind: vendors.ErrInvalid, Message: err.Error()}
	}
	fingerprint := ssh.FingerprintLegacyMD5(parsed)
	has := func() (bool, error) {
		err := a.call(ctx, "get ssh key", true, func(ctx context.Context) (*godo.Response, error) {
			_, resp, err := a.do.Keys.GetByFingerprint(ctx, fingerprint)
			return resp, err
		})
		if vendors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	}
	if ok, err := has(); err != nil || ok {
		return fingerprint, err
	}
	err = a.call(ctx, "import ssh key", false, func(ctx context.Context) (*godo.Response, error) {
		_, resp, err := a.do.Keys.Create(ctx, &godo.KeyCreateRequest{Name: name, PublicKey: strings.TrimSpace(publicKey)})
		return resp, err
	})
	if err != nil && !vendors.Retryable(err) {
		// A concurrent Create may have imported the same key first
		// ("SSH Key is already in use on your account").
		if ok, lerr := has(); lerr == nil && ok {
			return fingerprint, nil
		}
	}
	return fingerprint, err
}

// Get returns one Droplet; DigitalOcean answers 404 once it is destroyed.
func (a *Adapter) Get(ctx context.Context, id string) (vendors.Instance, error) {
	n, err := strconv.Atoi(id)
	if err != nil {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "get droplet", Kind: vendors.ErrNotFound, Message: "not a Droplet id: " + id}
	}
	var d *godo.Droplet
	err = a.call(ctx, "get droplet", true, func(ctx context.Context) (resp *godo.Response, err error) {
		d, resp, err = a.do.Droplets.Get(ctx, n)
		return resp, err
	})
	if err != nil {
		return vendors.Instance{}, err
	}
	return a.instance(*d), nil
}

// List returns every GPU Droplet carrying supply's tag or name.
func (a *Adapter) List(ctx context.Context) ([]vendors.Instance, error) {
	all, err := a.list(ctx)
	if err != nil {
		return nil, err
	}
	var ours []vendors.Instance
	for _, d := range all {
		if id, _ := marksOf(d.Name, d.Tags); id != "" {
			ours = append(ours, a.instance(d))
		}
	}
	return ours, nil
}

// list reads every page of the account's GPU Droplets. GET /v2/droplets
// lists only non-GPU Droplets unless type=gpus, which cannot be combined
// with tag_name (droplets_list.yml), so supply's tags are matched here.
func (a *Adapter) list(ctx context.Context) ([]godo.Droplet, error) {
	return readPages(ctx, a, "list droplets", a.do.Droplets.ListWithGPUs)
}

// Terminate destroys the Droplet (204); one DigitalOcean no longer knows
// is already gone.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	n, err := strconv.Atoi(id)
	if err != nil {
		return nil // not a Droplet id: nothing of ours to destroy
	}
	err = a.call(ctx, "destroy droplet", true, func(ctx context.Context) (*godo.Response, error) {
		return a.do.Droplets.Delete(ctx, n)
	})
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

func (a *Adapter) instance(d godo.Droplet) vendors.Instance {
	id, owner := marksOf(d.Name, d.Tags)
	public, _ := d.PublicIPv4()
	private, _ := d.PrivateIPv4()
	out := vendors.Instance{
		ID:           strconv.Itoa(d.ID),
		ResourceID:   id,
		Owner:        owner,
		Name:         d.Name,
		VendorState:  d.Status,
		InstanceType: d.SizeSlug,
		ExternalIP:   public,
		InternalIP:   private,
	}
	if d.Region != nil {
		out.Region = d.Region.Slug
	}
	if t, err := time.Parse(time.RFC3339, d.Created); err == nil {
		out.CreatedAt = t
	}
	switch d.Status {
	case statusActive:
		// Ready means reachable: an active Droplet without its public
		// address yet is still coming up.
		out.State = vendors.StatePending
		if public != "" {
			out.State = vendors.StateRunning
		}
	case statusNew:
		out.State = vendors.StatePending
	case statusOff:
		out.State = vendors.StateStopped
	case statusArchive:
		out.State = vendors.StateTerminated
	default:
		out.State = vendors.StatePending
		out.Message = "unknown DigitalOcean status " + d.Status
	}
	if public != "" {
		out.SSHPort = a.sshPort(public)
	}
	return out
}
