// Package scaleway is supply's adapter for Scaleway's Instances API (with
// the Block Storage and Marketplace APIs it leans on) and a stand-in
// server of those APIs for tests and sandbox mode.
//
// Scaleway scopes everything to a zone ("fr-par-2"), so an instance's id
// here is "<zone>/<server uuid>", the form Scaleway's own tools use. A
// server is created stopped, given its cloud-init user data and then
// powered on. Its root disk is an SBS block volume that terminating the
// server only detaches: the adapter deletes such volumes itself, since
// they would otherwise keep billing.
//
// The adapter is a thin client on vendors.Client rather than the official
// scaleway-sdk-go: the five calls it needs are simple JSON, and the shared
// client gives it the same rate limiting, retries and error typing as every
// other vendor without another module and its dependencies.
package scaleway

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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/userdata"
	"github.com/gpusupply/supply/vendors"
)

// DefaultBaseURL is Scaleway's API; every product lives under it.
const DefaultBaseURL = "https://api.scaleway.com"

// Name is the vendor slug.
const Name = "scaleway"

// DefaultImage is the Marketplace label of Scaleway's Ubuntu image with the
// NVIDIA driver and CUDA, for GPU instances.
const DefaultImage = "ubuntu_jammy_gpu_os_12"

// DefaultEURToUSD converts Scaleway's EUR prices to USD when Config does
// not say: roughly the 2026 rate. Set Config.EURToUSD to follow the market.
const DefaultEURToUSD = 1.08

// DefaultBootDiskGB is the size of the SBS root volume.
const DefaultBootDiskGB = 100

// blockEURPerGBMonth is Scaleway's list price of SBS block storage (5K
// IOPS class), and hoursPerMonth the 730 hours Scaleway bills a month as.
const (
	blockEURPerGBMonth = 0.086
	hoursPerMonth      = 730
)

// DefaultZones are the zones where Scaleway sells GPU instances.
var DefaultZones = []string{"fr-par-1", "fr-par-2", "nl-ams-1", "pl-waw-2"}

// zoneCountry places Scaleway's zones. Scaleway is in Europe only.
var zoneCountry = map[string]string{
	"fr-par-1": "FR", "fr-par-2": "FR", "fr-par-3": "FR",
	"nl-ams-1": "NL", "nl-ams-2": "NL", "nl-ams-3": "NL",
	"pl-waw-1": "PL", "pl-waw-2": "PL", "pl-waw-3": "PL",
	"it-mil-1": "IT",
}

// Scaleway does not publish the Instance API's rate limit; this stays
// well inside what its own CLI does.
const (
	defaultRate  = rate.Limit(20)
	defaultBurst = 20
)

// pageSize is Scaleway's default per_page. The adapter asks for pages the
// way Scaleway's CLI does (page only) and stops at a short page.
const pageSize = 50

// maxPages bounds a listing, so a misbehaving server cannot loop us.
const maxPages = 200

// Config configures an Adapter.
type Config struct {
	// APIKey is the secret key sent as X-Auth-Token.
	APIKey string
	// ProjectID is the project servers are created in (a UUID).
	ProjectID string
	// BaseURL defaults to DefaultBaseURL.
	BaseURL string
	// HTTP does the requests.
	HTTP *http.Client
	// SSHPort maps an instance's IP to its SSH port; nil means 22.
	SSHPort func(ip string) int
	// RateLimit and Burst space requests out.
	RateLimit rate.Limit
	Burst     int
	// Timeout bounds one attempt (default one minute).
	Timeout time.Duration
	Logger  *slog.Logger
	// Zones are read for the catalog and listed for instances; default
	// DefaultZones.
	Zones []string
	// EURToUSD converts prices; default DefaultEURToUSD.
	EURToUSD float64
	// Image is the Marketplace label servers boot; default DefaultImage.
	Image string
	// BootDiskGB sizes the root volume; default DefaultBootDiskGB.
	BootDiskGB int
}

// Adapter talks to Scaleway. It is safe for concurrent use.
type Adapter struct {
	client   *vendors.Client
	project  string
	sshPort  func(ip string) int
	log      *slog.Logger
	zones    []string
	eurToUSD float64
	image    string
	diskGB   int

	mu sync.Mutex
	// images caches resolved image ids by "<zone>/<commercial type>".
	images map[string]string
	// warned are unknown zones and GPU names, logged once each.
	warned map[string]bool
}

