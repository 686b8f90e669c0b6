package aws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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

const (
	testKey    = "AKIASANDBOXTEST00001"
	testSecret = "sandbox-secret"
	// pageSize is the adapter's DescribeInstances page in tests: EC2's
	// smallest MaxResults.
	pageSize = 5
)

type fixture = vendortest.Fixture[*StandIn, *Adapter]

// clockBase starts a stock-drift period: tests run well within it, so
// which items flicker out of stock is fixed (see createRequest).
var clockBase = time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC)

// actionPaths names each request by its action before the Recorder sees
// it, as the stand-in does for its faults: every request is POST /.
func actionPaths(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ActionPath(r)
		h.ServeHTTP(w, r)
	})
}

// serve serves a stand-in made with o over loopback HTTP behind a
// Recorder that counts requests by action (and wrap, when not nil,
// between the two), and points an adapter at it, changed by opts.
func serve(t testing.TB, o standin.Options, wrap func(http.Handler) http.Handler, opts ...func(*Config)) *fixture {
	t.Helper()
	o = vendortest.StandInOptions(o, testKey, clockBase)
	si, err := NewStandIn(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { si.Close() })
	var h http.Handler = si
	if wrap != nil {
		h = wrap(h)
	}
	rec := &vendortest.Recorder{}
	srv := httptest.NewServer(actionPaths(rec.Wrap(h)))
	t.Cleanup(srv.Close)
	adapter := func(v vendortest.Variant) *Adapter {
		c := Config{AccessKeyID: cmp.Or(v.Key, testKey), SecretAccessKey: testSecret, Endpoint: srv.URL, Regions: si.Regions(),
			SSHPort: o.Hosts.Port, Timeout: cmp.Or(v.Timeout, 2*time.Second), RateLimit: rate.Inf, PageSize: pageSize,
			Logger: slog.New(slog.DiscardHandler)}
		for _, opt := range opts {
			opt(&c)
		}
		return New(c)
	}
	f := &fixture{SI: si, A: adapter(vendortest.Variant{}), Srv: srv}
	f.Rig = &vendortest.Rig{
		Vendor: f.A, StandIn: si, Hosts: o.Hosts, Rec: rec,
		Count:   func(c vendortest.Call) int { return rec.Count(c.Method + " " + c.Path) },
		Adapter: func(v vendortest.Variant) vendors.Vendor { return adapter(v) },
		Stop:    srv.Close,
	}
	return f
}

// call is the Call of an EC2 action.
func call(action string) vendortest.Call {
	return vendortest.Call{Method: http.MethodPost, Path: "/" + action}
}

// createRequest is an on-demand request for typ in region, in stock at
// clockBase.
func createRequest(t *testing.T, region, typ string) vendors.CreateRequest {
	t.Helper()
	if standin.Flicker(0.05, typ+"/"+region+"/"+standin.OnDemand, clockBase) {
		t.Fatalf("%s/%s is flickered out of stock at the test clock: pick another", typ, region)
	}
	return request(t, vendors.CatalogItem{InstanceType: typ, Region: region, Contract: vendors.OnDemand})
}

func request(t *testing.T, item vendors.CatalogItem) vendors.CreateRequest {
	return vendors.CreateRequest{
		ResourceID: uuid.NewString(), InstanceType: item.InstanceType, Region: item.Region,
		Contract: item.Contract, SSHPublicKey: vendortest.PublicKey(t), Item: item,
	}
}

// catalogSize is how many items the catalog lists at scale: every type a
// region sells, on demand and spot.
func catalogSize(_ time.Time, scale int) int {
	n := 0
	for _, r := range scaledRegions(scale) {
		for _, t := range seedTypes {
			if _, ok := t.stock[seedRegionOf(r.name)]; ok {
				n += 2
			}
		}
	}
	return n
}

