// Package vultr is supply's adapter for Vultr's Cloud GPU instances and a
// stand-in server of Vultr's API v2 for tests and sandbox mode.
//
// The adapter speaks through Vultr's official Go client
// (github.com/vultr/govultr/v3), pointed at the configured base URL; its
// requests go through vendors.Client's rate limit, per-attempt timeout and
// retry policy, with govultr's own retries turned off.
//
// Vultr sells GPUs as plans of type "vcg" (Cloud GPU), listed with their
// locations; GET /regions/{id}/availability says which plans a region can
// deploy now. Instances carry plain-string tags, which hold supply's marks
// (vendors.MarkText), and a label, which holds the instance name. Vultr has
// no idempotency token, so Create looks for the resource's tag first.
package vultr

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vultr/govultr/v3"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/userdata"
	"github.com/gpusupply/supply/internal/vendors"
)

// DefaultBaseURL is Vultr's API host; govultr adds the /v2 of every path.
const DefaultBaseURL = "https://api.vultr.com"

// Name is the vendor slug.
const Name = "vultr"

// DefaultOSID is Vultr's os_id of "Ubuntu 24.04 LTS x64" (GET /os).
const DefaultOSID = 2284

// planType is the plan type of Vultr's Cloud GPU plans (GET /plans "type"
// parameter: "vcg | Cloud GPU").
const planType = "vcg"

// listTag is carried by every instance supply creates, beside its marks,
// so that List asks Vultr for supply's instances only (GET /instances?tag=).
const listTag = "supply"

// hoursPerMonth turns Vultr's monthly_cost into an hourly price: Vultr
// bills by the hour and caps a month at 672 hours (its pricing pages show
// the hourly rate as monthly/672: $1,750/mo is $2.604/h). The 2023
// description and govultr v3.34.0's Plan carry no hourly field.
const hoursPerMonth = 672

// Vultr's published limit: 30 requests per second per IP, then 429
// (the description's introduction, "Rate Limiting").
const (
	publishedRateLimit = rate.Limit(30)
	publishedBurst     = 30
	defaultTimeout     = 30 * time.Second
)

// Config configures an Adapter.
type Config struct {
	APIKey string
	// BaseURL is DefaultBaseURL when empty.
	BaseURL string
	// HTTP's transport carries the requests; nil means the default one.
	HTTP *http.Client
	// SSHPort tells where sshd answers on an instance's IP; nil → 22.
	SSHPort func(ip string) int
	// OSID is the image instances boot; zero → DefaultOSID.
	OSID int
	// RateLimit and Burst override Vultr's published limit.
	RateLimit rate.Limit
	Burst     int
	// Timeout bounds one HTTP attempt; zero → 30 s.
	Timeout time.Duration
	// Logger receives warnings (plans or regions left out); nil →
	// slog.Default().
	Logger *slog.Logger
}

// Adapter speaks Vultr's API through govultr. It is safe for concurrent
// use.
type Adapter struct {
	gv      *govultr.Client
	budget  *vendors.Client
	osID    int
	sshPort func(ip string) int
	// logger is Config.Logger; nil is slog.Default() at the time of
	// logging, which the server sets up after making its adapters.
	logger *slog.Logger
	// warned remembers the plans already logged as left out, and
	// unplaced the regions, so a catalog refresh does not log them every
	// time.
	warned   sync.Map
	unplaced vendors.Unplaced

	identifiers []string
}

var _ vendors.Vendor = (*Adapter)(nil)

// AccountIdentifiers implements vendors.AccountIdentifiers: the API key.
func (a *Adapter) AccountIdentifiers() []string { return a.identifiers }

