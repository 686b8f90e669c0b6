package scaleway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/scaleway/scaleway-sdk-go/api/instance/v1"
	"github.com/scaleway/scaleway-sdk-go/scw"
	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

type fixture struct {
	si    *StandIn
	srv   *httptest.Server
	a     *Adapter
	rec   *vendortest.Recorder
	hosts *standin.Hosts
}

const (
	testKey     = "scw-test-secret"
	testProject = "fa1e3217-dc80-42ac-85c3-3f034b78b552"
)

// newFixture serves a stand-in over loopback HTTP and points an adapter
// at it.
func newFixture(t *testing.T, o standin.Options) *fixture {
	t.Helper()
	return newFixtureWrapped(t, o, nil)
}

// newFixtureWrapped is newFixture with wrap between the stand-in and the
// adapter.
func newFixtureWrapped(t *testing.T, o standin.Options, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	o = vendortest.StandInOptions(o, testKey, clockBase)
	si, err := NewStandIn(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { si.Close() })
	srv, rec := vendortest.Serve(t, si, wrap)
	a := New(Config{APIKey: testKey, ProjectID: testProject, BaseURL: srv.URL, SSHPort: o.Hosts.Port,
		HTTP: &http.Client{Timeout: 2 * time.Second}, RateLimit: 1000, Burst: 100, Zones: si.Zones()})
	return &fixture{si: si, srv: srv, a: a, rec: rec, hosts: o.Hosts}
}

// clockBase starts a stock-drift period: tests run well within it, so
// which types flicker out of stock is fixed (see createRequest).
var clockBase = time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC)

func createRequest(t *testing.T, zone, typ string) vendors.CreateRequest {
	t.Helper()
	if standin.Flicker(0.05, zone+"/"+typ, clockBase) {
		t.Fatalf("%s/%s is flickered out of stock at the test clock: pick another type", zone, typ)
	}
	return vendors.CreateRequest{
		ResourceID: uuid.NewString(), InstanceType: typ, Region: zone,
		Contract: vendors.OnDemand, SSHPublicKey: vendortest.PublicKey(t),
	}
}

func TestCatalog(t *testing.T) {
	now := clockBase
	f := newFixture(t, standin.Options{Now: func() time.Time { return now }})
	items, err := f.a.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]seedType{}
	for _, st := range seedTypes {
		types[st.name] = st
	}
	want := 0
	for _, sold := range seedStock {
		for name := range sold {
			if types[name].gpus > 0 {
				want++
			}
		}
	}
	if len(items) != want {
		t.Fatalf("catalog has %d items, want %d (one per GPU type and zone)", len(items), want)
	}
	diskUSD := roundPrice(DefaultBootDiskGB * blockEURPerGBMonth / hoursPerMonth * DefaultEURToUSD)
	soldOut := 0
	for _, it := range items {
		st := types[it.InstanceType]
		if it.GPUCount != st.gpus || it.VCPUs != st.cpus || it.MemoryGB != float64(st.ramGiB) {
			t.Errorf("%s/%s: hardware %+v does not match the type %+v", it.Region, it.InstanceType, it, st)
		}
		eur := hourlyPrice(offer{zone: it.Region, typ: st}, now)
		if want := roundPrice(eur*DefaultEURToUSD + diskUSD); it.PricePerHour != want {
			t.Errorf("%s/%s: price %v USD per node-hour, want %v EUR × %v + disk %v = %v", it.Region, it.InstanceType, it.PricePerHour, eur, DefaultEURToUSD, diskUSD, want)
		}
		if it.BootDiskGB != DefaultBootDiskGB || it.BootDiskPricePerHour != diskUSD || diskUSD <= 0 || it.Contract != vendors.OnDemand {
			t.Errorf("%s/%s: boot disk %d GB at %v/h, contract %s", it.Region, it.InstanceType, it.BootDiskGB, it.BootDiskPricePerHour, it.Contract)
		}
		if it.Country != zoneCountry[it.Region] || it.Country == "" {
			t.Errorf("%s: country %q", it.Region, it.Country)
		}
		if _, ok := gpus.GPUs().Lookup(it.GPUName); !ok {
			t.Errorf("%s: GPU name %q is not in the GPU registry", it.InstanceType, it.GPUName)
		}
		inStock := seedStock[it.Region][it.InstanceType] > 0 && !standin.Flicker(0.05, it.Region+"/"+it.InstanceType, now)
		if it.Available != inStock || (it.Stock == 0) != !inStock {
			t.Errorf("%s/%s: available %v stock %d, want in stock %v", it.Region, it.InstanceType, it.Available, it.Stock, inStock)
		}
		if !it.Available {
			soldOut++
		}
	}
	if soldOut == 0 {
		t.Error("the seeded catalog should have sold-out items")
	}
}

