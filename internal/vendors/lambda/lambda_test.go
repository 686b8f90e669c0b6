package lambda

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

const testKey = "test-api-key"

// fixture is a stand-in on real loopback HTTP and an adapter pointed at it.
type fixture struct {
	stand   *StandIn
	hosts   *standin.Hosts
	srv     *httptest.Server
	adapter *Adapter
	rec     *vendortest.Recorder
}

type fixtureOption func(*standin.Options, *Config)

func setup(t *testing.T, opts ...fixtureOption) *fixture {
	t.Helper()
	f := &fixture{hosts: &standin.Hosts{}}
	o := standin.Options{APIKey: testKey, BootTime: 150 * time.Millisecond, Hosts: f.hosts}
	c := Config{APIKey: testKey, RateLimit: rate.Inf, LaunchInterval: time.Nanosecond, Timeout: 2 * time.Second, SSHPort: f.hosts.Port}
	for _, opt := range opts {
		opt(&o, &c)
	}
	stand, err := NewStandIn(o)
	if err != nil {
		t.Fatal(err)
	}
	f.stand = stand
	t.Cleanup(func() {
		stand.Close()
		f.hosts.CloseAll()
	})
	f.srv, f.rec = vendortest.Serve(t, stand, nil)
	c.BaseURL = f.srv.URL + apiPrefix
	f.adapter = New(c)
	return f
}

// count is how many method requests reached path under the API prefix.
func (f *fixture) count(method, path string) int {
	return f.rec.Count(method + " " + apiPrefix + path)
}

// available picks an item of the given type that has capacity now.
func available(t *testing.T, f *fixture, instanceType string) vendors.CatalogItem {
	t.Helper()
	return inStock(t, f.adapter, instanceType)
}

// inStock is an item of instanceType that a has in stock now: stand-in
// stock drifts over time, so a test never names a region.
func inStock(t *testing.T, a *Adapter, instanceType string) vendors.CatalogItem {
	t.Helper()
	items, err := a.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.InstanceType == instanceType && it.Available {
			return it
		}
	}
	t.Fatalf("no %s in stock", instanceType)
	return vendors.CatalogItem{}
}

func request(t *testing.T, item vendors.CatalogItem) vendors.CreateRequest {
	return vendors.CreateRequest{
		ResourceID: uuid.NewString(), InstanceType: item.InstanceType, Region: item.Region,
		Contract: vendors.OnDemand, SSHPublicKey: vendortest.PublicKey(t), Item: item,
	}
}

// TestCatalogInStock: the in-stock listing an offer index reads is
// Catalog's available items, the same and in the same order.
func TestCatalogInStock(t *testing.T) {
	f := setup(t)
	var all, inStock []vendors.CatalogItem
	// The stand-in's stock moves at 5-minute steps: a pair of reads that
	// straddles one may differ, three in a row cannot.
	for range 3 {
		items, err := f.adapter.Catalog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		all = slices.DeleteFunc(items, func(it vendors.CatalogItem) bool { return !it.Available })
		if inStock, err = f.adapter.CatalogInStock(context.Background()); err != nil {
			t.Fatal(err)
		}
		if reflect.DeepEqual(all, inStock) {
			break
		}
	}
	if len(all) == 0 || !reflect.DeepEqual(all, inStock) {
		t.Fatalf("in stock: %d items, want Catalog's %d available ones\n%+v\n%+v", len(inStock), len(all), inStock, all)
	}
}

// TestInstanceTypesAnswerIsEncodedWhole: the stand-in writes its listing
// of instance types a type at a time; the bytes must be what encoding the
// whole map writes (its members in name order), at a scale with many types.
func TestInstanceTypesAnswerIsEncodedWhole(t *testing.T) {
	f := setup(t, func(o *standin.Options, _ *Config) { o.Scale = 3 })
	var body []byte
	if err := f.adapter.client.Do(context.Background(), vendors.Request{Op: "list instance types", Method: http.MethodGet, Path: "/instance-types"}, &body); err != nil {
		t.Fatal(err)
	}
	var types envelope[map[string]instanceTypesItem]
	vendortest.Encoded(t, body, &types)
	if len(types.Data) <= len(seedTypes) {
		t.Errorf("%d instance types at scale 3, want more than the %d seeded", len(types.Data), len(seedTypes))
	}
}