// New returns an adapter for the account whose key is c.APIKey.
func New(c Config) *Adapter {
	if c.SSHPort == nil {
		c.SSHPort = func(string) int { return 22 }
	}
	budget := vendors.NewClient(vendors.ClientConfig{
		Vendor:    Name,
		RateLimit: cmp.Or(c.RateLimit, publishedRateLimit),
		Burst:     cmp.Or(c.Burst, publishedBurst),
		Timeout:   cmp.Or(c.Timeout, defaultTimeout),
		MaxWait:   30 * time.Second,
	})
	return &Adapter{
		gv:          newClient(cmp.Or(c.BaseURL, DefaultBaseURL), c.APIKey, c.HTTP, budget.Limiter),
		budget:      budget,
		osID:        cmp.Or(c.OSID, DefaultOSID),
		sshPort:     c.SSHPort,
		logger:      c.Logger,
		identifiers: []string{c.APIKey},
	}
}

func (a *Adapter) log() *slog.Logger {
	return cmp.Or(a.logger, slog.Default()).With("vendor", Name)
}

// Name returns "vultr".
func (a *Adapter) Name() string { return Name }

// Info describes Vultr: on-demand VMs with cloud-init user data, tags,
// halt/start, ports opened by a firewall group, and block storage
// attached once the instance runs.
func (a *Adapter) Info() vendors.Info {
	return vendors.Info{
		Name:        Name,
		DisplayName: "Vultr",
		CloudInit:   true,
		Tags:        true,
		Cilium:      true,
		Stop:        true,
		Ports:       true,
		Volumes:     true,
		MinVolumeGB: minBlockGB,
	}
}

// Catalog lists every Cloud GPU plan in every location Vultr lists it
// in, available where the region's availability names it now.
func (a *Adapter) Catalog(ctx context.Context) ([]vendors.CatalogItem, error) {
	plans, err := pages(ctx, a, "list plans", func(ctx context.Context, o *govultr.ListOptions) ([]govultr.Plan, *govultr.Meta, error) {
		p, m, _, err := a.gv.Plan.List(ctx, planType, o)
		return p, m, err
	})
	if err != nil {
		return nil, err
	}
	regions, err := pages(ctx, a, "list regions", func(ctx context.Context, o *govultr.ListOptions) ([]govultr.Region, *govultr.Meta, error) {
		r, m, _, err := a.gv.Region.List(ctx, o)
		return r, m, err
	})
	if err != nil {
		return nil, err
	}
	countries := map[string]string{}
	for _, r := range regions {
		countries[r.ID] = r.Country
	}
	// Only the regions some GPU plan is in are asked for availability.
	available := map[string]map[string]bool{}
	var items []vendors.CatalogItem
	for _, p := range plans {
		gpuName, count, ok := a.gpus(p)
		if !ok {
			continue
		}
		for _, region := range p.Locations {
			if available[region] == nil {
				if available[region], err = a.availability(ctx, region); err != nil {
					return nil, err
				}
			}
			items = append(items, vendors.CatalogItem{
				InstanceType: p.ID,
				Region:       region,
				Country:      a.country(countries, region),
				Contract:     vendors.OnDemand,
				GPUName:      gpuName,
				GPUCount:     count,
				VCPUs:        p.VCPUCount,
				MemoryGB:     float64(p.RAM) / 1024,
				// The plan's disk comes with it and its price.
				BootDiskGB:   p.Disk,
				PricePerHour: float64(p.MonthlyCost) / hoursPerMonth,
				Available:    available[region][p.ID],
				Stock:        -1,
			})
		}
	}
	return items, nil
}

// availability is the set of GPU plans region can deploy now.
func (a *Adapter) availability(ctx context.Context, region string) (map[string]bool, error) {
	var got *govultr.PlanAvailability
	err := a.call(ctx, "list available plans", true, func(ctx context.Context) (err error) {
		got, _, err = a.gv.Region.Availability(ctx, region, planType)
		return err
	})
	// A location Vultr does not know as a region (404) has nothing to
	// deploy; it must not cost the whole catalog.
	if err != nil && !vendors.IsNotFound(err) {
		return nil, err
	}
	set := map[string]bool{}
	if got != nil {
		for _, id := range got.AvailablePlans {
			set[id] = true
		}
	}
	return set, nil
}

