package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpusupply/supply/internal/apikeys"
	"github.com/gpusupply/supply/internal/buildinfo"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/supplyapi"
)

const testAccount = 7

type gpuFamilies struct{}

func (gpuFamilies) Families() map[string][]string {
	return map[string][]string{"H100": {"nvidia-h100-sxm5-80gb", "nvidia-h100-pcie-80gb"}}
}

type vendorList struct{}

func (vendorList) Vendors() []supplyapi.VendorStatus {
	return []supplyapi.VendorStatus{
		{Name: "lambda", DisplayName: "Lambda", Status: "healthy"},
		{Name: "nebius", DisplayName: "Nebius", SupportsSpot: true, Status: "degraded"},
		{Name: "verda", DisplayName: "Verda", SupportsSpot: true, Status: "down"},
	}
}

// offerService answers from a fixed list and remembers the last query.
type offerService struct {
	known     uuid.UUID
	offers    []supplyapi.Offer
	lastQuery supplyapi.OfferQuery
	lastAcct  int64
	answers   sync.Map // GPU type → *offers.Answer
}

func (s *offerService) Answer(ctx context.Context, accountID int64, q supplyapi.OfferQuery) (*offers.Answer, error) {
	s.lastQuery, s.lastAcct = q, accountID
	switch q.Compute.GPUType {
	case "panic":
		panic("boom")
	case "slow":
		// As slow as it takes for the client to give up.
		<-ctx.Done()
		return nil, fmt.Errorf("search: %w", ctx.Err())
	case "broken":
		return nil, errors.New("index exploded")
	case "B999":
		return nil, &offers.QueryError{
			Loc: []any{"body", "compute", "gpu_type"}, Type: "value_error",
			Msg: "Value error, unknown GPU type 'B999'", Input: "B999",
		}
	}
	// Encoded once per GPU type, as the index encodes its offers once.
	if a, ok := s.answers.Load(q.Compute.GPUType); ok {
		return a.(*offers.Answer), nil
	}
	a, err := offers.NewAnswer(supplyapi.OfferResult{Offers: s.offers, TotalCount: len(s.offers), FiltersApplied: map[string]any{"gpu_type": q.Compute.GPUType}})
	if err == nil {
		s.answers.Store(q.Compute.GPUType, a)
	}
	return a, err
}

func (s *offerService) Details(_ context.Context, accountID int64, id uuid.UUID) (supplyapi.OfferDetails, error) {
	if id != s.known || accountID != testAccount {
		return supplyapi.OfferDetails{}, offers.ErrNotFound
	}
	return supplyapi.OfferDetails{Offer: supplyapi.Offer{OfferID: id, GPUType: "nvidia-h100-sxm5-80gb"}, Status: supplyapi.OfferAvailable}, nil
}

type testServer struct {
	*httptest.Server
	api       *API
	log       *syncBuffer
	key       string
	offers    *offerService
	provision *provisionService
	ready     error
	lookups   int
}

func newTestServer(tb testing.TB, nOffers int) *testServer {
	tb.Helper()
	return newTestServerWith(tb, nOffers, nil)
}

