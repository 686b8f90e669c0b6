package runpod

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

type fixture = vendortest.Fixture[*StandIn, *Adapter]

const testKey = "rp-test-key"

var setup = vendortest.Setup[*StandIn, *Adapter]{Key: testKey, Clock: clockBase, NewStandIn: NewStandIn,
	NewAdapter: func(_ *StandIn, url string, hosts *standin.Hosts, v vendortest.Variant) *Adapter {
		return New(Config{APIKey: v.Key, BaseURL: url, SSHPort: hosts.Port, HTTP: &http.Client{Timeout: v.Timeout}, RateLimit: 1000, Burst: 100})
	}}

// clockBase starts a stock-drift period on a minute boundary: tests run
// well within it, so which items flicker out of stock is fixed.
var clockBase = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func createRequest(t *testing.T, dc string, s shape) vendors.CreateRequest {
	t.Helper()
	if standin.Flicker(0.05, dc+"/"+s.gpuID+"/"+s.cloud, clockBase) {
		t.Fatalf("%s/%s is flickered out of stock at the test clock: pick another", dc, s)
	}
	return vendors.CreateRequest{
		ResourceID: uuid.NewString(), InstanceType: s.String(), Region: dc,
		Contract: vendors.OnDemand, SSHPublicKey: vendortest.PublicKey(t),
	}
}

var (
	h100    = shape{gpuID: "NVIDIA H100 80GB HBM3", count: 1, cloud: cloudSecure}
	l40s    = shape{gpuID: "NVIDIA L40S", count: 1, cloud: cloudSecure}
	rtx4090 = shape{gpuID: "NVIDIA GeForce RTX 4090", count: 2, cloud: cloudCommunity}
)

// TestCatalogStreamReadsWholeAnswers: the catalog, read GPU type by GPU
// type as each answer arrives, is what the answers decoded whole (gpuList)
// make, at scale 3 so that the answers hold many types.
func TestCatalogStreamReadsWholeAnswers(t *testing.T) {
	now := clockBase
	f := setup.Serve(t, standin.Options{Now: func() time.Time { return now }, Scale: 3}, nil)
	got, err := f.A.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The stand-in writes its answers a GPU type at a time: they must be
	// what encoding gpuList whole writes.
	whole := func(product, cloud string, count int) []gpuType {
		var body []byte
		q := url.Values{"include": {"AVAILABILITY"}, "product": {product}, "cloud": {cloud}, "count": {strconv.Itoa(count)}}
		if err := f.A.client.Do(context.Background(), vendors.Request{Op: "list", Method: http.MethodGet, Path: "/v2/catalog/gpus", Query: q}, &body); err != nil {
			t.Fatal(err)
		}
		var res gpuList
		vendortest.Encoded(t, body, &res)
		return res.GPUs
	}
	var want []vendors.CatalogItem
	for _, cloud := range []string{cloudSecure, cloudCommunity} {
		for _, count := range podCounts {
			for _, g := range whole("POD", cloud, count) {
				want = f.A.appendItems(want, &g, shape{count: count, cloud: cloud}, 1, false)
			}
		}
	}
	for _, g := range whole("CLUSTER", cloudSecure, clusterGPUsPerNode) {
		for _, nodes := range clusterSizes {
			want = f.A.appendItems(want, &g, shape{count: clusterGPUsPerNode, cloud: cloudSecure, cluster: true}, nodes, false)
		}
	}
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("streamed %d items, whole answers make %d", len(got), len(want))
	}
	// The in-stock listing the offer index reads is the available items
	// of the same catalog, in the same order.
	inStock, err := f.A.CatalogInStock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	available := slices.DeleteFunc(got, func(it vendors.CatalogItem) bool { return !it.Available })
	if len(available) == 0 || len(available) == len(want) || !reflect.DeepEqual(inStock, available) {
		t.Fatalf("in stock: %d items, want the %d available of %d", len(inStock), len(available), len(want))
	}
}

