// Package runpod is supply's adapter for RunPod (REST API v2) and a
// stand-in server of that API for tests and sandbox mode.
//
// A RunPod pod is a container, not a virtual machine: it runs a RunPod
// official image whose start script launches sshd with the key in the
// PUBLIC_KEY environment variable, there is no cloud-init, and the
// renter's start-up script runs through the container's arguments. RunPod
// v2 sells no spot capacity. Multi-node clusters are created whole through
// /v2/clusters; their member pods are placed by RunPod.
package runpod

import (
	"cmp"
	"context"
	"encoding/base64"
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

// DefaultBaseURL is RunPod's production API; every path starts /v2/.
const DefaultBaseURL = "https://api.runpod.io"

// Name is the vendor slug.
const Name = "runpod"

// DefaultImage is the RunPod official image pods run: CUDA, PyTorch and a
// /start.sh that starts sshd from PUBLIC_KEY and then keeps the container
// alive.
const DefaultImage = "runpod/pytorch:1.0.2-cu1281-torch280-ubuntu2404"

// ContainerDiskGB is the container disk every pod gets.
const ContainerDiskGB = 50

// containerDiskPerGBHour is RunPod's container-disk price ($0.10 per
// GB-month while running) per GB-hour; the catalog adds it to the GPU
// price so offers include the boot disk.
const containerDiskPerGBHour = 0.10 / 730

// RunPod's published policy (RateLimit-Policy) allows 60 requests a
// minute per user; the hour and day windows are far above what supply
// sends.
const (
	publishedRate  = rate.Limit(1)
	publishedBurst = 10
	defaultTimeout = 30 * time.Second
)

// Environment variables that carry supply's ids on a pod, as tags would:
// the pod's env is returned on every read.
const (
	envResource = "SUPPLY_RESOURCE_ID"
	envCluster  = "SUPPLY_CLUSTER_ID"
	envOwner    = "SUPPLY_INSTALLATION_ID"
	envKey      = "PUBLIC_KEY"
)

// podCounts are the GPUs-per-pod shapes the catalog offers.
var podCounts = []int{1, 2, 4, 8}

// clusterSizes are the node counts of cluster offers, each node a full
// 8-GPU pod.
var clusterSizes = []int{2, 4, 8}

const clusterGPUsPerNode = 8

// Config configures an Adapter.
type Config struct {
	APIKey string
	// BaseURL is DefaultBaseURL when empty.
	BaseURL string
	// HTTP does the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// SSHPort tells where sshd answers when RunPod reports no mapped
	// port; nil → 22. RunPod's ssh.direct normally carries the port.
	SSHPort func(ip string) int
	// RateLimit and Burst override the request limit; zero → RunPod's
	// published 60 a minute.
	RateLimit rate.Limit
	Burst     int
	// Timeout bounds one HTTP attempt; zero → 30 s.
	Timeout time.Duration
	// Image overrides DefaultImage; it must start sshd from PUBLIC_KEY
	// with /start.sh, as RunPod's official images do.
	Image string
	// Logger receives warnings (unknown data centres); nil → slog.Default().
	Logger *slog.Logger
}

// Adapter speaks RunPod's API. It is safe for concurrent use.
type Adapter struct {
	client  *vendors.Client
	image   string
	sshPort func(ip string) int
	log     *slog.Logger
	// unplaced are the data centres dataCenterCountry lacks.
	unplaced vendors.Unplaced
	// allSize and inStockSize size Catalog's and CatalogInStock's reads.
	allSize, inStockSize vendors.ItemsSize

	// identifiers are the configured values that name the operator's
	// account at the vendor, never to be shown to tenants (vendors.Redact).
	identifiers []string
}

var (
	_ vendors.Vendor         = (*Adapter)(nil)
	_ vendors.ClusterDeleter = (*Adapter)(nil)
)

// AccountIdentifiers implements vendors.AccountIdentifiers: what the
// adapter was configured with that names the operator's account.
func (a *Adapter) AccountIdentifiers() []string { return a.identifiers }

// New returns an adapter for the account whose key is c.APIKey.
func New(c Config) *Adapter {
	if c.SSHPort == nil {
		c.SSHPort = func(string) int { return 22 }
	}
	return &Adapter{
		identifiers: []string{c.APIKey},
		client: vendors.NewClient(vendors.ClientConfig{
			Vendor:     Name,
			BaseURL:    cmp.Or(c.BaseURL, DefaultBaseURL),
			HTTP:       c.HTTP,
			RateLimit:  cmp.Or(c.RateLimit, publishedRate),
			Burst:      cmp.Or(c.Burst, publishedBurst),
			Timeout:    cmp.Or(c.Timeout, defaultTimeout),
			MaxWait:    30 * time.Second,
			Authorize:  vendors.BearerAuth(c.APIKey),
			ParseError: parseError,
		}),
		image:   cmp.Or(c.Image, DefaultImage),
		sshPort: c.SSHPort,
		log:     cmp.Or(c.Logger, slog.Default()).With("vendor", Name),
	}
}

// Name returns "runpod".
func (a *Adapter) Name() string { return Name }

// Info describes RunPod: on-demand containers with clusters, no cloud-init.
func (a *Adapter) Info() vendors.Info {
	return vendors.Info{
		Name:        Name,
		DisplayName: "RunPod",
		Clusters:    true,
		Containers:  true,
		Stop:        true,
		Volumes:     true,
		Ports:       true,
	}
}

// dataCenterCountry places RunPod's data centres.
var dataCenterCountry = map[string]string{
	"US-KS-2":  "US",
	"US-KS-3":  "US",
	"US-TX-3":  "US",
	"US-TX-4":  "US",
	"US-GA-1":  "US",
	"US-GA-2":  "US",
	"US-CA-2":  "US",
	"US-IL-1":  "US",
	"US-NC-1":  "US",
	"US-DE-1":  "US",
	"US-WA-1":  "US",
	"CA-MTL-1": "CA",
	"CA-MTL-2": "CA",
	"CA-MTL-3": "CA",
	"EU-RO-1":  "RO",
	"EU-SE-1":  "SE",
	"EU-NL-1":  "NL",
	"EU-CZ-1":  "CZ",
	"EU-FR-1":  "FR",
	"EUR-IS-1": "IS",
	"EUR-IS-2": "IS",
	"EUR-IS-3": "IS",
	"EUR-NO-1": "NO",
	"AP-JP-1":  "JP",
	"OC-AU-1":  "AU",
}

// country returns the ISO code of a data centre, or "" (logged once) for
// one the table does not know.
func (a *Adapter) country(dc string) string {
	return a.unplaced.Country(a.log, dataCenterCountry, dc, "RunPod data centre")
}

// shape is what a catalog item launches: count GPUs of one type in one
// cloud, alone or as the nodes of a cluster. Its String is the item's
// InstanceType, parsed back at create time.
type shape struct {
	gpuID   string
	count   int
	cloud   string
	cluster bool
}

func (s shape) String() string {
	t := fmt.Sprintf("%dx %s %s", s.count, s.gpuID, strings.ToLower(s.cloud))
	if s.cluster {
		t += " cluster"
	}
	return t
}

// parseShape reads an InstanceType made by shape.String.
func parseShape(t string) (shape, bool) {
	var s shape
	t, s.cluster = strings.CutSuffix(t, " cluster")
	n, rest, ok := strings.Cut(t, "x ")
	if !ok {
		return shape{}, false
	}
	count, err := strconv.Atoi(n)
	i := strings.LastIndex(rest, " ")
	if err != nil || count < 1 || i <= 0 {
		return shape{}, false
	}
	s.count, s.gpuID, s.cloud = count, rest[:i], strings.ToUpper(rest[i+1:])
	if s.cloud != cloudSecure && s.cloud != cloudCommunity {
		return shape{}, false
	}
	return s, true
}

// Catalog reads GPU availability per data centre for every pod shape in
// both clouds, and for clusters: one item per (GPU, count, cloud, data
// centre), and per cluster size. Availability is a level, not a count, so
// Stock is -1 (in stock) or 0 (NONE).
func (a *Adapter) Catalog(ctx context.Context) ([]vendors.CatalogItem, error) {
	return a.catalog(ctx, false)
}

// CatalogInStock lists what Catalog lists as available (vendors.InStock):
// most data centres have none of most shapes.
func (a *Adapter) CatalogInStock(ctx context.Context) ([]vendors.CatalogItem, error) {
	return a.catalog(ctx, true)
}

func (a *Adapter) catalog(ctx context.Context, inStockOnly bool) ([]vendors.CatalogItem, error) {
	size := &a.allSize
	if inStockOnly {
		size = &a.inStockSize
	}
	items := size.Make()
	var err error
	for _, cloud := range []string{cloudSecure, cloudCommunity} {
		for _, count := range podCounts {
			s := shape{count: count, cloud: cloud}
			items, err = a.readGPUTypes(ctx, "POD", cloud, count, items, func(items []vendors.CatalogItem, g *gpuType) []vendors.CatalogItem {
				return a.appendItems(items, g, s, 1, inStockOnly)
			})
			if err != nil {
				return nil, err
			}
		}
	}
	s := shape{count: clusterGPUsPerNode, cloud: cloudSecure, cluster: true}
	items, err = a.readGPUTypes(ctx, "CLUSTER", cloudSecure, clusterGPUsPerNode, items, func(items []vendors.CatalogItem, g *gpuType) []vendors.CatalogItem {
		for _, nodes := range clusterSizes {
			items = a.appendItems(items, g, s, nodes, inStockOnly)
		}
		return items
	})
	if err != nil {
		return nil, err
	}
	return size.Keep(items), nil
}

// readGPUTypes lists GPU types with their availability for one product,
// cloud and GPU count, and appends to items what add makes of each. The
// answer (gpuList's) is read type by type as it arrives; a read tried
// again drops what the failed attempt added.
func (a *Adapter) readGPUTypes(ctx context.Context, product, cloud string, count int, items []vendors.CatalogItem,
	add func([]vendors.CatalogItem, *gpuType) []vendors.CatalogItem) ([]vendors.CatalogItem, error) {
	q := url.Values{"include": {"AVAILABILITY"}, "product": {product}, "cloud": {cloud}, "count": {strconv.Itoa(count)}}
	op := fmt.Sprintf("list GPU types (%s %s x%d)", strings.ToLower(product), strings.ToLower(cloud), count)
	before := len(items)
	each := &vendors.Each[gpuType]{
		Field: "gpus",
		Start: func() { items = items[:before] },
		Item: func(g *gpuType) error {
			items = add(items, g)
			return nil
		},
	}
	err := a.client.Do(ctx, vendors.Request{Op: op, Method: http.MethodGet, Path: "/v2/catalog/gpus", Query: q}, each)
	return items, err
}

// appendItems appends one GPU type's per-data-centre availability as
// catalog items of shape s (of GPU type g) with nodes nodes: only the
// available ones when inStockOnly.
func (a *Adapter) appendItems(items []vendors.CatalogItem, g *gpuType, s shape, nodes int, inStockOnly bool) []vendors.CatalogItem {
	s.gpuID = g.ID
	perGPU, maxCount := g.Price.Secure, g.MaxCount.Secure
	if s.cloud == cloudCommunity {
		perGPU, maxCount = g.Price.Community, g.MaxCount.Community
	}
	if perGPU <= 0 || s.count > maxCount {
		return items // this cloud does not sell the shape
	}
	disk := ContainerDiskGB * containerDiskPerGBHour
	instanceType := s.String()
	for _, dc := range g.DataCenters {
		available := dc.Availability != availNone && dc.Availability != ""
		if inStockOnly && !available {
			continue
		}
		stock := -1
		if !available {
			stock = 0
		}
		it := vendors.CatalogItem{
			InstanceType:         instanceType,
			Region:               dc.ID,
			Country:              a.country(dc.ID),
			Contract:             vendors.OnDemand,
			GPUName:              g.ID,
			GPUCount:             s.count,
			BootDiskGB:           ContainerDiskGB,
			PricePerHour:         roundPrice(float64(s.count)*perGPU + disk),
			BootDiskPricePerHour: roundPrice(disk),
			Available:            available,
			Stock:                stock,
		}
		if s.cluster {
			it.Nodes = nodes
		}
		items = append(items, it)
	}
	return items
}

// roundPrice drops floating-point noise below a hundredth of a cent.
func roundPrice(v float64) float64 { return math.Round(v*10000) / 10000 }

// Create launches one pod for req.ResourceID, or returns the pod that
// already carries that id. A node of a cluster offer gets-or-creates the
// whole cluster (idempotent on req.Cluster.ClusterID) and returns the
// member pod whose rank is the node's index.
func (a *Adapter) Create(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
	if req.ResourceID == "" {
		return vendors.Instance{}, invalid("create", "resource id is required")
	}
	if req.Contract == vendors.Spot {
		return vendors.Instance{}, invalid("create", "RunPod's v2 API sells no spot (interruptible) capacity")
	}
	s, ok := parseShape(req.InstanceType)
	if !ok {
		return vendors.Instance{}, invalid("create", fmt.Sprintf("%q is not a RunPod instance type of this adapter", req.InstanceType))
	}
	if s.cluster != (req.Cluster != nil) {
		return vendors.Instance{}, invalid("create", "cluster instance types are launched as cluster nodes, and only they are")
	}
	container, err := a.container(req)
	if err != nil {
		return vendors.Instance{}, err
	}
	if req.Cluster != nil {
		return a.createClusterNode(ctx, req, s, container)
	}
	if existing, found, err := a.findByResource(ctx, req.ResourceID); err != nil || found {
		return existing, err
	}
	container.Env[envResource] = req.ResourceID
	body := createPodRequest{
		Name:            vendors.OwnedName(req.Owner, req.ResourceID),
		containerConfig: container,
		GPU:             &createGPU{ID: s.gpuID, Count: s.count},
		Cloud:           s.cloud,
		DataCenterIDs:   []string{req.Region},
		StartSSH:        true,
		Mounts:          mountsOf(req.Volumes),
	}
	var p pod
	// A create is never re-sent by the client: a timeout or 5xx comes back
	// as ErrTransient and the next Create finds the pod if it was made.
	if err := a.client.Do(ctx, vendors.Request{Op: "create pod", Method: http.MethodPost, Path: "/v2/pods", JSON: body}, &p); err != nil {
		return vendors.Instance{}, createError(err)
	}
	return a.instance(p), nil
}

// container is what every pod of a request runs: the official image with
// sshd on 22/tcp, root's key in PUBLIC_KEY (RunPod's way) and a start
// command that also installs the key, runs the renter's script in the
// background and then hands over to the image's /start.sh, which starts
// sshd and keeps the container alive.
func (a *Adapter) container(req vendors.CreateRequest) (containerConfig, error) {
	key, err := userdata.ValidateKey(req.SSHPublicKey)
	if err != nil {
		return containerConfig{}, invalid("create", err.Error())
	}
	kind, err := userdata.Classify(req.UserData)
	if err != nil {
		return containerConfig{}, invalid("create", err.Error())
	}
	if kind == userdata.CloudConfig {
		return containerConfig{}, invalid("create",
			"RunPod pods are containers and do not run cloud-init: send a #!/ shell script as the start-up part instead of #cloud-config")
	}
	script, err := userdata.StartupScript(key, req.UserData)
	if err != nil {
		return containerConfig{}, invalid("create", err.Error())
	}
	env := map[string]string{envKey: key}
	if req.Owner != "" {
		env[envOwner] = req.Owner
	}
	return containerConfig{
		Image: a.image,
		Args:  startCommand(script),
		Disk:  ContainerDiskGB,
		Env:   env,
		Ports: containerPorts(req.Ports),
	}, nil
}

// startCommand wraps a start-up script as the container's arguments. The
// script travels base64-encoded so no quoting can break it; it runs in
// the background so a long renter job never delays sshd. It is saved as
// supply-boot.sh because the script itself writes the renter's part to
// /root/supply-startup.sh.
func startCommand(script string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(script))
	return startPrefix + enc + " | base64 -d > /root/supply-boot.sh && chmod 700 /root/supply-boot.sh; " +
		"nohup /root/supply-boot.sh > /var/log/supply-boot.log 2>&1 & exec /start.sh'"
}