// TestSuite runs the vendor suite against the adapter and its stand-in.
func TestSuite(t *testing.T) {
	ctx := context.Background()
	countries := map[string]string{"us-east-1": "US", "eu-west-1": "IE", "eu-central-1": "DE", "eu-north-1": "SE", "ap-northeast-1": "JP", "ap-southeast-2": "AU"}
	var gpuNames []string
	for _, st := range seedTypes {
		gpuNames = append(gpuNames, seedGPUName(st))
	}
	g5 := func(t *testing.T) vendors.CreateRequest { return createRequest(t, "us-east-1", "g5.xlarge") }
	other := func(region, typ string) func(t *testing.T) vendors.CreateRequest {
		return func(t *testing.T) vendors.CreateRequest {
			return request(t, vendors.CatalogItem{InstanceType: typ, Region: region, Contract: vendors.OnDemand})
		}
	}
	diskPrice := round(DefaultBootDiskGB * gp3USDPerGBMonth / hoursPerMonth)
	missing := "us-east-1/i-0123456789abcdef0"
	vendortest.Run(t, vendortest.Kit{
		Start:    func(t *testing.T, o standin.Options) *vendortest.Rig { return serve(t, o, nil).Rig },
		Clock:    clockBase,
		Request:  g5,
		Create:   call("RunInstances"),
		Get:      func(string) vendortest.Call { return call("DescribeInstances") },
		Missing:  missing,
		Hang:     call("DescribeInstances"),
		HangRead: func(ctx context.Context, v vendors.Vendor) error { _, err := v.Get(ctx, missing); return err },

		GPUNames:     gpuNames,
		StockUnknown: true,
		CatalogSize:  catalogSize,
		CatalogItem: func(t *testing.T, it vendors.CatalogItem, now time.Time) {
			if it.Stock != -1 || !it.Available || it.BootDiskGB != DefaultBootDiskGB || it.BootDiskPricePerHour != diskPrice {
				t.Errorf("%s/%s %s: stock %d available %v disk %d GB at %v", it.InstanceType, it.Region, it.Contract, it.Stock, it.Available, it.BootDiskGB, it.BootDiskPricePerHour)
			}
			if c, ok := countries[it.Region]; ok && it.Country != c {
				t.Errorf("%s: country %q, want %q", it.Region, it.Country, c)
			}
			if (it.Contract == vendors.Spot) != (it.Extra[extraZone] != "") || it.Extra[extraZone] != "" && !strings.HasPrefix(it.Extra[extraZone], it.Region) {
				t.Errorf("%s/%s %s: extra %v", it.InstanceType, it.Region, it.Contract, it.Extra)
			}
			if it.InstanceType == "p5.48xlarge" && it.Region == "us-east-1" {
				if it.GPUName != "H100 SXM5 80GB" || it.GPUCount != 8 || it.VCPUs != 192 || it.MemoryGB != 2048 {
					t.Errorf("p5.48xlarge mapped as %+v", it)
				}
				// The list price, $55.04 per instance-hour, drifting at most
				// 2%, plus the disk; spot is 30 to 45% of it.
				want := 55.04 + diskPrice
				if it.Contract == vendors.Spot {
					want = 55.04 * 0.375
				}
				if math.Abs(it.PricePerHour-want) > want*0.21 || it.Contract == vendors.OnDemand && math.Abs(it.PricePerHour-want) > 55.04*0.021 {
					t.Errorf("p5.48xlarge %s price %v per node-hour, want about %v", it.Contract, it.PricePerHour, want)
				}
			}
		},
		ScaledRegion:   "us-east-1-s3",
		Country:        New(Config{AccessKeyID: testKey, Logger: slog.New(slog.DiscardHandler)}).country,
		UnknownRegions: []string{"mars-north-1", "us-east-1-sx"},

		UserData:    true,
		Ports:       true,
		Volumes:     &vendortest.VolumeKit{MountPath: func(v vendors.Volume) string { return vendors.MountPath(v.Name) }, ReportsUse: true},
		Terminating: vendors.StateTerminating,
		Created:     created,
		PageSize:    pageSize,
		Errors: []vendortest.ErrorCase{
			{Name: "capacity", Call: vendortest.Creating(other("us-east-1", "p6-b200.48xlarge")), Want: vendors.ErrNoCapacity},
			{Name: "vcpu limit", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.(*StandIn).SetVCPULimit(4)
				if _, err := r.Vendor.Create(ctx, g5(t)); err != nil {
					t.Fatal(err)
				}
			}, Call: vendortest.Creating(g5), Want: vendors.ErrQuota},
			{Name: "unknown type", Call: vendortest.Creating(other("us-east-1", "g9.nothing")), Want: vendors.ErrInvalid},
			{Name: "not sold in the region", Call: vendortest.Creating(other("us-east-1", "p5e.48xlarge")), Want: vendors.ErrInvalid},
			{Name: "unconfigured region", Call: vendortest.Creating(other("mars-north-1", "g5.xlarge")), Want: vendors.ErrInvalid},
			{Name: "throttled", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.Faults().Add(standin.Rule{Method: http.MethodPost, PathPrefix: "/RunInstances", Status: http.StatusTooManyRequests})
			}, Call: vendortest.Creating(g5), Want: vendors.ErrRateLimited},
		},
		Extra: map[string]func(t *testing.T, r *vendortest.Rig){
			"CreateIsIdempotent": func(t *testing.T, r *vendortest.Rig) {
				// The image is looked up once per region, not per create.
				if n := r.Count(call("DescribeImages")); n != 1 {
					t.Errorf("DescribeImages sent %d times, want 1", n)
				}
			},
		},
	})
}

