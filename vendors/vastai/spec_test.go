package vastai

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/gpusupply/supply/vendors"
	"github.com/gpusupply/supply/vendors/standin"
	"github.com/gpusupply/supply/vendors/vendortest"
)

// loadSpec reads Vast's published description and corrects, in memory,
// two places where it contradicts Vast's own behaviour and the rest of
// the document:
//   - the Instance schema types "ports" as an array of exposed ports,
//     while running instances report the Docker map {"22/tcp": [...]}
//     that the same spec's instance list (GET /api/v1/instances) shows;
//     Instance.ports takes the list's schema;
//   - show instance documents no answer for an instance that does not
//     exist (or no longer does); the stand-in gives the 404 not_found
//     envelope the spec documents for destroy, added here.
func loadSpec(t *testing.T) *openapi3.T {
	spec := vendortest.LoadSpec(t, "vastai/openapi.yaml")
	inst := spec.Components.Schemas["Instance"]
	list := spec.Paths.Value("/api/v1/instances")
	show := spec.Paths.Value("/api/v0/instances/{id}")
	if inst == nil || inst.Value == nil || list == nil || list.Get == nil || show == nil || show.Get == nil {
		t.Fatal("the Instance schema or the instance paths are gone from the Vast.ai spec")
	}
	listed := list.Get.Responses.Status(http.StatusOK).Value.Content.Get("application/json").Schema.Value.Properties["instances"].Value.Items.Value
	inst.Value.Properties["ports"] = listed.Properties["ports"]
	show.Get.Responses.Set("404", &openapi3.ResponseRef{Value: openapi3.NewResponse().
		WithDescription("Instance not found").
		WithJSONSchemaRef(&openapi3.SchemaRef{Ref: "#/components/schemas/Error", Value: spec.Components.Schemas["Error"].Value})})
	return spec
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
	f := newFixture(t, standin.Options{BootTime: 300 * time.Millisecond}, func(h http.Handler) http.Handler {
		return specPaths(vendortest.Validating(t, spec, "", h))
	})
	ctx := context.Background()

	items, err := f.a.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := rentRequest(t, "RTX 4090", "Florida, US")
	req.UserData = "#cloud-config\npackages: [htop]\n"
	in, err := f.a.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	spot := rentRequest(t, "RTX A6000", "Ontario, CA")
	for _, it := range items {
		if it.InstanceType == spot.InstanceType && it.Contract == vendors.Spot {
			spot.Item, spot.Contract = it, vendors.Spot
		}
	}
	bid, err := f.a.Create(ctx, spot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Create(ctx, rentRequest(t, "A100 PCIE", "Ohio, US")); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("rent a taken machine: %v, want ErrNoCapacity", err)
	}
	vendortest.WaitFor(t, f.a, in.ID, vendortest.Running)
	if _, err := f.a.List(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{in.ID, bid.ID} {
		if err := f.a.Terminate(ctx, id); err != nil {
			t.Fatal(err)
		}
		vendortest.WaitFor(t, f.a, id, vendortest.Gone)
		if err := f.a.Terminate(ctx, id); err != nil {
			t.Errorf("destroy a destroyed instance: %v", err)
		}
	}
	if _, err := New(Config{APIKey: "wrong", BaseURL: f.srv.URL}).Catalog(ctx); !errors.Is(err, vendors.ErrAuth) {
		t.Errorf("search with a bad key: %v, want ErrAuth", err)
	}
	if _, err := New(Config{APIKey: "wrong", BaseURL: f.srv.URL}).Get(ctx, in.ID); !errors.Is(err, vendors.ErrAuth) {
		t.Errorf("show instance with a bad key: %v, want ErrAuth", err)
	}
}
