package lambda

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

const testKey = "test-api-key"

type fixture = vendortest.Fixture[*StandIn, *Adapter]

type fixtureOption func(*standin.Options, *Config)

// clockBase starts a stock-drift period: tests run well within it, so
// which items flicker out of stock is fixed (see createRequest).
var clockBase = time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC)

// setup serves a stand-in over loopback HTTP and points an adapter at it,
// both changed by opts.
func setup(t *testing.T, opts ...fixtureOption) *fixture {
	t.Helper()
	o := standin.Options{BootTime: 150 * time.Millisecond}
	for _, opt := range opts {
		opt(&o, &Config{})
	}
	return serve(t, o, opts...)
}

// serve is setup for a stand-in made with o.
func serve(t *testing.T, o standin.Options, opts ...fixtureOption) *fixture {
	t.Helper()
	s := vendortest.Setup[*StandIn, *Adapter]{Key: testKey, Clock: clockBase, NewStandIn: NewStandIn,
		NewAdapter: func(_ *StandIn, url string, hosts *standin.Hosts, v vendortest.Variant) *Adapter {
			c := Config{APIKey: v.Key, BaseURL: url + apiPrefix, RateLimit: rate.Inf, LaunchInterval: time.Nanosecond,
				Timeout: v.Timeout, SSHPort: hosts.Port}
			for _, opt := range opts {
				opt(&standin.Options{}, &c)
			}
			return New(c)
		}}
	return s.Serve(t, o, nil)
}

// createRequest is a request for typ in region, in stock at clockBase.
func createRequest(t *testing.T, region, typ string) vendors.CreateRequest {
	t.Helper()
	if standin.Flicker(0.05, typ+"/"+region, clockBase) {
		t.Fatalf("%s/%s is flickered out of stock at the test clock: pick another", typ, region)
	}
	return request(t, vendors.CatalogItem{InstanceType: typ, Region: region})
}

// available picks an item of the given type that has capacity now.
func available(t *testing.T, f *fixture, instanceType string) vendors.CatalogItem {
	t.Helper()
	return inStock(t, f.A, instanceType)
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

// TestSuite runs the vendor suite against the adapter and its stand-in.
func TestSuite(t *testing.T) {
	ctx := context.Background()
	countries := map[string]string{"us-west-1": "US", "europe-central-1": "DE", "asia-northeast-1": "JP", "asia-south-1": "IN", "me-west-1": "IL"}
	// Every GPU name the stand-in sells and the spec's InstanceType example.
	gpuNames := []string{"H100 (80 GB SXM5)"}
	for _, st := range seedTypes {
		gpuNames = append(gpuNames, st.t.GPUDescription)
	}
	a10 := func(t *testing.T) vendors.CreateRequest { return createRequest(t, "us-east-1", "gpu_1x_a10") }
	other := func(typ string) func(t *testing.T) vendors.CreateRequest {
		return func(t *testing.T) vendors.CreateRequest {
			return request(t, vendors.CatalogItem{InstanceType: typ, Region: "us-west-1"})
		}
	}
	launch := vendortest.Call{Method: http.MethodPost, Path: apiPrefix + "/instance-operations/launch"}
	const missing = "0920582c7ff041399e34823a0be62549"
	vendortest.Run(t, vendortest.Kit{
		Volumes: &vendortest.VolumeKit{MountPath: func(v vendors.Volume) string { return fsMountRoot + v.Name }, ReportsUse: true},
		Start:   func(t *testing.T, o standin.Options) *vendortest.Rig { return serve(t, o).Rig },
		Clock:   clockBase,
		Request: a10,
		Create:  launch,
		Get: func(id string) vendortest.Call {
			return vendortest.Call{Method: http.MethodGet, Path: apiPrefix + "/instances/" + id}
		},
		Missing:  missing,
		Ports:    true,
		Hang:     vendortest.Call{Method: http.MethodGet, Path: apiPrefix + "/instances/"},
		HangRead: func(ctx context.Context, v vendors.Vendor) error { _, err := v.Get(ctx, missing); return err },

		GPUNames:     gpuNames,
		SomeSoldOut:  true,
		StockUnknown: true,
		CatalogSize:  func(_ time.Time, scale int) int { return scale * len(seedTypes) * scale * len(seedRegions) },
		CatalogItem: func(t *testing.T, it vendors.CatalogItem, _ time.Time) {
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
		},
		ScaledRegion:   "us-west-1-s3",
		Country:        New(Config{Logger: slog.New(slog.DiscardHandler)}).country,
		UnknownRegions: []string{"mars-north-1", "us-west-1-sx"},

		UserData: true,
		Created:  created,
		Errors: []vendortest.ErrorCase{
			{Name: "capacity", Call: vendortest.Creating(other("gpu_1x_a100")), Want: vendors.ErrNoCapacity},
			{Name: "quota", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.(*StandIn).SetQuota(1)
				if _, err := r.Vendor.Create(ctx, a10(t)); err != nil {
					t.Fatal(err)
				}
			}, Call: vendortest.Creating(a10), Want: vendors.ErrQuota},
			{Name: "unknown type", Call: vendortest.Creating(other("gpu_9x_nothing")), Want: vendors.ErrInvalid},
			{Name: "launch rate limit", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.(*StandIn).SetLaunchInterval(time.Minute)
				if _, err := r.Vendor.Create(ctx, a10(t)); err != nil {
					t.Fatal(err)
				}
			}, Call: func(t *testing.T, r *vendortest.Rig) error {
				_, err := r.Vendor.Create(ctx, a10(t))
				if d := vendors.RetryAfter(err); d < 50*time.Second || d > time.Minute {
					t.Errorf("RetryAfter %v, want about a minute", d)
				}
				return err
			}, Want: vendors.ErrRateLimited},
		},
		Extra: map[string]func(t *testing.T, r *vendortest.Rig){
			"Catalog": func(t *testing.T, r *vendortest.Rig) {
				items, err := r.Vendor.(*Adapter).CatalogInStock(ctx)
				if err != nil || len(items) < 20 {
					t.Errorf("only %d items in stock: %v", len(items), err)
				}
			},
			"CreateLifecycle": func(t *testing.T, r *vendortest.Rig) {
				if n := len(r.StandIn.Instances()); n != 0 {
					t.Errorf("stand-in still holds %d instances", n)
				}
			},
			"CreateIsIdempotent": func(t *testing.T, r *vendortest.Rig) {
				if n := r.Rec.Count("POST " + apiPrefix + "/ssh-keys"); n != 1 {
					t.Errorf("key registered %d times, want 1", n)
				}
			},
		},
	})
}

