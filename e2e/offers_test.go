package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

const yamlType = "application/yaml"

// offerFields are every Offer field of the contract, and detailFields what
// OfferDetails adds.
var (
	offerFields = []string{
		"offer_id", "gpu_type", "gpu_family", "gpu_count", "vendor", "region", "vendor_region", "contract_type",
		"type", "gpu_price_per_hour", "boot_disk_in_gb", "vcpu_count", "memory_in_gb", "storage_details",
		"storage_price_per_hour", "total_price_per_hour", "created_at", "expires_at", "deployment_type",
		"node_count", "gpus_per_node", "infiniband_bandwidth_gbps", "cluster_storage_gb", "observed_at",
	}
	storageFields = []string{
		"name", "size_gb", "type", "storage_class", "vendor_class", "vendor_region",
		"price_per_gb_month", "monthly_cost", "hourly_cost", "persistent",
	}
	detailFields = []string{"status", "procured_at"}
)

// getOffers posts a get_offers body and decodes a 200 answer.
func getOffers(t *testing.T, s *Server, contentType, body string) supplyapi.OfferResult {
	t.Helper()
	var res supplyapi.OfferResult
	s.JSON(t, http.MethodPost, "/get_offers", contentType, []byte(body), http.StatusOK, &res)
	return res
}

// offerKey identifies an offer by what it sells, not by its id, which
// differs between answers.
func offerKey(o supplyapi.Offer) string {
	return fmt.Sprintf("%s|%s|%s|%s|%d|%g|%g", o.Vendor, o.VendorRegion, o.GPUType, o.ContractType, o.GPUCount, o.GPUPricePerHour, o.TotalPricePerHour)
}

func offerKeys(list []supplyapi.Offer) []string {
	keys := make([]string, len(list))
	for i, o := range list {
		keys[i] = offerKey(o)
	}
	return keys
}

// checkSorted fails unless list is cheapest first, as the contract says.
func checkSorted(t *testing.T, list []supplyapi.Offer) {
	t.Helper()
	for i := 1; i < len(list); i++ {
		a, b := list[i-1], list[i]
		if a.GPUPricePerHour > b.GPUPricePerHour ||
			a.GPUPricePerHour == b.GPUPricePerHour && a.TotalPricePerHour > b.TotalPricePerHour {
			t.Fatalf("offers not sorted by price: %s before %s", offerKey(a), offerKey(b))
		}
	}
}