var _ vendors.Vendor = (*Adapter)(nil)

// New returns an adapter for the project behind c.APIKey.
func New(c Config) *Adapter {
	if len(c.Zones) == 0 {
		c.Zones = DefaultZones
	}
	key := c.APIKey
	return &Adapter{
		client: vendors.NewClient(vendors.ClientConfig{
			Vendor:    Name,
			BaseURL:   cmp.Or(c.BaseURL, DefaultBaseURL),
			HTTP:      c.HTTP,
			RateLimit: cmp.Or(c.RateLimit, defaultRate),
			Burst:     cmp.Or(c.Burst, defaultBurst),
			Timeout:   cmp.Or(c.Timeout, time.Minute),
			MaxWait:   5 * time.Second,
			Authorize: func(_ context.Context, r *http.Request) error {
				r.Header.Set("X-Auth-Token", key)
				return nil
			},
			ParseError: parseError,
		}),
		project:  c.ProjectID,
		sshPort:  c.SSHPort,
		log:      cmp.Or(c.Logger, slog.Default()).With("vendor", Name),
		zones:    slices.Clone(c.Zones),
		eurToUSD: cmp.Or(c.EURToUSD, DefaultEURToUSD),
		image:    cmp.Or(c.Image, DefaultImage),
		diskGB:   cmp.Or(c.BootDiskGB, DefaultBootDiskGB),
		images:   map[string]string{},
		warned:   map[string]bool{},
	}
}

// Name is the vendor slug.
func (a *Adapter) Name() string { return Name }

// Info describes what Scaleway supports: no spot, no clusters.
func (a *Adapter) Info() vendors.Info {
	return vendors.Info{
		Name:        Name,
		DisplayName: "Scaleway",
		CloudInit:   true,
		Tags:        true,
		Cilium:      true,
	}
}

// warnOnce logs msg the first time key is seen.
func (a *Adapter) warnOnce(key, msg string, args ...any) {
	a.mu.Lock()
	seen := a.warned[key]
	a.warned[key] = true
	a.mu.Unlock()
	if !seen {
		a.log.Warn(msg, args...)
	}
}

// country returns the ISO code of a zone, or "" (logged once) for a zone
// the table does not know. The stand-in's synthetic scale zones
// ("fr-par-2-s3") sit where their real zone is.
func (a *Adapter) country(zone string) string {
	if c, ok := zoneCountry[zone]; ok {
		return c
	}
	if i := strings.LastIndex(zone, syntheticZoneSep); i > 0 && isDigits(zone[i+len(syntheticZoneSep):]) {
		if c, ok := zoneCountry[zone[:i]]; ok {
			return c
		}
	}
	a.warnOnce("zone/"+zone, "unknown Scaleway zone: country left empty", "zone", zone)
	return ""
}

// syntheticZoneSep joins a real zone and a scale-copy number in the
// stand-in's synthetic zones.
const syntheticZoneSep = "-s"

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

func zonePath(zone string) string { return "/instance/v1/zones/" + url.PathEscape(zone) }

func blockPath(zone string) string { return "/block/v1alpha1/zones/" + url.PathEscape(zone) }

// Catalog lists the GPU types of every zone with their EUR price
// converted to USD, the root volume's price added, and their stock.
func (a *Adapter) Catalog(ctx context.Context) ([]vendors.CatalogItem, error) {
	var items []vendors.CatalogItem
	for _, zone := range a.zones {
		zoneItems, err := a.zoneCatalog(ctx, zone)
		if err != nil {
			return nil, err
		}
		items = append(items, zoneItems...)
	}
	return items, nil
}