func TestCatalog(t *testing.T) {
	f := setup(t)
	items, err := f.adapter.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := len(seedTypes) * len(seedRegions); len(items) != want {
		t.Fatalf("%d catalog items, want %d (every type in every region)", len(items), want)
	}
	countries := map[string]string{"us-west-1": "US", "europe-central-1": "DE", "asia-northeast-1": "JP", "asia-south-1": "IN", "me-west-1": "IL"}
	var inStock int
	for _, it := range items {
		if it.Available {
			inStock++
		}
		if it.Contract != vendors.OnDemand || it.Stock != -1 || it.BootDiskPricePerHour != 0 {
			t.Errorf("%s/%s: contract %q stock %d disk price %v", it.InstanceType, it.Region, it.Contract, it.Stock, it.BootDiskPricePerHour)
		}
		if c, ok := countries[it.Region]; ok && it.Country != c {
			t.Errorf("%s: country %q, want %q", it.Region, it.Country, c)
		}
		if it.Country == "" {
			t.Errorf("%s: no country", it.Region)
		}
		switch it.InstanceType {
		case "gpu_1x_a100":
			// Sold out everywhere in the seed.
			if it.Available {
				t.Errorf("gpu_1x_a100 in %s available, want sold out", it.Region)
			}
		case "gpu_8x_h100_sxm5":
			if it.GPUName != "H100 (80 GB SXM5)" || it.GPUCount != 8 || it.VCPUs != 208 || it.MemoryGB != 1800 || it.BootDiskGB != 24780 {
				t.Errorf("gpu_8x_h100_sxm5 mapped as %+v", it)
			}
			// Lambda's list price $23.92 per node-hour, drifting at most 3%.
			if math.Abs(it.PricePerHour-23.92) > 23.92*0.031 {
				t.Errorf("gpu_8x_h100_sxm5 price %v per node-hour, want about 23.92", it.PricePerHour)
			}
		}
		if it.Region == "me-west-1" && it.Available {
			t.Errorf("%s available in me-west-1, where every type is sold out", it.InstanceType)
		}
	}
	if inStock < 20 {
		t.Errorf("only %d items in stock", inStock)
	}
}