// checkFields fails unless every offer in a raw answer has every field
// of the contract (plus extra, for OfferDetails).
func checkFields(t *testing.T, raw []byte, extra ...string) {
	t.Helper()
	var res struct {
		Offers []map[string]json.RawMessage `json:"offers"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("decode offers: %v", err)
	}
	for _, o := range res.Offers {
		checkObject(t, o, append(slices.Clone(offerFields), extra...))
	}
}

func checkObject(t *testing.T, o map[string]json.RawMessage, fields []string) {
	t.Helper()
	for _, f := range fields {
		if _, ok := o[f]; !ok {
			t.Fatalf("offer lacks %q: %v", f, o)
		}
	}
	var disks []map[string]json.RawMessage
	if err := json.Unmarshal(o["storage_details"], &disks); err != nil {
		t.Fatalf("storage_details: %v", err)
	}
	for _, d := range disks {
		for _, f := range storageFields {
			if _, ok := d[f]; !ok {
				t.Fatalf("storage detail lacks %q: %v", f, d)
			}
		}
	}
}

// TestOffers queries offers from the sandbox vendors end to end: the
// issue's example, every filter, JSON bodies, validation errors, offer
// details and isolation between accounts, and offers surviving a restart.
func TestOffers(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			// No refresh during the test: filtered answers are compared
			// with unfiltered ones, so the catalog must hold still.
			s := Start(t, engine, "--catalog-refresh", "1h")
			s.WaitVendors(t)
			testOffers(t, s)
		})
	}
}

func testOffers(t *testing.T, s *Server) {
	var example supplyapi.Offer
	t.Run("issue example", func(t *testing.T) {
		code, _, raw := s.Do(t, http.MethodPost, "/get_offers", yamlType, []byte("compute:\n  gpu_type: H100\n"))
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, raw)
		}
		checkFields(t, raw)
		var res supplyapi.OfferResult
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatal(err)
		}
		checkSorted(t, res.Offers)
		vendorsSeen, regionsSeen := map[string]bool{}, map[string]bool{}
		for _, o := range res.Offers {
			vendorsSeen[o.Vendor], regionsSeen[o.Region] = true, true
			if o.GPUFamily != "H100" || !strings.HasPrefix(o.GPUType, "nvidia-h100-") || o.GPUCount != 1 {
				t.Errorf("offer %s is not one H100", offerKey(o))
			}
			if !o.ExpiresAt.Equal(o.CreatedAt.Add(30 * time.Minute)) {
				t.Errorf("offer %s: expires_at %s, want created_at %s + 30m", o.OfferID, o.ExpiresAt, o.CreatedAt)
			}
			if want := o.GPUPricePerHour*float64(o.GPUCount) + o.StoragePricePerHour; !near(o.TotalPricePerHour, want) {
				t.Errorf("offer %s: total_price_per_hour %g, want %g", o.OfferID, o.TotalPricePerHour, want)
			}
		}
		// Every vendor sells single H100s.
		for _, v := range vendors.Slugs {
			if !vendorsSeen[v] {
				t.Errorf("no H100 offer from %s: offers from %v", v, vendorsSeen)
			}
		}
		if !regionsSeen["US"] || !regionsSeen["EU"] || !regionsSeen["APAC"] {
			t.Fatalf("offers in %v, want US, EU and APAC", regionsSeen)
		}
		if res.TotalCount != len(res.Offers) {
			t.Fatalf("total_count %d, %d offers (under the default limit)", res.TotalCount, len(res.Offers))
		}
		example = res.Offers[0]
	})
	if example.Vendor == "" {
		t.Fatal("no offer to continue with")
	}

	t.Run("filters", func(t *testing.T) { testFilters(t, s) })

	t.Run("JSON body", func(t *testing.T) {
		fromYAML := getOffers(t, s, yamlType, "compute:\n  gpu_type: H100\n  gpu_count: 8\nregion: US\n")
		fromJSON := getOffers(t, s, "application/json", `{"compute":{"gpu_type":"H100","gpu_count":8},"region":"US"}`)
		if len(fromJSON.Offers) == 0 || !slices.Equal(offerKeys(fromJSON.Offers), offerKeys(fromYAML.Offers)) {
			t.Fatalf("JSON answered %v, YAML %v", offerKeys(fromJSON.Offers), offerKeys(fromYAML.Offers))
		}
	})

	t.Run("validation errors", func(t *testing.T) { testValidation(t, s) })

	t.Run("offer details", func(t *testing.T) {
		var d map[string]json.RawMessage
		s.JSON(t, http.MethodGet, "/offers/"+example.OfferID.String(), "", nil, http.StatusOK, &d)
		checkObject(t, d, append(slices.Clone(offerFields), detailFields...))
		got := detailsOf(t, s, example.OfferID.String())
		if got.Status != supplyapi.OfferAvailable || got.ProcuredAt != nil || offerKey(got.Offer) != offerKey(example) {
			t.Fatalf("details %+v, want the offer %s available", got, offerKey(example))
		}
	})

	t.Run("another account cannot see it", func(t *testing.T) {
		other := s.NewKey(t, "other-team")
		code, _, body := s.DoKey(t, other, http.MethodGet, "/offers/"+example.OfferID.String(), "", nil)
		if code != http.StatusNotFound || !strings.Contains(string(body), `"detail":"Offer not found"`) {
			t.Fatalf("other account: %d %s, want 404", code, body)
		}
		// Its own queries work, and the default account cannot see its offers either.
		code, _, body = s.DoKey(t, other, http.MethodPost, "/get_offers", yamlType, []byte("compute:\n  gpu_type: H100\n"))
		var theirs supplyapi.OfferResult
		if err := json.Unmarshal(body, &theirs); code != http.StatusOK || err != nil || len(theirs.Offers) == 0 {
			t.Fatalf("other account get_offers: %d %s", code, body)
		}
		if code, _, body := s.Do(t, http.MethodGet, "/offers/"+theirs.Offers[0].OfferID.String(), "", nil); code != http.StatusNotFound {
			t.Fatalf("default account reading the other's offer: %d %s, want 404", code, body)
		}
	})

	t.Run("unknown and malformed ids", func(t *testing.T) {
		code, _, body := s.Do(t, http.MethodGet, "/offers/00000000-0000-0000-0000-000000000000", "", nil)
		if code != http.StatusNotFound {
			t.Fatalf("unknown id: %d %s", code, body)
		}
		code, _, body = s.Do(t, http.MethodGet, "/offers/not-a-uuid", "", nil)
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"loc":["path","offer_id"]`) {
			t.Fatalf("malformed id: %d %s", code, body)
		}
	})

	t.Run("sandbox console is empty", func(t *testing.T) {
		code, _, body := s.Do(t, http.MethodGet, "/sandbox/instances", "", nil)
		if code != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
			t.Fatalf("/sandbox/instances: %d %s, want []", code, body)
		}
	})

	t.Run("offer survives a crash and restart", func(t *testing.T) {
		s.Kill(t)
		s.Restart(t)
		got := detailsOf(t, s, example.OfferID.String())
		if got.Status != supplyapi.OfferAvailable || offerKey(got.Offer) != offerKey(example) {
			t.Fatalf("after restart: %+v, want %s available", got, offerKey(example))
		}
	})
}

