package vendortest

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// StandIn is what the suite needs of a vendor's stand-in server.
type StandIn interface {
	Faults() *standin.Faults
	// Instances lists every instance as the vendor's console would.
	Instances() []standin.ConsoleEntry
	Close() error
}

// RenterScript is the user data the lifecycle case creates with when the
// vendor runs one: a Created check finds it in what the stand-in got.
const RenterScript = "#!/bin/bash\necho renter-script\n"

// Call names one kind of request as the stand-in's faults match it and
// Rig.Count counts it: an HTTP method and path, or "POST" and a gRPC
// full method name.
type Call struct {
	Method, Path string
	// Prefix: Path begins the requests' paths (Vast.ai's rent of an ask
	// names the ask).
	Prefix bool
}

// Variant says how an adapter made by Rig.Adapter differs from the rig's
// own.
type Variant struct {
	// Key, when set, is the credential the adapter presents instead of
	// the one the stand-in accepts.
	Key string
	// Timeout, when set, bounds each request (a hung stand-in).
	Timeout time.Duration
}

// Rig is a stand-in served over loopback and an adapter pointed at it,
// stopped when the test ends.
type Rig struct {
	Vendor  vendors.Vendor
	StandIn StandIn
	Hosts   *standin.Hosts
	// Rec sees every request of an HTTP stand-in; nil for gRPC.
	Rec *Recorder
	// Count is how many requests of c reached the stand-in.
	Count func(c Call) int
	// Adapter is another adapter for the same stand-in, changed as v says.
	Adapter func(v Variant) vendors.Vendor
	// Stop ends the serving, as the stand-in's process ending does.
	Stop func()
}

// HTTPStandIn is a stand-in that serves HTTP.
type HTTPStandIn interface {
	StandIn
	http.Handler
}

// Fixture is a vendor's stand-in of type S served over loopback HTTP and
// an adapter of type A pointed at it, as the vendor's own tests use them,
// with the Rig the suite uses.
type Fixture[S HTTPStandIn, A vendors.Vendor] struct {
	*Rig
	SI  S
	A   A
	Srv *httptest.Server
}

// Setup is how a vendor's tests make a Fixture.
type Setup[S HTTPStandIn, A vendors.Vendor] struct {
	// Key is the credential the stand-in accepts; Clock its clock's base
	// when a test sets none (see StandInOptions).
	Key   string
	Clock time.Time
	// NewStandIn is the vendor's stand-in constructor.
	NewStandIn func(standin.Options) (S, error)
	// NewAdapter points an adapter at si served at url, with the SSH
	// ports of hosts, presenting v.Key and waiting v.Timeout at most for
	// each request (both always set).
	NewAdapter func(si S, url string, hosts *standin.Hosts, v Variant) A
}

// Serve makes the stand-in from o and serves it over loopback HTTP behind
// a Recorder (and wrap, when not nil) until the test ends.
func (s Setup[S, A]) Serve(t testing.TB, o standin.Options, wrap func(http.Handler) http.Handler) *Fixture[S, A] {
	t.Helper()
	o = StandInOptions(o, s.Key, s.Clock)
	si, err := s.NewStandIn(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { si.Close() })
	srv, rec := Serve(t, si, wrap)
	adapter := func(v Variant) A {
		v.Key = cmp.Or(v.Key, s.Key)
		v.Timeout = cmp.Or(v.Timeout, 2*time.Second)
		return s.NewAdapter(si, srv.URL, o.Hosts, v)
	}
	f := &Fixture[S, A]{SI: si, A: adapter(Variant{}), Srv: srv}
	f.Rig = &Rig{
		Vendor: f.A, StandIn: si, Hosts: o.Hosts, Rec: rec,
		Count: func(c Call) int {
			if c.Prefix {
				return rec.CountPrefix(c.Method + " " + c.Path)
			}
			return rec.Count(c.Method + " " + c.Path)
		},
		Adapter: func(v Variant) vendors.Vendor { return adapter(v) },
		Stop:    srv.Close,
	}
	return f
}