// newTestServerWith is newTestServer with a chance to change the Config.
func newTestServerWith(tb testing.TB, nOffers int, mod func(*Config)) *testServer {
	tb.Helper()
	key, _, hash, err := apikeys.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	ts := &testServer{key: key, log: &syncBuffer{}, offers: &offerService{known: uuid.New()}, provision: &provisionService{}}
	for i := range nOffers {
		ts.offers.offers = append(ts.offers.offers, supplyapi.Offer{
			OfferID: uuid.New(), GPUType: "nvidia-h100-sxm5-80gb", GPUFamily: "H100", GPUCount: 1,
			Vendor: "lambda", Region: "US", VendorRegion: "us-east-1", ContractType: "ondemand", Type: "vm",
			GPUPricePerHour: 2 + float64(i)/100, TotalPricePerHour: 2 + float64(i)/100,
			StorageDetails: []supplyapi.StorageDetail{}, DeploymentType: "single",
			CreatedAt: time.Unix(1_800_000_000, 0).UTC(), ExpiresAt: time.Unix(1_800_001_800, 0).UTC(),
		})
	}
	lookup := func(_ context.Context, h []byte) (apikeys.Key, []byte, error) {
		ts.lookups++
		if !bytes.Equal(h, hash) {
			return apikeys.Key{}, nil, apikeys.ErrUnknownKey
		}
		return apikeys.Key{ID: 1, AccountID: testAccount, Role: roles.Admin}, hash, nil
	}
	cfg := Config{
		Auth:      apikeys.NewAuthenticator(lookup, time.Minute),
		Ready:     func(context.Context) error { return ts.ready },
		GPUs:      gpuFamilies{},
		Vendors:   vendorList{},
		Offers:    ts.offers,
		Provision: ts.provision,
		Logger:    slog.New(slog.NewJSONHandler(ts.log, nil)),
		Metrics:   prometheus.NewRegistry(),
		Version:   "test",
	}
	if mod != nil {
		mod(&cfg)
	}
	ts.api = New(cfg)
	ts.Server = httptest.NewServer(ts.api.Handler())
	tb.Cleanup(ts.Close)
	return ts
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; auth is the Authorization header ("" for none).
func (ts *testServer) do(t testing.TB, method, path, contentType, body, auth string) response {
	t.Helper()
	return ts.send(t, ts.newRequest(t, method, path, contentType, body, auth))
}

func (ts *testServer) newRequest(t testing.TB, method, path, contentType, body, auth string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return req
}

func (ts *testServer) send(t testing.TB, req *http.Request) response {
	t.Helper()
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

func (ts *testServer) get(t testing.TB, path string) response {
	return ts.do(t, http.MethodGet, path, "", "", "Bearer "+ts.key)
}

func (ts *testServer) getOffers(t testing.TB, contentType, body string) response {
	return ts.do(t, http.MethodPost, "/get_offers", contentType, body, "Bearer "+ts.key)
}

// wantJSON asserts status and that the body is the JSON want (compared as values).
func wantJSON(t *testing.T, r response, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	var got, exp any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(exp)
	if !bytes.Equal(g, e) {
		t.Fatalf("body\n got %s\nwant %s", g, e)
	}
}

func TestAuth(t *testing.T) {
	ts := newTestServer(t, 1)
	other, _, _, _ := apikeys.Generate()
	tests := []struct {
		name, auth string
	}{
		{"no header", ""},
		{"wrong scheme", "Basic " + ts.key},
		{"no credentials", "Bearer "},
		{"malformed key", "Bearer not-a-key"},
		{"unknown key", "Bearer " + other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, http.MethodGet, "/available_regions", "", "", tt.auth)
			wantJSON(t, r, http.StatusUnauthorized, `{"detail":"Not authenticated"}`)
			if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
				t.Fatalf("WWW-Authenticate %q, want Bearer", got)
			}
		})
	}
	t.Run("good key", func(t *testing.T) {
		wantJSON(t, ts.get(t, "/available_regions"), http.StatusOK, `["US","EU","APAC","Other"]`)
		r := ts.do(t, http.MethodGet, "/available_regions", "", "", "bearer "+ts.key)
		wantJSON(t, r, http.StatusOK, `["US","EU","APAC","Other"]`)
	})
	t.Run("public routes", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/openapi.json", "/docs"} {
			if r := ts.do(t, http.MethodGet, path, "", "", ""); r.status != http.StatusOK {
				t.Errorf("GET %s without a key: %d", path, r.status)
			}
		}
	})
	t.Run("metrics are not served to API clients", func(t *testing.T) {
		wantJSON(t, ts.do(t, http.MethodGet, "/metrics", "", "", ""), http.StatusNotFound, `{"detail":"Not Found"}`)
	})
}