// zoneCatalog joins one zone's server types with their availability.
func (a *Adapter) zoneCatalog(ctx context.Context, zone string) ([]vendors.CatalogItem, error) {
	types := map[string]serverType{}
	err := a.pages(ctx, "list server types", zonePath(zone)+"/products/servers", func(body []byte) (int, error) {
		var page serverTypeList
		err := json.Unmarshal(body, &page)
		for name, t := range page.Servers {
			types[name] = t
		}
		return len(page.Servers), err
	})
	if err != nil {
		return nil, err
	}
	stock := map[string]string{}
	err = a.pages(ctx, "get server types availability", zonePath(zone)+"/products/servers/availability", func(body []byte) (int, error) {
		var page availabilityList
		err := json.Unmarshal(body, &page)
		for name, av := range page.Servers {
			stock[name] = av.Availability
		}
		return len(page.Servers), err
	})
	if err != nil {
		return nil, err
	}
	diskUSD := roundPrice(float64(a.diskGB) * blockEURPerGBMonth / hoursPerMonth * a.eurToUSD)
	country := a.country(zone)
	var items []vendors.CatalogItem
	for name, t := range types {
		if t.GPU == 0 || t.EndOfService {
			continue // CPU types are not GPU capacity; retired types cannot be launched
		}
		// A type missing from the availability answer is not known to
		// be in stock, so it is not offered as such.
		inStock := stock[name] == stockAvailable || stock[name] == stockScarce
		avail := -1
		if !inStock {
			avail = 0
		}
		items = append(items, vendors.CatalogItem{
			InstanceType:         name,
			Region:               zone,
			Country:              country,
			Contract:             vendors.OnDemand,
			GPUName:              a.gpuName(name, t.GPUInfo),
			GPUCount:             t.GPU,
			VCPUs:                t.NCPUs,
			MemoryGB:             float64(t.RAM) / (1 << 30),
			BootDiskGB:           a.diskGB,
			PricePerHour:         roundPrice(t.HourlyPrice*a.eurToUSD + diskUSD),
			BootDiskPricePerHour: diskUSD,
			Available:            inStock,
			Stock:                avail,
		})
	}
	slices.SortFunc(items, func(x, y vendors.CatalogItem) int { return strings.Compare(x.InstanceType, y.InstanceType) })
	return items, nil
}

// pages reads a paginated GET until a short page; each page's raw body
// goes to add, which returns how many entries it held.
func (a *Adapter) pages(ctx context.Context, op, path string, add func([]byte) (int, error)) error {
	for page := 1; page <= maxPages; page++ {
		var body []byte
		q := url.Values{"page": {strconv.Itoa(page)}}
		if err := a.client.Do(ctx, vendors.Request{Op: op, Method: http.MethodGet, Path: path, Query: q}, &body); err != nil {
			return err
		}
		n, err := add(body)
		if err != nil {
			return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrTransient, Message: "decode answer: " + err.Error()}
		}
		if n < pageSize {
			return nil
		}
	}
	return nil
}

// roundPrice drops floating-point noise below a hundredth of a cent.
func roundPrice(v float64) float64 { return math.Round(v*10000) / 10000 }

// gpuName is Scaleway's GPU name made specific where it is ambiguous on
// its own: a bare "H100" (older answers) is told apart by the commercial
// type, a bare "P100" by its memory.
func (a *Adapter) gpuName(commercialType string, info *gpuInfo) string {
	if info == nil {
		a.warnOnce("gpu/"+commercialType, "Scaleway GPU type without gpu_info", "type", commercialType)
		return ""
	}
	switch info.GPUName {
	case "H100":
		if strings.Contains(commercialType, "-SXM-") {
			return "H100-SXM"
		}
		return "H100-PCIe"
	case "P100":
		return fmt.Sprintf("Tesla P100-PCIE-%dGB", int(math.Round(float64(info.GPUMemory)/(1<<30))))
	}
	return info.GPUName
}