// ErrorCase is one refusal a vendor really answers with and the kind of
// error the adapter must make of it.
type ErrorCase struct {
	Name string
	// Setup prepares the stand-in (a quota, a fault); nil for none.
	Setup func(t *testing.T, r *Rig)
	// Call is the adapter call that must fail.
	Call func(t *testing.T, r *Rig) error
	Want error
}

// Creating is an ErrorCase call: create what req makes.
func Creating(req func(t *testing.T) vendors.CreateRequest) func(t *testing.T, r *Rig) error {
	return func(t *testing.T, r *Rig) error {
		_, err := r.Vendor.Create(context.Background(), req(t))
		return err
	}
}

// Kit is what one vendor's adapter and stand-in bring to the suite (Run):
// how to start them, which requests to fault, and what the vendor has. A
// case whose part of the Kit is missing is skipped, saying why.
type Kit struct {
	// Start serves a fresh stand-in made with o over loopback and points
	// an adapter at it. o.Now is nil unless the case fixes the clock.
	Start func(t *testing.T, o standin.Options) *Rig
	// Clock is the vendor tests' base time: a quiet stretch of stock
	// drift, in which Request's item is in stock.
	Clock time.Time
	// Request is a fresh on-demand create request (new resource id and
	// SSH key) for an item in stock at Clock.
	Request func(t *testing.T) vendors.CreateRequest
	// Create is the request that launches an instance.
	Create Call
	// Get is the request Get(id) makes.
	Get func(id string) Call
	// Missing is an instance id, well formed, that the stand-in does not
	// know.
	Missing string
	// Hang is a request to hang and HangRead an adapter call that makes
	// it (nil: Catalog).
	Hang Call
	// HangRead is the call that makes Hang; nil is Catalog.
	HangRead func(ctx context.Context, v vendors.Vendor) error

	// GPUNames are the vendor's spellings of GPUs (its seed catalog, the
	// examples of its published API), each of which the GPU registry
	// must know.
	GPUNames []string
	// CatalogSize is how many items the catalog lists at now and scale;
	// nil skips the count.
	CatalogSize func(now time.Time, scale int) int
	// SomeSoldOut: at Clock, the seed has items sold out, which the
	// catalog lists.
	SomeSoldOut bool
	// StockUnknown: the vendor says only whether an item is in stock, so
	// a sold-out item's Stock is -1 too, not 0.
	StockUnknown bool
	// CatalogItem checks one item of the catalog at now against the seed
	// (hardware, price, stock); nil for none.
	CatalogItem func(t *testing.T, it vendors.CatalogItem, now time.Time)
	// ScaledRegion is a region that Scale 3 adds; "" when the vendor's
	// catalog does not scale by region.
	ScaledRegion string
	// ScaledSparse: a region Scale adds may have nothing for sale at
	// Clock, so Scale 3 lists at least twice the regions, not three times.
	ScaledSparse bool
	// Country is the adapter's placing of a region, and UnknownRegions
	// regions it must not place; nil when the vendor places regions
	// itself.
	Country        func(region string) string
	UnknownRegions []string

	// UserData: the vendor runs a renter's script (RenterScript) at boot.
	UserData bool
	// Terminating is the state Get reports right after Terminate; ""
	// when the instance is gone at once.
	Terminating vendors.State
	// Created checks what reached the stand-in when in was created from
	// req, before it runs; nil for nothing more.
	Created func(t *testing.T, r *Rig, req vendors.CreateRequest, in vendors.Instance)
	// Errors are the vendor's refusals, beside the ones every vendor
	// has (an unknown instance, wrong credentials, a malformed SSH key).
	Errors []ErrorCase
	// SpendRateLimit lowers the stand-in's request limit and uses it up
	// for the minute; nil skips the case (no per-minute limit, or one the
	// vendor's own test covers).
	SpendRateLimit func(t *testing.T, r *Rig)
	// Restarted checks more of a stand-in that restarted from its state
	// file; nil for nothing more.
	Restarted func(t *testing.T, before, after *Rig)
	// Extra holds more checks of a case, by the case's name, run at its
	// end on the case's rig: what the vendor's protocol adds (a key
	// uploaded once, a script left behind).
	Extra map[string]func(t *testing.T, r *Rig)
	// PageSize is the size of the pages List reads; 0 skips the case
	// (List reads one answer, or the vendor's own test pages).
	PageSize int
	// Volumes is set for a vendor with volumes (Info().Volumes).
	Volumes *VolumeKit
	// Ports: the vendor opens ports (vendors.Info.Ports), which the
	// OpenPorts case checks.
	Ports bool
}

