package digitalocean

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// specPath is DigitalOcean's public v2 OpenAPI description, which $refs
// into its resources/ and shared/ trees.
const specPath = "digitalocean/openapi/specification/DigitalOcean-public.v2.yaml"

var (
	specOnce sync.Once
	specDoc  *openapi3.T
)

// loadSpec loads the description once per test binary (its 2,850 files
// take seconds to read and resolve), with the one allowance of
// allowVolumeObjects.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	vendortest.SpecPath(t, specPath) // skip, or fail, without the descriptions
	specOnce.Do(func() {
		specDoc = vendortest.LoadSpec(t, specPath)
		allowVolumeObjects(t, specDoc)
	})
	if specDoc == nil {
		t.Fatal("the DigitalOcean description did not load")
	}
	return specDoc
}

// allowVolumeObjects is the one place the description gives way to the
// official client: droplet_create.yml's volumes is an array of id strings,
// but godo sends each volume as {"id": ...} (DropletCreateVolume's
// MarshalJSON; its name form is deprecated), which DigitalOcean's API
// takes from its own client. Both forms are allowed, and the stand-in
// reads both.
func allowVolumeObjects(t *testing.T, spec *openapi3.T) {
	t.Logf("allowance: droplet_create volumes may be {\"id\": ...} objects, as godo sends them")
	ids := openapi3.NewOneOfSchema(openapi3.NewStringSchema(),
		openapi3.NewObjectSchema().WithProperty("id", openapi3.NewStringSchema()).WithRequired([]string{"id"}))
	patched := 0
	var walk func(s *openapi3.Schema)
	walk = func(s *openapi3.Schema) {
		if v := s.Properties["volumes"]; v != nil && v.Value != nil && v.Value.Items != nil {
			v.Value.Items, patched = openapi3.NewSchemaRef("", ids), patched+1
		}
		for _, r := range append(slices.Clone(s.AllOf), s.OneOf...) {
			if r.Value != nil {
				walk(r.Value)
			}
		}
	}
	walk(vendortest.SchemaAt(t, spec, "POST /v2/droplets", 0))
	if patched == 0 {
		t.Fatal("droplets_create has no volumes array any more: drop the allowance")
	}
}