// Create launches one server for req.ResourceID, or finishes launching the
// one that already carries that id.
func (a *Adapter) Create(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
	if req.ResourceID == "" {
		return vendors.Instance{}, invalid("create", "resource id is required")
	}
	if req.Contract == vendors.Spot {
		return vendors.Instance{}, invalid("create", "Scaleway sells no spot capacity")
	}
	if req.Region == "" || req.InstanceType == "" {
		return vendors.Instance{}, invalid("create", "zone and commercial type are required")
	}
	// Root's key goes in twice: as the server's AUTHORIZED_KEY tag,
	// which Scaleway's images install for root (its other way, project
	// IAM keys, would let every key of the project into every server),
	// and in the cloud-init user data, which works on any image.
	publicKey, err := userdata.ValidateKey(req.SSHPublicKey)
	if err != nil {
		return vendors.Instance{}, invalid("create", err.Error())
	}
	cloudInit, err := userdata.CloudInit(publicKey, req.UserData)
	if err != nil {
		return vendors.Instance{}, invalid("create", err.Error())
	}
	zone := req.Region
	srv, found, err := a.findByResource(ctx, zone, req.ResourceID)
	if err != nil {
		return vendors.Instance{}, err
	}
	if !found {
		image, err := a.resolveImage(ctx, zone, req.InstanceType)
		if err != nil {
			return vendors.Instance{}, err
		}
		// A create is never re-sent by the client: a timeout or 5xx comes
		// back as ErrTransient and the next Create finds the server.
		srv, err = a.createServer(ctx, zone, a.createBody(req, image, publicKey))
		if err != nil {
			return vendors.Instance{}, err
		}
	}
	if srv.State != "stopped" {
		return a.instance(srv), nil // already powered on
	}
	// A stopped server of ours is one whose launch did not finish (or
	// that was stopped since): both steps are safe to repeat.
	if err := a.setCloudInit(ctx, zone, srv.ID, cloudInit); err != nil {
		return vendors.Instance{}, err
	}
	if err := a.poweron(ctx, zone, srv.ID); err != nil {
		if errors.Is(err, vendors.ErrNoCapacity) || errors.Is(err, vendors.ErrQuota) {
			// Nothing can start it: do not leave a stopped server behind.
			a.discard(ctx, zone, srv.ID)
		}
		return vendors.Instance{}, err
	}
	return a.Get(ctx, zone+"/"+srv.ID)
}

// createBody is the create request for req; publicKey ("" for none) is
// root's key.
func (a *Adapter) createBody(req vendors.CreateRequest, image, publicKey string) createServerRequest {
	name := vendors.InstanceName(req.ResourceID)
	tags := []string{resourceTag(req.ResourceID)}
	if tag := authorizedKeyTag(publicKey); tag != "" {
		tags = append(tags, tag)
	}
	return createServerRequest{
		Name:              name,
		DynamicIPRequired: true,
		CommercialType:    req.InstanceType,
		Image:             image,
		Volumes: map[string]volumeTemplate{"0": {
			// The root volume carries the instance's name, so what
			// terminating leaves behind is recognisably ours.
			Name: name, Size: int64(a.diskGB) * 1_000_000_000, VolumeType: "sbs_volume",
		}},
		EnableIPv6: false,
		BootType:   "local",
		Project:    a.project,
		Tags:       tags,
	}
}

// authorizedKeyTag is Scaleway's per-server key tag: the key's type and
// base64 joined by "_" (tags hold no spaces), without its comment.
func authorizedKeyTag(publicKey string) string {
	f := strings.Fields(publicKey)
	if len(f) < 2 {
		return ""
	}
	return "AUTHORIZED_KEY=" + f[0] + "_" + f[1]
}

// resourceTag is the tag that carries supply's resource id.
func resourceTag(resourceID string) string { return vendors.Tag + "=" + resourceID }

func invalid(op, msg string) error {
	return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrInvalid, Message: msg}
}

// resolveImage finds the id of the configured image label's SBS build
// that runs commercialType in zone, as Scaleway's CLI and SDK do.
func (a *Adapter) resolveImage(ctx context.Context, zone, commercialType string) (string, error) {
	key := zone + "/" + commercialType
	a.mu.Lock()
	id, ok := a.images[key]
	a.mu.Unlock()
	if ok {
		return id, nil
	}
	q := url.Values{"image_label": {a.image}, "order_by": {"type_asc"}, "type": {"instance_sbs"}, "zone": {zone}}
	var list localImageList
	if err := a.client.Do(ctx, vendors.Request{Op: "resolve image", Method: http.MethodGet, Path: "/marketplace/v2/local-images", Query: q}, &list); err != nil {
		return "", err
	}
	for _, img := range list.LocalImages {
		if slices.Contains(img.CompatibleCommercialTypes, commercialType) {
			a.mu.Lock()
			a.images[key] = img.ID
			a.mu.Unlock()
			return img.ID, nil
		}
	}
	return "", invalid("resolve image", fmt.Sprintf("image %q has no build for %s in %s", a.image, commercialType, zone))
}

// createServer creates a stopped server.
func (a *Adapter) createServer(ctx context.Context, zone string, body createServerRequest) (server, error) {
	var resp serverEnvelope
	err := a.client.Do(ctx, vendors.Request{Op: "create", Method: http.MethodPost, Path: zonePath(zone) + "/servers", JSON: body}, &resp)
	if err != nil {
		return server{}, notFoundIsInvalid(err)
	}
	return resp.Server, nil
}

