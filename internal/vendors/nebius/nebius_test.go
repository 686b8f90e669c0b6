package nebius

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/gpusupply/supply/internal/vendors"
	pb "github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// Full method names, as the stand-in counts and matches them.
const (
	mCreate       = "/nebius.compute.v1.InstanceService/Create"
	mGet          = "/nebius.compute.v1.InstanceService/Get"
	mDelete       = "/nebius.compute.v1.InstanceService/Delete"
	mExchange     = "/nebius.iam.v1.TokenExchangeService/Exchange"
	mPlatform     = "/nebius.compute.v1.PlatformService/List"
	mOperationGet = "/nebius.common.v1.OperationService/Get"
	mEstimate     = "/nebius.billing.v1alpha1.CalculatorService/Estimate"
)

type fixture struct {
	*vendortest.Rig
	si    *StandIn
	addr  string
	a     *Adapter
	hosts *standin.Hosts
}

// newFixture serves a stand-in over loopback gRPC and points an adapter
// at it.
func newFixture(t testing.TB, o standin.Options) *fixture {
	t.Helper()
	o = vendortest.StandInOptions(o, "", clockBase)
	si, err := NewStandIn(o)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go si.Serve(l)
	f := &fixture{si: si, addr: l.Addr().String(), hosts: o.Hosts}
	f.a = f.adapter(func(c *Config) { c.Timeout = 2 * time.Second })
	f.Rig = &vendortest.Rig{
		Vendor: f.a, StandIn: si, Hosts: o.Hosts,
		Count: func(c vendortest.Call) int { return si.Calls(c.Path) },
		Adapter: func(v vendortest.Variant) vendors.Vendor {
			return f.adapter(func(c *Config) {
				if v.Timeout > 0 {
					c.Timeout = v.Timeout
				}
				if v.Key != "" {
					c.PrivateKeyPEM = otherPEM
				}
			})
		},
		Stop: si.Stop,
	}
	t.Cleanup(func() {
		si.Stop()
		si.Close()
	})
	return f
}

// adapter makes an adapter for the fixture's stand-in, changed by edit.
func (f *fixture) adapter(edit func(*Config)) *Adapter {
	c := f.si.AdapterConfig(f.addr)
	c.RateLimit, c.Burst = 1000, 100
	c.OperationPoll = 20 * time.Millisecond
	c.Logger = slog.New(slog.DiscardHandler)
	if edit != nil {
		edit(&c)
	}
	return New(c)
}

// otherPEM is a private key that is not the stand-in's service account's.
var otherPEM = func() string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
}()

// clockBase starts a stock-drift period: tests run well within it, so
// which items flicker out of stock is fixed (see createRequest).
var clockBase = time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC)

func createRequest(t *testing.T, region, platform, preset string, contract vendors.Contract) vendors.CreateRequest {
	t.Helper()
	if standin.Flicker(0.05, region+"/"+platform+"/"+preset, clockBase) {
		t.Fatalf("%s/%s/%s is flickered out of stock at the test clock: pick another", region, platform, preset)
	}
	return vendors.CreateRequest{
		ResourceID: uuid.NewString(), InstanceType: instanceType(platform, preset), Region: region,
		Contract: contract, SSHPublicKey: vendortest.PublicKey(t),
	}
}

// received is the InstanceSpec a VM was created with, as the stand-in got it.
func received(t *testing.T, si *StandIn, id string) *pb.InstanceSpec {
	t.Helper()
	si.Mu.Lock()
	defer si.Mu.Unlock()
	for _, vm := range si.State.VMs {
		if vm.ID == id {
			spec := &pb.InstanceSpec{}
			if err := protojson.Unmarshal([]byte(vm.Spec), spec); err != nil {
				t.Fatal(err)
			}
			return spec
		}
	}
	t.Fatalf("the stand-in has no VM %s", id)
	return nil
}