func TestDiscovery(t *testing.T) {
	ts := newTestServer(t, 1)
	wantJSON(t, ts.get(t, "/available_gpus"), 200, `{"H100":["nvidia-h100-sxm5-80gb","nvidia-h100-pcie-80gb"]}`)
	wantJSON(t, ts.get(t, "/available_contracts"), 200, `["ondemand","spot"]`)
	// names_only lists the vendors one can procure from now; the full form
	// keeps every vendor with its status.
	wantJSON(t, ts.get(t, "/available_vendors?names_only=true"), 200, `["lambda","nebius"]`)
	wantJSON(t, ts.get(t, "/available_vendors"), 200, `[
		{"name":"lambda","display_name":"Lambda","supports_spot":false,"supports_cilium":false,"supports_clusters":false,"supports_stop":false,"supports_volumes":false,"supports_ports":false,"status":"healthy","observed_at":null,"offers":0,"sandbox":false},
		{"name":"nebius","display_name":"Nebius","supports_spot":true,"supports_cilium":false,"supports_clusters":false,"supports_stop":false,"supports_volumes":false,"supports_ports":false,"status":"degraded","observed_at":null,"offers":0,"sandbox":false},
		{"name":"verda","display_name":"Verda","supports_spot":true,"supports_cilium":false,"supports_clusters":false,"supports_stop":false,"supports_volumes":false,"supports_ports":false,"status":"down","observed_at":null,"offers":0,"sandbox":false}]`)
	wantJSON(t, ts.get(t, "/available_vendors?names_only=maybe"), 422, `{"detail":[{"type":"bool_parsing","loc":["query","names_only"],
		"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"}]}`)
}

