package vastai

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// loadSpec reads Vast's published description and applies, in memory,
// the package's one table of spec patches: each is where the description
// is silent or contradicts itself, with the reason. TestWireConformance
// and TestAgainstPublishedSpec both see the patched description, so an
// allowance made here is the only one either test makes.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	spec := vendortest.LoadSpec(t, "vastai/openapi.yaml")
	for _, p := range specPatches {
		p.apply(t, spec)
		t.Logf("spec allowance %q: %s", p.name, p.reason)
	}
	return spec
}

// specPatch is one named allowance.
type specPatch struct {
	name, reason string
	apply        func(t *testing.T, spec *openapi3.T)
}

var specPatches = []specPatch{
	{
		name: "Instance.ports is the port map",
		reason: "the Instance schema (show instance) types ports as an array of exposed ports, while running " +
			"instances report the Docker map {\"22/tcp\": [{HostIp, HostPort}]} that the same description's " +
			"instance list (GET /api/v1/instances) shows; Instance.ports takes the list's schema. The adapter " +
			"still decodes the array form (ports.UnmarshalJSON)",
		apply: func(t *testing.T, spec *openapi3.T) {
			listed := vendortest.SchemaAt(t, spec, "GET /api/v1/instances", http.StatusOK)
			item := vendortest.Property(t, listed, "instances").Items
			ports := vendortest.Property(t, item.Value, "ports")
			vendortest.Component(t, spec, "Instance").Properties["ports"] = &openapi3.SchemaRef{Value: ports}
		},
	},
	{
		name: "show instance answers 404 for an instance it does not have",
		reason: "show instance documents no answer for an instance that does not exist (or no longer does); " +
			"the stand-in gives the 404 not_found Error the description documents for destroy",
		apply: func(t *testing.T, spec *openapi3.T) {
			op := spec.Paths.Value("/api/v0/instances/{id}").Get
			op.Responses.Set("404", &openapi3.ResponseRef{Value: openapi3.NewResponse().
				WithDescription("Instance not found").
				WithJSONSchemaRef(&openapi3.SchemaRef{Ref: "#/components/schemas/Error", Value: vendortest.Component(t, spec, "Error")})})
		},
	},
	{
		name: "every search filter takes every operator",
		reason: "search's description documents eq, neq, gt, lt, gte, lte, in and notin in its \"Filter " +
			"operators\" table for each filter parameter (num_gpus' own text: Example: {\"gte\": 4}), while the " +
			"schema lists one operator for a few filters (num_gpus only in) and none for the rest; every filter " +
			"object gets the table's operators",
		apply: func(t *testing.T, spec *openapi3.T) {
			query := vendortest.SchemaAt(t, spec, "POST /api/v0/bundles", 0)
			n := 0
			for _, f := range query.Properties {
				if f.Value == nil || !f.Value.Type.Is("object") {
					continue
				}
				n++
				filterOperators(f.Value)
			}
			if n < 40 {
				t.Fatalf("search has %d filter parameters, want the description's 50 or so", n)
			}
		},
	},
	{
		name: "an offer has the fields of the description's example offer",
		reason: "search's answer types each offer as a free-form object (additionalProperties: true), so no field " +
			"name could be proven; the answer's own example shows a full offer, whose field names and JSON types " +
			"become the offer's properties, closed so the stand-in sends no field that example lacks",
		apply: func(t *testing.T, spec *openapi3.T) {
			op := spec.Paths.Value("/api/v0/bundles").Post
			answer := op.Responses.Status(http.StatusOK).Value.Content.Get("application/json")
			example, ok := answer.Example.(map[string]any)["offers"].(map[string]any)
			if !ok || len(example) < 50 {
				t.Fatalf("search's example offer is gone: %v", answer.Example)
			}
			item := vendortest.Property(t, answer.Schema.Value, "offers").Items.Value
			no := false
			item.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
			item.Properties = openapi3.Schemas{}
			for name, v := range example {
				item.Properties[name] = &openapi3.SchemaRef{Value: exampleSchema(v)}
			}
		},
	},
}