// seedGPUName is the registry spelling the adapter makes of a seed type's
// GPU, as DescribeInstanceTypes reports it.
func seedGPUName(st seedType) string {
	name, gb := st.gpu, int(math.Round(float64(st.gpuMemoryMiB)/1024))
	family, _, _ := strings.Cut(st.name, ".")
	if ff, ok := formFactors[family]; ok {
		return fmt.Sprintf("%s %s %dGB", name, ff, gb)
	}
	return name
}

// created checks the launch, its tags, token, image and user data, as they
// reached the stand-in.
func created(t *testing.T, r *vendortest.Rig, req vendors.CreateRequest, in vendors.Instance) {
	if in.State != vendors.StatePending || in.Name != vendors.InstanceName(req.ResourceID) || !strings.HasPrefix(in.ID, req.Region+"/i-") {
		t.Errorf("created %+v", in)
	}
	_, iid, _ := strings.Cut(in.ID, "/")
	got, ok := r.StandIn.(*StandIn).Launch(iid)
	if !ok {
		t.Fatalf("stand-in has no launch for %s", in.ID)
	}
	if got.ClientToken != req.ResourceID || got.Tags[vendors.Tag] != req.ResourceID || got.Tags["Name"] != in.Name ||
		got.ImageID != imageID(req.Region) || got.Spot {
		t.Errorf("launch %+v, want token and tag %s, image %s, on demand", got, req.ResourceID, imageID(req.Region))
	}
	keyMaterial := strings.Fields(req.SSHPublicKey)[1]
	for _, want := range []string{"multipart/mixed", "disable_root: false", keyMaterial, "echo renter-script"} {
		if !strings.Contains(got.UserData, want) {
			t.Errorf("user data lacks %q:\n%s", want, got.UserData)
		}
	}
}

// TestCapacityRefusalShowsSoldOut: EC2 publishes no stock, so an offer
// whose launch was refused for capacity is shown sold out for a while,
// and in stock again after it.
func TestCapacityRefusalShowsSoldOut(t *testing.T) {
	now := clockBase
	f := serve(t, standin.Options{}, nil, func(c *Config) { c.Now = func() time.Time { return now } })
	ctx := context.Background()
	req := createRequest(t, "us-east-1", "p6-b200.48xlarge")
	if _, err := f.A.Create(ctx, req); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Fatalf("create of a sold-out type: %v, want ErrNoCapacity", err)
	}
	availability := func() map[vendors.Contract]bool {
		items, err := f.A.Catalog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[vendors.Contract]bool{}
		for _, it := range items {
			if it.InstanceType == req.InstanceType && it.Region == req.Region {
				out[it.Contract] = it.Available
			}
		}
		return out
	}
	if got := availability(); got[vendors.OnDemand] || !got[vendors.Spot] {
		t.Errorf("after an on-demand refusal: %v, want on demand sold out and spot available", got)
	}
	now = now.Add(defaultRefusalTTL)
	if got := availability(); !got[vendors.OnDemand] {
		t.Errorf("a refusal's memory outlived RefusalTTL: %v", got)
	}
}

