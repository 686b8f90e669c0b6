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
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

func TestSearchFilters(t *testing.T) {
	f := newFixture(t)
	type want struct {
		total  int
		first  float64 // gpu_price_per_hour of the first offer
		vendor string  // every offer's vendor, when set
	}
	for _, tc := range []struct {
		name string
		q    supplyapi.OfferQuery
		want want
	}{
		{"family", supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}}, want{total: 5, first: 1.25}},
		{"family case-insensitive", supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "h100"}}, want{total: 5, first: 1.25}},
		{"canonical", supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "nvidia-h100-pcie-80gb"}}, want{total: 1, first: 2.49, vendor: "lambda"}},
		{"gpu count is exact", supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100", GPUCount: 8}}, want{total: 1, first: 2.99, vendor: "lambda"}},
		{"price cap", supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100", MaxPricePerGPUHour: fptr(2.5)}}, want{total: 2, first: 1.25}},
		{"contract spot", supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100", ContractType: "spot"}}, want{total: 1, first: 1.25, vendor: "nebius"}},
		{"contract ondemand", supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100", ContractType: "ondemand"}}, want{total: 4, first: 2.49}},
		{"vendor", supplyapi.OfferQuery{Vendor: "lambda", Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}}, want{total: 2, first: 2.49, vendor: "lambda"}},
		{"region EU", supplyapi.OfferQuery{Region: "EU", Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}}, want{total: 3, first: 1.25}},
		{"region APAC", supplyapi.OfferQuery{Region: "APAC", Compute: supplyapi.OfferQueryCompute{GPUType: "A100"}}, want{total: 1, first: 1.29, vendor: "lambda"}},
		{"region with nothing", supplyapi.OfferQuery{Region: "Other", Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}}, want{total: 0}},
		{"cilium", supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}, Network: &supplyapi.OfferQueryNetwork{SupportsCilium: bptr(true)}}, want{total: 3, first: 1.25, vendor: "nebius"}},
		{"cluster nodes", supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100", NodeCount: iptr(4)}}, want{total: 1, first: 2.5, vendor: "nebius"}},
		{"cluster wrong size", supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100", NodeCount: iptr(2)}}, want{total: 0}},
		{"limit keeps total", supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}, Limit: 2}, want{total: 5, first: 1.25}},
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
	res := f.search(t, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}})
	for i := 1; i < len(res.Offers); i++ {
		a, b := res.Offers[i-1], res.Offers[i]
		if a.GPUPricePerHour > b.GPUPricePerHour || a.GPUPricePerHour == b.GPUPricePerHour && a.TotalPricePerHour > b.TotalPricePerHour {
			t.Errorf("offers out of order at %d: %v then %v", i, a.GPUPricePerHour, b.GPUPricePerHour)
		}
	}
	eight := f.search(t, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100", GPUCount: 8}}).Offers[0]
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
	cl := f.search(t, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100", NodeCount: iptr(4)}}).Offers[0]
	if cl.DeploymentType != "cluster" || cl.GPUCount != 32 || *cl.GPUsPerNode != 8 || *cl.NodeCount != 4 || *cl.InfinibandBandwidthGbps != 3200 || cl.TotalPricePerHour != 80 {
		t.Errorf("cluster offer = %+v", cl)
	}
}

func TestSearchRejectsUnknownNames(t *testing.T) {
	f := newFixture(t)
	_, err := f.ix.Search(context.Background(), 1, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H10"}})
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
	_, err = f.ix.Search(context.Background(), 1, supplyapi.OfferQuery{Vendor: "acme", Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}})
	if !errors.As(err, &qe) || fmt.Sprint(qe.Loc) != "[body vendor]" {
		t.Errorf("unknown vendor: %v", err)
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
	var all []supplyapi.Offer
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
	scan := func(q supplyapi.OfferQuery) []supplyapi.Offer {
		variants, err := gpus.GPUs().Resolve(q.Compute.GPUType)
		if err != nil {
			t.Fatal(err)
		}
		var out []supplyapi.Offer
		for _, o := range all {
			if matches(q, variants, o, cilium[o.Vendor]) {
				out = append(out, o)
			}
		}
		slices.SortFunc(out, func(a, b supplyapi.Offer) int {
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
func randomQuery(r *rand.Rand) supplyapi.OfferQuery {
	pick := func(options ...string) string { return options[r.IntN(len(options))] }
	q := supplyapi.OfferQuery{
		Vendor: pick("", "", "lambda", "nebius", "runpod"),
		Region: pick("", "", "US", "EU", "APAC"),
		Compute: supplyapi.OfferQueryCompute{
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
		q.Network = &supplyapi.OfferQueryNetwork{SupportsCilium: bptr(r.IntN(2) == 0)}
	}
	return q
}

// matches reports whether q matches o, an offer of a vendor with or
// without Cilium, as told offer by offer; variants are what q's GPU type
// resolves to.
func matches(q supplyapi.OfferQuery, variants []gpus.GPU, o supplyapi.Offer, cilium bool) bool {
	ok := slices.ContainsFunc(variants, func(g gpus.GPU) bool { return g.Name == o.GPUType }) &&
		(q.Vendor == "" || o.Vendor == q.Vendor) && (q.Region == "" || o.Region == q.Region) &&
		(q.Compute.ContractType == "" || o.ContractType == q.Compute.ContractType) &&
		(q.Compute.MaxPricePerGPUHour == nil || o.GPUPricePerHour <= *q.Compute.MaxPricePerGPUHour) &&
		(q.Network == nil || q.Network.SupportsCilium == nil || !*q.Network.SupportsCilium || cilium)
	if q.Compute.NodeCount != nil {
		return ok && o.NodeCount != nil && *o.NodeCount == *q.Compute.NodeCount && (q.Compute.GPUCount == 0 || o.GPUCount == q.Compute.GPUCount)
	}
	return ok && o.NodeCount == nil && o.GPUCount == max(q.Compute.GPUCount, 1)
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
func sortedMatches(ix *Index, q supplyapi.OfferQuery, variants []gpus.GPU) []listed {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var out []listed
	for _, name := range ix.order {
		st := ix.state[name]
		for i, e := range st.entries {
			if !ix.taken[st.snapshotID][i] && matches(q, variants, e.Offer(), st.info.Cilium) {
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