// gpuTypes names the GPU of each gpu_type Vultr's Cloud GPU plans report
// whose spelling the registry cannot take as it is, because it names a
// family of several variants (the registry's rule: "Never register an
// ambiguous name"). Each is the one variant Vultr sells under it, from
// its Cloud GPU product pages: the A100 80 GB PCIe card, HGX H100 and H200
// boards (SXM), and the 96 GB GH200.
var gpuTypes = map[string]string{
	"NVIDIA_A100":  "nvidia-a100-pcie-80gb",
	"NVIDIA_H100":  "nvidia-h100-sxm5-80gb",
	"NVIDIA_H200":  "nvidia-h200-sxm5-141gb",
	"NVIDIA_GH200": "nvidia-gh200-superchip-96gb",
}

// gpu resolves a plan's gpu_type: through gpuTypes, else as the registry
// spells it (NVIDIA_L40S is "NVIDIA L40S", AMD_MI300X "MI300X" once the
// maker is dropped). The name returned is what the catalog item carries.
func gpu(gpuType string) (string, gpus.GPU, bool) {
	if name, ok := gpuTypes[gpuType]; ok {
		g, known := gpus.GPUs().Lookup(name)
		return name, g, known
	}
	if g, ok := gpus.GPUs().Lookup(gpuType); ok {
		return gpuType, g, true
	}
	if model, ok := strings.CutPrefix(gpuType, "AMD_"); ok {
		if g, known := gpus.GPUs().Lookup(model); known {
			return model, g, true
		}
	}
	return gpuType, gpus.GPU{}, false
}

// gpus reads a plan's GPU model and count. Vultr gives the model
// (gpu_type) and the VRAM of the whole plan (gpu_vram_gb), not a count:
// the count is the plan's VRAM over one GPU's memory as the GPU registry
// has it (vcg-a100-12c-120g-80vram: 80 / 80 = 1). A plan with less than
// one whole GPU's VRAM, or with VRAM that is no whole number of GPUs, is
// a slice of a shared GPU (vcg-a100-1c-6g-4vram) and is left out: supply
// rents whole GPUs. A GPU the registry does not know is passed on with
// count 0, for the offer index to log and count, never guessed.
func (a *Adapter) gpus(p govultr.Plan) (name string, count int, ok bool) {
	if p.GPUType == "" {
		return "", 0, false
	}
	name, g, known := gpu(p.GPUType)
	if !known {
		return name, 0, true
	}
	count, ok = gpuCount(p.GPUVRAM, g.MemoryGB)
	if !ok {
		if _, logged := a.warned.LoadOrStore("plan/"+p.ID, true); !logged {
			a.log().Debug("Vultr plan holds a fraction of a GPU; left out", "plan", p.ID, "gpu_type", p.GPUType, "gpu_vram_gb", p.GPUVRAM)
		}
	}
	return name, count, ok
}

// gpuCount is how many whole GPUs of perGPU GB make vram GB, and false
// when vram is not a whole, positive number of them.
func gpuCount(vram, perGPU int) (int, bool) {
	if perGPU <= 0 || vram < perGPU || vram%perGPU != 0 {
		return 0, false
	}
	return vram / perGPU, true
}

// country is a region's country as GET /regions gives it, or "" (logged
// once) for a plan location the region list does not have.
func (a *Adapter) country(countries map[string]string, region string) string {
	if c := countries[region]; c != "" {
		return c
	}
	a.unplaced.Warn(a.log(), "Vultr plan location (missing from GET /regions)", region)
	return ""
}