// setCloudInit stores the server's cloud-init user data; it must happen
// before the first boot. Writing the same text twice is harmless.
func (a *Adapter) setCloudInit(ctx context.Context, zone, serverID, text string) error {
	return a.client.Do(ctx, vendors.Request{
		Op: "set user data", Method: http.MethodPatch,
		Path: zonePath(zone) + "/servers/" + url.PathEscape(serverID) + "/user_data/cloud-init",
		Body: []byte(text), ContentType: "text/plain", Repeatable: true,
	}, nil)
}

// poweron starts a stopped server. It is not re-sent after an ambiguous
// failure: the next Create sees whether the server started.
func (a *Adapter) poweron(ctx context.Context, zone, serverID string) error {
	return a.action(ctx, "poweron", zone, serverID, "poweron")
}

// action asks for a server action and returns once Scaleway has queued it.
func (a *Adapter) action(ctx context.Context, op, zone, serverID, name string) error {
	var resp taskEnvelope
	return a.client.Do(ctx, vendors.Request{
		Op: op, Method: http.MethodPost,
		Path: zonePath(zone) + "/servers/" + url.PathEscape(serverID) + "/action",
		JSON: actionRequest{Action: name},
	}, &resp)
}

// discard deletes a server that never started; failures are logged, and
// List's sweep and the reconciler catch what is left.
func (a *Adapter) discard(ctx context.Context, zone, serverID string) {
	if err := a.deleteServer(ctx, zone, serverID); err != nil && !vendors.IsNotFound(err) {
		a.log.Warn("could not delete a Scaleway server that failed to start", "zone", zone, "server", serverID, "err", err)
	}
}

func (a *Adapter) deleteServer(ctx context.Context, zone, serverID string) error {
	return a.client.Do(ctx, vendors.Request{Op: "delete server", Method: http.MethodDelete, Path: zonePath(zone) + "/servers/" + url.PathEscape(serverID)}, nil)
}

// notFoundIsInvalid turns a create's 404 (an image or type it names does
// not exist) into ErrInvalid: nothing the caller asked about is missing.
func notFoundIsInvalid(err error) error {
	var e *vendors.Error
	if errors.As(err, &e) && e.Kind == vendors.ErrNotFound {
		e.Kind = vendors.ErrInvalid
	}
	return err
}

// findByResource looks in zone for the server tagged with resourceID.
func (a *Adapter) findByResource(ctx context.Context, zone, resourceID string) (server, bool, error) {
	servers, err := a.listServers(ctx, zone, url.Values{"tags": {resourceTag(resourceID)}})
	if err != nil {
		return server{}, false, err
	}
	for _, s := range servers {
		if resourceIDOf(s) == resourceID {
			return s, true, nil
		}
	}
	return server{}, false, nil
}

// listServers pages through one zone's servers of our project matching
// filter.
func (a *Adapter) listServers(ctx context.Context, zone string, filter url.Values) ([]server, error) {
	var all []server
	for page := 1; page <= maxPages; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(pageSize)}}
		if a.project != "" {
			q.Set("project", a.project)
		}
		for k, v := range filter {
			q[k] = v
		}
		var resp serverList
		if err := a.client.Do(ctx, vendors.Request{Op: "list", Method: http.MethodGet, Path: zonePath(zone) + "/servers", Query: q}, &resp); err != nil {
			return nil, err
		}
		all = append(all, resp.Servers...)
		if len(resp.Servers) < pageSize {
			break
		}
	}
	return all, nil
}

// List returns every server supply created in the configured zones, and
// deletes the root volumes that terminated servers left behind.
func (a *Adapter) List(ctx context.Context) ([]vendors.Instance, error) {
	var ours []vendors.Instance
	for _, zone := range a.zones {
		servers, err := a.listServers(ctx, zone, url.Values{"name": {vendors.NamePrefix}})
		if err != nil {
			return nil, err
		}
		for _, s := range servers {
			if in := a.instance(s); in.ResourceID != "" {
				ours = append(ours, in)
			}
		}
		if _, err := a.sweepVolumes(ctx, zone, ""); err != nil {
			a.log.Warn("could not sweep detached Scaleway volumes", "zone", zone, "err", err)
		}
	}
	return ours, nil
}