// TestSuite runs the vendor suite against the adapter and its stand-in.
func TestSuite(t *testing.T) {
	ctx := context.Background()
	var gpuNames []string
	for _, p := range seedPlatforms {
		if p.gpuMemoryGB > 0 {
			gpuNames = append(gpuNames, p.name)
		}
	}
	// The calculator answers decimal strings with nine places.
	disk, _ := strconv.ParseFloat(cost(BootDiskGiB*diskGiBHour).GetGeneral().GetTotal().GetCost(), 64)
	create := func(region, platform, preset string, contract vendors.Contract) func(t *testing.T) vendors.CreateRequest {
		return func(t *testing.T) vendors.CreateRequest { return createRequest(t, region, platform, preset, contract) }
	}
	vendortest.Run(t, vendortest.Kit{
		Start:   func(t *testing.T, o standin.Options) *vendortest.Rig { return newFixture(t, o).Rig },
		Volumes: &vendortest.VolumeKit{MountPath: func(v vendors.Volume) string { return vendors.MountPath(v.Name) }, ReportsUse: true},
		Ports:   true,
		Clock:   clockBase,
		Request: create("eu-north1", "gpu-h100-sxm", "1gpu-16vcpu-200gb", vendors.OnDemand),
		Create:  vendortest.Call{Method: "POST", Path: mCreate},
		Get:     func(string) vendortest.Call { return vendortest.Call{Method: "POST", Path: mGet} },
		Missing: "computeinstance-e00nosuchinstance",
		Hang:    vendortest.Call{Path: mPlatform},

		GPUNames:    gpuNames,
		SomeSoldOut: true,
		CatalogSize: func(_ time.Time, scale int) int {
			n, _ := catalogSize(seedOffers(scale))
			return n
		},
		CatalogItem: func(t *testing.T, it vendors.CatalogItem, now time.Time) {
			platform, preset, _ := strings.Cut(it.InstanceType, ":")
			var o offer
			for _, so := range seedOffers(1) {
				if so.region == it.Region && so.platform.name == platform && so.preset.name == preset {
					o = so
				}
			}
			if o.platform == nil {
				t.Errorf("item %+v is not a seeded offer", it)
				return
			}
			if it.GPUName != platform || it.GPUCount != o.preset.gpus || it.VCPUs != o.preset.vcpus || it.MemoryGB != float64(o.preset.memGiB) {
				t.Errorf("%s/%s: hardware %+v", it.Region, it.InstanceType, it)
			}
			price, _ := vmPrice(o, it.Contract == vendors.Spot, now)
			if wantPrice := roundCents(price + disk); it.PricePerHour != wantPrice || it.BootDiskPricePerHour != disk || it.BootDiskGB != BootDiskGiB {
				t.Errorf("%s/%s %s: price %v (disk %v), want %v (disk %v)", it.Region, it.InstanceType, it.Contract, it.PricePerHour, it.BootDiskPricePerHour, wantPrice, disk)
			}
			if it.Country == "" || it.Country != regionCountry[it.Region] {
				t.Errorf("%s: country %q", it.Region, it.Country)
			}
			inStock := o.stock
			if standin.Flicker(0.05, o.key(), now) {
				inStock = 0
			}
			if it.Stock != inStock {
				t.Errorf("%s/%s: stock %d, want %d", it.Region, it.InstanceType, it.Stock, inStock)
			}
			switch {
			case it.Nodes > 1:
				if it.InfinibandGbps != clusterFabricGbps || it.Extra["fabric"] != o.fabric || it.Contract != vendors.OnDemand ||
					it.Available != (inStock >= it.Nodes) {
					t.Errorf("cluster offer %+v", it)
				}
			case it.Available != (inStock > 0):
				t.Errorf("%s/%s: available %v with stock %d", it.Region, it.InstanceType, it.Available, inStock)
			}
		},
		ScaledRegion:   "us-central1-s3",
		Country:        New(Config{Logger: slog.New(slog.DiscardHandler)}).country,
		UnknownRegions: []string{"ap-south9", "eu-north1-sx", "eu-north1-s"},

		UserData:    true,
		Terminating: vendors.StateTerminating,
		Created:     created,
		Errors: []vendortest.ErrorCase{
			{Name: "sold out", Call: vendortest.Creating(create("eu-north1", "gpu-l40s-a", "1gpu-16vcpu-64gb", vendors.OnDemand)), Want: vendors.ErrNoCapacity},
			{Name: "quota", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.(*StandIn).SetInstanceQuota(1)
				if _, err := r.Vendor.Create(ctx, createRequest(t, "eu-north1", "gpu-l40s-a", "1gpu-8vcpu-32gb", vendors.OnDemand)); err != nil {
					t.Fatal(err)
				}
			}, Call: vendortest.Creating(create("eu-north1", "gpu-l40s-a", "1gpu-8vcpu-32gb", vendors.OnDemand)), Want: vendors.ErrQuota},
			{Name: "preset not in region", Call: vendortest.Creating(create("eu-west1", "gpu-b200-sxm", "8gpu-160vcpu-1792gb", vendors.OnDemand)), Want: vendors.ErrInvalid},
			{Name: "spot on a platform without preemptibles", Call: vendortest.Creating(create("eu-north1", "gpu-l40s-a", "1gpu-8vcpu-32gb", vendors.Spot)), Want: vendors.ErrInvalid},
			{Name: "calculator refuses a price", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.Faults().Add(standin.Rule{PathPrefix: mEstimate, Status: 400, Times: 1})
			}, Call: func(t *testing.T, r *vendortest.Rig) error {
				_, err := r.Vendor.Catalog(ctx)
				return err
			}, Want: vendors.ErrInvalid},
			{Name: "rate limited", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.Faults().Add(standin.Rule{PathPrefix: mGet, Status: 429, Times: 1})
			}, Call: func(t *testing.T, r *vendortest.Rig) error {
				_, err := r.Vendor.Get(ctx, "computeinstance-e00nosuchinstance")
				if vendors.RetryAfter(err) <= 0 || r.Count(vendortest.Call{Path: mGet}) != 1 {
					t.Errorf("rate limited: retry after %v, %d calls (want a wait and no retry)", vendors.RetryAfter(err), r.Count(vendortest.Call{Path: mGet}))
				}
				return err
			}, Want: vendors.ErrRateLimited},
		},
		Restarted: func(t *testing.T, before, after *vendortest.Rig) {
			// Credentials handed out before the restart still work: the key survived.
			if after.StandIn.(*StandIn).AdapterConfig("").PrivateKeyPEM != before.StandIn.(*StandIn).AdapterConfig("").PrivateKeyPEM {
				t.Error("the service account key changed across the restart")
			}
		},
		Extra: map[string]func(t *testing.T, r *vendortest.Rig){
			"Catalog": func(t *testing.T, r *vendortest.Rig) {
				// Prices are cached: a second catalog asks the calculator nothing.
				before := r.Count(vendortest.Call{Path: mEstimate})
				items, err := r.Vendor.Catalog(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n := r.Count(vendortest.Call{Path: mEstimate}) - before; n != 0 {
					t.Errorf("second catalog made %d calculator calls, want 0 (cached)", n)
				}
				spot, clusters := 0, 0
				for _, it := range items {
					if it.Contract == vendors.Spot {
						spot++
					}
					if it.Nodes > 1 {
						clusters++
					}
				}
				if spot == 0 || clusters == 0 {
					t.Errorf("catalog has %d spot and %d cluster items; want some of each", spot, clusters)
				}
			},
		},
	})
}