// Run runs every case of the suite against kit, each a subtest with a
// stable name.
func Run(t *testing.T, kit Kit) {
	run := func(name string, c func(*testing.T, Kit) *Rig) {
		t.Run(name, func(t *testing.T) {
			if r := c(t, kit); r != nil && kit.Extra[name] != nil {
				kit.Extra[name](t, r)
			}
		})
	}
	run("Catalog", catalog)
	t.Run("GPUNamesResolve", func(t *testing.T) { gpuNames(t, kit) })
	t.Run("ScaledCatalog", func(t *testing.T) { scaledCatalog(t, kit) })
	t.Run("UnknownRegionHasNoCountry", func(t *testing.T) { unknownRegions(t, kit) })
	run("CreateLifecycle", lifecycle)
	run("CreateIsIdempotent", idempotent)
	run("CreatedButAnswered500", createdBut500)
	t.Run("HungStandInTimesOut", func(t *testing.T) { hung(t, kit) })
	run("TransientRetriedForReadsOnly", transient)
	t.Run("RateLimited", func(t *testing.T) { rateLimited(t, kit) })
	t.Run("Errors", func(t *testing.T) { errorCases(t, kit) })
	run("Persistence", persistence)
	t.Run("StopStart", func(t *testing.T) { stopStart(t, kit) })
	t.Run("ListPaginates", func(t *testing.T) { paginates(t, kit) })
	t.Run("Volumes", func(t *testing.T) { volumesCase(t, kit) })
	t.Run("OpenPorts", func(t *testing.T) { openPorts(t, kit) })
	t.Run("Ownership", func(t *testing.T) {
		Ownership(t, kit.Start(t, standin.Options{BootTime: time.Second}).Vendor, kit.Request(t))
	})
}

// at is a clock stopped at now.
func at(now time.Time) func() time.Time { return func() time.Time { return now } }

func catalog(t *testing.T, kit Kit) *Rig {
	now := kit.Clock
	r := kit.Start(t, standin.Options{Now: at(now)})
	items, err := r.Vendor.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	size(t, kit, items, 1)
	soldOut := 0
	for _, it := range items {
		if it.PricePerHour <= 0 || it.Country == "" {
			t.Errorf("%s/%s: price %v, country %q", it.Region, it.InstanceType, it.PricePerHour, it.Country)
		}
		if it.GPUCount > 0 {
			if _, ok := gpus.GPUs().Lookup(it.GPUName); !ok {
				t.Errorf("%s/%s: GPU %q is not in the registry", it.Region, it.InstanceType, it.GPUName)
			}
		}
		// A cluster item is available only with stock for all its nodes.
		if it.Nodes <= 1 && it.Available == (it.Stock == 0) && !(kit.StockUnknown && it.Stock == -1) {
			t.Errorf("%s/%s: available %v with stock %d", it.Region, it.InstanceType, it.Available, it.Stock)
		}
		if !it.Available {
			soldOut++
		}
		if kit.CatalogItem != nil {
			kit.CatalogItem(t, it, now)
		}
	}
	if len(items) == 0 || soldOut == len(items) || (soldOut == 0 && kit.SomeSoldOut) {
		t.Errorf("%d items, %d sold out: want some in stock (and some sold out: %v)", len(items), soldOut, kit.SomeSoldOut)
	}
	if in, ok := r.Vendor.(vendors.InStock); ok {
		available := slices.DeleteFunc(slices.Clone(items), func(it vendors.CatalogItem) bool { return !it.Available })
		if stocked, err := in.CatalogInStock(context.Background()); err != nil || !reflect.DeepEqual(stocked, available) {
			t.Errorf("CatalogInStock: %d items, %v; want the catalog's %d available, in its order", len(stocked), err, len(available))
		}
	}
	return r
}

