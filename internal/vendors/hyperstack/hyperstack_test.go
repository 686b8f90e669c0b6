package hyperstack

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
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

const testKey = "hs-test-key"

// newFixture serves a stand-in over loopback HTTP and points an adapter
// at it. wrap, when set, goes between the recorder and the stand-in.
func newFixture(t *testing.T, o standin.Options, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	o = vendortest.StandInOptions(o, testKey, clockBase)
	si, err := NewStandIn(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { si.Close() })
	srv, rec := vendortest.Serve(t, si, wrap)
	a := New(Config{APIKey: testKey, BaseURL: srv.URL + basePath, SSHPort: o.Hosts.Port,
		HTTP: &http.Client{Timeout: 2 * time.Second}, RateLimit: 1000, Burst: 100})
	return &fixture{si: si, srv: srv, a: a, rec: rec, hosts: o.Hosts}
}

// clockBase starts a stock-drift period: tests run well within it, so
// which items flicker out of stock is fixed (see createRequest).
var clockBase = time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC)

func createRequest(t *testing.T, region, flavor string) vendors.CreateRequest {
	t.Helper()
	if standin.Flicker(0.05, region+"/"+flavor, clockBase) {
		t.Fatalf("%s/%s is flickered out of stock at the test clock: pick another flavor", region, flavor)
	}
	return vendors.CreateRequest{
		ResourceID: uuid.NewString(), InstanceType: flavor, Region: region,
		Contract: vendors.OnDemand, SSHPublicKey: vendortest.PublicKey(t),
	}
}

