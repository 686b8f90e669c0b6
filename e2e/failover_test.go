package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/supplyapi"
)

// setCapacity leaves free units of every item of vendor in region (as
// offers show it in vendor_region) under contract: other customers of
// the sandbox's vendors rent the rest, or give it back.
func setCapacity(t *testing.T, s *Server, vendor, region, contract string, free int) {
	t.Helper()
	s.VendorConsole(t, http.MethodPost, "/capacity", map[string]any{"vendor": vendor, "region": region, "contract": contract, "free": free}, http.StatusOK, nil)
}

// capacity lists what the sandbox's vendors sell, with what is free.
func capacity(t *testing.T, s *Server) []standin.Stock {
	t.Helper()
	var items []standin.Stock
	s.VendorConsole(t, http.MethodGet, "/capacity", nil, http.StatusOK, &items)
	return items
}

// equivalentOffers finds a single-GPU offer with at least n equivalents in
// stock (its exact GPU, contract and region group, at most 25% dearer per
// GPU-hour) in n different regions or vendors: the offers, cheapest first.
func equivalentOffers(t *testing.T, s *Server, n int) []supplyapi.Offer {
	t.Helper()
	for _, gpu := range failoverGPUs {
		for _, region := range []string{"US", "EU", "APAC"} {
			res := query(t, s, supplyapi.OfferQuery{Region: region, Limit: 1000,
				Compute: supplyapi.OfferQueryCompute{GPUType: gpu, ContractType: "ondemand"}})
			var within []supplyapi.Offer
			places := map[string]bool{}
			for _, o := range res.Offers {
				place := o.Vendor + " " + o.VendorRegion
				if o.GPUPricePerHour <= res.Offers[0].GPUPricePerHour*1.25 && !places[place] {
					within = append(within, o)
					places[place] = true
				}
			}
			if len(within) >= n {
				return within
			}
		}
	}
	t.Fatalf("no GPU with %d equivalent offers in the sandbox", n)
	return nil
}

// failoverGPUs are the GPUs the failover tests look for offers of, the
// most widely sold first.
var failoverGPUs = []string{"nvidia-h100-pcie-80gb", "nvidia-h100-sxm5-80gb", "nvidia-h200-sxm5-141gb", "nvidia-l40s-pcie-48gb", "nvidia-rtx-4090-pcie-24gb"}

// pooledOffer is the cheapest single-GPU on-demand offer of a vendor whose
// stock is a pool. A Vast.ai offer is one listed machine, which the
// stand-in's market, like the real one, rents to someone else at any
// moment: stock coming back in its region may be another machine at
// another price.
func pooledOffer(t *testing.T, s *Server) supplyapi.Offer {
	t.Helper()
	for _, gpu := range failoverGPUs {
		res := query(t, s, supplyapi.OfferQuery{Limit: 1000, Compute: supplyapi.OfferQueryCompute{GPUType: gpu, ContractType: "ondemand"}})
		for _, o := range res.Offers {
			if o.Vendor != "vastai" {
				return o
			}
		}
	}
	t.Fatal("no offer of a vendor with pooled stock in the sandbox")
	return supplyapi.Offer{}
}

// query answers q through get_offers.
func query(t *testing.T, s *Server, q supplyapi.OfferQuery) supplyapi.OfferResult {
	t.Helper()
	body, _ := json.Marshal(q)
	return getOffers(t, s, "application/json", string(body))
}

// listed reports whether get_offers lists o's vendor region at o's price.
func listed(t *testing.T, s *Server, o supplyapi.Offer) bool {
	t.Helper()
	res := query(t, s, supplyapi.OfferQuery{Vendor: o.Vendor, Limit: 1000,
		Compute: supplyapi.OfferQueryCompute{GPUType: o.GPUType, ContractType: o.ContractType}})
	return slices.ContainsFunc(res.Offers, func(x supplyapi.Offer) bool {
		return x.VendorRegion == o.VendorRegion && x.GPUPricePerHour == o.GPUPricePerHour
	})
}

func procureWithFallback(t *testing.T, s *Server, o supplyapi.Offer, fallback string) supplyapi.ProcureOfferResponse {
	t.Helper()
	body := fmt.Sprintf(`{"offer_id":%q,"ssh_public_key":%q,"fallback":%s}`, o.OfferID, crashKey, fallback)
	var resp supplyapi.ProcureOfferResponse
	s.JSON(t, http.MethodPost, "/procure_offer", "application/json", []byte(body), http.StatusOK, &resp)
	return resp
}