func TestGetOffers(t *testing.T) {
	ts := newTestServer(t, 3)
	body := "vendor: lambda\nregion: EU\ncompute:\n  gpu_type: H100\n  max_price_per_gpu_hour: 5\nnetwork:\n  supports_cilium: true\n"
	// "application/x-www-form-urlencoded" is what curl -d sends by default.
	for _, ct := range []string{"application/yaml", "application/x-yaml", "text/yaml; charset=utf-8", "", "application/x-www-form-urlencoded"} {
		r := ts.getOffers(t, ct, body)
		if r.status != 200 {
			t.Fatalf("Content-Type %q: %d %s", ct, r.status, r.body)
		}
		var res supplyapi.OfferResult
		if err := json.Unmarshal(r.body, &res); err != nil || len(res.Offers) != 3 || res.TotalCount != 3 {
			t.Fatalf("result %s: %v", r.body, err)
		}
	}
	// The handler writes the answer's own JSON: byte for byte what huma's
	// JSON format wrote for the Result, with its headers.
	r := ts.getOffers(t, "application/yaml", body)
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(supplyapi.OfferResult{Offers: ts.offers.offers, TotalCount: 3, FiltersApplied: map[string]any{"gpu_type": "H100"}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.body, want.Bytes()) || r.header.Get("Content-Type") != "application/json" || r.header.Get("Content-Length") != strconv.Itoa(want.Len()) {
		t.Fatalf("answer %s (Content-Type %q, Content-Length %q), want %s", r.body, r.header.Get("Content-Type"), r.header.Get("Content-Length"), want.Bytes())
	}
	q := ts.offers.lastQuery
	if q.Vendor != "lambda" || q.Region != "EU" || q.Compute.GPUType != "H100" || q.Compute.GPUCount != 1 ||
		q.Limit != 100 || q.Compute.MaxPricePerGPUHour == nil || *q.Compute.MaxPricePerGPUHour != 5 ||
		q.Network == nil || q.Network.SupportsCilium == nil || !*q.Network.SupportsCilium || ts.offers.lastAcct != testAccount {
		t.Fatalf("query reached the service as %+v (account %d)", q, ts.offers.lastAcct)
	}

	r = ts.getOffers(t, "application/json", `{"compute":{"gpu_type":"A100","gpu_count":8},"limit":5}`)
	if r.status != 200 {
		t.Fatalf("JSON body: %d %s", r.status, r.body)
	}
	if q := ts.offers.lastQuery; q.Compute.GPUType != "A100" || q.Compute.GPUCount != 8 || q.Limit != 5 {
		t.Fatalf("JSON query reached the service as %+v", q)
	}

	// A cluster query without gpu_count means any GPUs per node: no
	// default of 1 may reach the search (no cluster has 1 GPU).
	if r := ts.getOffers(t, "application/yaml", "compute: {gpu_type: H100, node_count: 2}\n"); r.status != 200 {
		t.Fatalf("cluster query: %d %s", r.status, r.body)
	}
	if q := ts.offers.lastQuery; q.Compute.GPUCount != 0 || q.Compute.NodeCount == nil || *q.Compute.NodeCount != 2 {
		t.Fatalf("cluster query reached the service as %+v, want node_count 2 and no gpu_count", q.Compute)
	}
}

func TestGetOffersErrors(t *testing.T) {
	ts := newTestServer(t, 1)
	tests := []struct {
		name, contentType, body string
		status                  int
		want                    string
	}{
		{"missing gpu_type", "application/yaml", "compute:\n  gpu_count: 2\n", 422,
			`{"detail":[{"type":"missing","loc":["body","compute","gpu_type"],"msg":"Field required","input":{"gpu_count":2}}]}`},
		{"missing compute", "application/yaml", "region: EU\n", 422,
			`{"detail":[{"type":"missing","loc":["body","compute"],"msg":"Field required","input":{"region":"EU"}}]}`},
		{"gpu_count not a number", "application/yaml", "compute: {gpu_type: H100, gpu_count: x}\n", 422,
			`{"detail":[{"type":"int_parsing","loc":["body","compute","gpu_count"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"}]}`},
		{"gpu_count fractional", "application/json", `{"compute":{"gpu_type":"H100","gpu_count":1.5}}`, 422,
			`{"detail":[{"type":"int_from_float","loc":["body","compute","gpu_count"],"msg":"Input should be a valid integer, got a number with a fractional part","input":1.5}]}`},
		{"gpu_type not a string", "application/json", `{"compute":{"gpu_type":5}}`, 422,
			`{"detail":[{"type":"string_type","loc":["body","compute","gpu_type"],"msg":"Input should be a valid string","input":5}]}`},
		{"price not a number", "application/yaml", "compute: {gpu_type: H100, max_price_per_gpu_hour: cheap}\n", 422,
			`{"detail":[{"type":"float_parsing","loc":["body","compute","max_price_per_gpu_hour"],"msg":"Input should be a valid number, unable to parse string as a number","input":"cheap"}]}`},
		{"enum", "application/yaml", "region: Mars\ncompute: {gpu_type: H100}\n", 422,
			`{"detail":[{"type":"enum","loc":["body","region"],"msg":"Input should be 'US', 'EU', 'APAC' or 'Other'","input":"Mars","ctx":{"expected":"'US', 'EU', 'APAC' or 'Other'"}}]}`},
		{"zero gpu_count", "application/yaml", "compute: {gpu_type: H100, gpu_count: 0}\n", 422,
			`{"detail":[{"type":"greater_than_equal","loc":["body","compute","gpu_count"],"msg":"Input should be greater than or equal to 1","input":0,"ctx":{"ge":1}}]}`},
		{"negative price cap", "application/yaml", "compute: {gpu_type: H100, max_price_per_gpu_hour: -1}\n", 422,
			`{"detail":[{"type":"greater_than","loc":["body","compute","max_price_per_gpu_hour"],"msg":"Input should be greater than 0","input":-1,"ctx":{"gt":0}}]}`},
		{"limit too big", "application/yaml", "compute: {gpu_type: H100}\nlimit: 5000\n", 422,
			`{"detail":[{"type":"less_than_equal","loc":["body","limit"],"msg":"Input should be less than or equal to 1000","input":5000,"ctx":{"le":1000}}]}`},
		// Huma checks properties in name order, pydantic in declaration order.
		{"several at once", "application/yaml", "region: Mars\ncompute: {gpu_count: -2, node_count: 0}\n", 422,
			`{"detail":[
				{"type":"greater_than_equal","loc":["body","compute","gpu_count"],"msg":"Input should be greater than or equal to 1","input":-2,"ctx":{"ge":1}},
				{"type":"missing","loc":["body","compute","gpu_type"],"msg":"Field required","input":{"gpu_count":-2,"node_count":0}},
				{"type":"greater_than_equal","loc":["body","compute","node_count"],"msg":"Input should be greater than or equal to 1","input":0,"ctx":{"ge":1}},
				{"type":"enum","loc":["body","region"],"msg":"Input should be 'US', 'EU', 'APAC' or 'Other'","input":"Mars","ctx":{"expected":"'US', 'EU', 'APAC' or 'Other'"}}]}`},
		{"not a mapping", "application/yaml", "- a\n- b\n", 422,
			`{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":["a","b"]}]}`},
		{"empty body", "application/yaml", "", 422,
			`{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}`},
		{"only a comment", "application/yaml", "# nothing\n", 422,
			`{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}`},
		{"malformed JSON", "application/json", `{"compute": }`, 422,
			`{"detail":[{"type":"json_invalid","loc":["body",12],"msg":"JSON decode error","input":{},"ctx":{"error":"invalid character '}' looking for beginning of value"}}]}`},
		{"malformed YAML", "application/yaml", "compute:\n  gpu_type: [H100\n", 422,
			`{"detail":[{"type":"json_invalid","loc":["body",0],"msg":"YAML decode error","input":{},"ctx":{"error":"line 1: did not find expected ',' or ']'"}}]}`},
		{"duplicate key", "application/yaml", "compute: {gpu_type: H100}\ncompute: {gpu_type: A100}\n", 422,
			`{"detail":[{"type":"json_invalid","loc":["body",26],"msg":"YAML decode error","input":{},"ctx":{"error":"line 2: duplicate key \"compute\""}}]}`},
		{"unknown GPU from the service", "application/yaml", "compute: {gpu_type: B999}\n", 422,
			`{"detail":[{"type":"value_error","loc":["body","compute","gpu_type"],"msg":"Value error, unknown GPU type 'B999'","input":"B999"}]}`},
		{"unsupported content type", "text/plain", "compute: {gpu_type: H100}\n", 415,
			`{"detail":"Unsupported Content-Type \"text/plain\": send application/yaml or application/json"}`},
		{"service failure", "application/yaml", "compute: {gpu_type: broken}\n", 500,
			`{"detail":"Internal Server Error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantJSON(t, ts.getOffers(t, tt.contentType, tt.body), tt.status, tt.want)
		})
	}
}

func TestValidationErrorKeyOrder(t *testing.T) {
	ts := newTestServer(t, 1)
	r := ts.getOffers(t, "application/yaml", "compute: {gpu_count: 2}\n")
	want := `{"detail":[{"type":"missing","loc":["body","compute","gpu_type"],"msg":"Field required","input":{"gpu_count":2}}]}`
	if got := strings.TrimSpace(string(r.body)); got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

func TestOfferDetails(t *testing.T) {
	ts := newTestServer(t, 1)
	r := ts.get(t, "/offers/"+ts.offers.known.String())
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"status":"available"`)) || !bytes.Contains(r.body, []byte(`"procured_at":null`)) {
		t.Fatalf("known offer: %d %s", r.status, r.body)
	}
	wantJSON(t, ts.get(t, "/offers/"+uuid.NewString()), 404, `{"detail":"Offer not found"}`)
	wantJSON(t, ts.get(t, "/offers/not-a-uuid"), 422, `{"detail":[{"type":"uuid_parsing","loc":["path","offer_id"],
		"msg":"Input should be a valid UUID, invalid character: expected an optional prefix of `+"`urn:uuid:`"+` followed by [0-9a-fA-F-], found `+"`n`"+` at 1",
		"input":"not-a-uuid","ctx":{"error":"invalid character: expected an optional prefix of `+"`urn:uuid:`"+` followed by [0-9a-fA-F-], found `+"`n`"+` at 1"}}]}`)
	wantJSON(t, ts.get(t, "/offers/123"), 422, `{"detail":[{"type":"uuid_parsing","loc":["path","offer_id"],
		"msg":"Input should be a valid UUID, invalid length: expected length 32 for simple format, found 3",
		"input":"123","ctx":{"error":"invalid length: expected length 32 for simple format, found 3"}}]}`)
}

func TestHTTPErrors(t *testing.T) {
	ts := newTestServer(t, 1)
	wantJSON(t, ts.get(t, "/nowhere"), 404, `{"detail":"Not Found"}`)
	wantJSON(t, ts.do(t, http.MethodDelete, "/available_regions", "", "", "Bearer "+ts.key), 405, `{"detail":"Method Not Allowed"}`)
	big := "compute: {gpu_type: H100}\n#" + strings.Repeat("x", 1<<20) + "\n"
	wantJSON(t, ts.getOffers(t, "application/yaml", big), 413, fmt.Sprintf(`{"detail":"Request body too large (limit %d bytes)"}`, 1<<20))
	wantJSON(t, ts.getOffers(t, "application/yaml", "compute: {gpu_type: panic}\n"), 500, `{"detail":"Internal Server Error"}`)
	// The server survived the panic.
	if r := ts.do(t, http.MethodGet, "/healthz", "", "", ""); r.status != http.StatusOK {
		t.Errorf("healthz after a panic: %d %s", r.status, r.body)
	}
}

// TestPageNotFound: with a not-found page set, a browser asking for a page
// at a path no route serves gets it; everything else, and every path a
// route serves, answers as before.
func TestPageNotFound(t *testing.T) {
	ts := newTestServer(t, 1)
	ts.api.HandlePageNotFound(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<p>No such page</p>"))
	}))
	page := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" // as Chromium asks for a page
	for _, c := range []struct {
		method, path, accept string
		status               int
		body                 string
	}{
		{http.MethodGet, "/nope", page, 404, "<p>No such page</p>"},
		{http.MethodHead, "/nope", page, 404, ""},
		{http.MethodGet, "/nope", "", 404, `{"detail":"Not Found"}`},
		{http.MethodGet, "/nope", "application/json", 404, `{"detail":"Not Found"}`},
		{http.MethodPost, "/nope", page, 404, `{"detail":"Not Found"}`},
		{http.MethodDelete, "/available_regions", page, 405, `{"detail":"Method Not Allowed"}`},
		{http.MethodGet, "/offers/" + uuid.NewString(), page, 404, `{"detail":"Offer not found"}`},
	} {
		req := ts.newRequest(t, c.method, c.path, "", "", "Bearer "+ts.key)
		if c.accept != "" {
			req.Header.Set("Accept", c.accept)
		}
		r := ts.send(t, req)
		if r.status != c.status || strings.TrimSpace(string(r.body)) != c.body {
			t.Errorf("%s %s (Accept %q): %d %s, want %d %s", c.method, c.path, c.accept, r.status, r.body, c.status, c.body)
		}
	}
}

