package offers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/catalog"
	"github.com/gpusupply/supply/store/storetest"
	"github.com/gpusupply/supply/vendors"
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

func (f *fixture) search(t *testing.T, q Query) Result {
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

func TestSearchFilters(t *testing.T) {
	f := newFixture(t)
	type want struct {
		total  int
		first  float64 // gpu_price_per_hour of the first offer
		vendor string  // every offer's vendor, when set
	}
	for _, tc := range []struct {
		name string
		q    Query
		want want
	}{
		{"family", Query{Compute: Compute{GPUType: "H100"}}, want{total: 5, first: 1.25}},
		{"family case-insensitive", Query{Compute: Compute{GPUType: "h100"}}, want{total: 5, first: 1.25}},
		{"canonical", Query{Compute: Compute{GPUType: "nvidia-h100-pcie-80gb"}}, want{total: 1, first: 2.49, vendor: "lambda"}},
		{"gpu count is exact", Query{Compute: Compute{GPUType: "H100", GPUCount: 8}}, want{total: 1, first: 2.99, vendor: "lambda"}},
		{"price cap", Query{Compute: Compute{GPUType: "H100", MaxPricePerGPUHour: fptr(2.5)}}, want{total: 2, first: 1.25}},
		{"contract spot", Query{Compute: Compute{GPUType: "H100", ContractType: "spot"}}, want{total: 1, first: 1.25, vendor: "nebius"}},
		{"contract ondemand", Query{Compute: Compute{GPUType: "H100", ContractType: "ondemand"}}, want{total: 4, first: 2.49}},
		{"vendor", Query{Vendor: "lambda", Compute: Compute{GPUType: "H100"}}, want{total: 2, first: 2.49, vendor: "lambda"}},
		{"region EU", Query{Region: "EU", Compute: Compute{GPUType: "H100"}}, want{total: 3, first: 1.25}},
		{"region APAC", Query{Region: "APAC", Compute: Compute{GPUType: "A100"}}, want{total: 1, first: 1.29, vendor: "lambda"}},
		{"region with nothing", Query{Region: "Other", Compute: Compute{GPUType: "H100"}}, want{total: 0}},
		{"cilium", Query{Compute: Compute{GPUType: "H100"}, Network: &Network{SupportsCilium: bptr(true)}}, want{total: 3, first: 1.25, vendor: "nebius"}},
		{"cluster nodes", Query{Compute: Compute{GPUType: "H100", NodeCount: iptr(4)}}, want{total: 1, first: 2.5, vendor: "nebius"}},
		{"cluster wrong size", Query{Compute: Compute{GPUType: "H100", NodeCount: iptr(2)}}, want{total: 0}},
		{"limit keeps total", Query{Compute: Compute{GPUType: "H100"}, Limit: 2}, want{total: 5, first: 1.25}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.search(t, tc.q)
			if res.TotalCount != tc.want.total {
				t.Fatalf("total_count = %d, want %d (offers %+v)", res.TotalCount, tc.want.total, res.Offers)
			}
			wantLen := tc.want.total
			if tc.q.Limit > 0 && tc.q.Limit < wantLen {
				wantLen = tc.q.Limit
			}
			if len(res.Offers) != wantLen {
				t.Fatalf("%d offers, want %d", len(res.Offers), wantLen)
			}
			if wantLen == 0 {
				return
			}
			if got := res.Offers[0].GPUPricePerHour; got != tc.want.first {
				t.Errorf("first gpu_price_per_hour = %v, want %v", got, tc.want.first)
			}
			for _, o := range res.Offers {
				if tc.want.vendor != "" && o.Vendor != tc.want.vendor {
					t.Errorf("offer from %s, want only %s", o.Vendor, tc.want.vendor)
				}
			}
		})
	}
}