// TestCatalogScale: the scaled stand-in multiplies the catalog, and its
// synthetic regions, unknown to the adapter, get no country and one
// warning each however often the catalog is read.
func TestCatalogScale(t *testing.T) {
	var logs bytes.Buffer
	f := setup(t, func(o *standin.Options, c *Config) {
		o.Scale = 3
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for range 2 {
		items, err := f.adapter.Catalog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if want := 3 * len(seedTypes) * 3 * len(seedRegions); len(items) != want {
			t.Errorf("scale 3: %d items, want %d", len(items), want)
		}
		for _, it := range items {
			if synthetic := strings.HasSuffix(it.Region, "-s2") || strings.HasSuffix(it.Region, "-s3"); synthetic != (it.Country == "") {
				t.Errorf("region %s: country %q", it.Region, it.Country)
			}
		}
	}
	if n, want := strings.Count(logs.String(), "unknown Lambda region"), 2*len(seedRegions); n != want {
		t.Errorf("%d unknown-region warnings, want %d (one per synthetic region)", n, want)
	}
}

// TestGPUNamesResolve: every GPU name the stand-in sells and every one in
// Lambda's published examples maps through the GPU registry.
func TestGPUNamesResolve(t *testing.T) {
	names := map[string]bool{"H100 (80 GB SXM5)": true} // the spec's InstanceType example
	for _, st := range seedTypes {
		names[st.t.GPUDescription] = true
	}
	for name := range names {
		if _, ok := gpus.GPUs().Lookup(name); !ok {
			t.Errorf("GPU %q is not in the registry", name)
		}
	}
}

func TestLifecycle(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	req := request(t, available(t, f, "gpu_1x_a10"))
	req.UserData = "#!/bin/sh\necho renter-was-here\n"

	in, err := f.adapter.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if in.ResourceID != req.ResourceID || in.State != vendors.StatePending || in.Name != vendors.InstanceName(req.ResourceID) {
		t.Errorf("created %+v", in)
	}

	got, ok := f.stand.Launch(in.ID)
	if !ok {
		t.Fatalf("stand-in has no launch for %s", in.ID)
	}
	wantKey, _ := keyName(req.SSHPublicKey)
	if len(got.SSHKeyNames) != 1 || got.SSHKeyNames[0] != wantKey || len(got.PublicKeys) != 1 || got.PublicKeys[0] != req.SSHPublicKey {
		t.Errorf("launch keys %q → %q, want %q → %q", got.SSHKeyNames, got.PublicKeys, wantKey, req.SSHPublicKey)
	}
	if got.Tags[vendors.Tag] != req.ResourceID {
		t.Errorf("launch tags %v, want %s=%s", got.Tags, vendors.Tag, req.ResourceID)
	}
	keyMaterial := strings.Fields(req.SSHPublicKey)[1]
	for _, want := range []string{"multipart/mixed", "disable_root: false", keyMaterial, "echo renter-was-here"} {
		if !strings.Contains(got.UserData, want) {
			t.Errorf("user data lacks %q:\n%s", want, got.UserData)
		}
	}

	in, _ = vendortest.WaitFor(t, f.adapter, in.ID, vendortest.Running)
	if in.ExternalIP == "" || in.InternalIP == "" || in.SSHPort == 22 || in.VendorState != statusActive {
		t.Fatalf("running instance %+v", in)
	}
	vendortest.LogIn(t, in.ExternalIP, in.SSHPort, req.SSHPublicKey)

	list, err := f.adapter.List(ctx)
	if err != nil || len(list) != 1 || list[0].ResourceID != req.ResourceID {
		t.Fatalf("List = %+v, %v; want the one instance", list, err)
	}

	if err := f.adapter.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	_, err = vendortest.WaitFor(t, f.adapter, in.ID, func(_ vendors.Instance, err error) bool { return errors.Is(err, vendors.ErrNotFound) })
	var ve *vendors.Error
	if !errors.As(err, &ve) || ve.Status != http.StatusNotFound {
		t.Errorf("gone instance: %v", err)
	}
	if err := f.adapter.Terminate(ctx, in.ID); err != nil {
		t.Errorf("terminating a gone instance: %v, want nil", err)
	}
	if n := len(f.stand.Instances()); n != 0 {
		t.Errorf("stand-in still holds %d instances", n)
	}
}

func TestCreateIsIdempotent(t *testing.T) {
	f := setup(t)
	req := request(t, available(t, f, "gpu_1x_a10"))
	first, err := f.adapter.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.adapter.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != second.ID {
		t.Errorf("second Create made %s, want the existing %s", second.ID, first.ID)
	}
	if n := f.count("POST", "/instance-operations/launch"); n != 1 {
		t.Errorf("%d launches, want 1", n)
	}
	if n := f.count("POST", "/ssh-keys"); n != 1 {
		t.Errorf("key registered %d times, want 1", n)
	}
}

func TestCreatedButAnswered500(t *testing.T) {
	f := setup(t)
	req := request(t, available(t, f, "gpu_1x_a10"))
	f.stand.Faults().Add(standin.Rule{Method: "POST", PathPrefix: apiPrefix + "/instance-operations/launch",
		Status: http.StatusInternalServerError, AfterHandler: true, Times: 1})

	_, err := f.adapter.Create(context.Background(), req)
	if !errors.Is(err, vendors.ErrTransient) {
		t.Fatalf("ambiguous launch: %v, want ErrTransient", err)
	}
	if n := f.count("POST", "/instance-operations/launch"); n != 1 {
		t.Fatalf("launch sent %d times, want once (never blindly re-sent)", n)
	}
	in, err := f.adapter.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST", "/instance-operations/launch"); n != 1 {
		t.Errorf("retried Create launched again (%d launches)", n)
	}
	if entries := f.stand.Instances(); len(entries) != 1 || entries[0].ID != in.ID {
		t.Errorf("stand-in holds %+v, want only %s", entries, in.ID)
	}
}

func TestTypedErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(*fixture)
		call  func(*testing.T, *fixture) error
		want  error
	}{
		{"capacity", nil, func(t *testing.T, f *fixture) error {
			_, err := f.adapter.Create(ctx, request(t, vendors.CatalogItem{InstanceType: "gpu_1x_a100", Region: "us-west-1"}))
			return err
		}, vendors.ErrNoCapacity},
		{"quota", func(f *fixture) { f.stand.SetQuota(1) }, func(t *testing.T, f *fixture) error {
			item := available(t, f, "gpu_1x_a10")
			if _, err := f.adapter.Create(ctx, request(t, item)); err != nil {
				t.Fatal(err)
			}
			_, err := f.adapter.Create(ctx, request(t, item))
			return err
		}, vendors.ErrQuota},
		{"auth", nil, func(t *testing.T, f *fixture) error {
			_, err := New(Config{APIKey: "wrong", BaseURL: f.srv.URL + apiPrefix, RateLimit: rate.Inf}).Catalog(ctx)
			return err
		}, vendors.ErrAuth},
		{"unknown type", nil, func(t *testing.T, f *fixture) error {
			_, err := f.adapter.Create(ctx, request(t, vendors.CatalogItem{InstanceType: "gpu_9x_nothing", Region: "us-west-1"}))
			return err
		}, vendors.ErrInvalid},
		{"not found", nil, func(t *testing.T, f *fixture) error {
			_, err := f.adapter.Get(ctx, "0920582c7ff041399e34823a0be62549")
			return err
		}, vendors.ErrNotFound},
		{"launch rate limit", func(f *fixture) { f.stand.SetLaunchInterval(time.Minute) }, func(t *testing.T, f *fixture) error {
			item := available(t, f, "gpu_1x_a10")
			if _, err := f.adapter.Create(ctx, request(t, item)); err != nil {
				t.Fatal(err)
			}
			_, err := f.adapter.Create(ctx, request(t, item))
			if d := vendors.RetryAfter(err); d < 50*time.Second || d > time.Minute {
				t.Errorf("RetryAfter %v, want about a minute", d)
			}
			return err
		}, vendors.ErrRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			err := tt.call(t, f)
			var ve *vendors.Error
			if !errors.Is(err, tt.want) || !errors.As(err, &ve) {
				t.Errorf("error %v, want a *vendors.Error of kind %v", err, tt.want)
			}
		})
	}
}