func detailsOf(t *testing.T, s *Server, id string) supplyapi.OfferDetails {
	t.Helper()
	var d supplyapi.OfferDetails
	s.JSON(t, http.MethodGet, "/offers/"+id, "", nil, http.StatusOK, &d)
	return d
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// testFilters checks each filter against the unfiltered answer: a
// filtered query must return exactly the unfiltered offers the filter
// keeps, in the same order.
func testFilters(t *testing.T, s *Server) {
	all := map[int]supplyapi.OfferResult{}
	for _, n := range []int{1, 8} {
		all[n] = getOffers(t, s, yamlType, fmt.Sprintf("compute: {gpu_type: H100, gpu_count: %d}\nlimit: 1000\n", n))
		if len(all[n].Offers) == 0 {
			t.Fatalf("no %d×H100 offers", n)
		}
	}
	priceCap := all[1].Offers[len(all[1].Offers)/2].GPUPricePerHour
	for _, tc := range []struct {
		name     string
		body     string
		count    int
		keep     func(supplyapi.Offer) bool
		nonEmpty bool
	}{
		{"vendor", "vendor: lambda\ncompute: {gpu_type: H100}\n", 1,
			func(o supplyapi.Offer) bool { return o.Vendor == "lambda" }, true},
		{"region", "region: EU\ncompute: {gpu_type: H100, gpu_count: 8}\n", 8,
			func(o supplyapi.Offer) bool { return o.Region == "EU" }, true},
		{"contract ondemand", "compute: {gpu_type: H100, contract_type: ondemand}\n", 1,
			func(o supplyapi.Offer) bool { return o.ContractType == "ondemand" }, true},
		{"contract spot", "compute: {gpu_type: H100, contract_type: spot}\n", 1,
			func(o supplyapi.Offer) bool { return o.ContractType == "spot" }, false},
		{"max price", fmt.Sprintf("compute: {gpu_type: H100, max_price_per_gpu_hour: %g}\n", priceCap), 1,
			func(o supplyapi.Offer) bool { return o.GPUPricePerHour <= priceCap }, true},
		{"gpu_count", "compute: {gpu_type: H100, gpu_count: 8}\n", 8,
			func(o supplyapi.Offer) bool { return true }, true},
		{"canonical name", "compute: {gpu_type: NVIDIA-H100-SXM5-80GB, gpu_count: 8}\n", 8,
			func(o supplyapi.Offer) bool { return o.GPUType == "nvidia-h100-sxm5-80gb" }, true},
		{"everything", fmt.Sprintf("vendor: hyperstack\nregion: US\ncompute: {gpu_type: H100, gpu_count: 8, contract_type: ondemand, max_price_per_gpu_hour: %g}\n", 100.0), 8,
			func(o supplyapi.Offer) bool { return o.Vendor == "hyperstack" && o.Region == "US" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []supplyapi.Offer
			for _, o := range all[tc.count].Offers {
				if tc.keep(o) {
					want = append(want, o)
				}
			}
			if tc.nonEmpty && len(want) == 0 {
				t.Fatalf("the sandbox catalog has nothing for this filter; pick another")
			}
			got := getOffers(t, s, yamlType, tc.body)
			if !slices.Equal(offerKeys(got.Offers), offerKeys(want)) {
				t.Fatalf("got %v\nwant %v", offerKeys(got.Offers), offerKeys(want))
			}
			if got.TotalCount != len(want) {
				t.Fatalf("total_count %d, want %d", got.TotalCount, len(want))
			}
		})
	}

	t.Run("limit", func(t *testing.T) {
		got := getOffers(t, s, yamlType, "compute: {gpu_type: H100}\nlimit: 2\n")
		if !slices.Equal(offerKeys(got.Offers), offerKeys(all[1].Offers[:2])) {
			t.Fatalf("limit 2 gave %v, want the two cheapest %v", offerKeys(got.Offers), offerKeys(all[1].Offers[:2]))
		}
		if got.TotalCount != len(all[1].Offers) {
			t.Fatalf("total_count %d under a limit, want all %d matches", got.TotalCount, len(all[1].Offers))
		}
	})
}

// testValidation sends bodies the contract rejects and checks the 422
// points at the right field.
func testValidation(t *testing.T, s *Server) {
	for _, tc := range []struct {
		name, contentType, body string
		loc                     string
		contains                string
	}{
		{"missing gpu_type", yamlType, "compute:\n  gpu_count: 2\n", `["body","compute","gpu_type"]`, `"type":"missing"`},
		{"unknown GPU with suggestions", yamlType, "compute:\n  gpu_type: H1000\n", `["body","compute","gpu_type"]`, `H100`},
		{"bad YAML", yamlType, "compute:\n  gpu_type: [H100\n", `["body",`, `YAML decode error`},
		{"bad JSON", "application/json", `{"compute": }`, `["body",`, `JSON decode error`},
		{"gpu_count not a number", yamlType, "compute: {gpu_type: H100, gpu_count: many}\n", `["body","compute","gpu_count"]`, `int_parsing`},
		{"price not a number", yamlType, "compute: {gpu_type: H100, max_price_per_gpu_hour: cheap}\n", `["body","compute","max_price_per_gpu_hour"]`, `float_parsing`},
		{"unknown region", yamlType, "region: Mars\ncompute: {gpu_type: H100}\n", `["body","region"]`, `"type":"enum"`},
		{"unknown contract", yamlType, "compute: {gpu_type: H100, contract_type: forever}\n", `["body","compute","contract_type"]`, `"type":"enum"`},
		{"zero limit", yamlType, "compute: {gpu_type: H100}\nlimit: 0\n", `["body","limit"]`, `greater_than_equal`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := s.Do(t, http.MethodPost, "/get_offers", tc.contentType, []byte(tc.body))
			if code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", code, body)
			}
			if !strings.Contains(string(body), `"loc":`+tc.loc) || !strings.Contains(string(body), tc.contains) {
				t.Fatalf("422 %s, want loc %s and %q", body, tc.loc, tc.contains)
			}
		})
	}
}

// TestOfferExpiry shortens the offer TTL (through the environment, as a
// deployment would) and watches an offer turn expired.
func TestOfferExpiry(t *testing.T) {
	t.Parallel()
	s := StartConfig(t, Config{Engine: store.EngineSQLite, Env: []string{"SUPPLY_OFFER_TTL=2s"}})
	s.WaitVendors(t)
	res := getOffers(t, s, yamlType, "compute:\n  gpu_type: H100\n")
	if len(res.Offers) == 0 {
		t.Fatal("no offers")
	}
	o := res.Offers[0]
	if d := o.ExpiresAt.Sub(o.CreatedAt); d != 2*time.Second {
		t.Fatalf("expires_at - created_at = %s, want 2s", d)
	}
	if got := detailsOf(t, s, o.OfferID.String()); got.Status != supplyapi.OfferAvailable {
		t.Fatalf("fresh offer is %s, want available", got.Status)
	}
	time.Sleep(time.Until(o.ExpiresAt.Add(time.Second)))
	if got := detailsOf(t, s, o.OfferID.String()); got.Status != supplyapi.OfferExpired {
		t.Fatalf("offer past expires_at is %s, want expired", got.Status)
	}
}