// size checks the count of a catalog's items at scale.
func size(t *testing.T, kit Kit, items []vendors.CatalogItem, scale int) {
	t.Helper()
	if kit.CatalogSize == nil {
		return
	}
	if want := kit.CatalogSize(kit.Clock, scale); len(items) != want {
		t.Errorf("catalog at scale %d has %d items, want %d", scale, len(items), want)
	}
}

func gpuNames(t *testing.T, kit Kit) {
	if len(kit.GPUNames) == 0 {
		t.Skip("the kit names no GPUs")
	}
	var missing []string
	for _, name := range kit.GPUNames {
		if _, ok := gpus.GPUs().Lookup(name); !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("GPU names missing from the GPU registry: %q", missing)
	}
}

// regions are the catalog's regions at scale.
func regions(t *testing.T, kit Kit, scale int) (map[string]bool, []vendors.CatalogItem) {
	t.Helper()
	r := kit.Start(t, standin.Options{Scale: scale, Now: at(kit.Clock)})
	items, err := r.Vendor.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, it := range items {
		seen[it.Region] = true
	}
	return seen, items
}

func scaledCatalog(t *testing.T, kit Kit) {
	if kit.ScaledRegion == "" {
		t.Skip("the stand-in does not scale its catalog by region")
	}
	real, _ := regions(t, kit, 1)
	scaled, items := regions(t, kit, 3)
	size(t, kit, items, 3)
	least := 3 * len(real)
	if kit.ScaledSparse {
		least = 2 * len(real)
	}
	if len(scaled) < least || len(scaled) > 3*len(real) || !scaled[kit.ScaledRegion] {
		t.Errorf("scale 3: %d regions, want %d to %d with %s: %v", len(scaled), least, 3*len(real), kit.ScaledRegion, scaled)
	}
	for _, it := range items {
		if it.Country == "" {
			t.Errorf("region %s (synthetic %v) has no country: a scale copy is where its real region is", it.Region, !real[it.Region])
		}
	}
}

func unknownRegions(t *testing.T, kit Kit) {
	if kit.Country == nil {
		t.Skip("the vendor places its regions itself")
	}
	for _, region := range kit.UnknownRegions {
		if c := kit.Country(region); c != "" {
			t.Errorf("country(%q) = %q, want empty", region, c)
		}
	}
}

func lifecycle(t *testing.T, kit Kit) *Rig {
	ctx := context.Background()
	r := kit.Start(t, standin.Options{BootTime: 400 * time.Millisecond})
	req := kit.Request(t)
	if kit.UserData {
		req.UserData = RenterScript
	}
	in, err := r.Vendor.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if in.ID == "" || in.ResourceID != req.ResourceID || in.State == vendors.StateTerminated {
		t.Errorf("created instance %+v", in)
	}
	if kit.Created != nil {
		kit.Created(t, r, req, in)
	}
	up, _ := WaitFor(t, r.Vendor, in.ID, Running)
	if up.ExternalIP == "" || up.SSHPort != r.Hosts.Port(up.ExternalIP) || up.SSHPort == 22 || up.Region != req.Region || up.ResourceID != req.ResourceID {
		t.Errorf("running instance %+v", up)
	}
	LogIn(t, up.ExternalIP, up.SSHPort, req.SSHPublicKey)
	if list, err := r.Vendor.List(ctx); err != nil || len(list) != 1 || list[0].ID != in.ID {
		t.Errorf("List = %+v, %v", list, err)
	}
	if err := r.Vendor.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if kit.Terminating != "" {
		if got, err := r.Vendor.Get(ctx, in.ID); err != nil || got.State != kit.Terminating {
			t.Errorf("after terminate: %+v, %v; want %s", got, err, kit.Terminating)
		}
	}
	WaitFor(t, r.Vendor, in.ID, Gone)
	if err := r.Vendor.Terminate(ctx, in.ID); err != nil {
		t.Errorf("terminating a gone instance: %v, want nil", err)
	}
	if list, err := r.Vendor.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List after deletion = %+v, %v", list, err)
	}
	for _, e := range r.StandIn.Instances() {
		if e.Live {
			t.Errorf("console after deletion: %+v", e)
		}
	}
	return r
}