// filterOperators gives a search filter the operators of the
// description's table that its schema does not list.
func filterOperators(f *openapi3.Schema) {
	if f.Properties == nil {
		f.Properties = openapi3.Schemas{}
	}
	list := openapi3.NewArraySchema()
	if in := f.Properties["in"]; in != nil {
		list = in.Value
	}
	ops := map[string]*openapi3.Schema{
		"eq": {}, "neq": {}, // {"eq": true}, {"eq": "RTX_4090"}: any value
		"gt": openapi3.NewFloat64Schema(), "lt": openapi3.NewFloat64Schema(),
		"gte": openapi3.NewFloat64Schema(), "lte": openapi3.NewFloat64Schema(),
		"in": list, "notin": list,
	}
	for op, s := range ops {
		if f.Properties[op] == nil {
			f.Properties[op] = &openapi3.SchemaRef{Value: s}
		}
	}
}

// exampleSchema is the schema of one value of an example: its JSON type;
// an integral number may be an integer or not (the example cannot say).
func exampleSchema(v any) *openapi3.Schema {
	switch v := v.(type) {
	case bool:
		return openapi3.NewBoolSchema()
	case string:
		return openapi3.NewStringSchema()
	case float64:
		if v == math.Trunc(v) {
			return &openapi3.Schema{Type: &openapi3.Types{"integer", "number"}}
		}
		return openapi3.NewFloat64Schema()
	case int, int64, uint64:
		return &openapi3.Schema{Type: &openapi3.Types{"integer", "number"}}
	case []any:
		return openapi3.NewArraySchema()
	case map[string]any:
		return openapi3.NewObjectSchema()
	}
	return &openapi3.Schema{} // null: the example says nothing of the type
}

// TestWireConformance proves every wire type of the adapter and its
// stand-in against Vast's own OpenAPI description (with the patches of
// loadSpec), field by field.
func TestWireConformance(t *testing.T) {
	vendortest.CheckConformance(t, vendortest.Conformance{
		Spec:     loadSpec(t),
		Bindings: wireBindings(),
		Custom: map[string][]string{
			// ports decodes the Docker map and the Instance schema's array.
			"ports": {"object", "array"},
		},
		NotWire: map[string]string{
			"savedState": "the stand-in's state file",
			"record":     "the stand-in's state file",
			"listToken":  "the stand-in's keyset cursor, which clients get and send back base64-encoded and never read",
		},
	})
}

// wireBindings ties each wire type to the answers and requests whose JSON
// it is. The adapter reads every error answer through errorBody and
// tooFrequent at once, so both are bound to the errors they read.
func wireBindings() []vendortest.Binding {
	b := []vendortest.Binding{
		{At: "POST /api/v0/bundles", Type: searchQuery{}},
		{At: "POST /api/v0/bundles", Status: 200, Type: searchResult{}},
		{At: "PUT /api/v0/asks/{id}", Type: createRequest{}},
		{At: "PUT /api/v0/asks/{id}", Type: rentBody{}},
		{At: "PUT /api/v0/asks/{id}", Status: 200, Type: createResponse{}},
		{At: "GET /api/v0/instances/{id}", Status: 200, Type: instanceEnvelope{}},
		{At: "DELETE /api/v0/instances/{id}", Status: 200, Type: okMsg{}},
		{At: "POST /api/v0/instances/{id}/ssh", Type: sshKeyRequest{}},
		{At: "POST /api/v0/instances/{id}/ssh", Status: 200, Type: okMsg{}},
		{At: "GET /api/v1/instances", Status: 200, Type: instanceList{}},
		{At: "PUT /api/v0/instances/{id}", Type: manageRequest{}},
		{At: "PUT /api/v0/instances/{id}", Status: 200, Type: manageAnswer{}},
	}
	errs := []struct {
		at       string
		statuses []int
		written  any
	}{
		{"POST /api/v0/bundles", []int{400, 404}, errorBody{}},
		{"GET /api/v1/instances", []int{400}, errorBody{}},
		{"PUT /api/v0/asks/{id}", []int{400, 403, 404, 410}, rentRefusal{}},
		{"PUT /api/v0/asks/{id}", []int{401}, errorEnvelope{}},
		{"GET /api/v0/instances/{id}", []int{400, 401, 404}, errorEnvelope{}},
		{"DELETE /api/v0/instances/{id}", []int{400, 404, 429}, errorEnvelope{}},
		{"POST /api/v0/instances/{id}/ssh", []int{400, 401, 404}, errorEnvelope{}},
		{"GET /api/v1/instances", []int{401}, errorEnvelope{}},
		{"PUT /api/v0/instances/{id}", []int{400, 401, 404}, errorEnvelope{}},
	}
	for _, e := range errs {
		for _, status := range e.statuses {
			b = append(b,
				vendortest.Binding{At: e.at, Status: status, Type: e.written},
				vendortest.Binding{At: e.at, Status: status, Type: errorBody{}})
		}
	}
	for _, at := range []string{"PUT /api/v0/asks/{id}", "GET /api/v0/instances/{id}", "GET /api/v1/instances"} {
		b = append(b, vendortest.Binding{At: at, Status: 429, Type: tooFrequent{}})
	}
	return b
}