// TestDatabaseDown: a handler failing while the database does not answer
// is the dependency's outage, a 503 with Retry-After that clients retry,
// not a 500; with the database up the same failure stays a 500.
func TestDatabaseDown(t *testing.T) {
	ts := newTestServer(t, 0)
	wantJSON(t, ts.getOffers(t, "application/yaml", "compute: {gpu_type: broken}\n"), 500, `{"detail":"Internal Server Error"}`)
	ts.ready = errors.New("connection refused")
	r := ts.getOffers(t, "application/yaml", "compute: {gpu_type: broken}\n")
	wantJSON(t, r, 503, `{"detail":"The database is unavailable; retry in a few seconds"}`)
	if got := r.header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After %q, want 5", got)
	}
}

// TestHealthzVersion: /healthz names the build serving.
func TestHealthzVersion(t *testing.T) {
	ts := newTestServer(t, 0)
	build, _ := json.Marshal(buildinfo.Read())
	wantJSON(t, ts.do(t, http.MethodGet, "/healthz", "", "", ""), 200, `{"status":"ok","version":`+string(build)+`}`)
}

func TestReady(t *testing.T) {
	ts := newTestServerWith(t, 1, func(c *Config) { c.Installation = "3f9a1c07b2e4" })
	wantJSON(t, ts.do(t, http.MethodGet, "/readyz", "", "", ""), 200, `{"status":"ok","installation_id":"3f9a1c07b2e4"}`)
	ts.ready = errors.New("connection refused")
	wantJSON(t, ts.do(t, http.MethodGet, "/readyz", "", "", ""), 503, `{"detail":"database unavailable: connection refused"}`)
}

