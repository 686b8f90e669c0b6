package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/supplyapi"
)

// VendorConsole sends a request to the server's sandbox as its vendors'
// own console: the hosts service of endpoints.json
// (SUPPLY_SANDBOX_HOSTS_URL) with the stand-ins' key. body, when not nil,
// is sent as JSON; the answer must have status want and is decoded into
// out when out is not nil.
func (s *Server) VendorConsole(t testing.TB, method, path string, body any, want int, out any) {
	t.Helper()
	var hostsURL, key string
	for _, kv := range s.SandboxEnv(t) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "SUPPLY_SANDBOX_HOSTS_URL":
			hostsURL = v
		case "SUPPLY_LAMBDA_API_KEY": // every stand-in's key
			key = v
		}
	}
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, hostsURL+path, in)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("the sandbox's vendor console: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != want {
		t.Fatalf("the sandbox's vendor console: %s %s: %d %v, want %d: %s", method, path, resp.StatusCode, err, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("the sandbox's vendor console: %s %s: %v: %s", method, path, err, b)
		}
	}
}

// TakeAway has other customers rent every unit of the sandbox item that
// o is an offer of (POST /capacity with free 0), so that its vendor
// refuses to create it; the catalog goes on listing o until the vendor's
// next read. An offer does not name its instance type, so every item of
// o's vendor, vendor_region and contract with o's GPU and node counts is
// taken, and answered: where two such items sell alike machines, both go.
func (s *Server) TakeAway(t testing.TB, o supplyapi.Offer) []standin.Stock {
	t.Helper()
	nodes := 1
	if o.NodeCount != nil {
		nodes = *o.NodeCount
	}
	var items []standin.Stock
	s.VendorConsole(t, http.MethodGet, "/capacity?"+url.Values{
		"vendor": {o.Vendor}, "region": {o.VendorRegion}, "contract": {o.ContractType},
	}.Encode(), nil, http.StatusOK, &items)
	var taken []standin.Stock
	for _, it := range items {
		if it.GPUCount != o.GPUCount || it.NodeCount != nodes {
			continue
		}
		var changed struct {
			Items []standin.Stock `json:"items"`
		}
		s.VendorConsole(t, http.MethodPost, "/capacity", map[string]any{"vendor": it.Vendor, "region": it.Region,
			"contract": it.Contract, "instance_type": it.InstanceType, "free": 0}, http.StatusOK, &changed)
		taken = append(taken, changed.Items...)
	}
	if len(taken) == 0 {
		t.Fatalf("no sandbox item of %s %s %s with %d GPUs on %d nodes in %+v", o.Vendor, o.VendorRegion, o.ContractType, o.GPUCount, nodes, items)
	}
	return taken
}