// created checks Nebius's InstanceSpec as it reached the stand-in.
func created(t *testing.T, r *vendortest.Rig, req vendors.CreateRequest, in vendors.Instance) {
	if in.Name != vendors.InstanceName(req.ResourceID) || in.State != vendors.StatePending || in.Region != "eu-north1" || in.InstanceType != req.InstanceType {
		t.Errorf("created instance %+v", in)
	}
	spec := received(t, r.StandIn.(*StandIn), in.ID)
	key, _ := normalisedKey(req.SSHPublicKey)
	ud := spec.GetCloudInitUserData()
	if !strings.Contains(ud, key) || !strings.Contains(ud, "echo renter-script") || !strings.Contains(ud, "disable_root: false") {
		t.Errorf("cloud_init_user_data does not grant root and run the renter's script:\n%s", ud)
	}
	md := spec.GetBootDisk().GetManagedDisk()
	if md.GetSpec().GetSizeGibibytes() != BootDiskGiB || md.GetSpec().GetType() != pb.DiskSpec_NETWORK_SSD ||
		md.GetSpec().GetSourceImageFamily().GetImageFamily() != DefaultImageFamily || spec.GetBootDisk().GetAttachMode() != pb.AttachedDiskSpec_READ_WRITE {
		t.Errorf("boot disk %v", spec.GetBootDisk())
	}
	if spec.GetPreemptible() != nil || spec.GetGpuCluster() != nil || len(spec.GetNetworkInterfaces()) != 1 ||
		spec.GetNetworkInterfaces()[0].GetPublicIpAddress() == nil || spec.GetNetworkInterfaces()[0].GetSubnetId() != subnetID("eu-north1") {
		t.Errorf("instance spec %v", spec)
	}
}

