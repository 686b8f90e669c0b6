// Package scaleway is supply's adapter for Scaleway's Instances API (with
// the Block Storage and Marketplace APIs it leans on) and a stand-in
// server of those APIs for tests and sandbox mode.
//
// The adapter speaks through Scaleway's official Go SDK
// (github.com/scaleway/scaleway-sdk-go), which Scaleway generates from its
// API descriptions, so request shapes, pagination and error types are the
// vendor's own. Requests still go through vendors.Client's rate limit,
// per-attempt timeout and retry policy.
//
// Scaleway scopes everything to a zone ("fr-par-2"), so an instance's id
// here is "<zone>/<server uuid>", the form Scaleway's own tools use. A
// server is created stopped, given its cloud-init user data and then
// powered on. Its root disk is an SBS block volume that terminating the
// server only detaches: the adapter names and tags that volume after the
// resource before the server starts, and deletes it once Scaleway has let
// go of it, since it would otherwise keep billing.
package scaleway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	block "github.com/scaleway/scaleway-sdk-go/api/block/v1alpha1"
	"github.com/scaleway/scaleway-sdk-go/api/instance/v1"
	marketplace "github.com/scaleway/scaleway-sdk-go/api/marketplace/v2"
	"github.com/scaleway/scaleway-sdk-go/scw"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/userdata"
	"github.com/gpusupply/supply/internal/vendors"
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

// Config configures an Adapter.
type Config struct {
	// APIKey is the secret key sent as X-Auth-Token.
	APIKey string
	// ProjectID is the project servers are created in (a UUID).
	ProjectID string
	// BaseURL defaults to DefaultBaseURL.
	BaseURL string
	// HTTP's transport and overall timeout carry the requests.
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
	// Owner is the installation whose left-behind root volumes List and
	// Get may delete: a detached volume is swept only when its owner tag
	// names it (none for an adapter without one), so installations
	// sharing a project never delete each other's volumes.
	Owner string
}

// Adapter talks to Scaleway. It is safe for concurrent use.
type Adapter struct {
	// budget holds the rate limiter, timeout and retry policy every call
	// goes through.
	budget *vendors.Client
	// initErr is why the SDK client could not be made (a malformed base
	// URL); every call then fails with it.
	initErr   error
	instances *instance.API
	volumes   *block.API
	market    *marketplace.API
	key       string
	project   string
	owner     string
	sshPort   func(ip string) int
	log       *slog.Logger
	zones     []string
	eurToUSD  float64
	image     string
	diskGB    int
	// size sizes a catalog read.
	size vendors.ItemsSize

	// listing serialises server listings: the SDK's ListServers fills the
	// client's API metadata cache (scw.Client.GetAPIMetadata) without a
	// lock.
	listing sync.Mutex

	mu sync.Mutex
	// images caches resolved image ids by "<zone>/<commercial type>".
	images map[string]string
	// warned are unknown GPU names, logged once each; unplaced the zones
	// zoneCountry lacks.
	warned   map[string]bool
	unplaced vendors.Unplaced

	// identifiers are the configured values that name the operator's
	// account at the vendor, never to be shown to tenants (vendors.Redact).
	identifiers []string
}

var _ vendors.Vendor = (*Adapter)(nil)

// AccountIdentifiers implements vendors.AccountIdentifiers: what the
// adapter was configured with that names the operator's account.
func (a *Adapter) AccountIdentifiers() []string { return a.identifiers }