func idempotent(t *testing.T, kit Kit) *Rig {
	r := kit.Start(t, standin.Options{BootTime: time.Second})
	req := kit.Request(t)
	first, err := r.Vendor.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.Vendor.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if n, launched := len(r.StandIn.Instances()), r.Count(kit.Create); again.ID != first.ID || n != 1 || launched != 1 {
		t.Errorf("second create gave %s (first %s); stand-in holds %d; %d launches", again.ID, first.ID, n, launched)
	}
	return r
}

func createdBut500(t *testing.T, kit Kit) *Rig {
	r := kit.Start(t, standin.Options{BootTime: time.Second})
	r.StandIn.Faults().Add(standin.Rule{Method: kit.Create.Method, PathPrefix: kit.Create.Path, Status: 500, AfterHandler: true, Times: 1})
	req := kit.Request(t)
	if _, err := r.Vendor.Create(context.Background(), req); !errors.Is(err, vendors.ErrTransient) {
		t.Fatalf("create answered 500: %v, want ErrTransient", err)
	}
	if n := r.Count(kit.Create); n != 1 {
		t.Errorf("the create was sent %d times, want 1", n)
	}
	in, err := r.Vendor.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if n, launched := len(r.StandIn.Instances()), r.Count(kit.Create); in.ResourceID != req.ResourceID || n != 1 || launched != 1 {
		t.Errorf("retry made a duplicate: %d instances, %d launches", n, launched)
	}
	return r
}

func hung(t *testing.T, kit Kit) {
	r := kit.Start(t, standin.Options{})
	r.StandIn.Faults().Add(standin.Rule{Method: kit.Hang.Method, PathPrefix: kit.Hang.Path, Delay: time.Minute})
	read := kit.HangRead
	if read == nil {
		read = func(ctx context.Context, v vendors.Vendor) error {
			_, err := v.Catalog(ctx)
			return err
		}
	}
	start := time.Now()
	err := read(context.Background(), r.Adapter(Variant{Timeout: 150 * time.Millisecond}))
	if elapsed := time.Since(start); !errors.Is(err, vendors.ErrTransient) || elapsed > 3*time.Second {
		t.Errorf("hung vendor: %v after %v, want ErrTransient within 3 s", err, elapsed)
	}
}

func transient(t *testing.T, kit Kit) *Rig {
	r := kit.Start(t, standin.Options{BootTime: time.Second})
	ctx := context.Background()
	in, err := r.Vendor.Create(ctx, kit.Request(t))
	if err != nil {
		t.Fatal(err)
	}
	get := kit.Get(in.ID)
	before := r.Count(get)
	r.StandIn.Faults().Add(standin.Rule{Method: get.Method, PathPrefix: get.Path, Status: 503, Times: 2})
	if _, err := r.Vendor.Get(ctx, in.ID); err != nil {
		t.Errorf("Get through two 503s: %v", err)
	}
	if n := r.Count(get) - before; n != 3 {
		t.Errorf("Get sent %d times, want 3", n)
	}
	r.StandIn.Faults().Add(standin.Rule{Method: kit.Create.Method, PathPrefix: kit.Create.Path, Status: 500, Times: 1})
	before = r.Count(kit.Create)
	if _, err := r.Vendor.Create(ctx, kit.Request(t)); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("create answered 500: %v, want ErrTransient", err)
	}
	if n := r.Count(kit.Create) - before; n != 1 {
		t.Errorf("create sent %d times, want 1", n)
	}
	return r
}

func rateLimited(t *testing.T, kit Kit) {
	if kit.SpendRateLimit == nil {
		t.Skip("the kit has no per-minute request limit to spend")
	}
	r := kit.Start(t, standin.Options{Now: at(kit.Clock)})
	kit.SpendRateLimit(t, r)
	_, err := r.Vendor.Get(context.Background(), kit.Missing)
	if wait := vendors.RetryAfter(err); !errors.Is(err, vendors.ErrRateLimited) || wait < 50*time.Second || wait > time.Minute {
		t.Errorf("over the limit: %v (retry after %v), want ErrRateLimited for the rest of the minute", err, wait)
	}
	if n := r.Count(kit.Get(kit.Missing)); n != 1 {
		t.Errorf("a minute-long 429 was retried: %d requests", n)
	}
}

