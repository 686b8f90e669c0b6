package vendortest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// miniSpec is a small OpenAPI 3.1 document using the 3.1 keywords the
// vendors' documents rely on (const, type arrays).
const miniSpec = `{
  "openapi": "3.1.0",
  "info": {"title": "mini", "version": "1"},
  "servers": [{"url": "https://vendor.example/v1"}],
  "paths": {
    "/things/{id}": {
      "get": {
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": false, "required": ["data"],
            "properties": {"data": {"type": "object", "required": ["kind", "size"], "properties": {
              "kind": {"const": "thing"}, "size": {"type": ["integer", "null"]}}}}}}}}
        }
      }
    },
    "/things": {
      "post": {
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 5}}}}}},
        "responses": {"200": {"description": "ok"}}
      }
    }
  }
}`

// errorRecorder is a testing.TB that collects Errorf calls, so the test
// can assert that Validating reports (or does not report) violations.
type errorRecorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestValidating(t *testing.T) {
	spec, err := openapi3.NewLoader().LoadFromData([]byte(miniSpec))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		method    string
		path      string
		body      string
		answer    string
		status    int
		violation string // "" when none is expected
	}{
		{"valid", "GET", "/v1/things/a", "", `{"data":{"kind":"thing","size":null}}`, 200, ""},
		{"const broken", "GET", "/v1/things/a", "", `{"data":{"kind":"other","size":1}}`, 200, "response violates"},
		{"extra envelope field", "GET", "/v1/things/a", "", `{"data":{"kind":"thing","size":1},"x":1}`, 200, "response violates"},
		{"undocumented status", "GET", "/v1/things/a", "", `{}`, 500, "response violates"},
		{"unknown path", "GET", "/v1/nothing", "", `{}`, 200, "not in the vendor spec"},
		{"missing base path", "GET", "/things/a", "", `{}`, 200, "not in the vendor spec"},
		{"request too long", "POST", "/v1/things", `{"name":"toolong"}`, ``, 200, "request violates"},
		{"request valid", "POST", "/v1/things", `{"name":"ok"}`, ``, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &errorRecorder{TB: t}
			var gotBody string
			stand := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				gotBody = string(b)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.answer)
			})
			srv := httptest.NewServer(Validating(rec, spec, "/v1", stand))
			defer srv.Close()

			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()

			if resp.StatusCode != tt.status || string(got) != tt.answer {
				t.Errorf("answer passed through as %d %q, want %d %q", resp.StatusCode, got, tt.status, tt.answer)
			}
			if gotBody != tt.body {
				t.Errorf("stand-in received body %q, want %q", gotBody, tt.body)
			}
			switch {
			case tt.violation == "" && len(rec.errs) > 0:
				t.Errorf("unexpected violations: %q", rec.errs)
			case tt.violation != "" && (len(rec.errs) == 0 || !strings.Contains(strings.Join(rec.errs, "\n"), tt.violation)):
				t.Errorf("violations %q, want one containing %q", rec.errs, tt.violation)
			}
		})
	}
}

func TestLoadSpec(t *testing.T) {
	doc := LoadSpec(t, "lambda/lambda-labs-openapi.json")
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("lambda spec version %q, want 3.1", doc.OpenAPI)
	}
	if doc.Paths.Find("/api/v1/instance-operations/launch") == nil {
		t.Error("lambda spec has no launch path")
	}
	yaml := LoadSpec(t, "hyperstack/openapi.yaml")
	if yaml.Paths.Len() == 0 {
		t.Error("hyperstack spec (YAML) loaded without paths")
	}
}

func TestRecorder(t *testing.T) {
	srv, rec := Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b) // the stand-in still gets the whole body
	}), nil)
	for _, body := range []string{`{"n":1}`, `{"n":2}`} {
		resp, err := http.Post(srv.URL+"/v1/things", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		echo, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(echo) != body {
			t.Errorf("handler read %q, want %q", echo, body)
		}
	}
	if _, err := http.Get(srv.URL + "/v1/other"); err != nil {
		t.Fatal(err)
	}
	const key = "POST /v1/things"
	if n := rec.Count(key); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
	if n := rec.CountPrefix("GET /v1/"); n != 1 {
		t.Errorf("CountPrefix = %d, want 1", n)
	}
	if ct := rec.ContentType(key); ct != "application/json" {
		t.Errorf("ContentType = %q", ct)
	}
	var last struct{ N int }
	rec.JSON(t, key, &last)
	if last.N != 2 || string(rec.Body(key)) != `{"n":2}` {
		t.Errorf("last body %q decoded as %+v, want n=2", rec.Body(key), last)
	}
}