// TestAuthWithoutKey: an adapter given no private key is refused as
// unauthenticated, not sent on.
func TestAuthWithoutKey(t *testing.T) {
	f := newFixture(t, standin.Options{})
	_, err := f.adapter(func(c *Config) { c.PrivateKeyPEM = "" }).List(context.Background())
	var ve *vendors.Error
	if !errors.As(err, &ve) || !errors.Is(err, vendors.ErrAuth) {
		t.Errorf("error %v (%T), want a *vendors.Error of kind %v", err, err, vendors.ErrAuth)
	}
}

// catalogSize is how many items the adapter lists for offers, and how
// many calculator prices it asks for them: one per region's boot disk
// and one per GPU preset and contract.
func catalogSize(offers []offer) (items, prices int) {
	regions := map[string]bool{}
	for _, o := range offers {
		if !regions[o.region] {
			regions[o.region] = true
			prices++
		}
		if o.preset.gpus == 0 {
			continue
		}
		items, prices = items+1, prices+1
		if o.platform.preemptible > 0 {
			items, prices = items+1, prices+1
		}
		if o.preset.clustering {
			items += len(clusterSizes)
		}
	}
	return items, prices
}

// waitForLookups waits until no price lookup of a is under way.
func waitForLookups(t testing.TB, a *Adapter) {
	t.Helper()
	for start := time.Now(); time.Since(start) < time.Minute; time.Sleep(50 * time.Millisecond) {
		a.mu.Lock()
		n := len(a.pricing)
		a.mu.Unlock()
		if n == 0 {
			return
		}
	}
	t.Fatal("price lookups still running after a minute")
}

// A catalog whose prices take longer to ask at the rate limit than a read
// may last (the sandbox's scale 215, where the first read timed out) is
// read within its deadline: the read returns the items it could price,
// each at its price, and the lookups go on, so the next read is whole
// and asks the calculator nothing.
func TestLargeCatalogReadWithinDeadline(t *testing.T) {
	const scale, rate, deadline = 215, 1000, 6 * time.Second
	now := clockBase
	f := newFixture(t, standin.Options{Scale: scale, Now: func() time.Time { return now }})
	a := f.adapter(func(c *Config) { c.RateLimit, c.Burst = rate, rate })
	t.Cleanup(func() { a.Close() })
	want, prices := catalogSize(seedOffers(scale))
	if need := time.Duration(prices/rate) * time.Second; need <= deadline {
		t.Fatalf("%d prices take %v at %d/s: not more than the %v deadline", prices, need, rate, deadline)
	}
	offers := map[string]offer{}
	for _, o := range seedOffers(scale) {
		offers[o.region+"/"+instanceType(o.platform.name, o.preset.name)] = o
	}
	disk, _ := strconv.ParseFloat(cost(BootDiskGiB*diskGiBHour).GetGeneral().GetTotal().GetCost(), 64)

	read := func(deadline time.Duration) []vendors.CatalogItem {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		items, err := a.Catalog(ctx)
		if err != nil {
			t.Fatalf("read after %v: %v", time.Since(start), err)
		}
		t.Logf("read %d of %d items in %v", len(items), want, time.Since(start))
		return items
	}
	items := read(deadline)
	if len(items) == 0 || len(items) >= want {
		t.Fatalf("first read has %d items, want some of the %d", len(items), want)
	}
	for _, it := range items {
		o := offers[it.Region+"/"+it.InstanceType]
		price, _ := vmPrice(o, it.Contract == vendors.Spot, now)
		if it.PricePerHour != roundCents(price+disk) {
			t.Fatalf("%s/%s %s: price %v, want %v", it.Region, it.InstanceType, it.Contract, it.PricePerHour, roundCents(price+disk))
		}
	}
	waitForLookups(t, a)
	asked := f.si.Calls(mEstimate)
	if asked != prices {
		t.Errorf("the lookups asked %d prices, want each of the %d once", asked, prices)
	}
	// The index's fetch timeout: only the platform listings remain to read.
	if items := read(30 * time.Second); len(items) != want {
		t.Errorf("second read has %d items, want all %d", len(items), want)
	}
	if n := f.si.Calls(mEstimate) - asked; n != 0 {
		t.Errorf("second read asked the calculator %d times, want 0", n)
	}
}

