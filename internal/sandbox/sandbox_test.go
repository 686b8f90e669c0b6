package sandbox

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/supplyapi"
)

// Short cadences so a vendor goes stale, and then out, within seconds.
const (
	refresh      = 50 * time.Millisecond
	fetchTimeout = time.Second
	maxAge       = 3 * time.Second
	// fastAnswer is how long a query from memory may take on a loaded
	// two-core machine; a query that waited on a hung vendor would take
	// at least fetchTimeout.
	fastAnswer = 300 * time.Millisecond
)

// TestVendorTrouble runs the offer index over the sandbox's real adapters
// and stand-ins, then makes Lambda hang and Hyperstack fail with 500s:
// queries stay fast, a troubled vendor's last good offers are served
// until they are too old and then left out, and vendor health says so.
func TestVendorTrouble(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			sb, sources := startSandbox(t, Options{DataDir: t.TempDir(), BootTime: time.Second})
			ix, err := offers.New(offers.Config{
				Sources: sources, Snapshots: storetest.Open(t, engine), IDKey: []byte("0123456789abcdef"),
				Refresh: refresh, FetchTimeout: fetchTimeout, MaxAge: maxAge, Sandbox: true,
				// The refresh failures this test causes are expected; keep them quiet.
				Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			ix.Start(ctx)
			waitStatus(t, ix, map[string]string{"lambda": "healthy", "hyperstack": "healthy"})
			before := search(t, ix)
			if len(before.byVendor["lambda"]) == 0 || len(before.byVendor["hyperstack"]) == 0 {
				t.Fatalf("healthy sandbox answered H100 offers from %v, want lambda and hyperstack", before.vendors())
			}

			faults := func(vendor string) *standin.Faults {
				si, ok := sb.StandIn(vendor)
				if !ok {
					t.Fatalf("no %s stand-in", vendor)
				}
				return si.Faults()
			}
			faults("lambda").Add(standin.Rule{Delay: 30 * time.Second})
			faults("hyperstack").Add(standin.Rule{Status: http.StatusInternalServerError})
			waitStatus(t, ix, map[string]string{"lambda": "degraded", "hyperstack": "degraded"})

			// Degraded: both vendors' last good offers are still served,
			// as they were, and the answer does not wait for either.
			during := search(t, ix)
			for _, vendor := range []string{"lambda", "hyperstack"} {
				if !slices.Equal(during.byVendor[vendor], before.byVendor[vendor]) {
					t.Errorf("%s while degraded: %v, want its last good offers %v", vendor, during.byVendor[vendor], before.byVendor[vendor])
				}
			}
			if _, ok := during.res.FiltersApplied["vendors_unavailable"]; ok {
				t.Errorf("vendors_unavailable while their offers are still served: %v", during.res.FiltersApplied)
			}
			// A catalog can be late (degraded) before its read has failed;
			// once the read fails or times out, the error is shown.
			for deadline := time.Now().Add(3 * fetchTimeout); ; time.Sleep(refresh) {
				missing := ""
				for _, v := range ix.Vendors() {
					if (v.Name == "lambda" || v.Name == "hyperstack") && v.LastError == "" {
						missing = v.Name
					}
				}
				if missing == "" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s is degraded and never shows its last_error", missing)
				}
			}

			// Past MaxAge their offers are left out and the answer says so.
			waitStatus(t, ix, map[string]string{"lambda": "down", "hyperstack": "down"})
			after := search(t, ix)
			if len(after.byVendor["lambda"]) != 0 || len(after.byVendor["hyperstack"]) != 0 {
				t.Errorf("stale vendors still answered: %v", after.vendors())
			}
			if got, _ := after.res.FiltersApplied["vendors_unavailable"].([]string); !slices.Equal(got, []string{"lambda", "hyperstack"}) {
				t.Errorf("vendors_unavailable %v, want lambda and hyperstack", got)
			}

			// Hyperstack recovers; Lambda, still hung, stays out while
			// Hyperstack's offers come back.
			faults("hyperstack").Clear()
			waitStatus(t, ix, map[string]string{"lambda": "down", "hyperstack": "healthy"})
			recovered := search(t, ix)
			if len(recovered.byVendor["hyperstack"]) == 0 || len(recovered.byVendor["lambda"]) != 0 {
				t.Errorf("after Hyperstack recovered, offers from %v, want hyperstack only", recovered.vendors())
			}
			faults("lambda").Clear()
		})
	}
}