// The wire types TestCheckConformance binds; testdata/conformance/wire.go
// declares the same names for the completeness check.
type (
	thingRequest struct {
		Name string `json:"name"`
		Nick string `json:"nick,omitempty"`
	}
	thingData struct {
		Kind string  `json:"kind"`
		Size float64 `json:"size"`
	}
	thing struct {
		Data thingData `json:"data"`
	}
	misnamed struct {
		Data struct {
			Kind string `json:"kind"`
			Size int    `json:"sise"`
		} `json:"data"`
	}
	mistyped struct {
		Data struct {
			Kind int `json:"kind"`
		} `json:"data"`
	}
	tooShort struct {
		Nick string `json:"nick"`
	}
)

func TestCheckConformance(t *testing.T) {
	spec, err := openapi3.NewLoader().LoadFromData([]byte(miniSpec))
	if err != nil {
		t.Fatal(err)
	}
	check := func(bindings ...Binding) []string {
		rec := &errorRecorder{TB: t}
		CheckConformance(rec, Conformance{Spec: spec, Bindings: bindings, Dir: "testdata/conformance"})
		return rec.errs
	}
	contains := func(errs []string, want string) bool {
		for _, e := range errs {
			if strings.Contains(e, want) {
				return true
			}
		}
		return false
	}

	errs := check(Binding{At: "GET /things/{id}", Status: 200, Type: thing{}}, Binding{At: "POST /things", Type: thingRequest{}})
	for _, want := range []string{
		`thingRequest.nick (request body of POST /things): no property "nick"`,
		"orphan has JSON tags but no binding reaches it",
		"an anonymous struct with JSON tags",
	} {
		if !contains(errs, want) {
			t.Errorf("missing %q in %q", want, errs)
		}
	}
	if len(errs) != 3 {
		t.Errorf("%d errors, want 3: %q", len(errs), errs)
	}

	for _, tt := range []struct {
		b    Binding
		want string
	}{
		{Binding{At: "GET /things/{id}", Status: 200, Type: misnamed{}}, `misnamed.data.sise (200 answer of GET /things/{id}): no property "sise"`},
		{Binding{At: "GET /things/{id}", Status: 200, Type: mistyped{}}, "mistyped.data.kind (200 answer of GET /things/{id}): Go reads integer"},
		{Binding{At: "POST /things", Type: tooShort{}}, `the description requires "name"`},
		{Binding{At: "GET /things/{id}", Status: 404, Type: thing{}}, "documents no 404 response"},
		{Binding{At: "GET /nothing", Status: 200, Type: thing{}}, `no path "GET /nothing"`},
	} {
		if errs := check(tt.b); !contains(errs, tt.want) {
			t.Errorf("%T: missing %q in %q", tt.b.Type, tt.want, errs)
		}
	}
}

func TestStrict(t *testing.T) {
	spec, err := openapi3.NewLoader().LoadFromData([]byte(`{
  "openapi": "3.1.0", "info": {"title": "mini", "version": "1"},
  "paths": {}, "components": {"schemas": {
    "Base": {"type": "object", "properties": {"id": {"type": "string"}}},
    "Both": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"type": "object", "properties": {"name": {"type": "string"}}}]},
    "Open": {"type": "object", "additionalProperties": true, "properties": {"a": {"type": "string"}}}
  }}}`))
	if err != nil {
		t.Fatal(err)
	}
	Strict(spec)
	Strict(spec)
	for _, tt := range []struct {
		schema, body string
		ok           bool
	}{
		{"Base", `{"id": "1"}`, true},
		{"Base", `{"id": "1", "extra": 1}`, false},
		{"Both", `{"id": "1", "name": "n"}`, true},
		{"Both", `{"id": "1", "name": "n", "extra": 1}`, false},
		{"Open", `{"a": "x", "b": 2}`, true},
	} {
		var v any
		if err := json.Unmarshal([]byte(tt.body), &v); err != nil {
			t.Fatal(err)
		}
		err := spec.Components.Schemas[tt.schema].Value.VisitJSON(v)
		if (err == nil) != tt.ok {
			t.Errorf("%s %s: %v, want ok=%v", tt.schema, tt.body, err, tt.ok)
		}
	}
}