// startPrefix is how startCommand begins, up to the encoded script.
const startPrefix = "bash -c 'echo "

// bootScript is the start-up script inside a command startCommand made,
// as the pod runs it; "" for any other command.
func bootScript(command string) string {
	enc, ok := strings.CutPrefix(command, startPrefix)
	if !ok {
		return ""
	}
	enc, _, _ = strings.Cut(enc, " ")
	script, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return ""
	}
	return string(script)
}

// createClusterNode gets or creates the cluster of req.Cluster and returns
// its member of rank req.Cluster.Index.
func (a *Adapter) createClusterNode(ctx context.Context, req vendors.CreateRequest, s shape, container containerConfig) (vendors.Instance, error) {
	node := req.Cluster
	if node.Nodes < 2 || node.Index < 0 || node.Index >= node.Nodes {
		return vendors.Instance{}, invalid("create", fmt.Sprintf("cluster node %d of %d: RunPod clusters have 2 to 250 nodes", node.Index, node.Nodes))
	}
	c, found, err := a.findCluster(ctx, node.ClusterID)
	if err != nil {
		return vendors.Instance{}, err
	}
	if !found {
		container.Env[envCluster] = node.ClusterID
		body := createClusterRequest{
			Name:            vendors.OwnedName(req.Owner, node.ClusterID),
			Type:            clusterTraining,
			containerConfig: container,
			Compute:         clusterCompute{GPUTypeID: s.gpuID, GPUCountPerPod: s.count, PodCount: node.Nodes},
			DataCenterIDs:   []string{req.Region},
			StartSSH:        true,
		}
		if err := a.client.Do(ctx, vendors.Request{Op: "create cluster", Method: http.MethodPost, Path: "/v2/clusters", JSON: body}, &c); err != nil {
			return vendors.Instance{}, createError(err)
		}
	}
	var members podList
	if err := a.client.Do(ctx, vendors.Request{Op: "list cluster pods", Method: http.MethodGet, Path: "/v2/clusters/" + url.PathEscape(c.ID) + "/pods"}, &members); err != nil {
		return vendors.Instance{}, err
	}
	for _, p := range members.Pods {
		if p.Cluster != nil && p.Cluster.Rank != nil && *p.Cluster.Rank == node.Index {
			in := a.instance(p)
			in.ResourceID = req.ResourceID
			return in, nil
		}
	}
	// Ranks are assigned while the cluster is placed: ask again later.
	return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "create cluster node", Kind: vendors.ErrTransient,
		Message: fmt.Sprintf("cluster %s has no member of rank %d yet", c.ID, node.Index)}
}