// TestDocumentedErrorCodes classifies every error code Vast's description
// gives (the enum or example of each error answer's "error") for the
// operations supply uses, and every 429, against the kinds codeKind cites.
// The bodies carry a msg of their own, not the description's, so the code
// decides and not the wording.
func TestDocumentedErrorCodes(t *testing.T) {
	spec := loadSpec(t)
	kinds := map[string]error{
		codeAuth:          vendors.ErrAuth,
		codeNoSuchAsk:     vendors.ErrNoCapacity,
		codeNotFound:      vendors.ErrNotFound,
		codeNoSuchInst:    vendors.ErrNotFound,
		codeRateLimit:     vendors.ErrRateLimited,
		codeInvalidArgs:   vendors.ErrInvalid,
		codeInvalidPrice:  vendors.ErrInvalid,
		codeNoSSHKeyForVM: vendors.ErrInvalid,
		codeInvalidReq:    vendors.ErrInvalid,
		codeInvalidToken:  vendors.ErrInvalid,
	}
	// What the operation makes of a status whatever the code: create's 404
	// and 403 refuse this offer, so another should be tried (offerGone).
	overrides := map[string]map[int]error{
		"PUT /api/v0/asks/{id}": {http.StatusNotFound: vendors.ErrNoCapacity, http.StatusForbidden: vendors.ErrNoCapacity},
	}
	codes := 0
	for _, op := range vendortest.Operations(t, spec, wireBindings()) {
		for key, resp := range op.Responses.Map() {
			status, err := strconv.Atoi(key)
			if err != nil || status < 400 || resp.Value == nil {
				continue
			}
			if status == http.StatusTooManyRequests && resp.Value.Headers["Retry-After"] != nil {
				t.Errorf("%s now documents Retry-After on its 429: read it instead of waiting rateLimitWait", op.At)
			}
			for _, code := range documentedCodes(resp.Value) {
				codes++
				want, ok := kinds[code]
				if !ok {
					t.Errorf("%s %d: code %q is not classified", op.At, status, code)
					continue
				}
				if status == http.StatusTooManyRequests {
					want = vendors.ErrRateLimited
				}
				if w, ok := overrides[op.At][status]; ok {
					want = w
				}
				body, _ := json.Marshal(errorEnvelope{errorBody: errorBody{Error: code, Msg: "refused for reasons of its own"}})
				if got := classify(op.At, status, body); got != want {
					t.Errorf("%s %d %q: %v, want %v", op.At, status, code, got, want)
				}
			}
			if status == http.StatusTooManyRequests {
				body, _ := json.Marshal(tooFrequent{Detail: "slow down"})
				if e := parseError(status, nil, body); e.Kind != vendors.ErrRateLimited || e.RetryAfter != rateLimitWait {
					t.Errorf("%s 429 {detail}: %v after %v, want rate limited after %v", op.At, e.Kind, e.RetryAfter, rateLimitWait)
				}
			}
		}
	}
	if codes < 10 {
		t.Errorf("found %d documented error codes, want at least 10", codes)
	}
}

// classify runs an error answer through what the adapter does with it:
// parseError, and for a create offerGone.
func classify(at string, status int, body []byte) error {
	e := parseError(status, nil, body)
	e.Status = status
	var err error = e
	if at == "PUT /api/v0/asks/{id}" {
		err = offerGone(err)
	}
	return vendortest.Kind(err)
}

// documentedCodes are the codes an error answer gives for its "error":
// the property's enum or example, or the answer's example body.
func documentedCodes(resp *openapi3.Response) []string {
	mt := resp.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil
	}
	var out []string
	if p := mt.Schema.Value.Properties["error"]; p != nil && p.Value != nil {
		for _, v := range p.Value.Enum {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		if s, ok := p.Value.Example.(string); ok && len(out) == 0 {
			out = append(out, s)
		}
	}
	if ex, ok := mt.Example.(map[string]any); ok {
		if s, ok := ex["error"].(string); ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// specPaths drops the trailing slash Vast's CLI (and this adapter) put on
// every path, which the spec's paths do not have; the stand-in serves
// both.
func specPaths(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := strings.TrimSuffix(r.URL.Path, "/"); p != "" {
			r.URL.Path = p
		}
		h.ServeHTTP(w, r)
	})
}