// TestPriceDecimals serves a type priced 0.01375 EUR/h: the SDK decodes
// hourly_price into a float32, whose binary value (0.013749999...) would
// round a cent-hundredth low once converted; the adapter prices the
// decimal Scaleway sent.
func TestPriceDecimals(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Total-Count", "1")
		body := `{"servers": {"L4-1-24G": {"hourly_price": 0.01375, "ncpus": 8, "ram": 51539607552, "gpu": 1, "gpu_info": {"gpu_manufacturer": "NVIDIA", "gpu_name": "L4", "gpu_memory": 25769803776}, "end_of_service": false}}}`
		if strings.HasSuffix(r.URL.Path, "/availability") {
			body = `{"servers": {"L4-1-24G": {"availability": "available"}}}`
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	a := New(Config{APIKey: testKey, BaseURL: srv.URL, Zones: []string{"fr-par-2"}})
	items, err := a.Catalog(context.Background())
	if err != nil || len(items) != 1 {
		t.Fatalf("catalog %+v, %v", items, err)
	}
	diskUSD := roundPrice(DefaultBootDiskGB * blockEURPerGBMonth / hoursPerMonth * DefaultEURToUSD)
	if want := roundPrice(0.01375*DefaultEURToUSD + diskUSD); items[0].PricePerHour != want {
		t.Errorf("price %v USD/h, want %v", items[0].PricePerHour, want)
	}
}

func TestGPUNames(t *testing.T) {
	a := New(Config{Logger: slog.New(slog.DiscardHandler)})
	type gpuInfo = instance.ServerTypeGPUInfo
	tests := []struct {
		typ  string
		info gpuInfo
		want string // canonical registry name
	}{
		{"L4-1-24G", gpuInfo{GpuName: "L4", GpuMemory: 24 << 30}, "nvidia-l4-pcie-24gb"},
		{"L40S-8-48G", gpuInfo{GpuName: "L40S", GpuMemory: 48 << 30}, "nvidia-l40s-pcie-48gb"},
		{"H100-1-80G", gpuInfo{GpuName: "H100-PCIe", GpuMemory: 80 << 30}, "nvidia-h100-pcie-80gb"},
		{"H100-2-80G", gpuInfo{GpuName: "H100", GpuMemory: 80 << 30}, "nvidia-h100-pcie-80gb"},
		{"H100-SXM-8-80G", gpuInfo{GpuName: "H100-SXM", GpuMemory: 80 << 30}, "nvidia-h100-sxm5-80gb"},
		{"H100-SXM-2-80G", gpuInfo{GpuName: "H100", GpuMemory: 80 << 30}, "nvidia-h100-sxm5-80gb"},
		{"GPU-3070-S", gpuInfo{GpuName: "RTX 3070", GpuMemory: 8 << 30}, "nvidia-rtx-3070-pcie-8gb"},
		{"RENDER-S", gpuInfo{GpuName: "P100", GpuMemory: 17179869184}, "nvidia-p100-pcie-16gb"},
	}
	for _, tt := range tests {
		name := a.gpuName(tt.typ, &tt.info)
		g, ok := gpus.GPUs().Lookup(name)
		if !ok || g.Name != tt.want {
			t.Errorf("%s %q → %q → %+v, %v; want %s", tt.typ, tt.info.GpuName, name, g.Name, ok, tt.want)
		}
	}
	for _, st := range seedTypes {
		if st.gpus == 0 {
			continue
		}
		if _, ok := gpus.GPUs().Lookup(a.gpuName(st.name, &gpuInfo{GpuName: st.gpuName, GpuMemory: scw.Size(st.gpuMemGB) << 30})); !ok {
			t.Errorf("seeded %s (%s) does not resolve in the GPU registry", st.name, st.gpuName)
		}
	}
}

func TestScaledCatalog(t *testing.T) {
	f := newFixture(t, standin.Options{Scale: 3})
	items, err := f.a.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]bool{}
	for _, it := range items {
		zones[it.Region] = true
		if it.Country == "" {
			t.Errorf("synthetic zone %s has no country", it.Region)
		}
	}
	if len(zones) != 3*len(seedZones) || !zones["pl-waw-2-s3"] {
		t.Errorf("scaled catalog zones: %v", zones)
	}
}

