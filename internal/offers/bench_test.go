package offers

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// syntheticCatalog is n catalog items spread over GPUs, counts, regions
// and contracts, like a scaled sandbox.
func syntheticCatalog(n int) []vendors.CatalogItem {
	gpus := []string{"H100 (80 GB SXM5)", "H100 (80 GB PCIe)", "A100 (80 GB SXM4)", "A100 (40 GB PCIe)", "gpu-h200-sxm", "L40S", "RTX 4090", "NVIDIA L4"}
	regions := []struct{ name, country string }{{"us-east", "US"}, {"eu-west", "DE"}, {"ap-east", "JP"}, {"ca-central", "CA"}}
	counts := []int{1, 2, 4, 8}
	items := make([]vendors.CatalogItem, n)
	for i := range items {
		r := regions[i%len(regions)]
		c := counts[(i/7)%len(counts)]
		contract := vendors.OnDemand
		if i%5 == 0 {
			contract = vendors.Spot
		}
		it := item(gpus[i%len(gpus)], c, fmt.Sprintf("%s-%d", r.name, i%97), r.country, float64(c)*(0.5+float64(i%1000)/250), contract)
		it.InstanceType = fmt.Sprintf("type-%d", i)
		items[i] = it
	}
	return items
}

// benchIndex is an index of one vendor's synthetic n-item catalog.
func benchIndex(b *testing.B, n int) *Index { return benchIndexOf(b, n, 1) }

// benchIndexOf is an index of k vendors listing n items in all: the same
// synthetic catalog each, so that offers of different vendors tie on price
// and answers order them by vendor.
func benchIndexOf(b *testing.B, n, k int) *Index {
	var sources []Source
	for _, name := range vendors.Slugs[:k] {
		src := &fakeSource{info: vendors.Info{Name: name}}
		src.set(syntheticCatalog(n/k), nil)
		sources = append(sources, src)
	}
	ix, err := New(Config{Sources: sources, Snapshots: storetest.Open(b, "sqlite"), IDKey: []byte("0123456789abcdef")})
	if err != nil {
		b.Fatal(err)
	}
	for _, src := range sources {
		if err := ix.Refresh(context.Background(), src.Name()); err != nil {
			b.Fatal(err)
		}
	}
	return ix
}

// benchAnswer is what get_offers does per request: the answer, written
// as JSON.
func benchAnswer(b *testing.B, ix *Index, q supplyapi.OfferQuery) {
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		a, err := ix.Answer(context.Background(), 1, q)
		if err != nil {
			b.Fatal(err)
		}
		if buf, err = a.AppendJSON(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearchCatalogSize is one query over catalogs of growing size:
// its cost should follow the 100 offers it returns, not the catalog.
func BenchmarkSearchCatalogSize(b *testing.B) {
	for _, n := range []int{5_000, 25_000, 100_000} {
		ix := benchIndex(b, n)
		b.Run(fmt.Sprintf("items=%d/family-limit100-json", n), func(b *testing.B) {
			benchAnswer(b, ix, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}, Limit: 100})
		})
		b.Run(fmt.Sprintf("items=%d/family-region-spot-json", n), func(b *testing.B) {
			benchAnswer(b, ix, supplyapi.OfferQuery{Region: "EU", Compute: supplyapi.OfferQueryCompute{GPUType: "H100", ContractType: "spot", MaxPricePerGPUHour: fptr(3)}, Limit: 100})
		})
	}
}

func BenchmarkSearch50k(b *testing.B) {
	ix := benchIndex(b, 50_000)
	for _, bc := range []struct {
		name string
		q    supplyapi.OfferQuery
	}{
		{"family-limit100", supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}, Limit: 100}},
		{"variant-filtered", supplyapi.OfferQuery{Region: "EU", Compute: supplyapi.OfferQueryCompute{GPUType: "nvidia-a100-sxm4-80gb", GPUCount: 8, MaxPricePerGPUHour: fptr(3), ContractType: "ondemand"}, Limit: 100}},
		{"family-limit1000", supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "A100", GPUCount: 2}, Limit: 1000}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ix.Search(context.Background(), 1, bc.q); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"-json", func(b *testing.B) { benchAnswer(b, ix, bc.q) })
	}
}

// BenchmarkSearch50kSevenVendors is BenchmarkSearch50k's queries over
// seven vendors' catalogs: answers merge cells of every vendor.
func BenchmarkSearch50kSevenVendors(b *testing.B) {
	ix := benchIndexOf(b, 50_000, len(vendors.Slugs))
	b.Run("family-limit100-json", func(b *testing.B) {
		benchAnswer(b, ix, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}, Limit: 100})
	})
	b.Run("family-limit1000-json", func(b *testing.B) {
		benchAnswer(b, ix, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "A100", GPUCount: 2}, Limit: 1000})
	})
}

func BenchmarkRefresh50k(b *testing.B) {
	src := &fakeSource{info: vendors.Info{Name: "lambda"}}
	cat := syntheticCatalog(50_000)
	ix, err := New(Config{Sources: []Source{src}, Snapshots: storetest.Open(b, "sqlite"), IDKey: []byte("0123456789abcdef"), Now: func() time.Time { return time.Unix(1e9, 0) }})
	if err != nil {
		b.Fatal(err)
	}
	src.set(cat, nil)
	if err := ix.Refresh(context.Background(), "lambda"); err != nil {
		b.Fatal(err)
	}
	i := 0
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		// A changed price each time, so every refresh persists a snapshot.
		cat[0].PricePerHour = float64(1 + i%100)
		i++
		src.set(cat, nil)
		if err := ix.Refresh(context.Background(), "lambda"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh50kUnchanged refreshes a 50,000-item catalog that did
// not change: the common case, every minute for every vendor.
func BenchmarkRefresh50kUnchanged(b *testing.B) {
	src := &fakeSource{info: vendors.Info{Name: "lambda"}}
	src.set(syntheticCatalog(50_000), nil)
	ix, err := New(Config{Sources: []Source{src}, Snapshots: storetest.Open(b, "sqlite"), IDKey: []byte("0123456789abcdef")})
	if err != nil {
		b.Fatal(err)
	}
	if err := ix.Refresh(context.Background(), "lambda"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if err := ix.Refresh(context.Background(), "lambda"); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU reports the process's CPU time (user and system, all threads)
// per operation from now until the returned function runs: on a machine
// shared with other work, a steadier number than wall time.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() { b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op") }
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