func TestMetrics(t *testing.T) {
	ts := newTestServer(t, 1)
	ts.getOffers(t, "application/yaml", "compute: {gpu_type: H100}\n")
	ts.get(t, "/no/such/route")
	metrics := httptest.NewServer(ts.api.MetricsHandler())
	defer metrics.Close()
	mt := &testServer{Server: metrics}
	r := mt.do(t, http.MethodGet, "/metrics", "", "", "")
	for _, want := range []string{
		`supply_http_requests_total{code="200",method="POST",operation="get_offers_get_offers_post"} 1`,
		`supply_http_requests_total{code="404",method="GET",operation="unmatched"} 1`,
		`supply_http_request_duration_seconds_count{operation="get_offers_get_offers_post"} 1`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestPprof: the profiling endpoints are on the metrics handler only when
// asked for.
func TestPprof(t *testing.T) {
	for _, on := range []bool{false, true} {
		ts := newTestServerWith(t, 1, func(c *Config) { c.Pprof = on })
		metrics := httptest.NewServer(ts.api.MetricsHandler())
		mt := &testServer{Server: metrics}
		index := mt.do(t, http.MethodGet, "/debug/pprof/", "", "", "")
		if got := strings.Contains(string(index.body), "goroutine"); got != on {
			t.Errorf("Pprof %v: /debug/pprof/ lists the profiles: %v (status %d)", on, got, index.status)
		}
		if r := mt.do(t, http.MethodGet, "/metrics", "", "", ""); r.status != http.StatusOK {
			t.Errorf("Pprof %v: /metrics: %d %.200s", on, r.status, r.body)
		}
		metrics.Close()
	}
}

func TestAuthIsCached(t *testing.T) {
	ts := newTestServer(t, 1)
	for range 5 {
		ts.get(t, "/available_regions")
	}
	if ts.lookups != 1 {
		t.Fatalf("%d key lookups for 5 requests, want 1", ts.lookups)
	}
}

func TestOperationID(t *testing.T) {
	tests := []struct{ name, method, path, want string }{
		{"get_offer_details", "GET", "/offers/{offer_id}", "get_offer_details_offers__offer_id__get"},
		{"delete_resource", "DELETE", "/resources/{resource_id}", "delete_resource_resources__resource_id__delete"},
		{"get_offers", "POST", "/get_offers", "get_offers_get_offers_post"},
	}
	for _, tt := range tests {
		if got := OperationID(tt.name, tt.method, tt.path); got != tt.want {
			t.Errorf("OperationID(%q, %q, %q) = %q, want %q", tt.name, tt.method, tt.path, got, tt.want)
		}
	}
}

// BenchmarkGetOffers is the whole handler for a 100-offer answer (~62 KB),
// plain, gzipped and in zstd. The fake answers the same bytes every time,
// so after the first the compressed runs write the kept body: what a
// repeated answer costs beside a plain one.
func BenchmarkGetOffers(b *testing.B) {
	ts := newTestServer(b, 100)
	a := ts.Config.Handler
	body := []byte("region: US\ncompute:\n  gpu_type: H100\n  gpu_count: 1\n  max_price_per_gpu_hour: 5\n")
	for _, acceptEncoding := range []string{"identity", "gzip", "zstd"} {
		b.Run(acceptEncoding, func(b *testing.B) {
			b.ReportAllocs()
			size := 0
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/get_offers", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/yaml")
				req.Header.Set("Authorization", "Bearer "+ts.key)
				req.Header.Set("Accept-Encoding", acceptEncoding)
				w := httptest.NewRecorder()
				a.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
				size = w.Body.Len()
			}
			b.ReportMetric(float64(size), "body-bytes")
		})
	}
}