func TestUnknownZoneHasNoCountry(t *testing.T) {
	a := New(Config{Logger: slog.New(slog.DiscardHandler)})
	for _, zone := range []string{"us-east-1", "fr-par-2-sx", "fr-par-2-s"} {
		if c := a.country(zone); c != "" {
			t.Errorf("country(%q) = %q, want empty", zone, c)
		}
	}
}

func TestCreateLifecycle(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: 400 * time.Millisecond})
	ctx := context.Background()
	req := createRequest(t, "fr-par-2", "H100-1-80G")
	req.UserData = "#!/bin/bash\necho renter-script\n"
	in, err := f.a.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if in.ResourceID != req.ResourceID || in.Name != vendors.InstanceName(req.ResourceID) || in.State != vendors.StatePending ||
		!strings.HasPrefix(in.ID, "fr-par-2/") {
		t.Errorf("created instance %+v", in)
	}

	// What reached the stand-in: a stopped server with our tag, block root
	// volume and dynamic IP; its cloud-init as text/plain; a poweron.
	f.si.mu.Lock()
	srv := f.si.state.Servers[0]
	userData, vol := srv.UserData["cloud-init"], f.si.findVolume(srv.VolumeID)
	root := *vol
	tags, dynamicIP, project := srv.Tags, srv.DynamicIP, srv.Project
	f.si.mu.Unlock()
	key, _ := normalisedKey(req.SSHPublicKey)
	if !strings.Contains(userData, key) || !strings.Contains(userData, "echo renter-script") || !strings.Contains(userData, "disable_root: false") {
		t.Errorf("cloud-init does not grant root and run the renter's script:\n%s", userData)
	}
	keyFields := strings.Fields(key)
	if len(tags) != 2 || tags[0] != resourceTag(req.ResourceID) || tags[1] != "AUTHORIZED_KEY="+keyFields[0]+"_"+keyFields[1] ||
		!dynamicIP || project != testProject {
		t.Errorf("server tags %v, dynamic IP %v, project %s", tags, dynamicIP, project)
	}
	// The root volume, named after the image by Scaleway, was renamed and
	// tagged after the resource before the server started.
	if root.Name != in.Name || len(root.Tags) != 1 || root.Tags[0] != resourceTag(req.ResourceID) || root.Size != DefaultBootDiskGB*1_000_000_000 {
		t.Errorf("root volume %+v", root)
	}
	path := serverPath(in.ID)
	if ct := f.rec.ContentType("PATCH " + path + "/user_data/cloud-init"); ct != "text/plain" {
		t.Errorf("user data sent as %q, want text/plain", ct)
	}
	if body := f.rec.Body("POST " + path + "/action"); string(body) != `{"action":"poweron"}` {
		t.Errorf("action body %s", body)
	}

	// Terminating while it is starting is refused; the refusal is transient.
	if err := f.a.Terminate(ctx, in.ID); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("terminate while starting: %v, want ErrTransient", err)
	}

	up, _ := vendortest.WaitFor(t, f.a, in.ID, vendortest.Running)
	if up.ExternalIP == "" || up.SSHPort != f.hosts.Port(up.ExternalIP) || up.SSHPort == 22 {
		t.Errorf("running instance %+v", up)
	}
	vendortest.LogIn(t, up.ExternalIP, up.SSHPort, req.SSHPublicKey)

	list, err := f.a.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != in.ID {
		t.Errorf("List = %+v, %v", list, err)
	}

	if err := f.a.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := f.a.Get(ctx, in.ID); err != nil || got.State != vendors.StateTerminating {
		t.Errorf("after terminate: %+v, %v", got, err)
	}
	vendortest.WaitFor(t, f.a, in.ID, vendortest.Gone)
	if err := f.a.Terminate(ctx, in.ID); err != nil {
		t.Errorf("terminating a gone server: %v, want nil", err)
	}
	if list, err := f.a.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List after deletion = %+v, %v", list, err)
	}
	// The SBS root volume that terminate only detached was deleted too.
	f.si.mu.Lock()
	volDeleted := !vol.DeletedAt.IsZero()
	f.si.mu.Unlock()
	if !volDeleted || f.rec.Count("DELETE /block/v1alpha1/zones/fr-par-2/volumes/"+vol.ID) != 1 {
		t.Errorf("root volume left behind: deleted %v", volDeleted)
	}
	if entries := f.si.Instances(); len(entries) != 1 || entries[0].Live {
		t.Errorf("console after deletion: %+v", entries)
	}
}