// BenchmarkSandboxScale215 reads the sandbox's scale-215 catalog as a
// sandbox server does (200 requests/s, the index's 30 s fetch timeout)
// with nothing cached, waits for the lookups the read left running, and
// reads again; it reports each read's time and items, and when every
// price was in. Run it alone, once:
//
//	go test ./vendors/nebius -run '^$' -bench SandboxScale215 -benchtime 1x
func BenchmarkSandboxScale215(b *testing.B) {
	for b.Loop() {
		f := newFixture(b, standin.Options{Scale: 215})
		a := f.adapter(func(c *Config) { c.RateLimit, c.Burst = 200, 200 })
		start := time.Now()
		for _, name := range []string{"first", "second"} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			began := time.Now()
			items, err := a.Catalog(ctx)
			cancel()
			if err != nil {
				b.Fatalf("%s read after %v: %v", name, time.Since(began), err)
			}
			b.ReportMetric(time.Since(began).Seconds(), "s/"+name+"-read")
			b.ReportMetric(float64(len(items)), "items/"+name+"-read")
			if name == "first" {
				waitForLookups(b, a)
				b.ReportMetric(time.Since(start).Seconds(), "s/all-priced")
			}
		}
		a.Close()
	}
}

// With the calculator 100 ms away, the real catalog's 38 prices asked one
// at a time would take 3.8 s: asked together, they fit a 3 s read whole.
func TestPricesAskedConcurrently(t *testing.T) {
	f := newFixture(t, standin.Options{})
	f.si.Faults().Add(standin.Rule{PathPrefix: mEstimate, Delay: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	items, err := f.a.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := catalogSize(seedOffers(1)); len(items) != want {
		t.Errorf("catalog has %d items, want all %d", len(items), want)
	}
}

// A price older than PriceTTL is asked again; while the calculator has
// not answered, the old price stands in for at most another PriceTTL.
func TestExpiredPriceStandsInWhileAskedAgain(t *testing.T) {
	var mu sync.Mutex
	now := clockBase
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
	}
	f := newFixture(t, standin.Options{Now: clock})
	a := f.adapter(nil)
	t.Cleanup(func() { a.Close() })
	read := func() []vendors.CatalogItem {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		items, err := a.Catalog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return items
	}
	fresh := read()
	asked := f.si.Calls(mEstimate)
	// The calculator now answers after every read has returned.
	f.si.Faults().Add(standin.Rule{PathPrefix: mEstimate, Delay: time.Minute})

	advance(time.Hour + time.Minute)
	stale := read()
	if len(stale) != len(fresh) {
		t.Fatalf("with expired prices the read has %d items, want the %d it had", len(stale), len(fresh))
	}
	for i := range stale {
		if stale[i].PricePerHour != fresh[i].PricePerHour {
			t.Fatalf("%s/%s: price %v, want the old %v", stale[i].Region, stale[i].InstanceType, stale[i].PricePerHour, fresh[i].PricePerHour)
		}
	}
	if f.si.Calls(mEstimate) == asked {
		t.Error("expired prices were not asked again")
	}

	advance(time.Hour)
	if items := read(); len(items) != 0 {
		t.Errorf("with prices two hours old the read has %d items, want none", len(items))
	}
}

// normalisedKey is the key as the adapter writes it.
func normalisedKey(key string) (string, error) {
	pk, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " " + comment, nil
}

func TestSpotIsPreemptedWhenStopped(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: 100 * time.Millisecond})
	in, err := f.a.Create(context.Background(), createRequest(t, "eu-north1", "gpu-h200-sxm", "1gpu-16vcpu-200gb", vendors.Spot))
	if err != nil {
		t.Fatal(err)
	}
	spec := received(t, f.si, in.ID)
	if spec.GetPreemptible().GetOnPreemption() != pb.PreemptibleSpec_STOP || spec.GetRecoveryPolicy() != pb.InstanceRecoveryPolicy_FAIL {
		t.Errorf("spot spec: preemptible %v, recovery %v", spec.GetPreemptible(), spec.GetRecoveryPolicy())
	}
	vendortest.WaitFor(t, f.a, in.ID, vendortest.Running)
	if err := f.si.Preempt(in.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := f.a.Get(context.Background(), in.ID); err != nil || got.State != vendors.StatePreempted || got.VendorState != "STOPPED" {
		t.Errorf("preempted VM: %+v, %v", got, err)
	}
}

