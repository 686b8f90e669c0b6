// Package nebius is supply's adapter for Nebius AI Cloud and an
// in-process stand-in of its API for tests and sandbox mode.
//
// Nebius speaks gRPC only. The adapter uses a trimmed copy of Nebius's
// published .proto files (proto/, compiled into internal/nebiuspb, the
// VPC security groups into internal/nebiuspb/vpcpb, as compute/v1 has a
// SecurityGroup message of its own) with
// Nebius's own package names and field numbers, so it is wire-compatible
// with the real services. A service account's key is exchanged for IAM
// access tokens; projects are per region; the catalog joins platforms and
// presets with the billing calculator's prices and the capacity advisor's
// stock; GPU presets that allow clustering are also sold as InfiniBand
// cluster offers. Volumes are compute disks (volumes.go); open ports a
// security group per instance (ports.go).
package nebius

//go:generate sh -c "protoc -I proto --go_out=. --go_opt=module=github.com/gpusupply/supply/internal/vendors/nebius --go-grpc_out=. --go-grpc_opt=module=github.com/gpusupply/supply/internal/vendors/nebius $(cd proto && find nebius -name '*.proto' | sort)"

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gpusupply/supply/internal/userdata"
	"github.com/gpusupply/supply/internal/vendors"
	pb "github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb"
	"github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb/vpcpb"
)

// Name is the vendor slug.
const Name = "nebius"

// vendorName is the slug under which the adapter reports itself.
const vendorName = Name

// What a VM boots: a managed NETWORK_SSD disk from Nebius's Ubuntu image
// family with NVIDIA drivers and CUDA, created with the VM and deleted
// with it.
const (
	DefaultImageFamily = "ubuntu22.04-cuda12"
	BootDiskGiB        = 200
)

// clusterFabricGbps is the InfiniBand bandwidth per node of a Nebius GPU
// cluster (8 × 400 Gb/s NDR).
const clusterFabricGbps = 3200

// clusterSizes are the node counts a clustering preset is offered in.
var clusterSizes = []int{2, 4, 8, 16}

// pageSize is how many items one List page asks for.
const pageSize = 100

// Config configures an Adapter.
type Config struct {
	// ServiceAccountID, PublicKeyID and PrivateKeyPEM are the service
	// account's credentials: the key signs the JWT exchanged for tokens.
	ServiceAccountID string
	PublicKeyID      string
	PrivateKeyPEM    string
	// TenantID is asked for capacity (the advisor answers per tenant).
	TenantID string
	// Projects maps each region to be used to its project id; regions
	// without a project are neither listed nor launched in.
	Projects map[string]string
	// Endpoint, when set, is one host:port serving every service (the
	// stand-in); otherwise each service is reached at its Nebius host.
	Endpoint string
	// Insecure speaks plaintext to Endpoint: for the stand-in only.
	Insecure bool
	// SSHPort maps an instance's IP to its SSH port; nil means 22.
	SSHPort func(ip string) int
	// RateLimit and Burst space calls out (Nebius publishes no limit).
	RateLimit rate.Limit
	Burst     int
	// Timeout bounds one attempt of one call (default 30 s).
	Timeout time.Duration
	// OperationPoll is how often a running Operation is read again while
	// a create waits for it (default 1 s; Nebius publishes no rate).
	OperationPoll time.Duration
	// PriceTTL is how long a calculator price is reused before it is
	// asked again (default 1 h); see hourlyPrices for how long it may
	// stand in while the new answer is awaited.
	PriceTTL time.Duration
	Logger   *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Adapter talks to Nebius. It is safe for concurrent use.
type Adapter struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	limiter *rate.Limiter
	timeout time.Duration
	retries int
	tokens  tokenSource
	// dialErr is a connection set-up failure, returned by every call.
	dialErr error
	conns   []*grpc.ClientConn

	instances  pb.InstanceServiceClient
	disks      pb.DiskServiceClient
	platforms  pb.PlatformServiceClient
	clusters   pb.GpuClusterServiceClient
	operations pb.OperationServiceClient
	subnets    pb.SubnetServiceClient
	groups     vpcpb.SecurityGroupServiceClient
	rules      vpcpb.SecurityRuleServiceClient
	// vpcOperations reads the operations of the VPC services: an
	// operation is read on the endpoint of the service that started it.
	vpcOperations pb.OperationServiceClient
	calculator    pb.CalculatorServiceClient
	advice        pb.ResourceAdviceServiceClient

	// background ends with Close: the price lookups a catalog read
	// leaves running (hourlyPrices) stop with it.
	background     context.Context
	stopBackground context.CancelFunc

	// size sizes a catalog read.
	size vendors.ItemsSize

	mu             sync.Mutex
	prices         map[string]cachedPrice // price key -> USD per hour
	pricing        map[string]*priceRun   // price key -> the lookups asking it now
	defaultSubnets map[string]subnet      // project -> its default subnet
	unplaced       vendors.Unplaced
}