// findCluster looks for the cluster supply named after clusterID.
func (a *Adapter) findCluster(ctx context.Context, clusterID string) (cluster, bool, error) {
	var list clusterList
	if err := a.client.Do(ctx, vendors.Request{Op: "list clusters", Method: http.MethodGet, Path: "/v2/clusters"}, &list); err != nil {
		return cluster{}, false, err
	}
	for _, c := range list.Clusters {
		if vendors.ResourceIDFromName(c.Name) == clusterID {
			return c, true, nil
		}
	}
	return cluster{}, false, nil
}

// DeleteCluster deletes the cluster supply created for clusterID and with
// it every member pod; a cluster already gone is not an error.
func (a *Adapter) DeleteCluster(ctx context.Context, clusterID string) error {
	c, found, err := a.findCluster(ctx, clusterID)
	if err != nil || !found {
		return err
	}
	return a.deleteCluster(ctx, c.ID)
}

func (a *Adapter) deleteCluster(ctx context.Context, id string) error {
	err := a.client.Do(ctx, vendors.Request{Op: "delete cluster", Method: http.MethodDelete, Path: "/v2/clusters/" + url.PathEscape(id)}, nil)
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// createError reads a create's refusal as RunPod's createPod documents
// it ("Which failures are worth retrying"): a 403 means "your account
// cannot access the requested pool. Skip this candidate, keep going", so
// it is ErrNoCapacity, which moves the renter on to another offer, not an
// ErrAuth that blames supply's key; a 404 names a template or GPU type
// that does not exist, so the request is wrong (ErrInvalid). createCluster
// documents the same statuses without the table; they are read the same.
func createError(err error) error {
	var e *vendors.Error
	if errors.As(err, &e) {
		switch e.Status {
		case http.StatusForbidden:
			e.Kind = vendors.ErrNoCapacity
		case http.StatusNotFound:
			e.Kind = vendors.ErrInvalid
		}
	}
	return err
}

func invalid(op, msg string) error {
	return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrInvalid, Message: msg}
}