// TestSpot: a spot launch asks EC2 for the spot market in the zone of the
// price shown, and an interruption reads as preempted.
func TestSpot(t *testing.T) {
	f := serve(t, standin.Options{BootTime: 50 * time.Millisecond}, nil)
	ctx := context.Background()
	items, err := f.A.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var item vendors.CatalogItem
	for _, it := range items {
		if it.InstanceType == "g6.xlarge" && it.Region == "us-east-1" && it.Contract == vendors.Spot {
			item = it
		}
	}
	if item.InstanceType == "" || item.PricePerHour <= 0 {
		t.Fatalf("no spot g6.xlarge in us-east-1: %+v", item)
	}
	in, err := f.A.Create(ctx, request(t, item))
	if err != nil {
		t.Fatal(err)
	}
	_, iid, _ := strings.Cut(in.ID, "/")
	got, _ := f.SI.Launch(iid)
	if !got.Spot || got.Zone != item.Extra[extraZone] {
		t.Errorf("spot launch %+v, want spot in %s", got, item.Extra[extraZone])
	}
	vendortest.WaitFor(t, f.A, in.ID, vendortest.Running)
	if !f.SI.Interrupt(iid) {
		t.Fatal("the stand-in did not interrupt the spot instance")
	}
	if got, err := f.A.Get(ctx, in.ID); err != nil || got.State != vendors.StatePreempted {
		t.Errorf("interrupted spot instance: %+v, %v; want preempted", got, err)
	}
}

// TestIdempotentClientToken: RunInstances sent twice with one resource id
// (a create whose answer was lost before its instance was tagged in a
// listing) launches one instance: the token is the resource id.
func TestIdempotentClientToken(t *testing.T) {
	f := serve(t, standin.Options{BootTime: time.Second}, nil)
	req := createRequest(t, "us-east-1", "g5.xlarge")
	first, err := f.A.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// Bypass the adapter's own lookup: the stand-in answers the token.
	f.SI.Mu.Lock()
	for _, rec := range f.SI.State.Instances {
		rec.Tags = nil
	}
	f.SI.Mu.Unlock()
	again, err := f.A.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || len(f.SI.Instances()) != 1 {
		t.Errorf("second launch gave %s (first %s), %d instances", again.ID, first.ID, len(f.SI.Instances()))
	}
}

// TestRegionNotEnabledLeavesTheOthers: a configured region the account
// cannot use (EC2 answers AuthFailure there) is left out of the catalog
// and of the security groups, and the other regions are still sold; only
// when no region answers do they fail.
func TestRegionNotEnabledLeavesTheOthers(t *testing.T) {
	ctx := context.Background()
	f := serve(t, standin.Options{}, nil, func(c *Config) { c.Regions = append([]string{"ap-east-1"}, c.Regions...) })
	items, err := f.A.Catalog(ctx)
	if err != nil {
		t.Fatalf("catalog with one region not enabled: %v", err)
	}
	regions := map[string]int{}
	for _, it := range items {
		regions[it.Region]++
	}
	if regions["ap-east-1"] != 0 || len(regions) != len(f.SI.Regions()) {
		t.Errorf("items by region %v, want every enabled region (%v) and none of ap-east-1", regions, f.SI.Regions())
	}
	if _, err := f.A.Firewalls(ctx); err != nil {
		t.Errorf("security groups with one region not enabled: %v", err)
	}
	none := serve(t, standin.Options{}, nil, func(c *Config) { c.Regions = []string{"ap-east-1"} })
	if _, err := none.A.Catalog(ctx); !errors.Is(err, vendors.ErrAuth) {
		t.Errorf("catalog with no region enabled: %v, want the region's AuthFailure", err)
	}
	if _, err := none.A.Firewalls(ctx); !errors.Is(err, vendors.ErrAuth) {
		t.Errorf("security groups with no region enabled: %v, want the region's AuthFailure", err)
	}
}