func TestCatalog(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, standin.Options{Now: func() time.Time { return now }}, nil)
	items, err := f.a.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, flavors := range seedStock {
		want += len(flavors)
	}
	if len(items) != want {
		t.Fatalf("catalog has %d items, want %d (one per flavor and region)", len(items), want)
	}
	perGPUHour := map[string]float64{}
	for _, p := range seedPrices {
		perGPUHour[p.gpu] = standin.Drift(p.price, 0.03, "hyperstack/"+p.gpu, now)
	}
	flavors := map[string]seedFlavor{}
	for _, fl := range seedFlavors {
		flavors[fl.name] = fl
	}
	soldOut := 0
	for _, it := range items {
		fl := flavors[it.InstanceType]
		if it.GPUName != fl.gpu || it.GPUCount != fl.gpuCount || it.VCPUs != fl.cpu || it.MemoryGB != fl.ram {
			t.Errorf("%s/%s: hardware %+v does not match the flavor %+v", it.Region, it.InstanceType, it, fl)
		}
		if want := roundCents(float64(fl.gpuCount) * perGPUHour[fl.gpu]); it.PricePerHour != want || it.PricePerHour <= 0 {
			t.Errorf("%s/%s: price %v per node-hour, want %d × %v = %v", it.Region, it.InstanceType, it.PricePerHour, fl.gpuCount, perGPUHour[fl.gpu], want)
		}
		if it.BootDiskGB != fl.disk || it.BootDiskPricePerHour != 0 || it.Contract != vendors.OnDemand {
			t.Errorf("%s/%s: boot disk %d GB at %v/h, contract %s", it.Region, it.InstanceType, it.BootDiskGB, it.BootDiskPricePerHour, it.Contract)
		}
		if it.Country != regionCountry[it.Region] || it.Country == "" {
			t.Errorf("%s: country %q", it.Region, it.Country)
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

func TestGPUNamesResolve(t *testing.T) {
	var missing []string
	for _, p := range seedPrices {
		if _, ok := gpus.GPUs().Lookup(p.gpu); !ok {
			missing = append(missing, p.gpu)
		}
	}
	if len(missing) > 0 {
		t.Errorf("Hyperstack GPU names missing from the GPU registry: %q", missing)
	}
}

func TestScaledCatalog(t *testing.T) {
	f := newFixture(t, standin.Options{Scale: 4}, nil)
	items, err := f.a.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	regions := map[string]bool{}
	for _, it := range items {
		regions[it.Region] = true
		if it.Country == "" {
			t.Errorf("synthetic region %s has no country", it.Region)
		}
	}
	if len(regions) != 4*len(seedRegions) || !regions["NORWAY-1-s4"] {
		t.Errorf("scaled catalog regions: %v", regions)
	}
}

func TestUnknownRegionHasNoCountry(t *testing.T) {
	a := New(Config{Logger: slog.New(slog.DiscardHandler)})
	for _, region := range []string{"MARS-1", "CANADA-1-sx", "CANADA-1-s"} {
		if c := a.country(region); c != "" {
			t.Errorf("country(%q) = %q, want empty", region, c)
		}
	}
}

func TestCreateLifecycle(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: 400 * time.Millisecond}, nil)
	ctx := context.Background()
	req := createRequest(t, "CANADA-1", "n3-A100x1")
	req.UserData = "#!/bin/bash\necho renter-script\n"
	in, err := f.a.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if in.ResourceID != req.ResourceID || in.Name != vendors.InstanceName(req.ResourceID) || in.State != vendors.StatePending {
		t.Errorf("created instance %+v", in)
	}

	// What reached the stand-in: Hyperstack's create payload.
	var sent map[string]any
	if err := json.Unmarshal(f.rec.Body("POST /v1/core/virtual-machines"), &sent); err != nil {
		t.Fatal(err)
	}
	userData, _ := sent["user_data"].(string)
	key, _ := userdataKey(req.SSHPublicKey)
	if !strings.Contains(userData, key) || !strings.Contains(userData, "echo renter-script") || !strings.Contains(userData, "disable_root: false") {
		t.Errorf("user_data does not grant root and run the renter's script:\n%s", userData)
	}
	if sent["environment_name"] != "supply-canada-1" || sent["key_name"] != keypairName(key) || sent["image_name"] != DefaultImage ||
		sent["assign_floating_ip"] != true || sent["enable_port_randomization"] != false || sent["count"] != 1.0 {
		t.Errorf("create payload %v", sent)
	}
	if labels, _ := sent["labels"].([]any); len(labels) != 1 || labels[0] != vendors.Tag+"="+req.ResourceID {
		t.Errorf("labels %v", sent["labels"])
	}
	rules, _ := sent["security_rules"].([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["protocol"] != "tcp" || rules[0].(map[string]any)["port_range_min"] != 22.0 {
		t.Errorf("security rules %v", rules)
	}
	f.si.mu.Lock()
	kp := f.si.findKeypair("supply-canada-1", keypairName(key))
	f.si.mu.Unlock()
	if kp == nil || kp.PublicKey != key {
		t.Errorf("key pair in the stand-in: %+v", kp)
	}

	// Deleting while it is being created is refused; the refusal is transient.
	if err := f.a.Terminate(ctx, in.ID); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("terminate while creating: %v, want ErrTransient", err)
	}

	up, _ := vendortest.WaitFor(t, f.a, in.ID, vendortest.Running)
	if up.ExternalIP == "" || up.InternalIP == "" || up.SSHPort != f.hosts.Port(up.ExternalIP) || up.SSHPort == 22 {
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
	vendortest.WaitFor(t, f.a, in.ID, func(_ vendors.Instance, err error) bool { return errors.Is(err, vendors.ErrNotFound) })
	if err := f.a.Terminate(ctx, in.ID); err != nil {
		t.Errorf("terminating a gone VM: %v, want nil", err)
	}
	if list, err := f.a.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List after deletion = %+v, %v", list, err)
	}
	if entries := f.si.Instances(); len(entries) != 1 || entries[0].Live {
		t.Errorf("console after deletion: %+v", entries)
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

func TestCreateIsIdempotent(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second}, nil)
	req := createRequest(t, "NORWAY-1", "n3-L40x1")
	first, err := f.a.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.a.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || len(f.si.Instances()) != 1 || f.rec.Count("POST /v1/core/virtual-machines") != 1 {
		t.Errorf("second create gave %s (first %s); stand-in holds %d; %d launches",
			again.ID, first.ID, len(f.si.Instances()), f.rec.Count("POST /v1/core/virtual-machines"))
	}
	if n := f.rec.Count("POST /v1/core/environments") + f.rec.Count("POST /v1/core/keypairs"); n != 2 {
		t.Errorf("%d environment and key pair imports, want one each", n)
	}
}

func TestCreatedButAnswered500(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second}, nil)
	f.si.Faults().Add(standin.Rule{Method: http.MethodPost, PathPrefix: "/v1/core/virtual-machines", Status: 500, AfterHandler: true, Times: 1})
	req := createRequest(t, "US-1", "n3-H100-SXM5x8")
	if _, err := f.a.Create(context.Background(), req); !errors.Is(err, vendors.ErrTransient) {
		t.Fatalf("create answered 500: %v, want ErrTransient", err)
	}
	if n := f.rec.Count("POST /v1/core/virtual-machines"); n != 1 {
		t.Errorf("the create POST was sent %d times, want 1", n)
	}
	in, err := f.a.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if in.ResourceID != req.ResourceID || len(f.si.Instances()) != 1 || f.rec.Count("POST /v1/core/virtual-machines") != 1 {
		t.Errorf("retry made a duplicate: %d instances, %d launches", len(f.si.Instances()), f.rec.Count("POST /v1/core/virtual-machines"))
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(f *fixture)
		call  func(t *testing.T, f *fixture) error
		want  error
	}{
		{"sold out", nil, func(t *testing.T, f *fixture) error {
			_, err := f.a.Create(ctx, createRequest(t, "CANADA-1", "n3-H100x8"))
			return err
		}, vendors.ErrNoCapacity},
		{"quota", func(f *fixture) { f.si.SetVMQuota(1) }, func(t *testing.T, f *fixture) error {
			if _, err := f.a.Create(ctx, createRequest(t, "CANADA-1", "n3-A100x1")); err != nil {
				t.Fatal(err)
			}
			_, err := f.a.Create(ctx, createRequest(t, "CANADA-1", "n3-A100x1"))
			return err
		}, vendors.ErrQuota},
		{"flavor not in region", nil, func(t *testing.T, f *fixture) error {
			_, err := f.a.Create(ctx, createRequest(t, "US-1", "n3-RTX-A6000x1"))
			return err
		}, vendors.ErrInvalid},
		{"bad key", nil, func(t *testing.T, f *fixture) error {
			req := createRequest(t, "US-1", "n3-H100-SXM5x8")
			req.SSHPublicKey = "not a key"
			_, err := f.a.Create(ctx, req)
			return err
		}, vendors.ErrInvalid},
		{"auth", nil, func(t *testing.T, f *fixture) error {
			a := New(Config{APIKey: "wrong", BaseURL: f.srv.URL + basePath})
			_, err := a.Catalog(ctx)
			return err
		}, vendors.ErrAuth},
		{"not found", nil, func(t *testing.T, f *fixture) error {
			_, err := f.a.Get(ctx, "424242")
			return err
		}, vendors.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, standin.Options{BootTime: time.Second}, nil)
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

func TestRateLimited(t *testing.T) {
	f := newFixture(t, standin.Options{}, nil)
	f.si.SetRateLimit(2)
	if _, err := f.a.Catalog(context.Background()); err != nil { // two requests
		t.Fatal(err)
	}
	_, err := f.a.Get(context.Background(), "1")
	if !errors.Is(err, vendors.ErrRateLimited) || vendors.RetryAfter(err) != time.Minute {
		t.Errorf("over the limit: %v (retry after %v), want ErrRateLimited after a minute", err, vendors.RetryAfter(err))
	}
	if n := f.rec.Count("GET /v1/core/virtual-machines/1"); n != 1 {
		t.Errorf("a minute-long 429 was retried: %d requests", n)
	}
}

func TestTransientRetriedForGetsOnly(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second}, nil)
	in, err := f.a.Create(context.Background(), createRequest(t, "CANADA-1", "n3-A100x1"))
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1/core/virtual-machines/" + in.ID
	f.si.Faults().Add(standin.Rule{Method: http.MethodGet, PathPrefix: path, Status: 503, Times: 2})
	if _, err := f.a.Get(context.Background(), in.ID); err != nil {
		t.Errorf("Get through two 503s: %v", err)
	}
	if n := f.rec.Count("GET " + path); n != 3 {
		t.Errorf("GET sent %d times, want 3", n)
	}
	f.si.Faults().Add(standin.Rule{Method: http.MethodPost, PathPrefix: "/v1/core/virtual-machines", Status: 500, Times: 1})
	before := f.rec.Count("POST /v1/core/virtual-machines")
	if _, err := f.a.Create(context.Background(), createRequest(t, "CANADA-1", "n3-A100x1")); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("create answered 500: %v, want ErrTransient", err)
	}
	if n := f.rec.Count("POST /v1/core/virtual-machines") - before; n != 1 {
		t.Errorf("create POST sent %d times, want 1", n)
	}
}