// TestSuite runs the vendor suite against the adapter and its stand-in.
func TestSuite(t *testing.T) {
	ctx := context.Background()
	seeded := map[string]seedGPU{}
	// The seeded catalog and the names in RunPod's published examples.
	gpuNames := []string{"NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 5090", "NVIDIA H100 PCIe", "NVIDIA H100 80GB HBM3", "NVIDIA L40", "NVIDIA RTX 4090"}
	for _, g := range seedGPUs {
		seeded[g.id] = g
		gpuNames = append(gpuNames, g.id)
	}
	disk := roundPrice(ContainerDiskGB * containerDiskPerGBHour)
	create := func(dc string, s shape) func(t *testing.T) vendors.CreateRequest {
		return func(t *testing.T) vendors.CreateRequest { return createRequest(t, dc, s) }
	}
	vendortest.Run(t, vendortest.Kit{
		Volumes: &vendortest.VolumeKit{MountPath: func(vendors.Volume) string { return mountPath }},
		Start:   func(t *testing.T, o standin.Options) *vendortest.Rig { return setup.Serve(t, o, nil).Rig },
		Clock:   clockBase,
		Request: create("US-KS-2", h100),
		Create:  vendortest.Call{Method: http.MethodPost, Path: "/v2/pods"},
		Get: func(id string) vendortest.Call {
			return vendortest.Call{Method: http.MethodGet, Path: "/v2/pods/" + id}
		},
		Missing: "nosuchpod",
		Ports:   true,
		Hang:    vendortest.Call{Path: "/v2/catalog/gpus"},

		GPUNames:    gpuNames,
		SomeSoldOut: true,
		CatalogItem: func(t *testing.T, it vendors.CatalogItem, now time.Time) {
			key := it.InstanceType + "@" + it.Region + "/" + strconv.Itoa(it.Nodes)
			s, ok := parseShape(it.InstanceType)
			g := seeded[s.gpuID]
			if !ok || it.GPUName != g.id || it.GPUCount != s.count || s.count > g.maxCount(s.cloud) {
				t.Errorf("%s: shape %+v, GPU %q x%d", key, s, it.GPUName, it.GPUCount)
				return
			}
			perGPU := standin.Drift(g.listPrice(s.cloud), map[string]float64{cloudSecure: 0.03, cloudCommunity: 0.05}[s.cloud], "runpod/"+strings.ToLower(s.cloud)+"/"+g.id, now)
			if want := roundPrice(float64(s.count)*perGPU + disk); it.PricePerHour != want || it.BootDiskPricePerHour != disk || it.BootDiskGB != ContainerDiskGB {
				t.Errorf("%s: price %v (disk %v), want %d × %v + %v = %v", key, it.PricePerHour, it.BootDiskPricePerHour, s.count, perGPU, disk, want)
			}
			if it.Country == "" || it.Country != dataCenterCountry[it.Region] || it.Contract != vendors.OnDemand {
				t.Errorf("%s: country %q, contract %s", key, it.Country, it.Contract)
			}
			perUnit := s.count
			if s.cluster {
				perUnit *= 2
				if it.Nodes < 2 || s.count != clusterGPUsPerNode || s.cloud != cloudSecure {
					t.Errorf("%s: cluster item with %d nodes", key, it.Nodes)
				}
			} else if it.Nodes != 0 {
				t.Errorf("%s: a pod item with %d nodes", key, it.Nodes)
			}
			inStock := seedStock[g.id][s.cloud][it.Region]/perUnit > 0 && !standin.Flicker(0.05, it.Region+"/"+g.id+"/"+s.cloud, now)
			if it.Available != inStock || (it.Stock == 0) != !inStock || (inStock && it.Stock != -1) {
				t.Errorf("%s: available %v stock %d, want in stock %v", key, it.Available, it.Stock, inStock)
			}
		},
		ScaledRegion:   "EU-RO-1-s3",
		Country:        New(Config{Logger: slog.New(slog.DiscardHandler)}).country,
		UnknownRegions: []string{"MARS-1", "EU-RO-1-sx", "EU-RO-1-s"},

		UserData: true,
		Created:  created,
		Errors: []vendortest.ErrorCase{
			{Name: "sold out", Call: vendortest.Creating(create("EU-SE-1", h100)), Want: vendors.ErrNoCapacity},
			{Name: "last unit taken", Setup: func(t *testing.T, r *vendortest.Rig) {
				if _, err := r.Vendor.Create(ctx, createRequest(t, "OC-AU-1", shape{gpuID: "NVIDIA H100 80GB HBM3", count: 8, cloud: cloudSecure})); err != nil {
					t.Fatal(err)
				}
			}, Call: vendortest.Creating(create("OC-AU-1", h100)), Want: vendors.ErrNoCapacity},
			{Name: "balance", Setup: func(t *testing.T, r *vendortest.Rig) { r.StandIn.(*StandIn).SetBalance(5) },
				Call: vendortest.Creating(create("US-KS-2", shape{gpuID: "NVIDIA H100 80GB HBM3", count: 8, cloud: cloudSecure})), Want: vendors.ErrQuota},
			{Name: "not sold in the cloud", Call: vendortest.Creating(create("US-TX-3", shape{gpuID: "NVIDIA B200", count: 1, cloud: cloudCommunity})), Want: vendors.ErrInvalid},
			{Name: "unknown type", Call: vendortest.Creating(func(t *testing.T) vendors.CreateRequest {
				req := createRequest(t, "US-TX-3", l40s)
				req.InstanceType = "n3-H100x1"
				return req
			}), Want: vendors.ErrInvalid},
			{Name: "spot", Call: vendortest.Creating(func(t *testing.T) vendors.CreateRequest {
				req := createRequest(t, "EU-RO-1", l40s)
				req.Contract = vendors.Spot
				return req
			}), Want: vendors.ErrInvalid},
			// createPod: 403 "Your account cannot access the requested pool.
			// Skip this candidate, keep going."
			{Name: "pool not accessible", Setup: func(t *testing.T, r *vendortest.Rig) { r.StandIn.(*StandIn).DenyPool(l40s.gpuID) },
				Call: vendortest.Creating(create("EU-RO-1", l40s)), Want: vendors.ErrNoCapacity},
			{Name: "cluster pool not accessible", Setup: func(t *testing.T, r *vendortest.Rig) { r.StandIn.(*StandIn).DenyPool(clusterShape.gpuID) },
				Call: vendortest.Creating(func(t *testing.T) vendors.CreateRequest {
					req := createRequest(t, "US-KS-2", clusterShape)
					req.Cluster = &vendors.ClusterNode{ClusterID: uuid.NewString(), Index: 0, Nodes: 2}
					return req
				}), Want: vendors.ErrNoCapacity},
			// Away from a create, a 403 is ForbiddenError: the key lacks access.
			{Name: "forbidden read", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.Faults().Add(standin.Rule{Method: http.MethodGet, PathPrefix: "/v2/pods", Status: http.StatusForbidden})
			}, Call: func(t *testing.T, r *vendortest.Rig) error {
				_, err := r.Vendor.List(ctx)
				return err
			}, Want: vendors.ErrAuth},
		},
		SpendRateLimit: func(t *testing.T, r *vendortest.Rig) {
			r.StandIn.(*StandIn).SetRateLimit(1)
			if _, err := r.Vendor.List(ctx); err != nil {
				t.Fatal(err)
			}
		},
		Extra: map[string]func(t *testing.T, r *vendortest.Rig){
			"CreateLifecycle": func(t *testing.T, r *vendortest.Rig) {
				if entries := r.StandIn.Instances(); len(entries) != 1 || entries[0].State != statusTerminated {
					t.Errorf("console after deletion: %+v", entries)
				}
			},
		},
	})
}

