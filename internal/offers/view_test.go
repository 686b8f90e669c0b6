package offers

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

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
		res, err := ix.Search(ctx, 1, supplyapi.OfferQuery{Vendor: vendor, Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}, Limit: 30})
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
			variants, err := gpus.GPUs().Resolve(q.Compute.GPUType)
			if err != nil {
				t.Fatal(err)
			}
			key := variants[0].Name
			if len(variants) > 1 {
				key = familyKey(variants[0].Family)
			}
			picked, total := ix.match(q, queryShape(q, key), got, ix.cfg.Now(), cmp.Or(q.Limit, 100))
			want := sortedMatches(ix, q, variants)
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