// Create launches one instance tagged with req.ResourceID, or returns the
// one that already carries the tag.
func (a *Adapter) Create(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
	existing, err := a.find(ctx, req.ResourceID)
	if err != nil {
		return vendors.Instance{}, err
	}
	if existing != nil {
		return a.instance(*existing), nil
	}
	mounts, err := a.mountScript(ctx, req.Volumes)
	if err != nil {
		return vendors.Instance{}, err
	}
	script, err := userdata.CloudInit(req.SSHPublicKey, req.UserData, mounts)
	if err != nil {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "create instance", Kind: vendors.ErrInvalid, Message: err.Error()}
	}
	keyID, err := a.ensureKey(ctx, req.SSHPublicKey)
	if err != nil {
		return vendors.Instance{}, err
	}
	name := vendors.InstanceName(req.ResourceID)
	var firewall string
	if len(req.Ports) > 0 {
		if firewall, err = a.ensureFirewall(ctx, req); err != nil {
			return vendors.Instance{}, err
		}
	}
	body := &govultr.InstanceCreateReq{
		Region:   req.Region,
		Plan:     req.InstanceType,
		OsID:     a.osID,
		Label:    name,
		Hostname: name,
		Tags:     append(vendors.MarkText(req.ResourceID, req.Owner), listTag),
		SSHKeys:  []string{keyID},
		UserData: base64.StdEncoding.EncodeToString([]byte(script)),
		// Empty without ports: no group, Vultr's default of all open.
		FirewallGroupID: firewall,
	}
	var created *govultr.Instance
	err = a.call(ctx, "create instance", false, func(ctx context.Context) (err error) {
		created, _, err = a.gv.Instance.Create(ctx, body)
		return err
	})
	if err != nil {
		// At create, "not found" is the plan, region or key named in the
		// request: the request is wrong, not an instance gone.
		var ve *vendors.Error
		if errors.As(err, &ve) && ve.Kind == vendors.ErrNotFound {
			ve.Kind = vendors.ErrInvalid
		}
		return vendors.Instance{}, err
	}
	if created == nil || created.ID == "" {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "create instance", Kind: vendors.ErrTransient, Message: "create answered no instance"}
	}
	return a.instance(*created), nil
}

// find returns the instance carrying resourceID's tag, if any.
func (a *Adapter) find(ctx context.Context, resourceID string) (*govultr.Instance, error) {
	tagged, err := a.list(ctx, &govultr.ListOptions{Tag: vendors.MarkText(resourceID, "")[0]})
	if err != nil {
		return nil, err
	}
	for _, in := range tagged {
		if id, _ := marksOf(in); id == resourceID {
			return &in, nil
		}
	}
	return nil, nil
}

// ensureKey registers publicKey with Vultr unless a key of its name is
// there already, and returns the key's id.
func (a *Adapter) ensureKey(ctx context.Context, publicKey string) (string, error) {
	name, err := vendors.KeyName(publicKey)
	if err != nil {
		return "", &vendors.Error{Vendor: Name, Op: "create ssh key", Kind: vendors.ErrInvalid, Message: err.Error()}
	}
	lookup := func() (string, error) {
		keys, err := pages(ctx, a, "list ssh keys", func(ctx context.Context, o *govultr.ListOptions) ([]govultr.SSHKey, *govultr.Meta, error) {
			k, m, _, err := a.gv.SSHKey.List(ctx, o)
			return k, m, err
		})
		if err != nil {
			return "", err
		}
		if i := slices.IndexFunc(keys, func(k govultr.SSHKey) bool { return k.Name == name }); i >= 0 {
			return keys[i].ID, nil
		}
		return "", nil
	}
	if id, err := lookup(); err != nil || id != "" {
		return id, err
	}
	var key *govultr.SSHKey
	err = a.call(ctx, "create ssh key", false, func(ctx context.Context) (err error) {
		key, _, err = a.gv.SSHKey.Create(ctx, &govultr.SSHKeyReq{Name: name, SSHKey: strings.TrimSpace(publicKey)})
		return err
	})
	if err != nil {
		// A concurrent Create may have registered the same key first.
		if id, lerr := lookup(); lerr == nil && id != "" {
			return id, nil
		}
		return "", err
	}
	return key.ID, nil
}