// pollStatus polls an offer's status until done says so, or fails the
// test after limit.
func pollStatus(t *testing.T, s *Server, id uuid.UUID, limit time.Duration, done func(supplyapi.OfferStatusResponse) bool) supplyapi.OfferStatusResponse {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var st supplyapi.OfferStatusResponse
		s.JSON(t, http.MethodGet, "/offers/"+id.String()+"/status", "", nil, http.StatusOK, &st)
		if done(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("offer %s after %s: %+v\n%s", id, limit, st, s.tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func settled(st supplyapi.OfferStatusResponse) bool {
	return st.ProcurementStatus == supplyapi.ProcurementReady || st.ProcurementStatus == supplyapi.ProcurementFailed
}

// TestFailoverToTheThirdOffer: the two cheapest equivalent offers are sold
// between the catalog read and the procurement. The procurement is ready on
// the third within 30 s, its attempts name both refusals, the vendors'
// consoles hold exactly one live instance for it, and get_offers stops
// listing each refused item within a second of its refusal.
func TestFailoverToTheThirdOffer(t *testing.T) {
	s := Start(t, store.EngineSQLite)
	s.WaitVendors(t)
	eq := equivalentOffers(t, s, 3)
	s.TakeAway(t, eq[0])
	s.TakeAway(t, eq[1])
	start := time.Now()
	resp := procureWithFallback(t, s, eq[0], `{}`)

	// Each refusal is seen by polling; get_offers is asked at once.
	for i := range 2 {
		st := pollStatus(t, s, eq[0].OfferID, 30*time.Second, func(st supplyapi.OfferStatusResponse) bool {
			return len(st.Attempts) > i && st.Attempts[i].Outcome != supplyapi.AttemptTrying || settled(st)
		})
		seen := time.Now()
		if listed(t, s, eq[i]) {
			t.Errorf("%s %s is still listed after its refusal", eq[i].Vendor, eq[i].VendorRegion)
		}
		if took := time.Since(seen); took > time.Second {
			t.Errorf("get_offers took %s", took)
		}
		if st.Attempts[i].Outcome != supplyapi.AttemptRefused {
			t.Fatalf("attempt %d: %+v, want refused", i, st.Attempts[i])
		}
	}
	st := pollStatus(t, s, eq[0].OfferID, 30*time.Second-time.Since(start), settled)
	took := time.Since(start)
	t.Logf("ready on the third offer %s after the request", took.Round(100*time.Millisecond))
	if st.ProcurementStatus != supplyapi.ProcurementReady || len(st.Attempts) != 3 {
		t.Fatalf("status %+v, want ready after three tries", st)
	}
	for i, a := range st.Attempts {
		if a.Vendor != eq[i].Vendor || a.Region != eq[i].VendorRegion {
			t.Errorf("attempt %d at %s %s, want %s %s", i, a.Vendor, a.Region, eq[i].Vendor, eq[i].VendorRegion)
		}
		if i < 2 && (a.Reason == nil || !strings.HasPrefix(*a.Reason, "no capacity")) {
			t.Errorf("attempt %d's reason %v, want the vendor's no-capacity refusal", i, a.Reason)
		}
	}
	if n := liveByResource(t, s)[resp.ResourceIDs[0].String()]; n != 1 {
		t.Errorf("%d live instances for the procurement, want 1", n)
	}
	if r := resourceOf(t, s, resp.ResourceIDs[0]); r.Vendor != eq[2].Vendor || r.VendorRegion != eq[2].VendorRegion {
		t.Errorf("resource at %s %s, want %s %s", r.Vendor, r.VendorRegion, eq[2].Vendor, eq[2].VendorRegion)
	}
}

// sellOut sells out, through the sandbox's capacity, every item of o's
// vendor of o's contract, and returns the fallback query only o's vendor,
// region group, GPU and price match.
func sellOut(t *testing.T, s *Server, o supplyapi.Offer) string {
	t.Helper()
	regions := map[string]bool{}
	for _, it := range capacity(t, s) {
		if it.Vendor == o.Vendor && !regions[it.Region] {
			regions[it.Region] = true
			setCapacity(t, s, o.Vendor, it.Region, o.ContractType, 0)
		}
	}
	return fmt.Sprintf(`{"vendor":%q,"region":%q,"compute":{"gpu_type":%q,"contract_type":%q,"max_price_per_gpu_hour":%v}}`,
		o.Vendor, o.Region, o.GPUType, o.ContractType, o.GPUPricePerHour)
}

// TestFailoverWaitsForStock: with every matching item of a vendor whose
// stock is a pool (pooledOffer) sold out and a deadline of 5 minutes, the
// procurement waits; once one item has stock again it is ready within 30 s
// of its vendor's next catalog read. Without stock, a procurement fails at
// its deadline saying it waited.
func TestFailoverWaitsForStock(t *testing.T) {
	const refresh = 3 * time.Second
	s := Start(t, store.EngineSQLite, "--catalog-refresh", refresh.String())
	s.WaitVendors(t)
	o := pooledOffer(t, s)
	narrow := sellOut(t, s, o)
	resp := procureWithFallback(t, s, o, `{"query":`+narrow+`,"until":"5m"}`)
	st := pollStatus(t, s, o.OfferID, 30*time.Second, func(st supplyapi.OfferStatusResponse) bool {
		return strings.HasPrefix(st.Progress, "waiting for capacity") || settled(st)
	})
	if st.ProcurementStatus != supplyapi.ProcurementInProgress {
		t.Fatalf("while waiting: %+v", st)
	}
	setCapacity(t, s, o.Vendor, o.VendorRegion, o.ContractType, 1)
	back := time.Now()
	st = pollStatus(t, s, o.OfferID, refresh+40*time.Second, settled)
	took := time.Since(back)
	t.Logf("ready %s after stock came back (catalog read every %s)", took.Round(100*time.Millisecond), refresh)
	if st.ProcurementStatus != supplyapi.ProcurementReady {
		t.Fatalf("after stock came back: %+v", st)
	}
	if took > refresh+refresh/10+30*time.Second {
		t.Errorf("ready %s after stock came back, want within 30 s of the next catalog read", took)
	}
	if n := liveByResource(t, s)[resp.ResourceIDs[0].String()]; n != 1 {
		t.Errorf("%d live instances, want 1", n)
	}

	// Sold out again, and a deadline of 3 s: another vendor's offer, sold
	// out too, waits for o's item and fails, naming the wait.
	setCapacity(t, s, o.Vendor, o.VendorRegion, o.ContractType, 0)
	var next supplyapi.Offer
	for _, x := range query(t, s, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}, Limit: 100}).Offers {
		if x.Vendor != o.Vendor {
			next = x
			break
		}
	}
	s.TakeAway(t, next)
	procureWithFallback(t, s, next, `{"query":`+narrow+`,"until":"3s"}`)
	st = pollStatus(t, s, next.OfferID, 40*time.Second, settled)
	if st.ProcurementStatus != supplyapi.ProcurementFailed || !strings.Contains(*st.FailureReason, "waited for capacity") {
		t.Errorf("without stock: %+v, want failed naming the wait", st)
	}
}

// TestFailoverSurvivesKill: the server is killed while a procurement fails
// over and started again; the procurement ends ready with exactly one
// machine, on either engine.
func TestFailoverSurvivesKill(t *testing.T) {
	for _, engine := range []string{store.EngineSQLite, store.EnginePostgres} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := Start(t, engine, "--sandbox-boot-time", "2s")
			s.WaitVendors(t)
			eq := equivalentOffers(t, s, 2)
			s.TakeAway(t, eq[0])
			resp := procureWithFallback(t, s, eq[0], `{}`)
			pollStatus(t, s, eq[0].OfferID, 30*time.Second, func(st supplyapi.OfferStatusResponse) bool {
				return len(st.Attempts) > 0 && st.Attempts[0].Outcome == supplyapi.AttemptRefused || settled(st)
			})
			s.Kill(t)
			s.Restart(t)
			st := pollStatus(t, s, eq[0].OfferID, 60*time.Second, settled)
			if st.ProcurementStatus != supplyapi.ProcurementReady {
				t.Fatalf("after the restart: %+v", st)
			}
			live := liveByResource(t, s)
			if n := live[resp.ResourceIDs[0].String()]; n != 1 {
				t.Errorf("%d live instances for the procurement, want exactly 1", n)
			}
		})
	}
}