// created checks the launch, its key, tags and user data, as they
// reached the stand-in.
func created(t *testing.T, r *vendortest.Rig, req vendors.CreateRequest, in vendors.Instance) {
	if in.State != vendors.StatePending || in.Name != vendors.InstanceName(req.ResourceID) {
		t.Errorf("created %+v", in)
	}
	got, ok := r.StandIn.(*StandIn).Launch(in.ID)
	if !ok {
		t.Fatalf("stand-in has no launch for %s", in.ID)
	}
	wantKey, _ := vendors.KeyName(req.SSHPublicKey)
	if len(got.SSHKeyNames) != 1 || got.SSHKeyNames[0] != wantKey || len(got.PublicKeys) != 1 || got.PublicKeys[0] != req.SSHPublicKey {
		t.Errorf("launch keys %q → %q, want %q → %q", got.SSHKeyNames, got.PublicKeys, wantKey, req.SSHPublicKey)
	}
	if got.Tags[vendors.Tag] != req.ResourceID {
		t.Errorf("launch tags %v, want %s=%s", got.Tags, vendors.Tag, req.ResourceID)
	}
	keyMaterial := strings.Fields(req.SSHPublicKey)[1]
	for _, want := range []string{"multipart/mixed", "disable_root: false", keyMaterial, "echo renter-script"} {
		if !strings.Contains(got.UserData, want) {
			t.Errorf("user data lacks %q:\n%s", want, got.UserData)
		}
	}
}

// TestInstanceTypesAnswerIsEncodedWhole: the stand-in writes its listing
// of instance types a type at a time; the bytes must be what encoding the
// whole map writes (its members in name order), at a scale with many types.
func TestInstanceTypesAnswerIsEncodedWhole(t *testing.T) {
	f := setup(t, func(o *standin.Options, _ *Config) { o.Scale = 3 })
	var body []byte
	if err := f.A.client.Do(context.Background(), vendors.Request{Op: "list instance types", Method: http.MethodGet, Path: "/instance-types"}, &body); err != nil {
		t.Fatal(err)
	}
	var types envelope[map[string]instanceTypesItem]
	vendortest.Encoded(t, body, &types)
	if len(types.Data) <= len(seedTypes) {
		t.Errorf("%d instance types at scale 3, want more than the %d seeded", len(types.Data), len(seedTypes))
	}
}

// TestAgainstPublishedSpec runs the adapter against the stand-in with
// every request and response checked against Lambda's OpenAPI document.
func TestAgainstPublishedSpec(t *testing.T) {
	spec := vendortest.LoadSpec(t, "lambda/lambda-labs-openapi.json")
	f := setup(t)
	srv := httptest.NewServer(vendortest.Validating(t, spec, "", f.SI))
	defer srv.Close()
	a := New(Config{APIKey: testKey, BaseURL: srv.URL + apiPrefix, RateLimit: rate.Inf, LaunchInterval: time.Nanosecond, SSHPort: f.Hosts.Port})
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
	req.Ports = []vendors.Port{{Number: 8888, Protocol: vendors.TCP}, {Number: 9000, Protocol: vendors.UDP}}
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
	if fws, err := a.Firewalls(ctx); err != nil || len(fws) != 1 || a.DeleteFirewall(ctx, fws[0].ID) != nil {
		t.Errorf("firewalls %+v, %v", fws, err)
	}

	// Documented error answers.
	f.SI.SetQuota(0)
	if _, err := a.Create(ctx, request(t, vendors.CatalogItem{InstanceType: "gpu_1x_a100", Region: "us-west-1"})); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("capacity: %v", err)
	}
	if _, err := a.Create(ctx, request(t, vendors.CatalogItem{InstanceType: "gpu_9x_nothing", Region: "us-west-1"})); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("unknown type: %v", err)
	}
	f.SI.SetQuota(1)
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