func TestTokenCachedAndRefreshed(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return clockBase.Add(time.Duration(offset.Load())) }
	f := newFixture(t, standin.Options{Now: clock})
	ctx := context.Background()
	for range 3 {
		if _, err := f.a.List(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.si.Calls(mExchange); n != 1 {
		t.Errorf("%d token exchanges for three calls, want 1", n)
	}
	offset.Store(int64(accessTokenLifetime - time.Minute)) // inside the refresh margin
	if _, err := f.a.List(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.si.Calls(mExchange); n != 2 {
		t.Errorf("%d token exchanges after the token neared expiry, want 2", n)
	}
}

func TestClusterLifecycle(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: 200 * time.Millisecond})
	ctx := context.Background()
	items, err := f.a.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var item vendors.CatalogItem
	for _, it := range items {
		if it.Nodes == 2 && it.Region == "eu-north1" && it.GPUName == "gpu-h100-sxm" {
			item = it
		}
	}
	if !item.Available || item.Extra["fabric"] != "fabric-3" || item.InfinibandGbps != clusterFabricGbps {
		t.Fatalf("eu-north1 H100 cluster offer: %+v", item)
	}
	clusterID := uuid.NewString()
	ids := make([]string, item.Nodes)
	var wg sync.WaitGroup
	for i := range item.Nodes {
		wg.Go(func() {
			req := createRequest(t, item.Region, "gpu-h100-sxm", "8gpu-128vcpu-1600gb", vendors.OnDemand)
			req.Item = item
			req.Cluster = &vendors.ClusterNode{ClusterID: clusterID, Name: "train", Index: i, Nodes: item.Nodes}
			in, err := f.a.Create(ctx, req)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = in.ID
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	f.si.Mu.Lock()
	clusters := len(f.si.State.Clusters)
	f.si.Mu.Unlock()
	first := received(t, f.si, ids[0]).GetGpuCluster().GetId()
	if clusters != 1 || first == "" || received(t, f.si, ids[1]).GetGpuCluster().GetId() != first {
		t.Fatalf("%d GPU clusters; nodes in %q and %q, want both in the one", clusters, first, received(t, f.si, ids[1]).GetGpuCluster().GetId())
	}
	for _, id := range ids {
		vendortest.WaitFor(t, f.a, id, vendortest.Running)
	}
	if err := f.a.DeleteCluster(ctx, clusterID); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("deleting a cluster with nodes: %v, want ErrTransient", err)
	}
	for _, id := range ids {
		if err := f.a.Terminate(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		vendortest.WaitFor(t, f.a, id, vendortest.Gone)
	}
	if err := f.a.DeleteCluster(ctx, clusterID); err != nil {
		t.Fatal(err)
	}
	f.si.Mu.Lock()
	clusters = len(f.si.State.Clusters)
	f.si.Mu.Unlock()
	if clusters != 0 {
		t.Errorf("%d GPU clusters left after DeleteCluster", clusters)
	}
	if err := f.a.DeleteCluster(ctx, clusterID); err != nil {
		t.Errorf("deleting a gone cluster: %v, want nil", err)
	}
}

func TestPageBounds(t *testing.T) {
	tests := []struct {
		token      string
		size       int64
		n          int
		start, end int
		next       string
		err        bool
	}{
		{"", 0, 5, 0, 5, "", false},
		{"", 2, 5, 0, 2, "2", false},
		{"4", 2, 5, 4, 5, "", false},
		{"5", 2, 5, 5, 5, "", false},
		{"6", 2, 5, 0, 0, "", true},
		{"-1", 2, 5, 0, 0, "", true},
		{"x", 2, 5, 0, 0, "", true},
		{"", 9223372036854775807, 5, 0, 5, "", false},
	}
	for _, tt := range tests {
		start, end, next, err := page(tt.token, tt.size, tt.n)
		if (err != nil) != tt.err || start != tt.start || end != tt.end || next != tt.next {
			t.Errorf("page(%q, %d, %d) = [%d:%d] %q %v", tt.token, tt.size, tt.n, start, end, next, err)
		}
	}
}

// TestAdvicePages: paging through capacity advice lists every offer with
// GPUs once, in order, and no other, whatever the page size.
func TestAdvicePages(t *testing.T) {
	si, err := NewStandIn(standin.Options{Scale: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { si.Close() })
	var want []string
	for _, o := range si.offers {
		if o.preset.gpus > 0 {
			want = append(want, o.key())
		}
	}
	if len(want) == len(si.offers) {
		t.Fatal("every offer has GPUs; the test cannot tell that others are left out")
	}
	for _, size := range []int64{1, 7, 100, 1000} {
		var got []string
		token, pages := "", 0
		for {
			resp, err := adviceServer{s: si}.List(context.Background(), &pb.ListResourceAdviceRequest{ParentId: StandInTenantID, PageSize: size, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, it := range resp.GetItems() {
				ci := it.GetSpec().GetComputeInstance()
				got = append(got, it.GetSpec().GetRegion()+"/"+ci.GetPlatform()+"/"+ci.GetPreset().GetName())
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages of %d list %d offers, want the %d with GPUs in order", size, len(got), len(want))
		}
		if wantPages := (len(want) + int(size) - 1) / int(size); pages != wantPages {
			t.Errorf("pages of %d: %d pages, want %d", size, pages, wantPages)
		}
	}
}

// TestCreateWaitsForItsOperation: Create returns once the create's
// Operation has finished (the stand-in's finishes when the VM leaves
// CREATING, 0.3 of a boot in), read through OperationService/Get.
func TestCreateWaitsForItsOperation(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second})
	start := time.Now()
	in, err := f.a.Create(context.Background(), createRequest(t, "eu-north1", "gpu-h100-sxm", "1gpu-16vcpu-200gb", vendors.OnDemand))
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond || f.si.Calls(mOperationGet) == 0 || in.VendorState != "STARTING" || in.State != vendors.StatePending {
		t.Errorf("Create returned after %v and %d operation reads, VM %s (%s); want the operation read until the VM was STARTING",
			elapsed, f.si.Calls(mOperationGet), in.VendorState, in.State)
	}
}

// TestCreateStopsWaitingBeforeTheDeadline: a caller whose deadline
// leaves no time for another call gets the accepted VM, pending, rather
// than an error for an operation that may yet succeed.
func TestCreateStopsWaitingBeforeTheDeadline(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: 10 * time.Second})
	// The fixture's adapter allows 2 s per call: a 2 s deadline is too close.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	in, err := f.a.Create(ctx, createRequest(t, "eu-north1", "gpu-h100-sxm", "1gpu-16vcpu-200gb", vendors.OnDemand))
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); in.ID == "" || in.State != vendors.StatePending || f.si.Calls(mOperationGet) != 0 || elapsed > time.Second {
		t.Errorf("near the deadline: %+v after %v and %d operation reads; want the pending VM at once", in, elapsed, f.si.Calls(mOperationGet))
	}
}

// TestCreateRefusedByItsOperation: capacity and quota refusals arrive as
// Nebius says they may, in a failed Operation of a call that succeeded.
// They come back typed, in Nebius's words, and the refused VM is deleted.
// The stand-in's words contain no phrase the adapter matches, so the
// kind can only come from the ServiceError detail.
func TestCreateRefusedByItsOperation(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, f *fixture) vendors.CreateRequest
		want  error
	}{
		{"no capacity", func(t *testing.T, f *fixture) vendors.CreateRequest {
			return createRequest(t, "eu-north1", "gpu-l40s-a", "1gpu-16vcpu-64gb", vendors.OnDemand) // sold out
		}, vendors.ErrNoCapacity},
		{"quota", func(t *testing.T, f *fixture) vendors.CreateRequest {
			f.si.SetInstanceQuota(1)
			if _, err := f.a.Create(ctx, createRequest(t, "eu-north1", "gpu-l40s-a", "1gpu-8vcpu-32gb", vendors.OnDemand)); err != nil {
				t.Fatal(err)
			}
			return createRequest(t, "eu-north1", "gpu-l40s-a", "1gpu-8vcpu-32gb", vendors.OnDemand)
		}, vendors.ErrQuota},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, standin.Options{BootTime: 500 * time.Millisecond})
			req := tt.setup(t, f)
			creates, reads, deletes := f.si.Calls(mCreate), f.si.Calls(mOperationGet), f.si.Calls(mDelete)
			_, err := f.a.Create(ctx, req)
			var ve *vendors.Error
			if !errors.As(err, &ve) || ve.Kind != tt.want || ve.Op != "InstanceService/Create" || ve.Status != int(codes.ResourceExhausted) {
				t.Fatalf("Create: %v, want a RESOURCE_EXHAUSTED *vendors.Error of kind %v from InstanceService/Create", err, tt.want)
			}
			if n, r := f.si.Calls(mCreate)-creates, f.si.Calls(mOperationGet)-reads; n != 1 || r == 0 {
				t.Errorf("%d creates and %d operation reads; want one create whose operation was read", n, r)
			}
			if ve.Message == "" || quotaPhrases.Kind(ve.Message) != nil {
				t.Errorf("message %q: want the stand-in's words, free of the phrases %v", ve.Message, quotaPhrases)
			}
			if n := f.si.Calls(mDelete) - deletes; n != 1 {
				t.Errorf("the refused VM was deleted %d times, want 1", n)
			}
			for _, e := range f.si.Instances() {
				if e.Name == vendors.InstanceName(req.ResourceID) && e.Live && e.State != "DELETING" {
					t.Errorf("the refused VM is left %s", e.State)
				}
			}
		})
	}
}

