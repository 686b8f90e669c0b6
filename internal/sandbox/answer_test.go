package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// TestAnswerJSONIsEncodingJSON holds the API's pre-encoded answers to what
// encoding/json (as huma configures it: no HTML escaping) writes for the
// same offers, byte for byte, over whole sandbox catalogs: every vendor,
// every GPU, singles and clusters, absent sizes as nulls; at scale 1 and 8.
func TestAnswerJSONIsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, scale := range []int{1, 8} {
		t.Run(fmt.Sprintf("scale-%d", scale), func(t *testing.T) {
			t.Parallel()
			_, sources := startSandbox(t, Options{DataDir: t.TempDir(), BootTime: time.Second, Scale: scale})
			// A fixed clock: one offer gets one id in every answer, so
			// the answers can be checked to cover the whole catalog.
			now := time.Date(2026, 12, 1, 10, 20, 30, 123456789, time.UTC)
			ix, err := offers.New(offers.Config{
				Sources: sources, Snapshots: storetest.Open(t, "sqlite"), IDKey: []byte("0123456789abcdef"),
				Sandbox: true, Now: func() time.Time { return now },
			})
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, s := range sources {
				if err := ix.Refresh(context.Background(), s.Name()); err != nil {
					t.Fatal(err)
				}
			}
			vendorsSeen := map[string]bool{}
			for _, v := range ix.Vendors() {
				total += v.Offers
			}

			seen := map[string]bool{}
			clusters, nulls, disks := 0, 0, 0
			families := gpus.GPUs().Families()
			var queries []supplyapi.OfferQuery
			for family, names := range families {
				for _, gpu := range append([]string{family}, names...) {
					for _, count := range []int{1, 2, 3, 4, 5, 6, 8, 10, 12, 16} {
						queries = append(queries, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: gpu, GPUCount: count}, Limit: 1000})
					}
					for _, nodes := range []int{2, 3, 4, 8, 16, 32} {
						n := nodes
						queries = append(queries, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: gpu, NodeCount: &n}, Limit: 1000})
					}
					price := 2.5
					cilium := true
					queries = append(queries,
						supplyapi.OfferQuery{Region: "EU", Compute: supplyapi.OfferQueryCompute{GPUType: gpu, GPUCount: 1, ContractType: "spot", MaxPricePerGPUHour: &price}},
						supplyapi.OfferQuery{Vendor: "nebius", Compute: supplyapi.OfferQueryCompute{GPUType: gpu}, Network: &supplyapi.OfferQueryNetwork{SupportsCilium: &cilium}})
				}
			}
			for _, q := range queries {
				a, err := ix.Answer(context.Background(), 7, q)
				if err != nil {
					t.Fatalf("answer %+v: %v", q, err)
				}
				got, err := a.AppendJSON(nil)
				if err != nil {
					t.Fatalf("answer %+v: %v", q, err)
				}
				var want bytes.Buffer
				enc := json.NewEncoder(&want)
				enc.SetEscapeHTML(false)
				res := a.Result()
				if err := enc.Encode(res); err != nil {
					t.Fatal(err)
				}
				if w := bytes.TrimSuffix(want.Bytes(), []byte("\n")); !bytes.Equal(got, w) {
					i := 0
					for i < min(len(got), len(w)) && got[i] == w[i] {
						i++
					}
					t.Fatalf("query %+v: pre-encoded answer differs from encoding/json at byte %d:\n got …%s\nwant …%s",
						q, i, got[max(i-80, 0):min(i+80, len(got))], w[max(i-80, 0):min(i+80, len(w))])
				}
				for _, o := range res.Offers {
					seen[o.OfferID.String()] = true
					vendorsSeen[o.Vendor] = true
					if o.NodeCount != nil {
						clusters++
					}
					if o.VCPUCount == nil || o.MemoryInGB == nil || o.BootDiskInGB == nil {
						nulls++
					}
					if len(o.StorageDetails) > 0 {
						disks++
					}
				}
			}
			if len(seen) != total {
				t.Errorf("answers covered %d of the %d offers in the catalog", len(seen), total)
			}
			names := make([]string, 0, len(vendorsSeen))
			for name := range vendorsSeen {
				names = append(names, name)
			}
			slices.Sort(names)
			if len(names) != len(sources) || clusters == 0 || nulls == 0 || disks == 0 {
				t.Errorf("answers held vendors %v (want all %d), %d cluster offers, %d with null sizes, %d with disks: all should be there",
					names, len(sources), clusters, nulls, disks)
			}
			t.Logf("%d offers compared (%d queries)", total, len(queries))
		})
	}
}