// findByResource looks for the standalone pod that carries resourceID.
func (a *Adapter) findByResource(ctx context.Context, resourceID string) (vendors.Instance, bool, error) {
	pods, err := a.List(ctx)
	if err != nil {
		return vendors.Instance{}, false, err
	}
	for _, in := range pods {
		if in.ResourceID == resourceID {
			return in, true, nil
		}
	}
	return vendors.Instance{}, false, nil
}

// Get returns one pod by its RunPod id.
func (a *Adapter) Get(ctx context.Context, id string) (vendors.Instance, error) {
	var p pod
	if err := a.client.Do(ctx, vendors.Request{Op: "get pod", Method: http.MethodGet, Path: podPath(id)}, &p); err != nil {
		return vendors.Instance{}, err
	}
	return a.instance(p), nil
}

func podPath(id string) string { return "/v2/pods/" + url.PathEscape(id) }

// List returns every pod supply created, cluster members included. RunPod
// does not paginate the list.
func (a *Adapter) List(ctx context.Context) ([]vendors.Instance, error) {
	var resp podList
	q := url.Values{"includeClusterPods": {"true"}}
	if err := a.client.Do(ctx, vendors.Request{Op: "list pods", Method: http.MethodGet, Path: "/v2/pods", Query: q}, &resp); err != nil {
		return nil, err
	}
	var ours []vendors.Instance
	for _, p := range resp.Pods {
		if in := a.instance(p); in.ResourceID != "" {
			ours = append(ours, in)
		}
	}
	return ours, nil
}