// embeddedBase and embeddingRequest model a request whose common fields
// come from an embedded struct, as encoding/json flattens them.
type embeddedBase struct {
	Name string `json:"name"`
}

type embeddingRequest struct {
	embeddedBase
	Size int `json:"size"`
}

// TestConformanceReachesEmbedded: a struct embedded without a JSON name
// is checked field by field through its embedder and counts as reached,
// so the completeness check does not ask for a binding of its own.
func TestConformanceReachesEmbedded(t *testing.T) {
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromData([]byte(`{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
	  "components": {"schemas": {"Req": {"type": "object", "properties": {"name": {"type": "string"}, "size": {"type": "integer"}}},
	    "Small": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	w := &walker{pkgPath: packageOf(reflect.TypeFor[embeddingRequest]()), reached: map[string]bool{}, seen: map[seenKey]bool{}}
	if errs := w.conform("embeddingRequest", reflect.TypeFor[embeddingRequest](), spec.Components.Schemas["Req"]); len(errs) != 0 {
		t.Errorf("conforming request: %v", errs)
	}
	if !w.reached["embeddedBase"] || !w.reached["embeddingRequest"] {
		t.Errorf("reached %v, want embeddedBase and embeddingRequest", w.reached)
	}
	w = &walker{pkgPath: w.pkgPath, reached: map[string]bool{}, seen: map[seenKey]bool{}}
	errs := w.conform("embeddingRequest", reflect.TypeFor[embeddingRequest](), spec.Components.Schemas["Small"])
	if len(errs) != 1 || errs[0].path != "embeddingRequest.name" {
		t.Errorf("an embedded field the schema lacks: %v, want one mismatch at embeddingRequest.name", errs)
	}
}

// binding and bindings model a type that decodes two forms itself (an
// array, or a map of structs) as Vast's instance ports do.
type binding struct {
	HostPort string `json:"HostPort"`
}

type bindings map[string][]binding

func (b *bindings) UnmarshalJSON(data []byte) error {
	var m map[string][]binding
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*b = m
	return nil
}

// TestConformanceWalksCustomContainers: a custom map type is checked for
// the schema types it accepts and, where the description has the object
// form, walked as a plain map, so its element's fields are proven.
func TestConformanceWalksCustomContainers(t *testing.T) {
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromData([]byte(`{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
	  "components": {"schemas": {
	    "Mapped": {"type": ["object", "null"], "additionalProperties": {"type": "array", "items": {"type": "object", "properties": {"HostPort": {"type": "string"}}}}},
	    "Renamed": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "object", "properties": {"host_port": {"type": "string"}}}}},
	    "Listed": {"type": "array", "items": {"type": "integer"}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeFor[bindings]()
	check := func(schema string) ([]mismatch, map[string]bool) {
		w := &walker{pkgPath: packageOf(typ), custom: map[string][]string{"bindings": {"object", "array"}}, reached: map[string]bool{}, seen: map[seenKey]bool{}}
		return w.conform("ports", typ, spec.Components.Schemas[schema]), w.reached
	}
	if errs, reached := check("Mapped"); len(errs) != 0 || !reached["binding"] {
		t.Errorf("the object form: %v, reached %v; want no mismatch and binding reached", errs, reached)
	}
	if errs, _ := check("Renamed"); len(errs) != 1 || errs[0].path != "ports[*][].HostPort" {
		t.Errorf("an element field the description names otherwise: %v, want one mismatch at ports[*][].HostPort", errs)
	}
	if errs, reached := check("Listed"); len(errs) != 0 || reached["binding"] {
		t.Errorf("only the array form described: %v, reached %v; want no mismatch and nothing walked", errs, reached)
	}
}