func TestSearchSortedAndPriced(t *testing.T) {
	f := newFixture(t)
	res := f.search(t, Query{Compute: Compute{GPUType: "H100"}})
	for i := 1; i < len(res.Offers); i++ {
		a, b := res.Offers[i-1], res.Offers[i]
		if a.GPUPricePerHour > b.GPUPricePerHour || a.GPUPricePerHour == b.GPUPricePerHour && a.TotalPricePerHour > b.TotalPricePerHour {
			t.Errorf("offers out of order at %d: %v then %v", i, a.GPUPricePerHour, b.GPUPricePerHour)
		}
	}
	eight := f.search(t, Query{Compute: Compute{GPUType: "H100", GPUCount: 8}}).Offers[0]
	if eight.GPUPricePerHour != 2.99 || eight.TotalPricePerHour != 23.92 {
		t.Errorf("8-GPU offer priced %v/GPU-h, %v total; want 2.99 and 23.92", eight.GPUPricePerHour, eight.TotalPricePerHour)
	}
	if eight.GPUType != "nvidia-h100-sxm5-80gb" || eight.GPUFamily != "H100" || eight.Region != "US" || eight.VendorRegion != "us-east-1" {
		t.Errorf("offer named %s/%s in %s/%s", eight.GPUType, eight.GPUFamily, eight.Region, eight.VendorRegion)
	}
	if eight.BootDiskInGB == nil || *eight.BootDiskInGB != 100 || len(eight.StorageDetails) != 1 {
		t.Errorf("boot disk not described: %v %+v", eight.BootDiskInGB, eight.StorageDetails)
	}
	if !eight.ExpiresAt.Equal(eight.CreatedAt.Add(30*time.Minute)) || eight.ObservedAt.IsZero() {
		t.Errorf("created %v expires %v observed %v", eight.CreatedAt, eight.ExpiresAt, eight.ObservedAt)
	}
	cl := f.search(t, Query{Compute: Compute{GPUType: "H100", NodeCount: iptr(4)}}).Offers[0]
	if cl.DeploymentType != "cluster" || cl.GPUCount != 32 || *cl.GPUsPerNode != 8 || *cl.NodeCount != 4 || *cl.InfinibandBandwidthGbps != 3200 || cl.TotalPricePerHour != 80 {
		t.Errorf("cluster offer = %+v", cl)
	}
}

func TestSearchRejectsUnknownNames(t *testing.T) {
	f := newFixture(t)
	_, err := f.ix.Search(context.Background(), 1, Query{Compute: Compute{GPUType: "H10"}})
	var qe *QueryError
	if !errors.As(err, &qe) {
		t.Fatalf("unknown GPU: error %v, want *QueryError", err)
	}
	if fmt.Sprint(qe.Loc) != "[body compute gpu_type]" || qe.Input != "H10" {
		t.Errorf("loc %v input %v", qe.Loc, qe.Input)
	}
	if want := "H100"; !strings.Contains(qe.Msg, want) {
		t.Errorf("message %q does not suggest %s", qe.Msg, want)
	}
	_, err = f.ix.Search(context.Background(), 1, Query{Vendor: "acme", Compute: Compute{GPUType: "H100"}})
	if !errors.As(err, &qe) || fmt.Sprint(qe.Loc) != "[body vendor]" {
		t.Errorf("unknown vendor: %v", err)
	}
}