// Terminate deletes a pod. RunPod refuses to delete a cluster member on
// its own (409), so terminating a member deletes its whole cluster:
// supply only ever deletes a cluster's nodes together.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	err := a.client.Do(ctx, vendors.Request{Op: "terminate pod", Method: http.MethodDelete, Path: podPath(id)}, nil)
	var e *vendors.Error
	switch {
	case err == nil || vendors.IsNotFound(err):
		return nil
	case errors.As(err, &e) && e.Status == http.StatusConflict:
		var p pod
		if err := a.client.Do(ctx, vendors.Request{Op: "get pod", Method: http.MethodGet, Path: podPath(id)}, &p); err != nil {
			if vendors.IsNotFound(err) {
				return nil
			}
			return err
		}
		if p.Cluster == nil {
			return err
		}
		return a.deleteCluster(ctx, p.Cluster.ID)
	}
	return err
}

// instance maps a pod to supply's view of it.
func (a *Adapter) instance(p pod) vendors.Instance {
	id, owner := marksOf(p)
	in := vendors.Instance{
		ID:          p.ID,
		ResourceID:  id,
		Owner:       owner,
		Name:        p.Name,
		State:       state(p),
		VendorState: p.Status,
		CreatedAt:   p.CreatedAt,
		SSHPort:     22,
	}
	if p.GPU != nil {
		in.InstanceType = shape{gpuID: p.GPU.ID, count: max(p.GPU.Count, 1), cloud: p.Cloud, cluster: p.Cluster != nil}.String()
	}
	if p.DataCenterID != nil {
		in.Region = *p.DataCenterID
	}
	if d := p.SSH.Direct; d != nil {
		in.ExternalIP, in.SSHPort = d.Host, d.Port
		if in.SSHPort == 0 {
			in.SSHPort = a.sshPort(d.Host)
		}
	}
	in.Ports = mappings(p)
	switch {
	case p.Cluster != nil && p.Cluster.IP != "":
		in.InternalIP = p.Cluster.IP
	case p.GlobalNetworking.Enabled:
		in.InternalIP = p.GlobalNetworking.IP
	}
	return in
}