// answer is a search result grouped by vendor.
type answer struct {
	res      supplyapi.OfferResult
	byVendor map[string][]string
}

func (a answer) vendors() []string {
	var names []string
	for name := range a.byVendor {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// search asks for every single H100 and fails if answering took longer
// than memory should.
func search(t *testing.T, ix *offers.Index) answer {
	t.Helper()
	start := time.Now()
	res, err := ix.Search(context.Background(), 1, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100", GPUCount: 1}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > fastAnswer {
		t.Fatalf("search took %s, want under %s", took, fastAnswer)
	}
	a := answer{res: res, byVendor: map[string][]string{}}
	for _, o := range res.Offers {
		a.byVendor[o.Vendor] = append(a.byVendor[o.Vendor], o.VendorRegion+" "+o.GPUType)
	}
	return a
}

// waitStatus waits until the named vendors report the wanted statuses.
func waitStatus(t *testing.T, ix *offers.Index, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(5 * maxAge)
	for {
		got := map[string]string{}
		for _, v := range ix.Vendors() {
			if _, ok := want[v.Name]; ok {
				got[v.Name] = v.Status
			}
		}
		if maps.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("vendor status %v, want %v", got, want)
		}
		time.Sleep(refresh / 2)
	}
}

// startSandbox starts a sandbox for a test (closed when it ends) and
// returns its adapters as the offer index's sources.
func startSandbox(t testing.TB, o Options) (*Sandbox, []offers.Source) {
	t.Helper()
	sb, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	var sources []offers.Source
	for _, v := range sb.Vendors() {
		sources = append(sources, v)
	}
	return sb, sources
}

// TestSteadyStock reads every vendor's catalog through its adapter, from a
// sandbox whose stock flickers and from one started with SteadyStock, over
// 5-minute periods: the steady one lists the same items in stock in every
// period, and for each vendor some period has the flickering one list
// fewer of them, and never one the steady one lacks.
func TestSteadyStock(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 1, 19, 52, 0, 0, time.UTC)
	now := start
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	flickering, _ := startSandbox(t, Options{DataDir: t.TempDir(), Now: clock})
	steady, _ := startSandbox(t, Options{DataDir: t.TempDir(), Now: clock, SteadyStock: true})
	inStock := func(sb *Sandbox, vendor string) map[string]bool {
		t.Helper()
		i := slices.IndexFunc(sb.Vendors(), func(v vendors.Vendor) bool { return v.Name() == vendor })
		items, err := sb.Vendors()[i].Catalog(context.Background())
		if err != nil {
			t.Fatalf("%s catalog: %v", vendor, err)
		}
		set := map[string]bool{}
		for _, it := range items {
			if it.Available {
				set[fmt.Sprintf("%s %s %v %d", it.Region, it.InstanceType, it.Contract, it.Nodes)] = true
			}
		}
		return set
	}
	for _, vendor := range vendors.Slugs {
		if i := slices.IndexFunc(steady.Vendors(), func(v vendors.Vendor) bool { return v.Name() == vendor }); !listsStock(steady.Vendors()[i]) {
			continue
		}
		mu.Lock()
		now = start
		mu.Unlock()
		always := inStock(steady, vendor)
		flickered := false
		for period := 0; period < 40 && !flickered; period++ {
			if got := inStock(steady, vendor); !maps.Equal(got, always) {
				t.Fatalf("%s, period %d: the steady sandbox lists %d items in stock, not the %d it listed first", vendor, period, len(got), len(always))
			}
			some := inStock(flickering, vendor)
			for item := range some {
				if !always[item] {
					t.Fatalf("%s, period %d: %q is in stock only while stock flickers", vendor, period, item)
				}
			}
			flickered = len(some) < len(always)
			mu.Lock()
			now = now.Add(standin.DriftPeriod)
			mu.Unlock()
		}
		if !flickered {
			t.Errorf("%s: stock never flickered out in 40 periods of %d items", vendor, len(always))
		}
	}
}