// TestClassify holds the classification to its tables: a ServiceError
// detail decides over the code and over any wording; without one the
// code does, and only a RESOURCE_EXHAUSTED with dstack's quota phrase
// is read as quota.
func TestClassify(t *testing.T) {
	with := func(code codes.Code, msg string, se *pb.ServiceError) error {
		st := status.New(code, msg)
		if se != nil {
			var err error
			if st, err = st.WithDetails(se); err != nil {
				t.Fatal(err)
			}
		}
		return st.Err()
	}
	capacity := &pb.ServiceError{Details: &pb.ServiceError_NotEnoughResources{NotEnoughResources: &pb.NotEnoughResources{}}}
	quota := &pb.ServiceError{Details: &pb.ServiceError_QuotaFailure{QuotaFailure: &pb.QuotaFailure{}}}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"capacity detail beats quota words", with(codes.ResourceExhausted, "Quota limit exceeded", capacity), vendors.ErrNoCapacity},
		{"quota detail beats capacity words", with(codes.ResourceExhausted, "Not enough resources", quota), vendors.ErrQuota},
		{"quota words without a detail", with(codes.ResourceExhausted, "Quota limit exceeded", nil), vendors.ErrQuota},
		{"exhausted without a detail", with(codes.ResourceExhausted, "exhausted", nil), vendors.ErrNoCapacity},
		{"too many requests", with(codes.ResourceExhausted, "slow down", &pb.ServiceError{
			Details: &pb.ServiceError_TooManyRequests{TooManyRequests: &pb.TooManyRequests{}}}), vendors.ErrRateLimited},
		{"operation conflict", with(codes.FailedPrecondition, "busy", &pb.ServiceError{
			Details: &pb.ServiceError_OperationConflict{OperationConflict: &pb.OperationConflict{}}}), vendors.ErrTransient},
		{"permission denied detail", with(codes.Internal, "no", &pb.ServiceError{
			Details: &pb.ServiceError_PermissionDenied{PermissionDenied: &pb.PermissionDenied{}}}), vendors.ErrAuth},
		{"bad request", with(codes.InvalidArgument, "bad", &pb.ServiceError{
			Details: &pb.ServiceError_BadRequest{BadRequest: &pb.BadRequest{}}}), vendors.ErrInvalid},
		{"detail we do not know", with(codes.NotFound, "gone", &pb.ServiceError{}), vendors.ErrNotFound},
		{"unauthenticated", with(codes.Unauthenticated, "who", nil), vendors.ErrAuth},
		{"aborted", with(codes.Aborted, "try again", nil), vendors.ErrTransient},
		{"cancelled operation", with(codes.Canceled, "cancelled", nil), vendors.ErrTransient},
	}
	a := New(Config{Logger: slog.New(slog.DiscardHandler)})
	for _, tt := range tests {
		err := a.classify("InstanceService/Create", tt.err)
		if vendortest.Kind(err) != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		if tt.want == vendors.ErrRateLimited && vendors.RetryAfter(err) != rateLimitWait {
			t.Errorf("%s: retry after %v, want %v", tt.name, vendors.RetryAfter(err), rateLimitWait)
		}
	}
}