// marksOf reads supply's id and owner from the pod's env, else its name.
// A cluster member carries only its cluster's id (and the owner): RunPod
// names members itself and refuses changes to them, so a node's own id
// cannot travel with its pod.
func marksOf(p pod) (resourceID, owner string) {
	nameOwner, nameID := vendors.ParseName(p.Name)
	owner = p.Env[envOwner]
	if owner == "" {
		owner = nameOwner
	}
	switch {
	case p.Env[envResource] != "":
		return p.Env[envResource], owner
	case nameID != "":
		return nameID, owner
	case p.Cluster != nil:
		return p.Env[envCluster], owner
	}
	return "", ""
}

// state maps RunPod's pod status. A pod is running only once sshd has a
// public address (ssh.direct): before that, SSH cannot answer.
func state(p pod) vendors.State {
	switch p.Status {
	case statusRunning:
		if p.SSH.Direct != nil && p.SSH.Direct.Host != "" {
			return vendors.StateRunning
		}
		return vendors.StatePending
	case statusExited:
		return vendors.StateStopped
	case statusError:
		return vendors.StateFailed
	case statusTerminated:
		return vendors.StateTerminated
	default: // PROVISIONING, STARTING
		return vendors.StatePending
	}
}

// capacityPhrases are the details of RunPod's 400s that mean no capacity.
// createPod's description says "400 covers both 'your request breaks a
// rule' and 'no capacity', because capacity exhaustion currently carries
// no machine-readable code of its own — only a human-readable detail",
// and it quotes no detail: the wording is documented nowhere by RunPod.
// These phrases are RunPod's own answers as quoted from live create calls
// in public client code and run logs (the REST v2 detail "There are no
// longer any instances available with the requested specifications.
// Please refresh and try again.", and the pod-placement "This machine does
// not have the resources to deploy your pod."). They are matched narrowly,
// as fragments, case-insensitively; any other 400 is a request RunPod
// rejected (ErrInvalid). Check them against the live API first.
var capacityPhrases = vendors.Phrases{
	{Phrase: "no longer any instances available", Kind: vendors.ErrNoCapacity},
	{Phrase: "does not have the resources to deploy", Kind: vendors.ErrNoCapacity},
}