func TestTransientFailures(t *testing.T) {
	f := setup(t)
	f.stand.Faults().Add(standin.Rule{Method: "GET", PathPrefix: apiPrefix + "/instance-types", Status: http.StatusServiceUnavailable, Times: 2})
	if _, err := f.adapter.Catalog(context.Background()); err != nil {
		t.Fatalf("catalog after two 503s: %v, want retried to success", err)
	}
	if n := f.count("GET", "/instance-types"); n != 3 {
		t.Errorf("GET /instance-types sent %d times, want 3", n)
	}

	req := request(t, available(t, f, "gpu_1x_a10"))
	f.stand.Faults().Add(standin.Rule{Method: "POST", PathPrefix: apiPrefix + "/instance-operations/launch", Status: http.StatusServiceUnavailable, Times: 1})
	if _, err := f.adapter.Create(context.Background(), req); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("launch answered 503: %v, want ErrTransient", err)
	}
	if n := f.count("POST", "/instance-operations/launch"); n != 1 {
		t.Errorf("launch sent %d times, want 1", n)
	}
}

func TestHungStandInTimesOut(t *testing.T) {
	f := setup(t, func(_ *standin.Options, c *Config) { c.Timeout = 200 * time.Millisecond })
	f.stand.Faults().Add(standin.Rule{Method: "GET", PathPrefix: apiPrefix + "/instances/", Delay: time.Minute})
	start := time.Now()
	_, err := f.adapter.Get(context.Background(), "0920582c7ff041399e34823a0be62549")
	// Four attempts of 200 ms plus backoff between them.
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("hung Get took %v", elapsed)
	}
	if !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("hung Get: %v, want ErrTransient", err)
	}
}

func TestPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lambda.json")
	hosts := &standin.Hosts{}
	defer hosts.CloseAll()
	o := standin.Options{APIKey: testKey, BootTime: 50 * time.Millisecond, StatePath: path, Hosts: hosts}
	serve := func() (*StandIn, *Adapter, func()) {
		stand, err := NewStandIn(o)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(stand)
		a := New(Config{APIKey: testKey, BaseURL: srv.URL + apiPrefix, RateLimit: rate.Inf, LaunchInterval: time.Nanosecond, SSHPort: hosts.Port})
		return stand, a, func() { srv.Close(); stand.Close() }
	}

	_, a, stop := serve()
	req := request(t, inStock(t, a, "gpu_1x_a10"))
	in, err := a.Create(context.Background(), req)
	if err != nil {
		stop()
		t.Fatal(err)
	}
	before, _ := vendortest.WaitFor(t, a, in.ID, vendortest.Running)
	stop()
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(before.ExternalIP, strconv.Itoa(before.SSHPort)), time.Second); err == nil {
		c.Close()
		t.Errorf("host still answers after the stand-in closed")
	}

	stand, a, stop := serve()
	defer stop()
	after, err := a.Get(context.Background(), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.State != vendors.StateRunning || after.ExternalIP != before.ExternalIP || after.SSHPort != before.SSHPort {
		t.Errorf("after restart %+v, want running at %s:%d", after, before.ExternalIP, before.SSHPort)
	}
	vendortest.LogIn(t, after.ExternalIP, after.SSHPort, req.SSHPublicKey)
	if n := len(stand.Instances()); n != 1 {
		t.Errorf("%d instances after restart, want 1", n)
	}
}

// TestAgainstPublishedSpec runs the adapter against the stand-in with
// every request and response checked against Lambda's OpenAPI document.
func TestAgainstPublishedSpec(t *testing.T) {
	spec := vendortest.LoadSpec(t, "lambda/lambda-labs-openapi.json")
	f := setup(t)
	srv := httptest.NewServer(vendortest.Validating(t, spec, "", f.stand))
	defer srv.Close()
	a := New(Config{APIKey: testKey, BaseURL: srv.URL + apiPrefix, RateLimit: rate.Inf, LaunchInterval: time.Nanosecond, SSHPort: f.hosts.Port})
	ctx := context.Background()

	items, err := a.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var item vendors.CatalogItem
	for _, it := range items {
		if it.InstanceType == "gpu_1x_a10" && it.Available {
			item = it
		}
	}
	req := request(t, item)
	req.UserData = "#cloud-config\nruncmd:\n  - echo hi\n"
	in, err := a.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	in, _ = vendortest.WaitFor(t, a, in.ID, vendortest.Running)
	if _, err := a.List(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, a, in.ID, func(_ vendors.Instance, err error) bool { return errors.Is(err, vendors.ErrNotFound) })

	// Documented error answers.
	f.stand.SetQuota(0)
	if _, err := a.Create(ctx, request(t, vendors.CatalogItem{InstanceType: "gpu_1x_a100", Region: "us-west-1"})); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("capacity: %v", err)
	}
	if _, err := a.Create(ctx, request(t, vendors.CatalogItem{InstanceType: "gpu_9x_nothing", Region: "us-west-1"})); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("unknown type: %v", err)
	}
	f.stand.SetQuota(1)
	if _, err := a.Create(ctx, request(t, item)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(ctx, request(t, item)); !errors.Is(err, vendors.ErrQuota) {
		t.Errorf("quota: %v", err)
	}
	bad := New(Config{APIKey: "wrong", BaseURL: srv.URL + apiPrefix, RateLimit: rate.Inf})
	if _, err := bad.List(ctx); !errors.Is(err, vendors.ErrAuth) {
		t.Errorf("auth: %v", err)
	}
}

func TestOwnership(t *testing.T) {
	f := setup(t)
	vendortest.Ownership(t, f.adapter, request(t, available(t, f, "gpu_1x_a10")))
}