// serverPath is the Instance API path of an instance id "<zone>/<uuid>".
func serverPath(id string) string {
	zone, serverID, _ := strings.Cut(id, "/")
	return "/instance/v1/zones/" + zone + "/servers/" + serverID
}

// normalisedKey is the key as the adapter normalises it.
func normalisedKey(key string) (string, error) {
	pk, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " " + comment, nil
}

func TestCreateIsIdempotent(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second})
	req := createRequest(t, "nl-ams-1", "L40S-1-48G")
	first, err := f.a.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.a.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	const create = "POST /instance/v1/zones/nl-ams-1/servers"
	if again.ID != first.ID || len(f.si.Instances()) != 1 || f.rec.Count(create) != 1 {
		t.Errorf("second create gave %s (first %s); stand-in holds %d; %d creates", again.ID, first.ID, len(f.si.Instances()), f.rec.Count(create))
	}
}

func TestCreatedButAnswered500(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second})
	const create = "/instance/v1/zones/fr-par-2/servers"
	f.si.Faults().Add(standin.Rule{Method: http.MethodPost, PathPrefix: create, Status: 500, AfterHandler: true, Times: 1})
	req := createRequest(t, "fr-par-2", "L4-1-24G")
	if _, err := f.a.Create(context.Background(), req); !errors.Is(err, vendors.ErrTransient) {
		t.Fatalf("create answered 500: %v, want ErrTransient", err)
	}
	if n := f.rec.Count("POST " + create); n != 1 {
		t.Errorf("the create POST was sent %d times, want 1", n)
	}
	// The retry finds the stopped server and finishes the launch.
	in, err := f.a.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if in.ResourceID != req.ResourceID || in.State != vendors.StatePending || len(f.si.Instances()) != 1 || f.rec.Count("POST "+create) != 1 {
		t.Errorf("retry: %+v; %d instances, %d creates", in, len(f.si.Instances()), f.rec.Count("POST "+create))
	}
	vendortest.WaitFor(t, f.a, in.ID, vendortest.Running)
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(f *fixture)
		call  func(t *testing.T, f *fixture) error
		want  error
	}{
		{"out of stock", nil, func(t *testing.T, f *fixture) error {
			_, err := f.a.Create(ctx, createRequest(t, "fr-par-2", "H100-SXM-8-80G"))
			return err
		}, vendors.ErrNoCapacity},
		{"quota", func(f *fixture) { f.si.SetServerQuota(1) }, func(t *testing.T, f *fixture) error {
			if _, err := f.a.Create(ctx, createRequest(t, "fr-par-2", "L4-1-24G")); err != nil {
				t.Fatal(err)
			}
			_, err := f.a.Create(ctx, createRequest(t, "fr-par-2", "L4-1-24G"))
			return err
		}, vendors.ErrQuota},
		{"type not in zone", nil, func(t *testing.T, f *fixture) error {
			_, err := f.a.Create(ctx, createRequest(t, "nl-ams-1", "H100-1-80G"))
			return err
		}, vendors.ErrInvalid},
		{"bad key", nil, func(t *testing.T, f *fixture) error {
			req := createRequest(t, "fr-par-2", "L4-1-24G")
			req.SSHPublicKey = "not a key"
			_, err := f.a.Create(ctx, req)
			return err
		}, vendors.ErrInvalid},
		{"spot", nil, func(t *testing.T, f *fixture) error {
			req := createRequest(t, "fr-par-2", "L4-1-24G")
			req.Contract = vendors.Spot
			_, err := f.a.Create(ctx, req)
			return err
		}, vendors.ErrInvalid},
		{"auth", nil, func(t *testing.T, f *fixture) error {
			a := New(Config{APIKey: "wrong", BaseURL: f.srv.URL, Zones: []string{"fr-par-1"}})
			_, err := a.Catalog(ctx)
			return err
		}, vendors.ErrAuth},
		{"not found", nil, func(t *testing.T, f *fixture) error {
			_, err := f.a.Get(ctx, "fr-par-2/"+uuid.NewString())
			return err
		}, vendors.ErrNotFound},
		{"malformed id", nil, func(t *testing.T, f *fixture) error {
			_, err := f.a.Get(ctx, "no-zone")
			return err
		}, vendors.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, standin.Options{BootTime: time.Second})
			if tt.setup != nil {
				tt.setup(f)
			}
			err := tt.call(t, f)
			var ve *vendors.Error
			if !errors.As(err, &ve) || vendortest.Kind(err) != tt.want {
				t.Errorf("error %v (%T), want a *vendors.Error of kind %v", err, err, tt.want)
			}
		})
	}
}