// parseError reads RunPod's problem+json body (ErrorResponse) and
// classifies it by what RunPod's description says each status means
// (components/responses, and createPod's "Which failures are worth
// retrying" table); vendors.StatusKind gives each of these kinds:
//
//	400 BadRequestError: breaks a request rule → ErrInvalid, or no
//	    capacity (capacityPhrases) → ErrNoCapacity
//	401 UnauthorizedError: bearer token missing or invalid → ErrAuth
//	402 createPod's table: "Insufficient balance. Stop" → ErrQuota
//	403 ForbiddenError: the token does not grant access → ErrAuth
//	    (on a create, a pool the account cannot use: see createError)
//	404 NotFoundError → ErrNotFound (on a create: see createError)
//	409 deletePod: "Pod belongs to a cluster" → ErrInvalid (Terminate
//	    deletes the cluster instead)
//	422 UnprocessableEntityError: "Fix the request. Never retry" → ErrInvalid
//	429 TooManyRequestsError, Retry-After in seconds → ErrRateLimited
//	5xx createPod's table: "Transient upstream failure" → ErrTransient
func parseError(status int, _ http.Header, body []byte) *vendors.Error {
	var p problem
	_ = json.Unmarshal(body, &p) // a proxy's 502 may not be problem+json
	e := &vendors.Error{Kind: vendors.StatusKind(status), Message: strings.TrimSpace(p.Detail)}
	if len(p.Errors) > 0 {
		e.Message = strings.TrimSpace(e.Message + ": " + strings.Join(p.Errors, "; "))
	}
	if e.Message == "" {
		e.Message = p.Title
	}
	if kind := capacityPhrases.Kind(p.Detail); status == http.StatusBadRequest && kind != nil {
		e.Kind = kind
	}
	return e
}