// splitID reads "<zone>/<server uuid>".
func splitID(op, id string) (zone, serverID string, err error) {
	zone, serverID, ok := strings.Cut(id, "/")
	if !ok || zone == "" || serverID == "" || strings.Contains(serverID, "/") {
		return "", "", &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrNotFound, Message: fmt.Sprintf("%q is not a Scaleway instance id (zone/uuid)", id)}
	}
	return zone, serverID, nil
}

// getServer reads one server.
func (a *Adapter) getServer(ctx context.Context, zone, serverID string) (server, error) {
	var resp serverEnvelope
	err := a.client.Do(ctx, vendors.Request{Op: "get", Method: http.MethodGet, Path: zonePath(zone) + "/servers/" + url.PathEscape(serverID)}, &resp)
	return resp.Server, err
}

// Get returns one server by "<zone>/<uuid>". Once Scaleway has deleted a
// terminated server, Get finishes the termination: the server's root
// volume is deleted as soon as it is detached, and until then the server
// reads as terminating rather than gone, because it still bills.
func (a *Adapter) Get(ctx context.Context, id string) (vendors.Instance, error) {
	zone, serverID, err := splitID("get", id)
	if err != nil {
		return vendors.Instance{}, err
	}
	srv, err := a.getServer(ctx, zone, serverID)
	if err == nil {
		return a.instance(srv), nil
	}
	if !vendors.IsNotFound(err) {
		return vendors.Instance{}, err
	}
	detaching, sweepErr := a.sweepVolumes(ctx, zone, serverID)
	if sweepErr != nil {
		return vendors.Instance{}, sweepErr
	}
	if detaching {
		return vendors.Instance{ID: id, State: vendors.StateTerminating, VendorState: "deleted; root volume detaching", Region: zone}, nil
	}
	return vendors.Instance{}, err
}