// TestFailoverWaitSurvivesKill: the server is killed while a procurement
// is between tries, waiting for stock, and started again; once stock comes
// back the procurement ends ready with exactly one machine, on either
// engine.
func TestFailoverWaitSurvivesKill(t *testing.T) {
	for _, engine := range []string{store.EngineSQLite, store.EnginePostgres} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			const refresh = 3 * time.Second
			s := Start(t, engine, "--catalog-refresh", refresh.String())
			s.WaitVendors(t)
			o := pooledOffer(t, s)
			narrow := sellOut(t, s, o)
			resp := procureWithFallback(t, s, o, `{"query":`+narrow+`,"until":"5m"}`)
			st := pollStatus(t, s, o.OfferID, 30*time.Second, func(st supplyapi.OfferStatusResponse) bool {
				return strings.HasPrefix(st.Progress, "waiting for capacity") || settled(st)
			})
			if st.ProcurementStatus != supplyapi.ProcurementInProgress {
				t.Fatalf("before the kill: %+v, want waiting for capacity", st)
			}
			s.Kill(t)
			s.Restart(t)
			s.WaitVendors(t)
			st = pollStatus(t, s, o.OfferID, 10*time.Second, func(st supplyapi.OfferStatusResponse) bool {
				return strings.HasPrefix(st.Progress, "waiting for capacity") || settled(st)
			})
			if st.ProcurementStatus != supplyapi.ProcurementInProgress {
				t.Fatalf("after the restart, still sold out: %+v, want waiting for capacity", st)
			}
			setCapacity(t, s, o.Vendor, o.VendorRegion, o.ContractType, 1)
			st = pollStatus(t, s, o.OfferID, refresh+40*time.Second, settled)
			if st.ProcurementStatus != supplyapi.ProcurementReady {
				t.Fatalf("after stock came back: %+v", st)
			}
			if n := liveByResource(t, s)[resp.ResourceIDs[0].String()]; n != 1 {
				t.Errorf("%d live instances for the procurement, want exactly 1", n)
			}
		})
	}
}