// TestAgainstPublishedSpec runs the adapter through a whole lifecycle
// against the stand-in with every request and answer checked against
// Vast's OpenAPI description.
func TestAgainstPublishedSpec(t *testing.T) {
	spec := loadSpec(t)
	f := setup.Serve(t, standin.Options{BootTime: 300 * time.Millisecond}, func(h http.Handler) http.Handler {
		return specPaths(vendortest.Validating(t, spec, "", h))
	})
	ctx := context.Background()

	items, err := f.A.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := rentRequest(t, "RTX 4090", "Florida, US")
	req.UserData = "#cloud-config\npackages: [htop]\n"
	req.Ports = []vendors.Port{{Number: 8888, Protocol: vendors.TCP}, {Number: 5353, Protocol: vendors.UDP}}
	in, err := f.A.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	spot := rentRequest(t, "RTX A6000", "Ontario, CA")
	for _, it := range items {
		if it.InstanceType == spot.InstanceType && it.Contract == vendors.Spot {
			spot.Item, spot.Contract = it, vendors.Spot
		}
	}
	bid, err := f.A.Create(ctx, spot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.A.Create(ctx, rentRequest(t, "A100 PCIE", "Ohio, US")); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("rent a taken machine: %v, want ErrNoCapacity", err)
	}
	vendortest.WaitFor(t, f.A, in.ID, vendortest.Running)
	vendortest.PowerRoundTrip(t, f.A, in.ID, nil)
	if _, err := f.A.List(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{in.ID, bid.ID} {
		if err := f.A.Terminate(ctx, id); err != nil {
			t.Fatal(err)
		}
		vendortest.WaitFor(t, f.A, id, vendortest.Gone)
		if err := f.A.Terminate(ctx, id); err != nil {
			t.Errorf("destroy a destroyed instance: %v", err)
		}
	}
	if _, err := New(Config{APIKey: "wrong", BaseURL: f.Srv.URL}).Catalog(ctx); !errors.Is(err, vendors.ErrAuth) {
		t.Errorf("search with a bad key: %v, want ErrAuth", err)
	}
	if _, err := New(Config{APIKey: "wrong", BaseURL: f.Srv.URL}).Get(ctx, in.ID); !errors.Is(err, vendors.ErrAuth) {
		t.Errorf("show instance with a bad key: %v, want ErrAuth", err)
	}
}

// TestVolumesNeedANameTheDescriptionLacks holds Info().Volumes to what
// Vast's description allows. It has volumes (/api/v0/volumes, volume
// offers, volume_info at create), but rent volume takes only a volume
// offer's id and a size (and answers the new volume's volume_name, not its
// id), while a listed Volume carries no name or label at all. So a volume
// can carry neither supply's volume id nor its owner: a repeated create
// cannot find the one an ambiguous answer made, the volume just made
// cannot be told from the account's others (another installation's, made
// at the same time on the same machine), and the reconciler could never
// tell an unknown volume of ours from a stranger's. Once the description
// lets a volume be named and read back by that name, this test fails until
// the adapter implements vendors.Volumes and says so in Info.
func TestVolumesNeedANameTheDescriptionLacks(t *testing.T) {
	spec := vendortest.LoadSpec(t, "vastai/openapi.yaml")
	naming := func(s *openapi3.Schema) []string {
		var out []string
		for _, k := range []string{"name", "label", "volume_name", "tags"} {
			if s.Properties[k] != nil {
				out = append(out, k)
			}
		}
		return out
	}
	written := naming(vendortest.SchemaAt(t, spec, "PUT /api/v0/volumes", 0))
	read := naming(vendortest.Component(t, spec, "Volume"))
	named := len(written) > 0 && len(read) > 0
	if volumes := New(Config{}).Info().Volumes; volumes != named {
		t.Errorf("Info().Volumes is %v, but a volume can be named and found by name: %v (rent volume's naming fields %v, a listed Volume's %v)",
			volumes, named, written, read)
	}
}