// sweepVolumes deletes supply's Block volumes in zone that no server holds
// any more, and reports whether a volume is still detaching from serverID.
// A volume is left behind by a deleted server once it has no references
// and has been detached at least once; a volume being created with its
// server never matches.
func (a *Adapter) sweepVolumes(ctx context.Context, zone, serverID string) (detaching bool, err error) {
	var volumes []blockVolume
	for page := 1; page <= maxPages; page++ {
		q := url.Values{"name": {vendors.NamePrefix}, "page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(pageSize)}}
		if a.project != "" {
			q.Set("project_id", a.project)
		}
		var resp blockVolumeList
		if err := a.client.Do(ctx, vendors.Request{Op: "list volumes", Method: http.MethodGet, Path: blockPath(zone) + "/volumes", Query: q}, &resp); err != nil {
			return false, err
		}
		volumes = append(volumes, resp.Volumes...)
		if len(resp.Volumes) < pageSize {
			break
		}
	}
	for _, v := range volumes {
		for _, ref := range v.References {
			detaching = detaching || (serverID != "" && ref.ProductResourceID == serverID)
		}
		if !strings.HasPrefix(v.Name, vendors.NamePrefix) || len(v.References) > 0 || v.Status != "available" || v.LastDetachedAt == nil {
			continue
		}
		if err := a.deleteVolume(ctx, zone, v.ID); err != nil && !vendors.IsNotFound(err) {
			return detaching, err
		}
	}
	return detaching, nil
}

// deleteVolume deletes a Block volume.
func (a *Adapter) deleteVolume(ctx context.Context, zone, volumeID string) error {
	return a.client.Do(ctx, vendors.Request{Op: "delete volume", Method: http.MethodDelete, Path: blockPath(zone) + "/volumes/" + url.PathEscape(volumeID)}, nil)
}

// Terminate asks Scaleway to delete a server: a running one is
// terminated, a stopped one deleted outright. A server still starting or
// stopping refuses both; that comes back as ErrTransient so callers retry.
// Its root volume is deleted by Get once Scaleway has let go of it.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	zone, serverID, err := splitID("terminate", id)
	if err != nil {
		return nil // no such server can exist
	}
	srv, err := a.getServer(ctx, zone, serverID)
	if vendors.IsNotFound(err) {
		_, err = a.sweepVolumes(ctx, zone, serverID)
		return err
	}
	if err != nil {
		return err
	}
	switch {
	case srv.State == "stopping" && srv.StateDetail == "terminating":
		return nil // already on its way
	case srv.State == "stopped" || srv.State == "stopped in place":
		err = a.deleteServer(ctx, zone, serverID)
	default:
		err = a.action(ctx, "terminate", zone, serverID, "terminate")
	}
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// instance maps a Scaleway server to supply's view of it.
func (a *Adapter) instance(s server) vendors.Instance {
	in := vendors.Instance{
		ID:           s.Zone + "/" + s.ID,
		ResourceID:   resourceIDOf(s),
		Name:         s.Name,
		State:        state(s),
		VendorState:  strings.TrimSpace(s.State + " " + s.StateDetail),
		InstanceType: s.CommercialType,
		Region:       s.Zone,
		ExternalIP:   publicIPv4(s),
		SSHPort:      22,
		Message:      s.StateDetail,
	}
	if s.PrivateIP != nil {
		in.InternalIP = *s.PrivateIP
	}
	if t, err := time.Parse(time.RFC3339Nano, s.CreationDate); err == nil {
		in.CreatedAt = t
	}
	if a.sshPort != nil && in.ExternalIP != "" {
		in.SSHPort = a.sshPort(in.ExternalIP)
	}
	return in
}

// publicIPv4 is the server's first IPv4 public address, or "".
func publicIPv4(s server) string {
	for _, ip := range s.PublicIPs {
		if ip.Family == "inet" && ip.Address != "" {
			return ip.Address
		}
	}
	return ""
}

// resourceIDOf reads supply's resource id from the tag, or else from the
// name.
func resourceIDOf(s server) string {
	for _, t := range s.Tags {
		if id, ok := strings.CutPrefix(t, vendors.Tag+"="); ok {
			return id
		}
	}
	return vendors.ResourceIDFromName(s.Name)
}

// state maps Scaleway's server state. A server is running only once it
// has an IPv4 public address: before that SSH cannot answer.
func state(s server) vendors.State {
	switch s.State {
	case "running":
		if publicIPv4(s) != "" {
			return vendors.StateRunning
		}
		return vendors.StatePending
	case "starting":
		return vendors.StatePending
	case "stopping":
		if s.StateDetail == "terminating" {
			return vendors.StateTerminating
		}
		return vendors.StateStopped
	case "stopped", "stopped in place":
		return vendors.StateStopped
	case "locked":
		return vendors.StateFailed
	}
	return vendors.StatePending
}

// errorKinds maps Scaleway's error types to supply's kinds.
var errorKinds = map[string]error{
	"invalid_arguments":     vendors.ErrInvalid,
	"invalid_request_error": vendors.ErrInvalid,
	"quotas_exceeded":       vendors.ErrQuota,
	"out_of_stock":          vendors.ErrNoCapacity,
	"not_found":             vendors.ErrNotFound,
	"unknown_resource":      vendors.ErrNotFound,
	"transient_state":       vendors.ErrTransient,
	"permissions_denied":    vendors.ErrAuth,
	"denied_authentication": vendors.ErrAuth,
	"authentication_error":  vendors.ErrAuth,
	"resource_expired":      vendors.ErrInvalid,
	"locked":                vendors.ErrInvalid,
	"too_many_requests":     vendors.ErrRateLimited,
}

// parseError reads Scaleway's error envelope and branches on its type.
func parseError(status int, _ http.Header, body []byte) *vendors.Error {
	var env errorEnvelope
	_ = json.Unmarshal(body, &env) // a gateway 5xx may not be JSON
	e := &vendors.Error{Kind: vendors.StatusKind(status), Message: env.Message}
	if env.Type != "" {
		e.Message = strings.TrimSpace(env.Message + " [" + env.Type + "]")
	}
	if kind, ok := errorKinds[env.Type]; ok {
		e.Kind = kind
	}
	if env.Type == "precondition_failed" {
		// A volume still in use or a server mid-transition may pass;
		// any other precondition is the request's fault.
		e.Kind = vendors.ErrInvalid
		if env.Precondition == "resource_still_in_use" {
			e.Kind = vendors.ErrTransient
		}
	}
	for _, d := range env.Details {
		if d.ArgumentName != "" {
			e.Message += fmt.Sprintf("; %s: %s", d.ArgumentName, d.HelpMessage)
		}
		if d.Resource != "" && d.Quota != nil {
			e.Message += fmt.Sprintf("; quota %s: %d", d.Resource, *d.Quota)
		}
	}
	return e
}
