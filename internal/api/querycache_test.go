package api

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/gpusupply/supply/supplyapi"
)

// TestQueryCacheAnswersAsTheDecoder checks that a body answered from the
// cache gets what decoding it would give, under its own content type.
func TestQueryCacheAnswersAsTheDecoder(t *testing.T) {
	ts := newTestServer(t, 10)
	// Valid YAML, not valid JSON: cached as YAML, it must still be
	// refused when the same bytes come as JSON.
	body := "compute:\n  gpu_type: H100\n"
	for range 2 {
		if r := ts.getOffers(t, "application/yaml", body); r.status != http.StatusOK {
			t.Fatalf("YAML body: %d %s", r.status, r.body)
		}
	}
	if r := ts.getOffers(t, "application/json", body); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("the same bytes as JSON after caching them as YAML: %d %.200s", r.status, r.body)
	}
	// A refused body is not kept: it is refused every time.
	for range 2 {
		if r := ts.getOffers(t, "application/yaml", "compute: {gpu_type: H100, gpu_count: 0}\n"); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("gpu_count 0: %d %s", r.status, r.body)
		}
	}

	// Every query, taken twice, is the decoder's, defaults included.
	a := &API{queryDecoder: newBodyDecoder[supplyapi.OfferQuery](true)}
	for _, b := range []string{
		body,
		"compute: {gpu_type: H100, gpu_count: 2, node_count: 2, max_price_per_gpu_hour: 3.5}\nnetwork: {supports_cilium: true}\nlimit: 7\n",
		"region: EU\nvendor: lambda\ncompute: {gpu_type: nvidia-h100-sxm5-80gb, contract_type: spot}\n",
	} {
		first, err := a.decodeQuery("application/yaml", []byte(b))
		if err != nil {
			t.Fatal(err)
		}
		var direct supplyapi.OfferQuery
		if err := a.queryDecoder.decode("application/yaml", []byte(b), &direct); err != nil {
			t.Fatal(err)
		}
		second, err := a.decodeQuery("application/yaml", []byte(b))
		if err != nil || !reflect.DeepEqual(first, second) || second.Limit == 0 || second.Compute.GPUCount == 0 {
			t.Fatalf("%q: decoded %+v, then from the cache %+v (%v)", b, first, second, err)
		}
		if direct.Compute.GPUType != second.Compute.GPUType || direct.Region != second.Region || direct.Vendor != second.Vendor {
			t.Fatalf("%q: cached %+v, decoder %+v", b, second, direct)
		}
		// What a caller does to its query's pointers stays its own.
		if second.Compute.MaxPricePerGPUHour != nil {
			*second.Compute.MaxPricePerGPUHour = 99
			*second.Compute.NodeCount = 99
			*second.Network.SupportsCilium = false
			if third, _ := a.decodeQuery("application/yaml", []byte(b)); !reflect.DeepEqual(first, third) {
				t.Fatalf("a caller changed the cached query: %+v, was %+v", third, first)
			}
		}
	}
}

func TestQueryCacheIsBounded(t *testing.T) {
	a := &API{queryDecoder: newBodyDecoder[supplyapi.OfferQuery](true)}
	for i := range maxCachedQueries + 10 {
		if _, err := a.decodeQuery("application/yaml", fmt.Appendf(nil, "compute: {gpu_type: H100}\nlimit: %d\n", i%1000+1)); err != nil {
			t.Fatal(err)
		}
		if _, err := a.decodeQuery("application/yaml", fmt.Appendf(nil, "compute: {gpu_type: H100, gpu_count: %d}\n", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(a.queries.queries); n == 0 || n > maxCachedQueries {
		t.Fatalf("%d queries cached, want 1 to %d", n, maxCachedQueries)
	}
	long := fmt.Appendf(nil, "compute: {gpu_type: H100}\n#%0*d\n", maxCachedBody, 0)
	before := len(a.queries.queries)
	if _, err := a.decodeQuery("application/yaml", long); err != nil {
		t.Fatal(err)
	}
	if after := len(a.queries.queries); after != before {
		t.Fatalf("a %d-byte body was cached", len(long))
	}
}