// created checks RunPod's create body as it reached the stand-in.
func created(t *testing.T, r *vendortest.Rig, req vendors.CreateRequest, in vendors.Instance) {
	if in.Name != vendors.InstanceName(req.ResourceID) || in.State != vendors.StatePending || in.Region != "US-KS-2" || in.InstanceType != h100.String() {
		t.Errorf("created pod %+v", in)
	}
	var sent createPodRequest
	r.Rec.JSON(t, "POST /v2/pods", &sent)
	key, _ := userdataKey(req.SSHPublicKey)
	if sent.Name != in.Name || sent.Image != DefaultImage || sent.GPU == nil || *sent.GPU != (createGPU{ID: h100.gpuID, Count: 1}) ||
		sent.Cloud != cloudSecure || len(sent.DataCenterIDs) != 1 || sent.DataCenterIDs[0] != "US-KS-2" || !sent.StartSSH ||
		len(sent.Ports) != 1 || sent.Ports[0] != "22/tcp" || sent.Disk != ContainerDiskGB {
		t.Errorf("create body %+v", sent)
	}
	if sent.Env[envKey] != key || sent.Env[envResource] != req.ResourceID {
		t.Errorf("env %v: want PUBLIC_KEY %q and the resource id", sent.Env, key)
	}
	script := bootScript(sent.Args)
	if !strings.Contains(sent.Args, "exec /start.sh") || !strings.Contains(script, key) || !strings.Contains(script, "echo renter-script") ||
		!strings.Contains(script, "/root/.ssh/authorized_keys") {
		t.Errorf("start command %q runs:\n%s\nwant root's key, the renter's script and /start.sh", sent.Args, script)
	}
}

