package offers

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// fakeSource is a vendor catalog the test controls.
type fakeSource struct {
	info vendors.Info
	mu   sync.Mutex
	list []vendors.CatalogItem
	err  error
	hang bool
}

func (f *fakeSource) Name() string       { return f.info.Name }
func (f *fakeSource) Info() vendors.Info { return f.info }
func (f *fakeSource) Catalog(ctx context.Context) ([]vendors.CatalogItem, error) {
	f.mu.Lock()
	list, err, hang := f.list, f.err, f.hang
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return list, err
}

func (f *fakeSource) set(list []vendors.CatalogItem, err error) {
	f.mu.Lock()
	f.list, f.err = list, err
	f.mu.Unlock()
}

func item(gpu string, count int, region, country string, price float64, contract vendors.Contract) vendors.CatalogItem {
	return vendors.CatalogItem{
		InstanceType: fmt.Sprintf("%dx-%s", count, gpu), Region: region, Country: country, Contract: contract,
		GPUName: gpu, GPUCount: count, VCPUs: 8 * count, MemoryGB: float64(64 * count), BootDiskGB: 100,
		PricePerHour: price, Available: true, Stock: -1,
	}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	ix     *Index
	clock  *clock
	alpha  *fakeSource
	beta   *fakeSource
	config Config
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	alpha := &fakeSource{info: vendors.Info{Name: "lambda", DisplayName: "Lambda"}}
	beta := &fakeSource{info: vendors.Info{Name: "nebius", DisplayName: "Nebius", Spot: true, Cilium: true, Clusters: true}}
	alpha.set([]vendors.CatalogItem{
		item("H100 (80 GB SXM5)", 1, "us-east-1", "US", 2.99, vendors.OnDemand),
		item("H100 (80 GB SXM5)", 8, "us-east-1", "US", 23.92, vendors.OnDemand),
		item("H100 (80 GB PCIe)", 1, "europe-central-1", "DE", 2.49, vendors.OnDemand),
		item("A100 (40 GB PCIe)", 1, "asia-northeast-1", "JP", 1.29, vendors.OnDemand),
		func() vendors.CatalogItem { // sold out: never offered
			it := item("H100 (80 GB PCIe)", 1, "us-west-1", "US", 1.00, vendors.OnDemand)
			it.Available = false
			return it
		}(),
		item("Imaginary X9000", 1, "us-west-1", "US", 0.5, vendors.OnDemand), // unknown GPU: left out
	}, nil)
	cluster := item("gpu-h100-sxm", 8, "eu-north1", "FI", 20.0, vendors.OnDemand)
	cluster.Nodes, cluster.InfinibandGbps, cluster.ClusterStorageGB = 4, 3200, 2048
	beta.set([]vendors.CatalogItem{
		item("gpu-h100-sxm", 1, "eu-north1", "FI", 2.95, vendors.OnDemand),
		item("gpu-h100-sxm", 1, "eu-north1", "FI", 1.25, vendors.Spot),
		item("gpu-h100-sxm", 1, "us-central1", "US", 2.95, vendors.OnDemand),
		cluster,
	}, nil)
	c := &clock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	cfg := Config{
		Sources:   []Source{alpha, beta},
		Snapshots: storetest.Open(t, "sqlite"),
		IDKey:     []byte("0123456789abcdef"),
		Now:       c.now,
	}
	ix, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ix: ix, clock: c, alpha: alpha, beta: beta, config: cfg}
	f.refresh(t)
	return f
}

func (f *fixture) refresh(t *testing.T) {
	t.Helper()
	for _, name := range []string{"lambda", "nebius"} {
		if err := f.ix.Refresh(context.Background(), name); err != nil {
			t.Fatalf("refresh %s: %v", name, err)
		}
	}
}

func (f *fixture) search(t *testing.T, q supplyapi.OfferQuery) supplyapi.OfferResult {
	t.Helper()
	res, err := f.ix.Search(context.Background(), 1, q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	return res
}

func fptr(v float64) *float64 { return &v }
func iptr(v int) *int         { return &v }
func bptr(v bool) *bool       { return &v }

func TestUnchangedCatalogWritesNoSnapshot(t *testing.T) {
	f := newFixture(t)
	before := f.ix.state["lambda"].snapshotID
	f.clock.add(time.Minute)
	f.refresh(t)
	if after := f.ix.state["lambda"].snapshotID; after != before {
		t.Errorf("an unchanged catalog wrote snapshot %d after %d", after, before)
	}
	if got := f.search(t, supplyapi.OfferQuery{Vendor: "lambda", Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}}).Offers[0].ObservedAt; !got.Equal(f.clock.now()) {
		t.Errorf("observed_at %v, want the last confirmation %v", got, f.clock.now())
	}
}