func TestHungStandInTimesOut(t *testing.T) {
	f := newFixture(t, standin.Options{}, nil)
	f.si.Faults().Add(standin.Rule{PathPrefix: "/v1/pricebook", Delay: time.Minute})
	a := New(Config{APIKey: testKey, BaseURL: f.srv.URL + basePath, HTTP: &http.Client{Timeout: 150 * time.Millisecond}})
	start := time.Now()
	_, err := a.Catalog(context.Background())
	if elapsed := time.Since(start); !errors.Is(err, vendors.ErrTransient) || elapsed > 3*time.Second {
		t.Errorf("hung vendor: %v after %v, want ErrTransient within 3 s", err, elapsed)
	}
}

func TestPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hyperstack.json")
	// One clock for both lives of the stand-in, as a real restart has.
	o := standin.Options{APIKey: testKey, BootTime: 100 * time.Millisecond, StatePath: path, Now: vendortest.Clock(clockBase)}
	f := newFixture(t, o, nil)
	req := createRequest(t, "CANADA-1", "n3-H100x1")
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
	g := newFixture(t, o, nil)
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
	f := newFixture(t, standin.Options{BootTime: time.Second, Scale: 3}, nil)
	items, err := f.a.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const want = listPageSize + 5
	made := 0
	for _, it := range items {
		for it.Available && made < want {
			_, err := f.a.Create(context.Background(), createRequest(t, it.Region, it.InstanceType))
			if errors.Is(err, vendors.ErrNoCapacity) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			made++
		}
	}
	if made < want {
		t.Fatalf("only %d instances could be made", made)
	}
	list, err := f.a.List(context.Background())
	if err != nil || len(list) != want {
		t.Fatalf("List found %d of %d instances: %v", len(list), want, err)
	}
}

func TestPageBounds(t *testing.T) {
	tests := []struct {
		query      string
		n          int
		start, end int
	}{
		{"", 5, 0, 5},
		{"page=2&pageSize=2", 5, 2, 4},
		{"page=3&pageSize=2", 5, 4, 5},
		{"page=4&pageSize=2", 5, 5, 5},
		{"page=9223372036854775807&pageSize=9223372036854775807", 5, 5, 5},
		{"page=-1&pageSize=x", 0, 0, 0},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/v1/core/virtual-machines?"+tt.query, nil)
		if start, end, _, _ := page(r, tt.n); start != tt.start || end != tt.end {
			t.Errorf("page(%q, %d) = [%d:%d], want [%d:%d]", tt.query, tt.n, start, end, tt.start, tt.end)
		}
	}
}

func TestOwnership(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second}, nil)
	vendortest.Ownership(t, f.a, createRequest(t, "CANADA-1", "n3-A100x1"))
}