// New returns an adapter for the project behind c.APIKey.
func New(c Config) *Adapter {
	if len(c.Zones) == 0 {
		c.Zones = DefaultZones
	}
	a := &Adapter{
		identifiers: []string{c.APIKey, c.ProjectID},
		budget: vendors.NewClient(vendors.ClientConfig{
			Vendor:    Name,
			RateLimit: cmp.Or(c.RateLimit, defaultRate),
			Burst:     cmp.Or(c.Burst, defaultBurst),
			Timeout:   cmp.Or(c.Timeout, time.Minute),
			MaxWait:   5 * time.Second,
		}),
		key:      c.APIKey,
		project:  c.ProjectID,
		owner:    c.Owner,
		sshPort:  c.SSHPort,
		log:      cmp.Or(c.Logger, slog.Default()).With("vendor", Name),
		zones:    slices.Clone(c.Zones),
		eurToUSD: cmp.Or(c.EURToUSD, DefaultEURToUSD),
		image:    cmp.Or(c.Image, DefaultImage),
		diskGB:   cmp.Or(c.BootDiskGB, DefaultBootDiskGB),
		images:   map[string]string{},
		warned:   map[string]bool{},
	}
	client, err := newSDKClient(cmp.Or(c.BaseURL, DefaultBaseURL), c.HTTP, a.budget.Limiter, a.budget.Timeout)
	if err != nil {
		a.initErr = fmt.Errorf("scaleway client: %w", err)
		return a
	}
	a.instances, a.volumes, a.market = instance.NewAPI(client), block.NewAPI(client), marketplace.NewAPI(client)
	return a
}

// Name is the vendor slug.
func (a *Adapter) Name() string { return Name }