// TestCatalogShapes: one item a shape, data centre and size; clusters
// sold; no shape above its cloud's largest.
func TestCatalogShapes(t *testing.T) {
	f := setup.Serve(t, standin.Options{Now: func() time.Time { return clockBase }}, nil)
	items, err := f.A.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	clusters := 0
	for _, it := range items {
		key := it.InstanceType + "@" + it.Region + "/" + strconv.Itoa(it.Nodes)
		if seen[key] {
			t.Errorf("duplicate item %s", key)
		}
		seen[key] = true
		if it.Nodes > 0 {
			clusters++
		}
	}
	if clusters == 0 {
		t.Error("the seeded catalog should have cluster items")
	}
	for _, want := range []string{"1x NVIDIA H100 80GB HBM3 secure@EU-SE-1/0", "8x NVIDIA H100 80GB HBM3 secure cluster@US-KS-2/4", "1x NVIDIA RTX A6000 community@AP-JP-1/0"} {
		if !seen[want] {
			t.Errorf("catalog lacks %s", want)
		}
	}
	if seen["8x NVIDIA H100 PCIe community@US-IL-1/0"] {
		t.Error("a shape above the cloud's maxCount was sold")
	}
}

func TestDataCentersHaveCountries(t *testing.T) {
	a := New(Config{Logger: slog.New(slog.DiscardHandler)})
	for _, dc := range seedDataCenters {
		if a.country(dc.id) == "" {
			t.Errorf("seeded data centre %s has no country", dc.id)
		}
	}
	if c := a.country("AP-JP-1-s3"); c != "JP" {
		t.Errorf("synthetic copy of AP-JP-1 in %q", c)
	}
}

func TestShapeRoundTrip(t *testing.T) {
	for _, s := range []shape{h100, rtx4090, {gpuID: "NVIDIA B200", count: 8, cloud: cloudSecure, cluster: true}} {
		if got, ok := parseShape(s.String()); !ok || got != s {
			t.Errorf("parseShape(%q) = %+v, %v", s.String(), got, ok)
		}
	}
	for _, bad := range []string{"", "H100", "0x NVIDIA L4 secure", "2x NVIDIA L4 spot", "x NVIDIA L4 secure", "2x secure"} {
		if s, ok := parseShape(bad); ok {
			t.Errorf("parseShape(%q) = %+v, want refusal", bad, s)
		}
	}
}

// userdataKey is the key as the adapter normalises it.
func userdataKey(key string) (string, error) {
	pk, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " " + comment, nil
}

func TestCloudConfigIsRefused(t *testing.T) {
	f := setup.Serve(t, standin.Options{}, nil)
	req := createRequest(t, "EU-RO-1", l40s)
	req.UserData = "#cloud-config\npackages: [htop]\n"
	_, err := f.A.Create(context.Background(), req)
	if !errors.Is(err, vendors.ErrInvalid) || !strings.Contains(err.Error(), "cloud-init") {
		t.Errorf("a cloud-config for a pod: %v, want ErrInvalid explaining pods run no cloud-init", err)
	}
	if n := f.Rec.Count("POST /v2/pods"); n != 0 {
		t.Errorf("%d creates sent", n)
	}
}