func errorCases(t *testing.T, kit Kit) {
	ctx := context.Background()
	every := []ErrorCase{
		{Name: "not found", Call: func(t *testing.T, r *Rig) error {
			_, err := r.Vendor.Get(ctx, kit.Missing)
			return err
		}, Want: vendors.ErrNotFound},
		{Name: "wrong credentials", Call: func(t *testing.T, r *Rig) error {
			_, err := r.Adapter(Variant{Key: "wrong"}).Catalog(ctx)
			return err
		}, Want: vendors.ErrAuth},
		{Name: "bad key", Call: Creating(func(t *testing.T) vendors.CreateRequest {
			req := kit.Request(t)
			req.SSHPublicKey = "not a key"
			return req
		}), Want: vendors.ErrInvalid},
	}
	for _, c := range append(every, kit.Errors...) {
		t.Run(c.Name, func(t *testing.T) {
			r := kit.Start(t, standin.Options{BootTime: time.Second})
			if c.Setup != nil {
				c.Setup(t, r)
			}
			err := c.Call(t, r)
			var ve *vendors.Error
			if !errors.As(err, &ve) || Kind(err) != c.Want {
				t.Errorf("error %v (%T), want a *vendors.Error of kind %v", err, err, c.Want)
			}
		})
	}
}

func persistence(t *testing.T, kit Kit) *Rig {
	// One clock for both lives of the stand-in, as a real restart has.
	o := standin.Options{BootTime: 100 * time.Millisecond, StatePath: filepath.Join(t.TempDir(), "state.json"), Now: Clock(kit.Clock)}
	r := kit.Start(t, o)
	req := kit.Request(t)
	in, err := r.Vendor.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	up, _ := WaitFor(t, r.Vendor, in.ID, Running)
	r.Stop()
	if err := r.StandIn.Close(); err != nil {
		t.Fatal(err)
	}

	if c, err := net.DialTimeout("tcp", net.JoinHostPort(up.ExternalIP, strconv.Itoa(up.SSHPort)), time.Second); err == nil {
		c.Close()
		t.Errorf("the host still answers after the stand-in closed")
	}

	o.Hosts = &standin.Hosts{} // a new process
	again := kit.Start(t, o)
	got, err := again.Vendor.Get(context.Background(), in.ID)
	if err != nil || got.State != vendors.StateRunning || got.ExternalIP != up.ExternalIP || got.SSHPort != up.SSHPort || got.ResourceID != req.ResourceID {
		t.Fatalf("after restart: %+v, %v (before: %+v)", got, err, up)
	}
	LogIn(t, got.ExternalIP, got.SSHPort, req.SSHPublicKey)
	if n := len(again.StandIn.Instances()); n != 1 {
		t.Errorf("restarted stand-in holds %d instances", n)
	}
	if kit.Restarted != nil {
		kit.Restarted(t, r, again)
	}
	return again
}

func paginates(t *testing.T, kit Kit) {
	if kit.PageSize == 0 {
		t.Skip("the kit gives no page size")
	}
	ctx := context.Background()
	r := kit.Start(t, standin.Options{BootTime: time.Second, Scale: 3, Now: Clock(kit.Clock)})
	items, err := r.Vendor.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, made := kit.PageSize+5, 0
	for _, it := range items {
		for it.Available && it.Contract == vendors.OnDemand && made < want {
			_, err := r.Vendor.Create(ctx, vendors.CreateRequest{ResourceID: uuid.NewString(), InstanceType: it.InstanceType,
				Region: it.Region, Contract: it.Contract, SSHPublicKey: PublicKey(t), Item: it})
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
	if list, err := r.Vendor.List(ctx); err != nil || len(list) != want {
		t.Fatalf("List found %d of %d instances: %v", len(list), want, err)
	}
}