func TestOutOfStockLeavesNothingBehind(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: 200 * time.Millisecond})
	if _, err := f.a.Create(context.Background(), createRequest(t, "fr-par-1", "L4-1-24G")); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Fatalf("create in shortage: %v, want ErrNoCapacity", err)
	}
	entries := f.si.Instances()
	if len(entries) != 1 || entries[0].State != "deleted" {
		t.Errorf("console after a create in shortage: %+v", entries)
	}
	// The server was deleted; its detached root volume goes with List's sweep.
	time.Sleep(100 * time.Millisecond)
	if _, err := f.a.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if entries := f.si.Instances(); entries[0].Live {
		t.Errorf("a server that could not start still bills: %+v", entries[0])
	}
}

func TestRateLimited(t *testing.T) {
	f := newFixture(t, standin.Options{})
	f.si.SetRateLimit(2)
	f.a.zones = []string{"fr-par-1"}
	if _, err := f.a.Catalog(context.Background()); err != nil { // two requests
		t.Fatal(err)
	}
	id := "fr-par-2/" + uuid.NewString()
	_, err := f.a.Get(context.Background(), id)
	if !errors.Is(err, vendors.ErrRateLimited) || vendors.RetryAfter(err) < 50*time.Second {
		t.Errorf("over the limit: %v (retry after %v), want ErrRateLimited for the rest of the minute", err, vendors.RetryAfter(err))
	}
	if n := f.rec.Count("GET " + serverPath(id)); n != 1 {
		t.Errorf("a minute-long 429 was retried: %d requests", n)
	}
}

func TestTransientRetriedForGetsOnly(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second})
	in, err := f.a.Create(context.Background(), createRequest(t, "fr-par-2", "L40S-2-48G"))
	if err != nil {
		t.Fatal(err)
	}
	path := serverPath(in.ID)
	f.si.Faults().Add(standin.Rule{Method: http.MethodGet, PathPrefix: path, Status: 503, Times: 2})
	before := f.rec.Count("GET " + path)
	if _, err := f.a.Get(context.Background(), in.ID); err != nil {
		t.Errorf("Get through two 503s: %v", err)
	}
	if n := f.rec.Count("GET "+path) - before; n != 3 {
		t.Errorf("GET sent %d times, want 3", n)
	}
	const create = "/instance/v1/zones/fr-par-2/servers"
	f.si.Faults().Add(standin.Rule{Method: http.MethodPost, PathPrefix: create, Status: 500, Times: 1})
	before = f.rec.Count("POST " + create)
	if _, err := f.a.Create(context.Background(), createRequest(t, "fr-par-2", "L40S-2-48G")); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("create answered 500: %v, want ErrTransient", err)
	}
	if n := f.rec.Count("POST "+create) - before; n != 1 {
		t.Errorf("create POST sent %d times, want 1", n)
	}
}