// TestCatalogChangedInPlaceIsSeen: a source that hands out the same slice
// again, changed, is read as changed (the index keeps its own copy).
func TestCatalogChangedInPlaceIsSeen(t *testing.T) {
	f := newFixture(t)
	before := f.ix.state["lambda"].snapshotID
	list, _ := f.alpha.Catalog(context.Background())
	list[0].PricePerHour = 0.5
	f.refresh(t)
	if after := f.ix.state["lambda"].snapshotID; after == before {
		t.Error("a changed catalog wrote no snapshot")
	}
	if got := f.search(t, supplyapi.OfferQuery{Vendor: "lambda", Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}}).Offers[0]; got.GPUPricePerHour != 0.5 {
		t.Errorf("cheapest H100 at %v after the price changed to 0.5", got.GPUPricePerHour)
	}
}

func TestFailingVendorKeepsLastGoodDataThenDropsOut(t *testing.T) {
	f := newFixture(t)
	f.beta.set(nil, &vendors.Error{Vendor: "nebius", Op: "catalog", Kind: vendors.ErrTransient, Status: 503})
	f.clock.add(5 * time.Minute)
	if err := f.ix.Refresh(context.Background(), "nebius"); err == nil {
		t.Fatal("refresh of a failing vendor succeeded")
	}
	if err := f.ix.Refresh(context.Background(), "lambda"); err != nil {
		t.Fatal(err)
	}
	res := f.search(t, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}})
	if res.TotalCount != 5 {
		t.Errorf("a failing vendor's last good offers should stay: total %d", res.TotalCount)
	}
	if st := statusOf(f.ix, "nebius"); st.Status != "degraded" || st.LastError == "" {
		t.Errorf("nebius status %+v, want degraded with an error", st)
	}
	f.clock.add(15 * time.Minute)
	if err := f.ix.Refresh(context.Background(), "lambda"); err != nil {
		t.Fatal(err)
	}
	res = f.search(t, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}})
	if res.TotalCount != 2 {
		t.Errorf("stale vendor still served: total %d", res.TotalCount)
	}
	if fmt.Sprint(res.FiltersApplied["vendors_unavailable"]) != "[nebius]" {
		t.Errorf("filters_applied does not say nebius is missing: %v", res.FiltersApplied)
	}
	if st := statusOf(f.ix, "nebius"); st.Status != "down" {
		t.Errorf("nebius status %q, want down", st.Status)
	}
}

func statusOf(ix *Index, name string) supplyapi.VendorStatus {
	for _, v := range ix.Vendors() {
		if v.Name == name {
			return v
		}
	}
	return supplyapi.VendorStatus{}
}

func TestHungVendorNeverDelaysAQuery(t *testing.T) {
	f := newFixture(t)
	f.beta.mu.Lock()
	f.beta.hang = true
	f.beta.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.ix.Refresh(ctx, "nebius") // blocks until cancelled
	start := time.Now()
	res := f.search(t, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}})
	if took := time.Since(start); took > 300*time.Millisecond {
		t.Errorf("query took %v while a vendor hangs", took)
	}
	if res.TotalCount != 5 {
		t.Errorf("total %d, want 5", res.TotalCount)
	}
}

func TestRestartServesPersistedCatalogAtOnce(t *testing.T) {
	f := newFixture(t)
	f.alpha.set(nil, errors.New("down"))
	f.beta.set(nil, errors.New("down"))
	ix, err := New(f.config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ix.Start(ctx)
	res, err := ix.Search(ctx, 1, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}})
	if err != nil || res.TotalCount != 5 {
		t.Errorf("after restart with vendors down: total %d, %v; want the 5 persisted offers", res.TotalCount, err)
	}
}

// TestSameItemSeesEveryField changes each field of a catalog item in turn:
// a refresh that missed one would keep serving the old listing.
func TestSameItemSeesEveryField(t *testing.T) {
	base := item("H100 (80 GB SXM5)", 8, "us-east", "US", 20, vendors.OnDemand)
	base.Extra = map[string]string{"image": "a"}
	if !sameItem(base, base) {
		t.Fatal("an item differs from itself")
	}
	typ := reflect.TypeFor[vendors.CatalogItem]()
	for i := range typ.NumField() {
		changed := base
		changed.Extra = map[string]string{"image": "a"}
		f := reflect.ValueOf(&changed).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Int:
			f.SetInt(f.Int() + 1)
		case reflect.Float64:
			f.SetFloat(f.Float() + 0.5)
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Map:
			changed.Extra["image"] = "b"
		default:
			t.Fatalf("field %s of kind %s: teach this test and sameItem about it", typ.Field(i).Name, f.Kind())
		}
		if sameItem(base, changed) {
			t.Errorf("items differing in %s are the same to sameItem", typ.Field(i).Name)
		}
	}
}