// Get returns one instance; Vultr answers 404 once it is deleted.
func (a *Adapter) Get(ctx context.Context, id string) (vendors.Instance, error) {
	var got *govultr.Instance
	err := a.call(ctx, "get instance", true, func(ctx context.Context) (err error) {
		got, _, err = a.gv.Instance.Get(ctx, id)
		return err
	})
	if err != nil {
		return vendors.Instance{}, err
	}
	if got == nil {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "get instance", Kind: vendors.ErrTransient, Message: "answer without an instance"}
	}
	return a.instance(*got), nil
}

// List returns every instance carrying supply's list tag and marks.
func (a *Adapter) List(ctx context.Context) ([]vendors.Instance, error) {
	all, err := a.list(ctx, &govultr.ListOptions{Tag: listTag})
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

// list reads every page of GET /instances filtered as o says.
func (a *Adapter) list(ctx context.Context, o *govultr.ListOptions) ([]govultr.Instance, error) {
	return pages(ctx, a, "list instances", func(ctx context.Context, page *govultr.ListOptions) ([]govultr.Instance, *govultr.Meta, error) {
		page.Tag, page.Label = o.Tag, o.Label
		in, m, _, err := a.gv.Instance.List(ctx, page)
		return in, m, err
	})
}

// Terminate deletes the instance; one Vultr no longer knows is already
// gone.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	err := a.call(ctx, "delete instance", true, func(ctx context.Context) error {
		return a.gv.Instance.Delete(ctx, id)
	})
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// marksOf reads supply's resource id and owner from the tags, or the
// resource id from the label of an instance whose tags were lost.
func marksOf(in govultr.Instance) (resourceID, owner string) {
	if resourceID, owner = vendors.ReadMarkText(in.Tags); resourceID != "" {
		return resourceID, owner
	}
	owner, resourceID = vendors.ParseName(in.Label)
	return resourceID, owner
}

// Vultr's instance states (the instance schema): status is pending,
// active, suspended or resizing; power_status running or stopped;
// server_status none, locked, installingbooting or ok.
const (
	statusPending   = "pending"
	statusActive    = "active"
	statusSuspended = "suspended"
	powerRunning    = "running"
	powerStopped    = "stopped"
	serverOK        = "ok"
)

// noIP is main_ip before Vultr assigns the address (the description's
// create example answers "0.0.0.0").
const noIP = "0.0.0.0"

func (a *Adapter) instance(in govultr.Instance) vendors.Instance {
	id, owner := marksOf(in)
	out := vendors.Instance{
		ID:           in.ID,
		ResourceID:   id,
		Owner:        owner,
		Name:         in.Label,
		VendorState:  in.Status + "/" + in.PowerStatus + "/" + in.ServerStatus,
		InstanceType: in.Plan,
		Region:       in.Region,
		InternalIP:   in.InternalIP,
		State:        vendors.StatePending,
	}
	if in.MainIP != noIP {
		out.ExternalIP = in.MainIP
	}
	if t, err := time.Parse(time.RFC3339, in.DateCreated); err == nil {
		out.CreatedAt = t
	}
	switch {
	case in.Status == statusSuspended:
		out.State = vendors.StateFailed
		out.Message = "Vultr suspended the instance"
	case in.Status == statusActive && in.PowerStatus == powerStopped:
		out.State = vendors.StateStopped
	// Ready means reachable: active, powered and booted, with its address.
	case in.Status == statusActive && in.PowerStatus == powerRunning && in.ServerStatus == serverOK && out.ExternalIP != "":
		out.State = vendors.StateRunning
	}
	if out.ExternalIP != "" {
		out.SSHPort = a.sshPort(out.ExternalIP)
	}
	return out
}