func TestOfferIDsResolveToWhatWasShown(t *testing.T) {
	f := newFixture(t)
	shown := f.search(t, Query{Compute: Compute{GPUType: "H100"}}).Offers[0]

	// The vendor changes its price: new queries see it, the shown offer keeps its own.
	f.beta.set([]vendors.CatalogItem{item("gpu-h100-sxm", 1, "eu-north1", "FI", 9.99, vendors.Spot)}, nil)
	f.refresh(t)
	if now := f.search(t, Query{Compute: Compute{GPUType: "H100", ContractType: "spot"}}).Offers[0]; now.GPUPricePerHour != 9.99 {
		t.Fatalf("new price not served: %v", now.GPUPricePerHour)
	}
	d, err := f.ix.Details(context.Background(), 1, shown.OfferID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusAvailable || d.GPUPricePerHour != shown.GPUPricePerHour || !d.ExpiresAt.Equal(shown.ExpiresAt) || d.VendorRegion != shown.VendorRegion {
		t.Errorf("details %+v\nwant the shown offer %+v", d, shown)
	}

	// Another index on the same database (a second replica, or a restart) resolves it too.
	other, err := New(f.config)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := other.Details(context.Background(), 1, shown.OfferID)
	if err != nil || d2.GPUPricePerHour != shown.GPUPricePerHour {
		t.Errorf("other replica: %+v, %v", d2, err)
	}

	// Another account, a tampered id and a random id are all unknown.
	for name, tc := range map[string]struct {
		account int64
		id      uuid.UUID
	}{
		"other account": {2, shown.OfferID},
		"tampered":      {1, func() uuid.UUID { id := shown.OfferID; id[3] ^= 1; return id }()},
		"random":        {1, uuid.New()},
	} {
		if _, err := f.ix.Details(context.Background(), tc.account, tc.id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}

	f.clock.add(31 * time.Minute)
	if d, _ := f.ix.Details(context.Background(), 1, shown.OfferID); d.Status != StatusExpired {
		t.Errorf("after the TTL status = %q, want expired", d.Status)
	}
}

func TestUnchangedCatalogWritesNoSnapshot(t *testing.T) {
	f := newFixture(t)
	before := f.ix.state["lambda"].snapshotID
	f.clock.add(time.Minute)
	f.refresh(t)
	if after := f.ix.state["lambda"].snapshotID; after != before {
		t.Errorf("an unchanged catalog wrote snapshot %d after %d", after, before)
	}
	if got := f.search(t, Query{Vendor: "lambda", Compute: Compute{GPUType: "H100"}}).Offers[0].ObservedAt; !got.Equal(f.clock.now()) {
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
	if got := f.search(t, Query{Vendor: "lambda", Compute: Compute{GPUType: "H100"}}).Offers[0]; got.GPUPricePerHour != 0.5 {
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
	res := f.search(t, Query{Compute: Compute{GPUType: "H100"}})
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
	res = f.search(t, Query{Compute: Compute{GPUType: "H100"}})
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

func statusOf(ix *Index, name string) VendorStatus {
	for _, v := range ix.Vendors() {
		if v.Name == name {
			return v
		}
	}
	return VendorStatus{}
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
	res := f.search(t, Query{Compute: Compute{GPUType: "H100"}})
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
	res, err := ix.Search(ctx, 1, Query{Compute: Compute{GPUType: "H100"}})
	if err != nil || res.TotalCount != 5 {
		t.Errorf("after restart with vendors down: total %d, %v; want the 5 persisted offers", res.TotalCount, err)
	}
}

func TestProcuredSingleMachineIsHidden(t *testing.T) {
	f := newFixture(t)
	machine := item("H100 (80 GB PCIe)", 1, "us-west-1", "US", 0.99, vendors.OnDemand)
	machine.Stock = 1 // one specific machine, as a marketplace lists it
	f.alpha.set(append(f.alpha.list, machine), nil)
	f.refresh(t)
	q := Query{Vendor: "lambda", Compute: Compute{GPUType: "H100"}}
	first := f.search(t, q).Offers[0]
	if first.GPUPricePerHour != 0.99 {
		t.Fatalf("cheapest %v, want the single machine", first.GPUPricePerHour)
	}
	pool := f.search(t, q).Offers[1]
	for _, id := range []uuid.UUID{first.OfferID, pool.OfferID} {
		if err := f.ix.MarkTaken(context.Background(), 1, id); err != nil {
			t.Fatal(err)
		}
	}
	after := f.search(t, q)
	if after.TotalCount != 2 || after.Offers[0].GPUPricePerHour == 0.99 {
		t.Errorf("after renting the single machine: %d offers, cheapest %v", after.TotalCount, after.Offers[0].GPUPricePerHour)
	}
	if after.Offers[0].GPUPricePerHour != pool.GPUPricePerHour {
		t.Errorf("an offer with pooled stock was hidden too")
	}
	// The vendor's next catalog without the machine replaces the snapshot.
	f.alpha.set(f.alpha.list[:len(f.alpha.list)-1], nil)
	f.refresh(t)
	if len(f.ix.taken) != 0 {
		t.Errorf("taken marks of replaced snapshots kept: %v", f.ix.taken)
	}
}

// An item a create was refused for is hidden from every renter at once,
// and shown again by the vendor's next read that began after the refusal,
// whether that read changed the catalog or not.
func TestRefusedItemIsHiddenUntilTheNextRead(t *testing.T) {
	f := newFixture(t)
	q := Query{Compute: Compute{GPUType: "H100"}, Region: "US"}
	before := f.search(t, q)
	cheapest, item, err := f.ix.Resolve(context.Background(), 1, before.Offers[0].OfferID)
	if err != nil {
		t.Fatal(err)
	}
	f.ix.MarkRefused(cheapest.Vendor, item)
	after := f.search(t, q)
	if after.TotalCount != before.TotalCount-1 || slices.ContainsFunc(after.Offers, func(o Offer) bool {
		return o.Vendor == cheapest.Vendor && o.VendorRegion == cheapest.VendorRegion && o.GPUCount == cheapest.GPUCount &&
			o.GPUPricePerHour == cheapest.GPUPricePerHour
	}) {
		t.Fatalf("after the refusal: %d offers (were %d), the refused one among them: %+v", after.TotalCount, before.TotalCount, after.Offers)
	}
	if other := f.search(t, Query{Compute: Compute{GPUType: "H100"}, Region: "US"}); other.TotalCount != after.TotalCount {
		t.Errorf("another query still sees it")
	}
	// A read that began before the refusal (at the same instant, as this
	// clock stands still) does not show it again; one that began later does.
	f.refresh(t)
	if got := f.search(t, q).TotalCount; got != after.TotalCount {
		t.Errorf("a read that began no later than the refusal showed it again: %d offers", got)
	}
	f.clock.add(time.Second)
	f.refresh(t)
	if got := f.search(t, q).TotalCount; got != before.TotalCount {
		t.Errorf("after a later read: %d offers, want %d", got, before.TotalCount)
	}
	if len(f.ix.state[cheapest.Vendor].refused) != 0 {
		t.Errorf("refusals kept after a later read: %v", f.ix.state[cheapest.Vendor].refused)
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

// TestAnswerMatchesScan: answers come from per-shape cells merged to the
// limit, with counts from the cells' lengths; they must be exactly what
// filtering every offer and sorting the matches gives. Random queries over
// three vendors' catalogs with clusters, Cilium and spot.
func TestAnswerMatchesScan(t *testing.T) {
	sources := []*fakeSource{
		{info: vendors.Info{Name: "lambda"}},
		{info: vendors.Info{Name: "nebius", Cilium: true, Spot: true, Clusters: true}},
		{info: vendors.Info{Name: "runpod", Spot: true}},
	}
	cfg := Config{Snapshots: storetest.Open(t, "sqlite"), IDKey: []byte("0123456789abcdef")}
	for i, src := range sources {
		items := syntheticCatalog(3000 + 500*i)
		for j := range items {
			if j%11 == 0 {
				items[j].Nodes, items[j].InfinibandGbps = 2+2*(j%3), 3200
			}
		}
		src.set(items, nil)
		cfg.Sources = append(cfg.Sources, src)
	}
	ix, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var all []Offer
	for _, src := range sources {
		if err := ix.Refresh(context.Background(), src.info.Name); err != nil {
			t.Fatal(err)
		}
		for _, e := range ix.state[src.info.Name].entries {
			all = append(all, e.Offer())
		}
	}
	cilium := map[string]bool{"nebius": true}
	// scan is the reference: every offer through the query's filters,
	// cheapest first.
	scan := func(q Query) []Offer {
		gpus, err := catalog.GPUs().Resolve(q.Compute.GPUType)
		if err != nil {
			t.Fatal(err)
		}
		var out []Offer
		for _, o := range all {
			if matches(q, gpus, o, cilium[o.Vendor]) {
				out = append(out, o)
			}
		}
		slices.SortFunc(out, func(a, b Offer) int {
			return cmp.Or(cmp.Compare(a.GPUPricePerHour, b.GPUPricePerHour), cmp.Compare(a.TotalPricePerHour, b.TotalPricePerHour),
				cmp.Compare(a.Vendor, b.Vendor), cmp.Compare(a.VendorRegion, b.VendorRegion))
		})
		return out
	}
	r := rand.New(rand.NewPCG(1, 2))
	nonEmpty := 0
	for range 400 {
		q := randomQuery(r)
		res, err := ix.Search(context.Background(), 1, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		want := scan(q)
		if res.TotalCount != len(want) {
			t.Fatalf("%+v: total_count %d, want %d", q, res.TotalCount, len(want))
		}
		want = want[:min(len(want), cmp.Or(q.Limit, 100))]
		if len(res.Offers) != len(want) {
			t.Fatalf("%+v: %d offers, want %d", q, len(res.Offers), len(want))
		}
		for i := range want {
			got := res.Offers[i]
			got.OfferID, got.CreatedAt, got.ExpiresAt, got.ObservedAt = uuid.UUID{}, time.Time{}, time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, want[i]) {
				t.Fatalf("%+v: offer %d is %+v, want %+v", q, i, got, want[i])
			}
		}
		if len(want) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < 100 {
		t.Errorf("only %d of 400 queries matched anything; the test compares too little", nonEmpty)
	}
}

// randomQuery is a query over the vendors lambda, nebius and runpod with
// some of every filter.
func randomQuery(r *rand.Rand) Query {
	pick := func(options ...string) string { return options[r.IntN(len(options))] }
	q := Query{
		Vendor: pick("", "", "lambda", "nebius", "runpod"),
		Region: pick("", "", "US", "EU", "APAC"),
		Compute: Compute{
			GPUType:      pick("H100", "A100", "nvidia-h100-sxm5-80gb", "L40S", "nvidia-a100-sxm4-80gb"),
			GPUCount:     []int{0, 0, 1, 2, 4, 8, 16}[r.IntN(7)],
			ContractType: pick("", "", "spot", "ondemand"),
		},
		Limit: []int{0, 1, 7, 100, 1000}[r.IntN(5)],
	}
	if r.IntN(3) == 0 {
		q.Compute.MaxPricePerGPUHour = fptr(float64(r.IntN(40)) / 8)
	}
	if r.IntN(4) == 0 {
		q.Compute.NodeCount = iptr([]int{2, 4, 6, 3}[r.IntN(4)])
	}
	if r.IntN(4) == 0 {
		q.Network = &Network{SupportsCilium: bptr(r.IntN(2) == 0)}
	}
	return q
}

// matches reports whether q matches o, an offer of a vendor with or
// without Cilium, as told offer by offer; gpus are what q's GPU type
// resolves to.
func matches(q Query, gpus []catalog.GPU, o Offer, cilium bool) bool {
	ok := slices.ContainsFunc(gpus, func(g catalog.GPU) bool { return g.Name == o.GPUType }) &&
		(q.Vendor == "" || o.Vendor == q.Vendor) && (q.Region == "" || o.Region == q.Region) &&
		(q.Compute.ContractType == "" || o.ContractType == q.Compute.ContractType) &&
		(q.Compute.MaxPricePerGPUHour == nil || o.GPUPricePerHour <= *q.Compute.MaxPricePerGPUHour) &&
		(q.Network == nil || q.Network.SupportsCilium == nil || !*q.Network.SupportsCilium || cilium)
	if q.Compute.NodeCount != nil {
		return ok && o.NodeCount != nil && *o.NodeCount == *q.Compute.NodeCount && (q.Compute.GPUCount == 0 || o.GPUCount == q.Compute.GPUCount)
	}
	return ok && o.NodeCount == nil && o.GPUCount == max(q.Compute.GPUCount, 1)
}

// TestPartialRebuildMatchesFullOne: a refresh (or a procured machine)
// makes only its vendor's cells of the view anew and keeps the others'.
// Over rounds that change, add and remove items of one or two of three
// vendors (whose catalogs tie on price per GPU, so that answers order
// offers of different vendors by total price and then by name; one shape
// comes and goes) and hide procured machines, the view must be the one
// made from every vendor's entries at once, and answers must be what
// sorting every matching offer in answer order gives.
func TestPartialRebuildMatchesFullOne(t *testing.T) {
	names := []string{"runpod", "lambda", "nebius"} // not in name order
	cfg := Config{Snapshots: storetest.Open(t, "sqlite"), IDKey: []byte("0123456789abcdef")}
	catalogs := map[string][]vendors.CatalogItem{}
	for k, name := range names {
		src := &fakeSource{info: vendors.Info{Name: name, Cilium: name == "nebius"}}
		items := syntheticCatalog(1200)
		for j := range items {
			// The same price per GPU as the other vendors' item j, for
			// another number of GPUs: clusters of any GPU count tie on
			// the one price and not on the other.
			perGPU := items[j].PricePerHour / float64(items[j].GPUCount)
			items[j].GPUCount = []int{1, 2, 4, 8}[(j/7+k)%4]
			items[j].PricePerHour = perGPU * float64(items[j].GPUCount)
			if j%11 == 0 {
				items[j].Nodes, items[j].InfinibandGbps = 2+2*(j%3), 3200
			}
			if j%3 == 0 {
				items[j].Stock = 1
			}
		}
		src.set(items, nil)
		catalogs[name] = items
		cfg.Sources = append(cfg.Sources, src)
	}
	ix, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range names {
		if err := ix.Refresh(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	added := 0
	for round := range 8 {
		// One or two vendors change: prices move, items come and go.
		for k := range 1 + round%2 {
			name := names[(round+k)%len(names)]
			items := slices.Clone(catalogs[name])
			for range 40 {
				items[r.IntN(len(items))].PricePerHour = float64(1 + r.IntN(60))
			}
			for range 10 {
				gone := r.IntN(len(items))
				items = slices.Delete(items, gone, gone+1)
				it := items[r.IntN(len(items))]
				it.InstanceType = fmt.Sprintf("added-%d", added)
				added++
				items = append(items, it)
			}
			// A shape no other item has (three GPUs) is listed in the
			// first round and gone in the fourth.
			switch round {
			case 0:
				it := items[0]
				it.InstanceType, it.GPUCount = "three", 3
				items = append(items, it)
			case 3:
				items = slices.DeleteFunc(items, func(it vendors.CatalogItem) bool { return it.GPUCount == 3 })
			}
			catalogs[name] = items
			cfg.Sources[slices.Index(names, name)].(*fakeSource).set(items, nil)
			if err := ix.Refresh(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
		// Some single machines of another vendor are procured.
		vendor := names[(round+2)%len(names)]
		res, err := ix.Search(ctx, 1, Query{Vendor: vendor, Compute: Compute{GPUType: "H100"}, Limit: 30})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Offers[:min(len(res.Offers), 1+round%3)] {
			if err := ix.MarkTaken(ctx, 1, o.OfferID); err != nil {
				t.Fatal(err)
			}
		}

		got := ix.view.Load()
		for range 60 {
			q := randomQuery(r)
			gpus, err := catalog.GPUs().Resolve(q.Compute.GPUType)
			if err != nil {
				t.Fatal(err)
			}
			key := gpus[0].Name
			if len(gpus) > 1 {
				key = familyKey(gpus[0].Family)
			}
			picked, total := ix.match(q, queryShape(q, key), got, ix.cfg.Now(), cmp.Or(q.Limit, 100))
			want := sortedMatches(ix, q, gpus)
			if total != len(want) {
				t.Fatalf("round %d, %+v: %d matches, want %d", round, q, total, len(want))
			}
			want = want[:min(len(want), cmp.Or(q.Limit, 100))]
			if len(picked) != len(want) {
				t.Fatalf("round %d, %+v: %d offers, want %d", round, q, len(picked), len(want))
			}
			for i, e := range picked {
				if w := want[i]; e.Entry != w.Entry || int(e.item) != w.item || got.snapshots[e.vendor] != w.snapshot {
					t.Fatalf("round %d, %+v: offer %d is item %d of snapshot %d, want item %d of snapshot %d",
						round, q, i, e.item, got.snapshots[e.vendor], w.item, w.snapshot)
				}
			}
		}
		full := &view{}
		ix.mu.Lock()
		for vi, name := range ix.order {
			full = full.with(vi, ix.part(vi), ix.state[name].snapshotID, len(ix.order))
		}
		ix.mu.Unlock()
		if !reflect.DeepEqual(got.shapes, full.shapes) || !slices.Equal(got.snapshots, full.snapshots) {
			t.Fatalf("round %d: the view differs from one made from every vendor's entries", round)
		}
	}
}

// listed is an entry of an index where answers can show it.
type listed struct {
	*Entry
	snapshot int64
	item     int
}

// sortedMatches is every offer of ix that q matches, in answer order: all
// of every vendor's entries, less the procured ones, filtered one by one
// and sorted by price, then vendor name, region, instance type, contract
// and place in the snapshot.
func sortedMatches(ix *Index, q Query, gpus []catalog.GPU) []listed {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var out []listed
	for _, name := range ix.order {
		st := ix.state[name]
		for i, e := range st.entries {
			if !ix.taken[st.snapshotID][i] && matches(q, gpus, e.Offer(), st.info.Cilium) {
				out = append(out, listed{e, st.snapshotID, i})
			}
		}
	}
	slices.SortFunc(out, func(a, b listed) int {
		return cmp.Or(cmp.Compare(a.gpuPrice, b.gpuPrice), cmp.Compare(a.totalPrice, b.totalPrice),
			cmp.Compare(a.vendorName, b.vendorName), cmp.Compare(a.Item.Region, b.Item.Region),
			cmp.Compare(a.Item.InstanceType, b.Item.InstanceType), cmp.Compare(a.Item.Contract, b.Item.Contract),
			cmp.Compare(a.snapshot, b.snapshot), cmp.Compare(a.item, b.item))
	})
	return out
}