// TestCapacityIsMatchedByPhrase: RunPod gives capacity no code, so the
// adapter matches fragments of the detail. The stand-in's sentence is not
// any fragment, and other sentences carrying a fragment match too, so the
// matching is about RunPod's phrase, not the stand-in's exact words.
func TestCapacityIsMatchedByPhrase(t *testing.T) {
	f := setup.Serve(t, standin.Options{}, nil)
	_, err := f.A.Create(context.Background(), createRequest(t, "EU-SE-1", h100))
	var ve *vendors.Error
	if !errors.As(err, &ve) || ve.Kind != vendors.ErrNoCapacity || ve.Status != http.StatusBadRequest {
		t.Fatalf("sold out: %v, want a 400 of kind ErrNoCapacity", err)
	}
	for _, p := range capacityPhrases {
		if strings.EqualFold(ve.Message, p.Phrase) {
			t.Errorf("the stand-in answers exactly the phrase %q: the test would not show the matching is by phrase", p.Phrase)
		}
	}
	tests := []struct {
		detail string
		want   error
	}{
		{"This machine does not have the resources to deploy your pod. Please try a different machine.", vendors.ErrNoCapacity},
		{"THERE ARE NO LONGER ANY INSTANCES AVAILABLE in EU-RO-1 for 8x H100", vendors.ErrNoCapacity},
		{"exactly one of gpu or cpu must be set", vendors.ErrInvalid},
		{"capacity must be positive", vendors.ErrInvalid},
		{"no instances of this template are available", vendors.ErrInvalid},
	}
	for _, tt := range tests {
		b, _ := json.Marshal(problem{Title: "Bad Request", Status: 400, Detail: tt.detail})
		if e := parseError(400, nil, b); e.Kind != tt.want || e.Message != tt.detail {
			t.Errorf("400 %q: %v %q, want %v", tt.detail, e.Kind, e.Message, tt.want)
		}
	}
	b, _ := json.Marshal(problem{Title: "Unprocessable Entity", Status: 422, Detail: capacityDetail})
	if e := parseError(422, nil, b); e.Kind != vendors.ErrInvalid {
		t.Errorf("a 422 with capacity words: %v, want ErrInvalid (only a 400 can mean capacity)", e.Kind)
	}
}

var clusterShape = shape{gpuID: "NVIDIA H100 80GB HBM3", count: 8, cloud: cloudSecure, cluster: true}

// createCluster creates every node of a cluster offer, as supply does.
func createCluster(t *testing.T, f *fixture, dc string, nodes int) []vendors.Instance {
	t.Helper()
	clusterID, key := uuid.NewString(), vendortest.PublicKey(t)
	var out []vendors.Instance
	for i := range nodes {
		req := createRequest(t, dc, clusterShape)
		req.SSHPublicKey = key
		req.Cluster = &vendors.ClusterNode{ClusterID: clusterID, Name: "training", Index: i, Nodes: nodes}
		in, err := f.A.Create(context.Background(), req)
		if err != nil {
			t.Fatalf("create node %d: %v", i, err)
		}
		if in.ResourceID != req.ResourceID {
			t.Errorf("node %d answered for resource %q, want %q", i, in.ResourceID, req.ResourceID)
		}
		out = append(out, in)
	}
	return out
}

// sentClusterID is supply's cluster id as the last cluster create sent it.
func sentClusterID(t *testing.T, f *fixture) string {
	t.Helper()
	var sent createClusterRequest
	f.Rec.JSON(t, "POST /v2/clusters", &sent)
	return sent.Env[envCluster]
}