// Info describes what Scaleway supports: no spot, no clusters; ports
// opened by a security group of the server's own.
func (a *Adapter) Info() vendors.Info {
	return vendors.Info{
		Name:        Name,
		DisplayName: "Scaleway",
		CloudInit:   true,
		Tags:        true,
		Cilium:      true,
		Stop:        true,
		Ports:       true,
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
// the table does not know.
func (a *Adapter) country(zone string) string {
	return a.unplaced.Country(a.log, zoneCountry, zone, "Scaleway zone")
}

// Catalog lists the GPU types of every zone with their EUR price
// converted to USD, the root volume's price added, and their stock.
func (a *Adapter) Catalog(ctx context.Context) ([]vendors.CatalogItem, error) {
	items := a.size.Make()
	for _, zone := range a.zones {
		var err error
		if items, err = a.zoneCatalog(ctx, zone, items); err != nil {
			return nil, err
		}
	}
	return a.size.Keep(items), nil
}

// zoneCatalog appends to items one zone's server types joined with their
// availability. Both answers are maps paged by the X-Total-Count header;
// the SDK reads every page (scw.WithAllPages).
func (a *Adapter) zoneCatalog(ctx context.Context, zone string, items []vendors.CatalogItem) ([]vendors.CatalogItem, error) {
	var types *instance.ListServersTypesResponse
	err := a.call(ctx, "list server types", true, func(opts ...scw.RequestOption) (err error) {
		types, err = a.instances.ListServersTypes(&instance.ListServersTypesRequest{Zone: scw.Zone(zone)}, append(opts, scw.WithAllPages())...)
		return err
	})
	if err != nil {
		return nil, err
	}
	var stock *instance.GetServerTypesAvailabilityResponse
	err = a.call(ctx, "get server types availability", true, func(opts ...scw.RequestOption) (err error) {
		stock, err = a.instances.GetServerTypesAvailability(&instance.GetServerTypesAvailabilityRequest{Zone: scw.Zone(zone)}, append(opts, scw.WithAllPages())...)
		return err
	})
	if err != nil {
		return nil, err
	}
	diskUSD := roundPrice(float64(a.diskGB) * blockEURPerGBMonth / hoursPerMonth * a.eurToUSD)
	country := a.country(zone)
	start := len(items)
	for name, t := range types.Servers {
		if t == nil || t.Gpu == nil || *t.Gpu == 0 || t.EndOfService {
			continue // CPU types are not GPU capacity; retired types cannot be launched
		}
		// A type missing from the availability answer is not known to
		// be in stock, so it is not offered as such; "shortage" means
		// none can be started now.
		var inStock bool
		if av := stock.Servers[name]; av != nil {
			inStock = av.Availability == instance.ServerTypesAvailabilityAvailable || av.Availability == instance.ServerTypesAvailabilityScarce
		}
		avail := -1
		if !inStock {
			avail = 0
		}
		items = append(items, vendors.CatalogItem{
			InstanceType:         name,
			Region:               zone,
			Country:              country,
			Contract:             vendors.OnDemand,
			GPUName:              a.gpuName(name, t.GpuInfo),
			GPUCount:             int(*t.Gpu),
			VCPUs:                int(t.Ncpus),
			MemoryGB:             float64(t.RAM) / (1 << 30),
			BootDiskGB:           a.diskGB,
			PricePerHour:         roundPrice(decimal(t.HourlyPrice)*a.eurToUSD + diskUSD),
			BootDiskPricePerHour: diskUSD,
			Available:            inStock,
			Stock:                avail,
		})
	}
	slices.SortFunc(items[start:], func(x, y vendors.CatalogItem) int { return strings.Compare(x.InstanceType, y.InstanceType) })
	return items, nil
}

// decimal is a price the SDK decoded into a float32 as the decimal
// Scaleway sent (0.7875, not 0.78750002384).
func decimal(f float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return v
}

// roundPrice drops floating-point noise below a hundredth of a cent.
func roundPrice(v float64) float64 { return math.Round(v*10000) / 10000 }

// gpuName is Scaleway's GPU name made specific where it is ambiguous on
// its own: a bare "H100" (older answers) is told apart by the commercial
// type, a bare "P100" by its memory.
func (a *Adapter) gpuName(commercialType string, info *instance.ServerTypeGPUInfo) string {
	if info == nil {
		a.warnOnce("gpu/"+commercialType, "Scaleway GPU type without gpu_info", "type", commercialType)
		return ""
	}
	switch info.GpuName {
	case "H100":
		if strings.Contains(commercialType, "-SXM-") {
			return "H100-SXM"
		}
		return "H100-PCIe"
	case "P100":
		return fmt.Sprintf("Tesla P100-PCIE-%dGB", int(math.Round(float64(info.GpuMemory)/(1<<30))))
	}
	return info.GpuName
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
	srv, err := a.findByResource(ctx, zone, req.ResourceID)
	if err != nil {
		return vendors.Instance{}, err
	}
	if srv == nil {
		image, err := a.resolveImage(ctx, zone, req.InstanceType)
		if err != nil {
			return vendors.Instance{}, err
		}
		create := a.createRequest(req, image, publicKey)
		if len(req.Ports) > 0 {
			group, err := a.ensureSecurityGroup(ctx, zone, req)
			if err != nil {
				return vendors.Instance{}, err
			}
			create.SecurityGroup = &group
		}
		// A create is never re-sent: a timeout or 5xx comes back as
		// ErrTransient and the next Create finds the server.
		srv, err = a.createServer(ctx, create)
		if err != nil {
			return vendors.Instance{}, err
		}
	}
	if srv.State != instance.ServerStateStopped {
		return a.instance(srv), nil // already powered on
	}
	// A stopped server of ours is one whose launch did not finish (or
	// that was stopped since): every step is safe to repeat.
	if err := a.claimRootVolume(ctx, srv); err != nil {
		return vendors.Instance{}, err
	}
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

// createRequest is the create request for req; publicKey ("" for none) is
// root's key. The root volume is an SBS block volume, the only kind GPU
// types allow, sized as the catalog priced it.
func (a *Adapter) createRequest(req vendors.CreateRequest, image, publicKey string) *instance.CreateServerRequest {
	tags := vendors.MarkText(req.ResourceID, req.Owner)
	if tag := authorizedKeyTag(publicKey); tag != "" {
		tags = append(tags, tag)
	}
	size := scw.Size(a.diskGB) * scw.GB
	bootLocal := instance.BootTypeLocal
	return &instance.CreateServerRequest{
		Zone:              scw.Zone(req.Region),
		Name:              vendors.InstanceName(req.ResourceID),
		DynamicIPRequired: scw.BoolPtr(true),
		CommercialType:    req.InstanceType,
		Image:             &image,
		Volumes:           map[string]*instance.VolumeServerTemplate{"0": {Size: &size, VolumeType: instance.VolumeVolumeTypeSbsVolume}},
		EnableIPv6:        scw.BoolPtr(false),
		BootType:          &bootLocal,
		Project:           &a.project,
		Tags:              tags,
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

// resourceTag is the tag that carries supply's resource id, which finds
// a resource's server.
func resourceTag(resourceID string) string { return vendors.MarkText(resourceID, "")[0] }

func invalid(op, msg string) error {
	return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrInvalid, Message: msg}
}

// resolveImage finds the id of the configured image label's SBS build
// that runs commercialType in zone, with the query Scaleway's CLI and SDK
// send (marketplace.GetLocalImageByLabel), keeping the answer.
func (a *Adapter) resolveImage(ctx context.Context, zone, commercialType string) (string, error) {
	key := zone + "/" + commercialType
	a.mu.Lock()
	id, ok := a.images[key]
	a.mu.Unlock()
	if ok {
		return id, nil
	}
	z := scw.Zone(zone)
	var list *marketplace.ListLocalImagesResponse
	err := a.call(ctx, "resolve image", true, func(opts ...scw.RequestOption) (err error) {
		list, err = a.market.ListLocalImages(&marketplace.ListLocalImagesRequest{ImageLabel: &a.image, Zone: &z, Type: marketplace.LocalImageTypeInstanceSbs}, opts...)
		return err
	})
	if err != nil {
		return "", vendors.NotFoundIsInvalid(err) // an unknown label is a 404
	}
	for _, img := range list.LocalImages {
		if img.IsCompatible(commercialType) {
			a.mu.Lock()
			a.images[key] = img.ID
			a.mu.Unlock()
			return img.ID, nil
		}
	}
	return "", invalid("resolve image", fmt.Sprintf("image %q has no build for %s in %s", a.image, commercialType, zone))
}

// createServer creates a stopped server.
func (a *Adapter) createServer(ctx context.Context, req *instance.CreateServerRequest) (*instance.Server, error) {
	var resp *instance.CreateServerResponse
	err := a.call(ctx, "create", false, func(opts ...scw.RequestOption) (err error) {
		resp, err = a.instances.CreateServer(req, opts...)
		return err
	})
	if err != nil {
		return nil, vendors.NotFoundIsInvalid(err)
	}
	return resp.Server, nil
}

// claimRootVolume names and tags a server's SBS root volume after
// supply's resource, so that it can be found and deleted once its server
// is gone. Scaleway names an image's root volume after the image ("Ubuntu
// 22.04 Jammy Jellyfish_sbs_volume_0") and no recording shows it keeping
// a name asked for at create, so the name is set on the volume itself,
// found in the server's volumes["0"], as Scaleway's CLI does when it sets
// a root volume's IOPS. Setting the same name and tag again is harmless.
func (a *Adapter) claimRootVolume(ctx context.Context, srv *instance.Server) error {
	id, owner := marksOf(srv)
	root := srv.Volumes["0"]
	if id == "" || root == nil || root.VolumeType != instance.VolumeServerVolumeTypeSbsVolume {
		return nil
	}
	name, tags := vendors.InstanceName(id), vendors.MarkText(id, owner)
	return a.call(ctx, "claim root volume", true, func(opts ...scw.RequestOption) error {
		_, err := a.volumes.UpdateVolume(&block.UpdateVolumeRequest{Zone: srv.Zone, VolumeID: root.ID, Name: &name, Tags: &tags}, opts...)
		return err
	})
}

// setCloudInit stores the server's cloud-init user data; it must happen
// before the first boot. Writing the same text twice is harmless.
func (a *Adapter) setCloudInit(ctx context.Context, zone, serverID, text string) error {
	return a.call(ctx, "set user data", true, func(opts ...scw.RequestOption) error {
		return a.instances.SetServerUserData(&instance.SetServerUserDataRequest{
			Zone: scw.Zone(zone), ServerID: serverID, Key: "cloud-init", Content: strings.NewReader(text),
		}, opts...)
	})
}

// poweron starts a stopped server. It is not re-sent after an ambiguous
// failure: the next Create sees whether the server started.
func (a *Adapter) poweron(ctx context.Context, zone, serverID string) error {
	return a.action(ctx, "poweron", zone, serverID, instance.ServerActionPoweron)
}

// action asks for a server action and returns once Scaleway has queued it.
func (a *Adapter) action(ctx context.Context, op, zone, serverID string, action instance.ServerAction) error {
	return a.call(ctx, op, false, func(opts ...scw.RequestOption) error {
		_, err := a.instances.ServerAction(&instance.ServerActionRequest{Zone: scw.Zone(zone), ServerID: serverID, Action: action}, opts...)
		return err
	})
}

// discard deletes a server that never started; failures are logged, and
// List's sweep and the reconciler catch what is left.
func (a *Adapter) discard(ctx context.Context, zone, serverID string) {
	if err := a.deleteServer(ctx, zone, serverID); err != nil && !vendors.IsNotFound(err) {
		a.log.WarnContext(ctx, "could not delete a Scaleway server that failed to start", "zone", zone, "server", serverID, "err", err)
	}
}

func (a *Adapter) deleteServer(ctx context.Context, zone, serverID string) error {
	return a.call(ctx, "delete server", true, func(opts ...scw.RequestOption) error {
		return a.instances.DeleteServer(&instance.DeleteServerRequest{Zone: scw.Zone(zone), ServerID: serverID}, opts...)
	})
}

// findByResource looks in zone for the server tagged with resourceID (nil
// when there is none).
func (a *Adapter) findByResource(ctx context.Context, zone, resourceID string) (*instance.Server, error) {
	servers, err := a.listServers(ctx, &instance.ListServersRequest{Zone: scw.Zone(zone), Tags: []string{resourceTag(resourceID)}})
	if err != nil {
		return nil, err
	}
	for _, s := range servers {
		if id, _ := marksOf(s); id == resourceID {
			return s, nil
		}
	}
	return nil, nil
}

// listServers reads every page of one zone's servers of our project that
// match req.
func (a *Adapter) listServers(ctx context.Context, req *instance.ListServersRequest) ([]*instance.Server, error) {
	if a.project != "" {
		req.Project = &a.project
	}
	a.listing.Lock()
	defer a.listing.Unlock()
	var resp *instance.ListServersResponse
	err := a.call(ctx, "list", true, func(opts ...scw.RequestOption) (err error) {
		resp, err = a.instances.ListServers(req, append(opts, scw.WithAllPages())...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp.Servers, nil
}

// List returns every server supply created in the configured zones, and
// deletes the root volumes that terminated servers left behind.
func (a *Adapter) List(ctx context.Context) ([]vendors.Instance, error) {
	var ours []vendors.Instance
	prefix := vendors.NamePrefix
	for _, zone := range a.zones {
		servers, err := a.listServers(ctx, &instance.ListServersRequest{Zone: scw.Zone(zone), Name: &prefix})
		if err != nil {
			return nil, err
		}
		for _, s := range servers {
			if in := a.instance(s); in.ResourceID != "" {
				ours = append(ours, in)
			}
		}
		if _, err := a.sweepVolumes(ctx, zone, ""); err != nil {
			a.log.WarnContext(ctx, "could not sweep detached Scaleway volumes", "zone", zone, "err", err)
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
func (a *Adapter) getServer(ctx context.Context, zone, serverID string) (*instance.Server, error) {
	var resp *instance.GetServerResponse
	err := a.call(ctx, "get", true, func(opts ...scw.RequestOption) (err error) {
		resp, err = a.instances.GetServer(&instance.GetServerRequest{Zone: scw.Zone(zone), ServerID: serverID}, opts...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp.Server, nil
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
// any more, and reports whether one is still detaching from serverID. A
// volume is supply's when claimRootVolume tagged it; it is left behind
// once it has no references and has been detached at least once, so a
// volume being created with its server never matches.
func (a *Adapter) sweepVolumes(ctx context.Context, zone, serverID string) (detaching bool, err error) {
	req := &block.ListVolumesRequest{Zone: scw.Zone(zone)}
	if a.project != "" {
		req.ProjectID = &a.project
	}
	var resp *block.ListVolumesResponse
	err = a.call(ctx, "list volumes", true, func(opts ...scw.RequestOption) (err error) {
		resp, err = a.volumes.ListVolumes(req, append(opts, scw.WithAllPages())...)
		return err
	})
	if err != nil {
		return false, err
	}
	for _, v := range resp.Volumes {
		if id, owner := vendors.ReadMarkText(v.Tags); id == "" || owner != a.owner {
			continue
		}
		for _, ref := range v.References {
			detaching = detaching || (serverID != "" && ref.ProductResourceID == serverID)
		}
		if len(v.References) > 0 || v.Status != block.VolumeStatusAvailable || v.LastDetachedAt == nil {
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
	return a.call(ctx, "delete volume", true, func(opts ...scw.RequestOption) error {
		return a.volumes.DeleteVolume(&block.DeleteVolumeRequest{Zone: scw.Zone(zone), VolumeID: volumeID}, opts...)
	})
}

// Terminate asks Scaleway to delete a server: a running one is
// terminated, a stopped one deleted outright. A server still starting or
// stopping refuses both; that comes back as ErrTransient so callers retry.
// Its root volume, claimed first if its launch never got that far, is
// deleted by Get once Scaleway has let go of it.
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
	if srv.State == instance.ServerStateStopping && srv.StateDetail == "terminating" {
		return nil // already on its way
	}
	if err := a.claimRootVolume(ctx, srv); err != nil {
		return err
	}
	switch srv.State {
	case instance.ServerStateStopped, instance.ServerStateStoppedInPlace:
		err = a.deleteServer(ctx, zone, serverID)
	default:
		err = a.action(ctx, "terminate", zone, serverID, instance.ServerActionTerminate)
	}
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// instance maps a Scaleway server to supply's view of it.
func (a *Adapter) instance(s *instance.Server) vendors.Instance {
	id, owner := marksOf(s)
	in := vendors.Instance{
		ID:           string(s.Zone) + "/" + s.ID,
		ResourceID:   id,
		Owner:        owner,
		Name:         s.Name,
		State:        state(s),
		VendorState:  strings.TrimSpace(string(s.State) + " " + s.StateDetail),
		InstanceType: s.CommercialType,
		Region:       string(s.Zone),
		ExternalIP:   publicIPv4(s),
		SSHPort:      22,
		Message:      s.StateDetail,
	}
	if s.PrivateIP != nil {
		in.InternalIP = *s.PrivateIP
	}
	if s.CreationDate != nil {
		in.CreatedAt = *s.CreationDate
	}
	if a.sshPort != nil && in.ExternalIP != "" {
		in.SSHPort = a.sshPort(in.ExternalIP)
	}
	return in
}

// publicIPv4 is the server's first IPv4 public address, or "".
func publicIPv4(s *instance.Server) string {
	for _, ip := range s.PublicIPs {
		if ip != nil && ip.Family == instance.ServerIPIPFamilyInet && ip.Address != nil {
			return ip.Address.String()
		}
	}
	return ""
}

// marksOf reads supply's resource id and owner from the tags, or else the
// resource id from the name.
func marksOf(s *instance.Server) (resourceID, owner string) {
	if resourceID, owner = vendors.ReadMarkText(s.Tags); resourceID != "" {
		return resourceID, owner
	}
	return vendors.ParseName(s.Name)
}

// state maps Scaleway's server state. A server is running only once it
// has an IPv4 public address: before that SSH cannot answer.
func state(s *instance.Server) vendors.State {
	switch s.State {
	case instance.ServerStateRunning:
		if publicIPv4(s) != "" {
			return vendors.StateRunning
		}
		return vendors.StatePending
	case instance.ServerStateStarting:
		return vendors.StatePending
	case instance.ServerStateStopping:
		if s.StateDetail == "terminating" {
			return vendors.StateTerminating
		}
		return vendors.StatePending // stopped once it is
	case instance.ServerStateStopped, instance.ServerStateStoppedInPlace:
		return vendors.StateStopped
	case instance.ServerStateLocked:
		return vendors.StateFailed
	}
	return vendors.StatePending
}