type cachedPrice struct {
	usd float64
	at  time.Time
}

// A priceRun is one batch of calculator lookups, started by a catalog
// read and running on in the background if the read returns first.
type priceRun struct {
	done chan struct{} // closed once every lookup of the run has ended
	err  error         // the first failure, which stopped the run; set before done closes
}

var (
	_ vendors.Vendor         = (*Adapter)(nil)
	_ vendors.ClusterDeleter = (*Adapter)(nil)
)

// AccountIdentifiers implements vendors.AccountIdentifiers: the service
// account, its key, the tenant and the projects the adapter was configured
// with.
func (a *Adapter) AccountIdentifiers() []string {
	return append([]string{a.cfg.ServiceAccountID, a.cfg.PublicKeyID, a.cfg.TenantID}, slices.Sorted(maps.Values(a.cfg.Projects))...)
}

// New returns an adapter for the service account in c. Connections are
// opened lazily, on the first call.
func New(c Config) *Adapter {
	if c.RateLimit == 0 {
		c.RateLimit = 20
	}
	if c.Burst == 0 {
		c.Burst = 40
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.OperationPoll == 0 {
		c.OperationPoll = time.Second
	}
	if c.PriceTTL == 0 {
		c.PriceTTL = time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	a := &Adapter{
		cfg:     c,
		log:     c.Logger.With("vendor", vendorName),
		now:     c.Now,
		limiter: rate.NewLimiter(c.RateLimit, c.Burst),
		timeout: c.Timeout,
		retries: 3,
		tokens: tokenSource{serviceAccountID: c.ServiceAccountID, publicKeyID: c.PublicKeyID,
			privateKeyPEM: c.PrivateKeyPEM, now: c.Now},
		prices:         map[string]cachedPrice{},
		pricing:        map[string]*priceRun{},
		defaultSubnets: map[string]subnet{},
	}
	a.background, a.stopBackground = context.WithCancel(context.Background())
	if err := a.dial(c); err != nil {
		a.dialErr = &vendors.Error{Vendor: vendorName, Op: "connect", Kind: vendors.ErrInvalid, Message: err.Error()}
	}
	return a
}

// Close stops the price lookups still running and closes the adapter's
// connections.
func (a *Adapter) Close() error {
	a.stopBackground()
	var errs []error
	for _, cc := range a.conns {
		errs = append(errs, cc.Close())
	}
	return errors.Join(errs...)
}

// Name is the vendor slug.
func (a *Adapter) Name() string { return vendorName }

// Info describes what Nebius supports.
func (a *Adapter) Info() vendors.Info {
	return vendors.Info{
		Name:        vendorName,
		DisplayName: "Nebius AI Cloud",
		Spot:        true,
		CloudInit:   true,
		Tags:        true,
		Clusters:    true,
		Cilium:      true,
		Stop:        true,
		Volumes:     true,
		Ports:       true,
	}
}

// regionCountry places Nebius's regions.
var regionCountry = map[string]string{
	"eu-north1":   "FI", // Mäntsälä, Finland
	"eu-north2":   "IS", // Keflavík, Iceland
	"eu-west1":    "FR", // Paris, France
	"us-central1": "US", // Kansas City, United States
	"me-west1":    "IL", // Israel
	"uk-south1":   "GB", // United Kingdom
}

// country returns the ISO code of a region, or "" (logged once) for a
// region the table does not know.
func (a *Adapter) country(region string) string {
	return a.unplaced.Country(a.log, regionCountry, region, "Nebius region")
}

// regions lists the configured regions in order.
func (a *Adapter) regions() []string { return slices.Sorted(maps.Keys(a.cfg.Projects)) }

// regionOf finds the region of a project.
func (a *Adapter) regionOf(projectID string) string {
	for region, p := range a.cfg.Projects {
		if p == projectID {
			return region
		}
	}
	return ""
}

// instanceType names a platform/preset pair as one string.
func instanceType(platform, preset string) string { return platform + ":" + preset }

// adviceKey identifies capacity advice.
func adviceKey(region, platform, preset string) string {
	return region + "/" + platform + "/" + preset
}

// Catalog lists every GPU preset of every configured region: on demand,
// preemptible (spot) where the platform allows it, and as InfiniBand
// cluster offers where the preset allows clustering. Prices come from
// the billing calculator (hourlyPrices): an item whose price is not
// known when the read has to return is left out of this read.
func (a *Adapter) Catalog(ctx context.Context) ([]vendors.CatalogItem, error) {
	if a.dialErr != nil {
		return nil, a.dialErr
	}
	advice, err := a.capacity(ctx)
	if err != nil {
		return nil, err
	}
	var listings []listing
	var lookups []priceLookup // region by region, so a read cut short has whole regions
	for _, region := range a.regions() {
		project := a.cfg.Projects[region]
		platforms, err := a.listPlatforms(ctx, project)
		if err != nil {
			return nil, err
		}
		lookups = append(lookups, priceLookup{diskPriceKey(region), diskSpec(project)})
		for _, p := range platforms {
			for _, preset := range p.GetSpec().GetPresets() {
				if preset.GetResources().GetGpuCount() == 0 {
					continue // CPU-only presets are not GPU capacity
				}
				l := listing{region: region, project: project, platform: p, preset: preset,
					advice: advice[adviceKey(region, p.GetMetadata().GetName(), preset.GetName())]}
				for _, contract := range l.contracts() {
					lookups = append(lookups, priceLookup{l.priceKey(contract), l.spec(contract)})
				}
				listings = append(listings, l)
			}
		}
	}
	prices, err := a.hourlyPrices(ctx, lookups)
	if err != nil {
		return nil, err
	}
	items := a.size.Make()
	for _, l := range listings {
		items = append(items, a.listingItems(l, prices)...)
	}
	return a.size.Keep(items), nil
}

// A listing is one GPU preset of a platform in one region, with the
// capacity advisor's word on it.
type listing struct {
	region, project string
	platform        *pb.Platform
	preset          *pb.Preset
	advice          *pb.ResourceAdvice
}

// contracts are how a listing is sold: on demand, and preemptible where
// its platform allows.
func (l listing) contracts() []vendors.Contract {
	if l.platform.GetStatus().GetAllowedForPreemptibles() {
		return []vendors.Contract{vendors.OnDemand, vendors.Spot}
	}
	return []vendors.Contract{vendors.OnDemand}
}

// priceKey names the calculator's price of a listing under a contract.
// The calculator is asked in a project (the request's metadata.parent_id,
// which Nebius requires) and a project is one region's, so the region is
// part of the key: Nebius publishes nothing saying prices are the same
// everywhere.
func (l listing) priceKey(contract vendors.Contract) string {
	return fmt.Sprintf("%s/%s/%s/%t", l.region, l.platform.GetMetadata().GetName(), l.preset.GetName(), contract == vendors.Spot)
}

// spec is what the calculator prices for a listing under a contract: a
// VM of the preset in the listing's project, preemptible for spot.
func (l listing) spec(contract vendors.Contract) *pb.ResourceSpec {
	spec := &pb.InstanceSpec{Resources: resources(l.platform.GetMetadata().GetName(), l.preset.GetName())}
	if contract == vendors.Spot {
		spec.Preemptible = preemptibleSpec()
	}
	return &pb.ResourceSpec{ResourceSpec: &pb.ResourceSpec_ComputeInstanceSpec{
		ComputeInstanceSpec: &pb.CreateInstanceRequest{Metadata: &pb.ResourceMetadata{ParentId: l.project}, Spec: spec},
	}}
}

// listingItems are the catalog items of a listing that prices has a
// price for, boot disk included: none is offered without one.
func (a *Adapter) listingItems(l listing, prices map[string]float64) []vendors.CatalogItem {
	disk, ok := prices[diskPriceKey(l.region)]
	if !ok {
		return nil
	}
	platform := l.platform.GetMetadata().GetName()
	base := vendors.CatalogItem{
		InstanceType:         instanceType(platform, l.preset.GetName()),
		Region:               l.region,
		Country:              a.country(l.region),
		GPUName:              platform,
		GPUCount:             int(l.preset.GetResources().GetGpuCount()),
		VCPUs:                int(l.preset.GetResources().GetVcpuCount()),
		MemoryGB:             float64(l.preset.GetResources().GetMemoryGibibytes()),
		BootDiskGB:           BootDiskGiB,
		BootDiskPricePerHour: disk,
		Extra:                map[string]string{"platform": platform, "preset": l.preset.GetName()},
	}
	var items []vendors.CatalogItem
	for _, contract := range l.contracts() {
		price, ok := prices[l.priceKey(contract)]
		if !ok {
			continue
		}
		it := base
		it.Contract = contract
		it.PricePerHour = roundCents(price + disk)
		availability := l.advice.GetStatus().GetOnDemand()
		if contract == vendors.Spot {
			availability = l.advice.GetStatus().GetPreemptible()
		}
		it.Stock, it.Available = stock(availability)
		items = append(items, it)
		if contract != vendors.OnDemand || !l.preset.GetAllowGpuClustering() || l.advice.GetSpec().GetFabric() == "" {
			continue
		}
		for _, nodes := range clusterSizes {
			c := it
			c.Nodes, c.InfinibandGbps = nodes, clusterFabricGbps
			c.Extra = maps.Clone(base.Extra)
			c.Extra["fabric"] = l.advice.GetSpec().GetFabric()
			c.Available = it.Available && (it.Stock < 0 || it.Stock >= nodes)
			items = append(items, c)
		}
	}
	return items
}

// stock reads the capacity advisor: a count when its data is fresh or
// stale; "unknown" (-1, assumed available) when it has none, as dstack
// does, relying on the create error instead.
func stock(av *pb.ResourceAdviceStatus_Availability) (int, bool) {
	switch av.GetDataState() {
	case pb.ResourceAdviceStatus_Availability_DATA_STATE_FRESH, pb.ResourceAdviceStatus_Availability_DATA_STATE_STALE:
		n := int(av.GetAvailable())
		return n, n > 0
	}
	return -1, true
}

// roundCents drops floating-point noise below a hundredth of a cent.
func roundCents(v float64) float64 { return float64(int64(v*10000+0.5)) / 10000 }

// capacity reads every piece of capacity advice of the tenant.
func (a *Adapter) capacity(ctx context.Context) (map[string]*pb.ResourceAdvice, error) {
	out := map[string]*pb.ResourceAdvice{}
	token := ""
	for {
		resp, err := a.advice.List(ctx, &pb.ListResourceAdviceRequest{ParentId: a.cfg.TenantID, PageSize: pageSize, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, it := range resp.GetItems() {
			ci := it.GetSpec().GetComputeInstance()
			out[adviceKey(it.GetSpec().GetRegion(), ci.GetPlatform(), ci.GetPreset().GetName())] = it
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// listPlatforms pages through a project's platforms.
func (a *Adapter) listPlatforms(ctx context.Context, project string) ([]*pb.Platform, error) {
	var out []*pb.Platform
	token := ""
	for {
		resp, err := a.platforms.List(ctx, &pb.ListPlatformsRequest{ParentId: project, PageSize: pageSize, PageToken: token})
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetItems()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// priceWorkers is how many calculator lookups run at once: enough that
// the rate limiter, not each call's round trip, bounds a read. One at a
// time, a lookup to Nebius 100 ms away manages 10 a second, half the
// adapter's default rate.
const priceWorkers = 8

// estimateOp names the calculator's method in errors.
const estimateOp = "CalculatorService/Estimate"

// hourlyPrices is the calculator's hourly price, in USD, of each of
// lookups that it can have within the read. A price asked less than
// PriceTTL ago is reused, as gpuhunt does; the others are asked in
// order, priceWorkers at a time, and one that an earlier read is
// already asking is waited for, not asked twice. When ctx has a
// deadline, hourlyPrices waits only until a quarter of the time left
// remains and returns what it has: the lookups go on in the
// background, so the next read finds their prices cached (at the rate
// limit, a big catalog's prices can take longer than a read may).
// Until a price is answered again, the old one stands in for at most
// another PriceTTL; a key with no price is left out. A failed lookup
// fails the read that waits for it.
func (a *Adapter) hourlyPrices(ctx context.Context, lookups []priceLookup) (map[string]float64, error) {
	var stop <-chan time.Time // nil: wait for every answer
	if deadline, ok := ctx.Deadline(); ok {
		t := time.NewTimer(time.Until(deadline) * 3 / 4)
		defer t.Stop()
		stop = t.C
	}
wait:
	for _, run := range a.lookUp(ctx, lookups) {
		select {
		case <-run.done:
			if run.err != nil {
				return nil, run.err
			}
		case <-stop:
			break wait
		case <-ctx.Done():
			return nil, a.classify(estimateOp, ctx.Err())
		}
	}
	now := a.now()
	prices := make(map[string]float64, len(lookups))
	a.mu.Lock()
	for _, l := range lookups {
		if c, ok := a.prices[l.key]; ok && now.Sub(c.at) < 2*a.cfg.PriceTTL {
			prices[l.key] = c.usd
		}
	}
	a.mu.Unlock()
	if n := len(lookups) - len(prices); n > 0 {
		a.log.WarnContext(ctx, "catalog read returns before every price is known: their items wait for a later read",
			"unpriced", n, "priced", len(prices))
	}
	return prices, nil
}

// A priceLookup is one price to ask the calculator for.
type priceLookup struct {
	key  string
	spec *pb.ResourceSpec
}

// lookUp starts a run for the lookups whose key has neither a fresh
// price nor a lookup under way, and returns the runs that will answer
// the keys without a fresh price.
func (a *Adapter) lookUp(ctx context.Context, lookups []priceLookup) []*priceRun {
	run := &priceRun{done: make(chan struct{})}
	var asks []priceLookup
	var waits []*priceRun
	now := a.now()
	a.mu.Lock()
	for _, l := range lookups {
		if c, ok := a.prices[l.key]; ok && now.Sub(c.at) < a.cfg.PriceTTL {
			continue
		}
		if r, ok := a.pricing[l.key]; ok {
			if !slices.Contains(waits, r) {
				waits = append(waits, r)
			}
			continue
		}
		a.pricing[l.key] = run
		asks = append(asks, l)
	}
	a.mu.Unlock()
	if len(asks) > 0 {
		waits = append(waits, run)
		go a.runLookups(ctx, run, asks)
	}
	return waits
}

// runLookups asks the calculator for run's prices, priceWorkers at a
// time, on a context that the end of the read that started them does not
// cancel (Close does). The first failure stops the run.
func (a *Adapter) runLookups(ctx context.Context, run *priceRun, lookups []priceLookup) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(a.background, cancel)
	defer stop()
	var next atomic.Int64
	var fail sync.Once
	var wg sync.WaitGroup
	for range min(priceWorkers, len(lookups)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(lookups) {
					return
				}
				if err := a.estimate(ctx, lookups[i].key, lookups[i].spec); err != nil {
					fail.Do(func() { run.err = err; cancel() })
				}
			}
		})
	}
	wg.Wait()
	a.mu.Lock()
	for _, l := range lookups {
		delete(a.pricing, l.key)
	}
	a.mu.Unlock()
	if run.err != nil {
		a.log.WarnContext(ctx, "calculator lookups stopped", "err", run.err)
	}
	close(run.done)
}

// diskPriceKey names the calculator's price of a region's boot disk.
func diskPriceKey(region string) string { return region + "/boot-disk" }

// diskSpec is what the calculator prices for the boot disk in a project.
func diskSpec(project string) *pb.ResourceSpec {
	return &pb.ResourceSpec{ResourceSpec: &pb.ResourceSpec_ComputeDiskSpec{
		ComputeDiskSpec: &pb.CreateDiskRequest{Metadata: &pb.ResourceMetadata{ParentId: project}, Spec: bootDiskSpec()},
	}}
}

// estimate asks the calculator for one hourly price and caches it.
func (a *Adapter) estimate(ctx context.Context, key string, spec *pb.ResourceSpec) error {
	resp, err := a.calculator.Estimate(ctx, &pb.EstimateRequest{ResourceSpec: spec})
	if err != nil {
		return err
	}
	cost := resp.GetHourlyCost().GetGeneral().GetTotal().GetCost()
	usd, err := strconv.ParseFloat(cost, 64)
	if err != nil || usd < 0 {
		return &vendors.Error{Vendor: vendorName, Op: estimateOp, Kind: vendors.ErrTransient,
			Message: fmt.Sprintf("hourly cost %q of %s is not a price", cost, key)}
	}
	a.mu.Lock()
	a.prices[key] = cachedPrice{usd: usd, at: a.now()}
	a.mu.Unlock()
	return nil
}

func resources(platform, preset string) *pb.ResourcesSpec {
	return &pb.ResourcesSpec{Platform: platform, Size: &pb.ResourcesSpec_Preset{Preset: preset}}
}

// preemptibleSpec asks for a preemptible VM; STOP is the only policy.
func preemptibleSpec() *pb.PreemptibleSpec {
	return &pb.PreemptibleSpec{OnPreemption: pb.PreemptibleSpec_STOP}
}

func bootDiskSpec() *pb.DiskSpec {
	return &pb.DiskSpec{
		Size:   &pb.DiskSpec_SizeGibibytes{SizeGibibytes: BootDiskGiB},
		Type:   pb.DiskSpec_NETWORK_SSD,
		Source: &pb.DiskSpec_SourceImageFamily{SourceImageFamily: &pb.SourceImageFamily{ImageFamily: DefaultImageFamily}},
	}
}

// Create launches one VM for req.ResourceID, or returns the one that
// already carries that id. A cluster node first gets-or-creates its GPU
// cluster. Create waits for the create's Operation: capacity and quota
// refusals may only show there.
func (a *Adapter) Create(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
	if a.dialErr != nil {
		return vendors.Instance{}, a.dialErr
	}
	l, err := a.plan(req)
	if err != nil {
		return vendors.Instance{}, err
	}
	if existing, err := a.getByName(ctx, l.project, l.name); err == nil || !vendors.IsNotFound(err) {
		return existing, err
	}
	subnet, err := a.subnet(ctx, l.project)
	if err != nil {
		return vendors.Instance{}, err
	}
	group := ""
	if len(req.Ports) > 0 {
		if group, err = a.ensureSecurityGroup(ctx, l.project, subnet.network, req); err != nil {
			return vendors.Instance{}, err
		}
	}
	cluster := ""
	if req.Cluster != nil {
		if cluster, err = a.ensureCluster(ctx, l.project, req.Cluster.ClusterID, req.Item.Extra["fabric"]); err != nil {
			return vendors.Instance{}, err
		}
	}
	op, err := a.instances.Create(idempotent(ctx, req.ResourceID), instanceRequest(req, l, subnet.id, group, cluster))
	if isAlreadyExists(err) {
		return a.getByName(ctx, l.project, l.name)
	}
	if err != nil {
		return vendors.Instance{}, vendors.NotFoundIsInvalid(err)
	}
	if err := a.await(ctx, a.operations, op, "InstanceService/Create", a.deleteInstance); err != nil {
		return vendors.Instance{}, vendors.NotFoundIsInvalid(err)
	}
	in, err := a.Get(ctx, op.GetResourceId())
	if err != nil {
		// The VM was accepted; its id is enough for the caller to poll.
		return vendors.Instance{ID: op.GetResourceId(), ResourceID: req.ResourceID, Owner: req.Owner, Name: l.name, State: vendors.StatePending,
			InstanceType: instanceType(l.platform, l.preset), Region: req.Region, SSHPort: 22}, nil
	}
	return in, nil
}

// launch is what a CreateRequest resolves to before anything is asked
// of Nebius.
type launch struct {
	project, name, platform, preset string
	// userData is the cloud-init that lets the renter's key in.
	userData string
}

// plan checks a CreateRequest and resolves its project, name, platform,
// preset and user data.
func (a *Adapter) plan(req vendors.CreateRequest) (launch, error) {
	if req.ResourceID == "" {
		return launch{}, a.invalid("create", "resource id is required")
	}
	l := launch{name: vendors.InstanceName(req.ResourceID), platform: req.Item.Extra["platform"], preset: req.Item.Extra["preset"]}
	if l.platform == "" || l.preset == "" {
		var ok bool
		if l.platform, l.preset, ok = strings.Cut(req.InstanceType, ":"); !ok {
			return launch{}, a.invalid("create", fmt.Sprintf("instance type %q is not <platform>:<preset>", req.InstanceType))
		}
	}
	var ok bool
	if l.project, ok = a.cfg.Projects[req.Region]; !ok {
		return launch{}, a.invalid("create", fmt.Sprintf("no project configured for region %q", req.Region))
	}
	if err := attachable(req.Volumes); err != nil {
		return launch{}, a.invalid("create", err.Error())
	}
	// Nebius images have no root key of their own: the key goes in the
	// cloud-init user data, which lets root in and mounts the volumes.
	var err error
	if l.userData, err = userdata.CloudInit(req.SSHPublicKey, req.UserData, mountScript(req.Volumes)); err != nil {
		return launch{}, a.invalid("create", err.Error())
	}
	return l, nil
}

// instanceRequest is the InstanceService/Create body of a launch: the
// preset on its platform, a managed boot disk that goes with the VM, the
// volumes as secondary disks that outlive it, one interface on the
// subnet with a public address (in the resource's security group when
// it opens ports; else in the network's default one), the cloud-init, a
// preemptible VM for spot, the GPU cluster (if any), and supply's id as
// a label.
func instanceRequest(req vendors.CreateRequest, l launch, subnet, group, cluster string) *pb.CreateInstanceRequest {
	spec := &pb.InstanceSpec{
		Resources: resources(l.platform, l.preset),
		NetworkInterfaces: []*pb.NetworkInterfaceSpec{{
			Name: "eth0", SubnetId: subnet, IpAddress: &pb.IPAddress{}, PublicIpAddress: &pb.PublicIPAddress{},
		}},
		BootDisk: &pb.AttachedDiskSpec{
			AttachMode: pb.AttachedDiskSpec_READ_WRITE,
			Type:       &pb.AttachedDiskSpec_ManagedDisk{ManagedDisk: &pb.ManagedDisk{Name: l.name + "-boot", Spec: bootDiskSpec()}},
		},
		SecondaryDisks:    secondaryDisks(req.Volumes),
		CloudInitUserData: l.userData,
	}
	if req.Contract == vendors.Spot {
		// A preemptible VM is stopped, not recovered, when preempted.
		spec.Preemptible, spec.RecoveryPolicy = preemptibleSpec(), pb.InstanceRecoveryPolicy_FAIL
	}
	if group != "" {
		spec.NetworkInterfaces[0].SecurityGroups = []*pb.SecurityGroup{{Id: group}}
	}
	if cluster != "" {
		spec.GpuCluster = &pb.InstanceGpuClusterSpec{Id: cluster}
	}
	return &pb.CreateInstanceRequest{
		Metadata: &pb.ResourceMetadata{ParentId: l.project, Name: l.name, Labels: labels(req.ResourceID, req.Owner)},
		Spec:     spec,
	}
}

// await waits for a create's Operation to finish, reading it again
// through ops (the OperationService of the service that started it)
// every OperationPoll. Nebius's README
// ("Operations"): an operation has finished once its status is set, and
// a failed one carries its error there. A failure is returned classified
// like an RPC's, after the half-made resource it names is deleted (best
// effort), so that a refused create leaves nothing behind. When the
// caller's deadline would not leave time for one more call, or the
// operation cannot be read, await gives up waiting without an error: the
// resource was accepted, and its own state tells the rest.
func (a *Adapter) await(ctx context.Context, ops pb.OperationServiceClient, op *pb.Operation, opName string, remove func(context.Context, string) error) error {
	for op.GetStatus() == nil {
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < a.cfg.OperationPoll+a.timeout {
			a.log.InfoContext(ctx, "operation still running at the caller's deadline", "op", opName, "operation", op.GetId())
			return nil
		}
		select {
		case <-time.After(a.cfg.OperationPoll):
		case <-ctx.Done():
			return a.classify(opName, ctx.Err())
		}
		next, err := ops.Get(ctx, &pb.GetOperationRequest{Id: op.GetId()})
		if err != nil {
			a.log.WarnContext(ctx, "operation cannot be read", "op", opName, "operation", op.GetId(), "err", err)
			return nil
		}
		op = next
	}
	st := status.FromProto(op.GetStatus())
	if st.Code() == codes.OK {
		return nil
	}
	failed := a.classify(opName, st.Err())
	if id := op.GetResourceId(); id != "" {
		if err := remove(ctx, id); err != nil && !vendors.IsNotFound(err) {
			a.log.WarnContext(ctx, "resource of a failed create not deleted", "op", opName, "id", id, "err", err)
		}
	}
	return failed
}

// deleteInstance deletes a VM, not waiting for it to go.
func (a *Adapter) deleteInstance(ctx context.Context, id string) error {
	_, err := a.instances.Delete(ctx, &pb.DeleteInstanceRequest{Id: id})
	return err
}

// deleteCluster deletes a GPU cluster, not waiting for it to go.
func (a *Adapter) deleteCluster(ctx context.Context, id string) error {
	_, err := a.clusters.Delete(ctx, &pb.DeleteGpuClusterRequest{Id: id})
	return err
}

// idempotent marks a mutation with Nebius's X-Idempotency-Key, derived
// from supply's id so a re-sent request is recognised.
func idempotent(ctx context.Context, id string) context.Context {
	key := uuid.NewSHA1(uuid.NameSpaceURL, []byte("supply:"+id)).String()
	return metadata.AppendToOutgoingContext(ctx, "x-idempotency-key", key)
}

func (a *Adapter) invalid(op, msg string) error {
	return &vendors.Error{Vendor: vendorName, Op: op, Kind: vendors.ErrInvalid, Message: msg}
}

func (a *Adapter) getByName(ctx context.Context, project, name string) (vendors.Instance, error) {
	vm, err := a.instances.GetByName(ctx, &pb.GetByNameRequest{ParentId: project, Name: name})
	if err != nil {
		return vendors.Instance{}, err
	}
	return a.instance(vm), nil
}

// A subnet is where an instance's interface goes: its id, and its
// network's, which a security group is made in.
type subnet struct{ id, network string }

// subnet finds the project's default subnet, once.
func (a *Adapter) subnet(ctx context.Context, project string) (subnet, error) {
	a.mu.Lock()
	sn, ok := a.defaultSubnets[project]
	a.mu.Unlock()
	if ok {
		return sn, nil
	}
	resp, err := a.subnets.List(ctx, &pb.ListSubnetsRequest{ParentId: project, PageSize: pageSize})
	if err != nil {
		return subnet{}, err
	}
	for _, s := range resp.GetItems() {
		if sn.id == "" || strings.HasPrefix(s.GetMetadata().GetName(), "default-subnet") {
			sn = subnet{id: s.GetMetadata().GetId(), network: s.GetSpec().GetNetworkId()}
		}
	}
	if sn.id == "" {
		return subnet{}, a.invalid("create", "project "+project+" has no subnet")
	}
	a.mu.Lock()
	a.defaultSubnets[project] = sn
	a.mu.Unlock()
	return sn, nil
}

// labels are the instance's marks (vendors.Marks) as Nebius labels.
func labels(resourceID, owner string) map[string]string {
	out := map[string]string{}
	for _, m := range vendors.Marks(resourceID, owner) {
		out[m.Key] = m.Value
	}
	return out
}

// clusterName is the vendor-side name of a cluster's GPU cluster.
func clusterName(clusterID string) string { return vendors.InstanceName(clusterID) }

// ensureCluster returns the id of the GPU cluster for clusterID in
// project, creating it on the fabric the first time. Nodes created at
// once race to create it: the loser's ALREADY_EXISTS sends it to read
// the winner's.
func (a *Adapter) ensureCluster(ctx context.Context, project, clusterID, fabric string) (string, error) {
	name := clusterName(clusterID)
	c, err := a.clusters.GetByName(ctx, &pb.GetByNameRequest{ParentId: project, Name: name})
	if err == nil {
		return c.GetMetadata().GetId(), nil
	}
	if !vendors.IsNotFound(err) {
		return "", err
	}
	if fabric == "" {
		return "", a.invalid("create cluster", "the catalog item names no InfiniBand fabric")
	}
	op, err := a.clusters.Create(idempotent(ctx, "cluster:"+clusterID), &pb.CreateGpuClusterRequest{
		Metadata: &pb.ResourceMetadata{ParentId: project, Name: name, Labels: map[string]string{vendors.Tag: clusterID}},
		Spec:     &pb.GpuClusterSpec{InfinibandFabric: fabric},
	})
	if isAlreadyExists(err) {
		c, err := a.clusters.GetByName(ctx, &pb.GetByNameRequest{ParentId: project, Name: name})
		return c.GetMetadata().GetId(), err
	}
	if err != nil {
		return "", vendors.NotFoundIsInvalid(err)
	}
	if err := a.await(ctx, a.operations, op, "GpuClusterService/Create", a.deleteCluster); err != nil {
		return "", vendors.NotFoundIsInvalid(err)
	}
	return op.GetResourceId(), nil
}

// DeleteCluster deletes the GPU cluster of clusterID wherever it is. A
// cluster that still has nodes is refused (ErrTransient: try again once
// they are gone); a missing one is not an error.
func (a *Adapter) DeleteCluster(ctx context.Context, clusterID string) error {
	if a.dialErr != nil {
		return a.dialErr
	}
	for _, region := range a.regions() {
		c, err := a.clusters.GetByName(ctx, &pb.GetByNameRequest{ParentId: a.cfg.Projects[region], Name: clusterName(clusterID)})
		if vendors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := a.deleteCluster(ctx, c.GetMetadata().GetId()); err != nil && !vendors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// Get returns one VM by its Nebius id.
func (a *Adapter) Get(ctx context.Context, id string) (vendors.Instance, error) {
	if a.dialErr != nil {
		return vendors.Instance{}, a.dialErr
	}
	vm, err := a.instances.Get(ctx, &pb.GetInstanceRequest{Id: id})
	if err != nil {
		return vendors.Instance{}, err
	}
	return a.instance(vm), nil
}

// List returns every VM supply created in the configured projects.
func (a *Adapter) List(ctx context.Context) ([]vendors.Instance, error) {
	if a.dialErr != nil {
		return nil, a.dialErr
	}
	var ours []vendors.Instance
	for _, region := range a.regions() {
		token := ""
		for {
			resp, err := a.instances.List(ctx, &pb.ListInstancesRequest{ParentId: a.cfg.Projects[region], PageSize: pageSize, PageToken: token})
			if err != nil {
				return nil, err
			}
			for _, vm := range resp.GetItems() {
				if in := a.instance(vm); in.ResourceID != "" {
					ours = append(ours, in)
				}
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
	}
	return ours, nil
}

// Terminate deletes a VM; its managed boot disk goes with it, and its
// volumes (existing disks) are detached and kept.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	if a.dialErr != nil {
		return a.dialErr
	}
	if err := a.deleteInstance(ctx, id); !vendors.IsNotFound(err) {
		return err
	}
	return nil
}

// instance maps a Nebius VM to supply's view of it.
func (a *Adapter) instance(vm *pb.Instance) vendors.Instance {
	md := vm.GetMetadata()
	id, owner := vendors.ReadMarks(func(key string) string { return md.GetLabels()[key] })
	in := vendors.Instance{
		ID:           md.GetId(),
		ResourceID:   id,
		Owner:        owner,
		Name:         md.GetName(),
		VendorState:  vm.GetStatus().GetState().String(),
		InstanceType: instanceType(vm.GetSpec().GetResources().GetPlatform(), vm.GetSpec().GetResources().GetPreset()),
		Region:       a.regionOf(md.GetParentId()),
		SSHPort:      22,
		CreatedAt:    md.GetCreatedAt().AsTime(),
	}
	if in.ResourceID == "" {
		in.Owner, in.ResourceID = vendors.ParseName(md.GetName())
	}
	for _, nic := range vm.GetStatus().GetNetworkInterfaces() {
		if in.ExternalIP == "" {
			in.ExternalIP = stripPrefix(nic.GetPublicIpAddress().GetAddress())
		}
		if in.InternalIP == "" {
			in.InternalIP = stripPrefix(nic.GetIpAddress().GetAddress())
		}
	}
	in.State = state(vm, in.ExternalIP != "")
	if a.cfg.SSHPort != nil && in.ExternalIP != "" {
		in.SSHPort = a.cfg.SSHPort(in.ExternalIP)
	}
	return in
}

// stripPrefix drops the prefix length Nebius puts on addresses
// ("203.0.113.7/32").
func stripPrefix(addr string) string {
	ip, _, _ := strings.Cut(addr, "/")
	return ip
}

// state maps Nebius's instance state. A VM is running only once it also
// has its public address: before that SSH cannot answer. A preemptible
// VM that stops without being asked to (spec.stopped, which Stop sets)
// has been preempted (STOP is the only policy).
func state(vm *pb.Instance, hasPublicIP bool) vendors.State {
	preemptible := vm.GetSpec().GetPreemptible() != nil && !vm.GetSpec().GetStopped()
	switch vm.GetStatus().GetState() {
	case pb.InstanceStatus_RUNNING:
		if hasPublicIP {
			return vendors.StateRunning
		}
		return vendors.StatePending
	case pb.InstanceStatus_STOPPED:
		if preemptible {
			return vendors.StatePreempted
		}
		return vendors.StateStopped
	case pb.InstanceStatus_DELETING:
		return vendors.StateTerminating
	case pb.InstanceStatus_ERROR:
		return vendors.StateFailed
	default: // UNSPECIFIED, CREATING, UPDATING, STARTING, STOPPING
		return vendors.StatePending
	}
}