// syncBuffer collects log output written from server goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor returns the first log record with msg, waiting briefly because the
// server logs after the client has its answer.
func (b *syncBuffer) waitFor(t *testing.T, msg string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		b.mu.Lock()
		lines := strings.Split(b.buf.String(), "\n")
		b.mu.Unlock()
		for _, line := range lines {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
				return rec
			}
		}
	}
	t.Fatalf("no %q record in log:\n%s", msg, b.buf.String())
	return nil
}

func TestRequestLog(t *testing.T) {
	ts := newTestServer(t, 1)
	ts.getOffers(t, "application/yaml", "compute: {gpu_type: H100}\n")
	rec := ts.log.waitFor(t, "request")
	for field, want := range map[string]any{
		"method": "POST", "path": "/get_offers", "operation": "get_offers_get_offers_post",
		"status": float64(200), "account_id": float64(testAccount),
	} {
		if rec[field] != want {
			t.Errorf("log %s = %v, want %v (record %v)", field, rec[field], want, rec)
		}
	}
	if _, ok := rec["duration_ms"].(float64); !ok || rec["bytes"].(float64) <= 0 {
		t.Errorf("log lacks duration_ms or bytes: %v", rec)
	}

	ts.getOffers(t, "application/yaml", "compute: {gpu_type: panic}\n")
	if rec := ts.log.waitFor(t, "panic serving request"); !strings.Contains(rec["stack"].(string), "offerService") {
		t.Errorf("panic record has no stack: %v", rec)
	}
}