func TestCluster(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: 300 * time.Millisecond}, nil)
	ctx := context.Background()
	nodes := createCluster(t, f, "US-KS-2", 2)
	if f.Rec.Count("POST /v2/clusters") != 1 || nodes[0].ID == nodes[1].ID {
		t.Fatalf("%d cluster creates; nodes %s and %s", f.Rec.Count("POST /v2/clusters"), nodes[0].ID, nodes[1].ID)
	}
	var sent createClusterRequest
	f.Rec.JSON(t, "POST /v2/clusters", &sent)
	clusterID := sent.Env[envCluster]
	if sent.Compute != (clusterCompute{GPUTypeID: clusterShape.gpuID, GPUCountPerPod: 8, PodCount: 2}) || sent.Type != clusterTraining ||
		sent.Name != vendors.InstanceName(clusterID) || len(sent.DataCenterIDs) != 1 || sent.DataCenterIDs[0] != "US-KS-2" ||
		sent.Env[envKey] == "" || !sent.StartSSH || sent.Image != DefaultImage {
		t.Errorf("cluster create body %+v", sent)
	}

	// A retried node create finds its pod again.
	req := createRequest(t, "US-KS-2", clusterShape)
	req.Cluster = &vendors.ClusterNode{ClusterID: clusterID, Index: 1, Nodes: 2}
	again, err := f.A.Create(ctx, req)
	if err != nil || again.ID != nodes[1].ID || f.Rec.Count("POST /v2/clusters") != 1 {
		t.Errorf("re-create node 1: %+v, %v; %d cluster creates", again, err, f.Rec.Count("POST /v2/clusters"))
	}

	for _, n := range nodes {
		up, _ := vendortest.WaitFor(t, f.A, n.ID, vendortest.Running)
		if up.InternalIP == "" || up.InstanceType != clusterShape.String() {
			t.Errorf("member %+v", up)
		}
		vendortest.DialBanner(t, up.ExternalIP, up.SSHPort)
	}
	list, err := f.A.List(ctx)
	if err != nil || len(list) != 2 || list[0].ResourceID != clusterID || list[1].ResourceID != clusterID {
		t.Errorf("List = %+v, %v; want both members carrying cluster %s", list, err, clusterID)
	}

	// Terminating a member deletes the cluster: RunPod refuses to delete one.
	if err := f.A.Terminate(ctx, nodes[0].ID); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		vendortest.WaitFor(t, f.A, n.ID, vendortest.Gone)
		if err := f.A.Terminate(ctx, n.ID); err != nil {
			t.Errorf("terminate a member of a deleted cluster: %v", err)
		}
	}
	if err := f.A.DeleteCluster(ctx, clusterID); err != nil {
		t.Errorf("DeleteCluster of a deleted cluster: %v", err)
	}
	for _, e := range f.SI.Instances() {
		if e.Live {
			t.Errorf("pod %s still live", e.ID)
		}
	}
}

func TestDeleteCluster(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: time.Second}, nil)
	nodes := createCluster(t, f, "EU-RO-1", 3)
	if err := f.A.DeleteCluster(context.Background(), sentClusterID(t, f)); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if _, err := f.A.Get(context.Background(), n.ID); !errors.Is(err, vendors.ErrNotFound) {
			t.Errorf("member %s after DeleteCluster: %v", n.ID, err)
		}
	}
}

func TestClusterWithoutCapacity(t *testing.T) {
	f := setup.Serve(t, standin.Options{}, nil)
	req := createRequest(t, "US-GA-1", clusterShape) // 24 GPUs: room for 3 nodes, not 4
	req.Cluster = &vendors.ClusterNode{ClusterID: uuid.NewString(), Index: 0, Nodes: 4}
	if _, err := f.A.Create(context.Background(), req); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("a cluster too big for the data centre: %v, want ErrNoCapacity", err)
	}
	req.InstanceType = h100.String()
	if _, err := f.A.Create(context.Background(), req); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("a pod type as a cluster node: %v, want ErrInvalid", err)
	}
}

// TestClusterOwnership: a cluster's members carry the owner too, though
// RunPod names them itself.
func TestClusterOwnership(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: time.Second}, nil)
	req := createRequest(t, "US-KS-2", clusterShape)
	req.Owner = vendors.NewOwner()
	req.Cluster = &vendors.ClusterNode{ClusterID: uuid.NewString(), Index: 0, Nodes: 2}
	in, err := f.A.Create(context.Background(), req)
	for errors.Is(err, vendors.ErrTransient) {
		time.Sleep(50 * time.Millisecond)
		in, err = f.A.Create(context.Background(), req)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.A.Get(context.Background(), in.ID)
	if err != nil || got.Owner != req.Owner || got.ResourceID != req.Cluster.ClusterID {
		t.Errorf("member %+v %v, want owner %s and the cluster's id", got, err, req.Owner)
	}
}