func TestHungStandInTimesOut(t *testing.T) {
	f := newFixture(t, standin.Options{})
	f.si.Faults().Add(standin.Rule{PathPrefix: "/instance/v1/zones/fr-par-1/products/servers/availability", Delay: time.Minute})
	a := New(Config{APIKey: testKey, BaseURL: f.srv.URL, Zones: []string{"fr-par-1"}, Timeout: 150 * time.Millisecond})
	start := time.Now()
	_, err := a.Catalog(context.Background())
	if elapsed := time.Since(start); !errors.Is(err, vendors.ErrTransient) || elapsed > 3*time.Second {
		t.Errorf("hung vendor: %v after %v, want ErrTransient within 3 s", err, elapsed)
	}
	// The SDK reads /metadata on its own, without the call's context; a
	// hung answer is cut off all the same (not after the minute the
	// stand-in hangs), and the listing goes on.
	f.si.Faults().Clear()
	f.si.Faults().Add(standin.Rule{PathPrefix: "/metadata", Delay: time.Minute})
	a = New(Config{APIKey: testKey, BaseURL: f.srv.URL, Zones: []string{"fr-par-1"}, Timeout: time.Second})
	start = time.Now()
	if _, err := a.List(context.Background()); err != nil || time.Since(start) > 15*time.Second {
		t.Errorf("list with a hung /metadata: %v after %v, want a listing within 15 s", err, time.Since(start))
	}
}

func TestPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scaleway.json")
	o := standin.Options{APIKey: testKey, BootTime: 100 * time.Millisecond, StatePath: path, Now: vendortest.Clock(clockBase)}
	f := newFixture(t, o)
	req := createRequest(t, "pl-waw-2", "H100-1-80G")
	in, err := f.a.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	up, _ := vendortest.WaitFor(t, f.a, in.ID, vendortest.Running)
	f.srv.Close()
	if err := f.si.Close(); err != nil {
		t.Fatal(err)
	}

	o.Hosts = &standin.Hosts{} // a new process
	g := newFixture(t, o)
	again, err := g.a.Get(context.Background(), in.ID)
	if err != nil || again.State != vendors.StateRunning || again.ExternalIP != up.ExternalIP {
		t.Fatalf("after restart: %+v, %v (before: %s)", again, err, up.ExternalIP)
	}
	vendortest.LogIn(t, again.ExternalIP, again.SSHPort, req.SSHPublicKey)
	if len(g.si.Instances()) != 1 {
		t.Errorf("restarted stand-in holds %d instances", len(g.si.Instances()))
	}
}

func TestListPaginates(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second})
	const want = defaultPageSize + 5
	for range want {
		if _, err := f.a.Create(context.Background(), createRequest(t, "fr-par-1", "DEV1-S")); err != nil {
			t.Fatal(err)
		}
	}
	list, err := f.a.List(context.Background())
	if err != nil || len(list) != want {
		t.Fatalf("List found %d of %d instances: %v", len(list), want, err)
	}
}

func TestOwnership(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second})
	vendortest.Ownership(t, f.a, createRequest(t, "fr-par-2", "H100-1-80G"))
}

// TestSweepLeavesOtherInstallationsVolumes: the root volume a failed launch
// left behind is swept only by the installation that owns it, never by
// another one sharing the project.
func TestSweepLeavesOtherInstallationsVolumes(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: 200 * time.Millisecond})
	req := createRequest(t, "fr-par-1", "L4-1-24G")
	req.Owner = vendors.NewOwner()
	if _, err := f.a.Create(context.Background(), req); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Fatalf("create in shortage: %v, want ErrNoCapacity", err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := f.a.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if entries := f.si.Instances(); len(entries) != 1 || !entries[0].Live {
		t.Fatalf("another installation swept a volume it does not own: %+v", entries)
	}
	f.a.owner = req.Owner
	if _, err := f.a.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if entries := f.si.Instances(); entries[0].Live {
		t.Errorf("the owner's sweep left its volume billing: %+v", entries[0])
	}
}