// TestAgainstPublishedSpec runs the adapter, through godo, against the
// stand-in with every request godo sends and every answer the stand-in
// gives checked against DigitalOcean's OpenAPI description (closed: a
// property it does not list fails), through a Droplet's whole life and
// the documented refusals.
func TestAgainstPublishedSpec(t *testing.T) {
	spec := loadSpec(t)
	f := serve(t, standin.Options{BootTime: 150 * time.Millisecond})
	srv := httptest.NewServer(vendortest.Validating(t, spec, "", f.SI))
	defer srv.Close()
	adapter := func(token string) *Adapter {
		return New(Config{Token: token, BaseURL: srv.URL, RateLimit: rate.Inf, PageSize: pageSize, SSHPort: f.Hosts.Port})
	}
	a, ctx := adapter(testToken), context.Background()

	items, err := a.Catalog(ctx)
	if err != nil || len(items) == 0 {
		t.Fatalf("catalog: %d items, %v", len(items), err)
	}
	req := inStock(t)
	req.UserData = "#cloud-config\nruncmd:\n  - echo hi\n"
	vol, err := a.CreateVolume(ctx, vendors.VolumeRequest{VolumeID: uuid.NewString(), Owner: req.Owner, Region: req.Region, SizeGB: 10})
	if err != nil {
		t.Fatal(err)
	}
	req.Volumes = []vendors.Volume{vol}
	req.Ports = []vendors.Port{{Number: 8888, Protocol: vendors.TCP}, {Number: 9000, Protocol: vendors.UDP}}
	in, err := a.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := a.Create(ctx, req); err != nil || again.ID != in.ID {
		t.Errorf("second create: %+v, %v", again, err)
	}
	in, _ = vendortest.WaitFor(t, a, in.ID, vendortest.Running)
	vendortest.PowerRoundTrip(t, a, in.ID, nil)
	if list, err := a.List(ctx); err != nil || len(list) != 1 {
		t.Errorf("list: %+v, %v", list, err)
	}
	if got, err := a.GetVolume(ctx, vol.ID); err != nil || got.State != vendors.VolumeInUse {
		t.Errorf("the Droplet's volume: %+v, %v", got, err)
	}
	if err := a.DeleteVolume(ctx, vol.ID); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("deleting an attached volume: %v", err)
	}
	if err := a.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, a, in.ID, func(_ vendors.Instance, err error) bool { return errors.Is(err, vendors.ErrNotFound) })
	if vols, err := a.ListVolumes(ctx); err != nil || len(vols) != 1 || vols[0].State != vendors.VolumeAvailable {
		t.Errorf("volumes: %+v, %v", vols, err)
	}
	if err := a.DeleteVolume(ctx, vol.ID); err != nil {
		t.Fatal(err)
	}
	if fws, err := a.Firewalls(ctx); err != nil || len(fws) != 1 || fws[0].InUse || a.DeleteFirewall(ctx, fws[0].ID) != nil {
		t.Errorf("firewalls %+v, %v", fws, err)
	}
	if err := a.Terminate(ctx, in.ID); err != nil {
		t.Errorf("terminating a gone Droplet: %v", err)
	}

	// Refusals, in the shared error model.
	if _, err := a.Create(ctx, request(t, "gpu-h100x1-80gb", "ams3")); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("capacity: %v", err)
	}
	if _, err := a.Create(ctx, request(t, "gpu-b900x1-1tb", "tor1")); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("unknown size: %v", err)
	}
	f.SI.SetDropletLimit(1)
	if _, err := a.Create(ctx, inStock(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(ctx, inStock(t)); !errors.Is(err, vendors.ErrQuota) {
		t.Errorf("droplet limit: %v", err)
	}
	if _, err := adapter("wrong").List(ctx); !errors.Is(err, vendors.ErrAuth) {
		t.Errorf("auth: %v", err)
	}
	f.SI.SetRateLimit(1)
	_, _ = a.Get(ctx, "1")
	if _, err := a.Get(ctx, "1"); !errors.Is(err, vendors.ErrRateLimited) || vendors.RetryAfter(err) <= 0 {
		t.Errorf("rate limit: %v (retry after %v)", err, vendors.RetryAfter(err))
	}
}

// TestWireConformance proves the stand-in's wire types against the
// description field by field (the adapter's are godo's own): a name or a
// type the description does not have fails here.
func TestWireConformance(t *testing.T) {
	spec := loadSpec(t)
	var bindings []vendortest.Binding
	for _, at := range []string{"GET /v2/droplets/{droplet_id}", "DELETE /v2/droplets/{droplet_id}", "GET /v2/account/keys/{ssh_key_identifier}"} {
		bindings = append(bindings, vendortest.Binding{At: at, Status: 404, Type: apiError{}})
	}
	for _, at := range []string{"GET /v2/sizes", "GET /v2/droplets", "POST /v2/droplets", "POST /v2/account/keys"} {
		bindings = append(bindings, vendortest.Binding{At: at, Status: 401, Type: apiError{}}, vendortest.Binding{At: at, Status: 429, Type: apiError{}})
	}
	vendortest.CheckConformance(t, vendortest.Conformance{
		Spec: spec,
		Bindings: append(bindings,
			vendortest.Binding{At: "GET /v2/sizes", Status: 200, Type: sizesList{}},
			vendortest.Binding{At: "GET /v2/droplets", Status: 200, Type: dropletsList{}},
			vendortest.Binding{At: "GET /v2/droplets/{droplet_id}", Status: 200, Type: dropletAnswer{}},
			vendortest.Binding{At: "POST /v2/droplets", Status: 202, Type: dropletCreated{}},
			vendortest.Binding{At: "POST /v2/droplets", Type: createRequest{}},
			vendortest.Binding{At: "GET /v2/account/keys/{ssh_key_identifier}", Status: 200, Type: sshKeyAnswer{}},
			vendortest.Binding{At: "POST /v2/account/keys", Type: keyCreate{}},
			vendortest.Binding{At: "POST /v2/account/keys", Status: 201, Type: sshKeyAnswer{}},
			vendortest.Binding{At: "POST /v2/droplets/{droplet_id}/actions", Type: actionRequest{}},
			vendortest.Binding{At: "POST /v2/droplets/{droplet_id}/actions", Status: 201, Type: actionAnswer{}},
			vendortest.Binding{At: "GET /v2/volumes", Status: 200, Type: volumesList{}},
			vendortest.Binding{At: "POST /v2/volumes", Type: volumeCreate{}},
			vendortest.Binding{At: "POST /v2/volumes", Status: 201, Type: volumeAnswer{}},
			vendortest.Binding{At: "GET /v2/volumes/{volume_id}", Status: 200, Type: volumeAnswer{}},
			vendortest.Binding{At: "DELETE /v2/volumes/{volume_id}", Status: 404, Type: apiError{}},
			vendortest.Binding{At: "GET /v2/firewalls", Status: 200, Type: firewallsList{}},
			vendortest.Binding{At: "POST /v2/firewalls", Type: firewallCreate{}},
			vendortest.Binding{At: "POST /v2/firewalls", Status: 202, Type: firewallAnswer{}},
			vendortest.Binding{At: "GET /v2/firewalls/{firewall_id}", Status: 200, Type: firewallAnswer{}},
			vendortest.Binding{At: "POST /v2/firewalls/{firewall_id}/droplets", Type: firewallDroplets{}},
		),
		NotWire: map[string]string{
			"state":     "the stand-in's state file",
			"record":    "the stand-in's state file",
			"volRecord": "the stand-in's state file",
			"fwRecord":  "the stand-in's state file",
		},
	})
}
