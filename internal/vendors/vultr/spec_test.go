package vultr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/vultr/govultr/v3"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// specPatch is one named allowance: a field govultr v3.34.0 (Vultr's own
// Go client, the adapter's) sends or reads that the stored 2023 Vultr
// description lacks. These and only these are added; everything else is
// checked as the description writes it.
type specPatch struct {
	name, why string
	apply     func(t testing.TB, spec *openapi3.T)
}

var specPatches = []specPatch{
	{"Cloud GPU plan fields",
		"govultr v3.34.0's Plan has gpu_vram_gb (int) and gpu_type (string), which today's API answers " +
			"for vcg plans; the 2023 plans schema has neither",
		func(t testing.TB, spec *openapi3.T) {
			plans := vendortest.Component(t, spec, "plans")
			plans.Properties["gpu_vram_gb"] = openapi3.NewIntegerSchema().NewRef()
			plans.Properties["gpu_type"] = openapi3.NewStringSchema().NewRef()
		}},
	{"block_devices on create",
		"govultr v3.34.0's InstanceCreateReq always sends block_devices (no omitempty: null when unset); " +
			"the 2023 create-instance body has no such property",
		func(t testing.TB, spec *openapi3.T) {
			body := vendortest.SchemaAt(t, spec, "POST /instances", 0)
			devices := openapi3.NewArraySchema().WithItems(openapi3.NewObjectSchema())
			devices.Nullable = true
			body.Properties["block_devices"] = devices.NewRef()
		}},
	{"404 for a missing block",
		"get-block lists 400, 401 and 403 only, but delete-block and attach-block answer a block id that names " +
			"nothing 404 Not Found, as get-instance does for an instance id; the adapter reads a gone block by that 404",
		func(t testing.TB, spec *openapi3.T) {
			op := spec.Paths.Value("/blocks/{block-id}").Get
			op.Responses.Set("404", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("Not Found")})
		}},
}

// loadSpec is Vultr's description with the named allowances applied.
// The stored document spells some schema types outside OpenAPI's
// vocabulary ("int", "float", "enum", "mixed": in the database, registry
// and subaccount schemas, none of which the adapter uses), which fails
// its validation as a whole; mendTypes rewrites those before loading.
func loadSpec(t testing.TB) *openapi3.T {
	t.Helper()
	data, err := os.ReadFile(vendortest.SpecPath(t, specFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	cut := keepPaths(doc)
	fixed := mendTypes(doc, "")
	mendScheme(doc)
	t.Logf("spec mends: %d unused paths cut, %d schema types respelt, security scheme renamed", len(cut), len(fixed))
	if data, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	spec := vendortest.LoadSpecData(t, specFile, data)
	for _, p := range specPatches {
		p.apply(t, spec)
		t.Logf("spec allowance %q: %s", p.name, p.why)
	}
	return spec
}

const specFile = "vultr/openapi.json"

// usedPaths are the description's paths the adapter and the stand-in use.
// The rest are cut before validation: some of them break it (the
// database operations declare path parameters they do not define), and a
// request to any of them must fail the check anyway.
var usedPaths = []string{
	"/plans", "/regions", "/regions/{region-id}/availability", "/ssh-keys",
	"/instances", "/instances/{instance-id}", "/instances/{instance-id}/halt", "/instances/{instance-id}/start",
	"/firewalls", "/firewalls/{firewall-group-id}", "/firewalls/{firewall-group-id}/rules",
	"/blocks", "/blocks/{block-id}", "/blocks/{block-id}/attach", "/blocks/{block-id}/detach",
}

// keepPaths cuts the description's paths to usedPaths and returns what it
// cut.
func keepPaths(doc any) []string {
	paths := doc.(map[string]any)["paths"].(map[string]any)
	var cut []string
	for path := range paths {
		if !slices.Contains(usedPaths, path) {
			delete(paths, path)
			cut = append(cut, path)
		}
	}
	return cut
}

// mendScheme renames the security scheme "API Key", whose space OpenAPI
// does not allow in a component's name, to "APIKey", where it is defined
// and wherever a security requirement names it, and drops the "in" its
// http scheme may not have. Validating does not check credentials, so
// nothing is lost.
func mendScheme(doc any) {
	renameScheme(doc)
	schemes, _ := doc.(map[string]any)["components"].(map[string]any)["securitySchemes"].(map[string]any)
	if scheme, ok := schemes["APIKey"].(map[string]any); ok {
		delete(scheme, "in")
	}
}

func renameScheme(v any) {
	switch v := v.(type) {
	case map[string]any:
		if key, ok := v["API Key"]; ok {
			delete(v, "API Key")
			v["APIKey"] = key
		}
		for _, child := range v {
			renameScheme(child)
		}
	case []any:
		for _, child := range v {
			renameScheme(child)
		}
	}
}

// typeFixes are the stored description's type spellings and what OpenAPI
// calls them; "" drops the type (the value may be any: "mixed", or an
// "enum" whose values say the rest).
var typeFixes = map[string]string{"int": "integer", "float": "number", "enum": "", "mixed": ""}

// mendTypes rewrites the misspelt "type" of every schema under v, leaving
// examples alone (their "type" members are data), and lists what it
// changed, by JSON path.
func mendTypes(v any, path string) []string {
	var fixed []string
	switch v := v.(type) {
	case map[string]any:
		if typ, ok := v["type"].(string); ok {
			if to, bad := typeFixes[typ]; bad {
				if to == "" {
					delete(v, "type")
				} else {
					v["type"] = to
				}
				fixed = append(fixed, fmt.Sprintf("%s: type %q → %q", path, typ, to))
			}
		}
		for k, child := range v {
			if k != "example" && k != "examples" && k != "x-examples" {
				fixed = append(fixed, mendTypes(child, path+"/"+k)...)
			}
		}
	case []any:
		for i, child := range v {
			fixed = append(fixed, mendTypes(child, fmt.Sprintf("%s/%d", path, i))...)
		}
	}
	return fixed
}

// TestAgainstPublishedSpec runs the adapter, through govultr, against the
// stand-in with every request govultr sends and every answer the stand-in
// gives validated against Vultr's description, closed (a property it
// does not list fails).
func TestAgainstPublishedSpec(t *testing.T) {
	spec := loadSpec(t)
	f := setup(t, standin.Options{BootTime: 150 * time.Millisecond}, nil)
	srv := httptest.NewServer(vendortest.Validating(t, spec, apiPrefix, f.SI))
	defer srv.Close()
	a := New(Config{APIKey: testKey, BaseURL: srv.URL, RateLimit: rate.Inf, SSHPort: f.Hosts.Port, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()

	items, err := a.Catalog(ctx)
	if err != nil || len(items) == 0 {
		t.Fatalf("catalog: %d items, %v", len(items), err)
	}
	req := l40sRequest(t)
	req.UserData = "#cloud-config\nruncmd:\n  - echo hi\n"
	req.Ports = []vendors.Port{{Number: 8888, Protocol: vendors.TCP}, {Number: 9000, Protocol: vendors.UDP}, {Number: 9001, Protocol: vendors.UDP}}
	in, err := a.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, a, in.ID, vendortest.Running)
	if list, err := a.List(ctx); err != nil || len(list) != 1 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if err := a.Stop(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, a, in.ID, vendortest.Gone)
	if err := a.Terminate(ctx, in.ID); err != nil {
		t.Errorf("terminate a gone instance: %v", err)
	}
	if fws, err := a.Firewalls(ctx); err != nil || len(fws) != 1 || fws[0].InUse || a.DeleteFirewall(ctx, fws[0].ID) != nil {
		t.Errorf("firewalls %+v, %v", fws, err)
	}

	specVolumes(t, a, req)

	// Refusals the description documents by status.
	if _, err := a.Create(ctx, request(t, "vcg-h100-24c-240g-80vram", "syd")); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("capacity: %v", err)
	}
	if _, err := a.Create(ctx, request(t, "vcg-z100-1c-1g-1vram", "lax")); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("unknown plan: %v", err)
	}
	f.SI.SetQuota(1)
	if _, err := a.Create(ctx, l40sRequest(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(ctx, l40sRequest(t)); !errors.Is(err, vendors.ErrQuota) {
		t.Errorf("quota: %v", err)
	}
	bad := New(Config{APIKey: "wrong", BaseURL: srv.URL, RateLimit: rate.Inf})
	if _, err := bad.List(ctx); !errors.Is(err, vendors.ErrAuth) {
		t.Errorf("auth: %v", err)
	}
}

// TestWireConformance proves the stand-in's wire types against Vultr's
// description field by field (the adapter's are govultr's own).
func TestWireConformance(t *testing.T) {
	vendortest.CheckConformance(t, vendortest.Conformance{
		Spec: loadSpec(t),
		Bindings: []vendortest.Binding{
			{At: "GET /plans", Status: 200, Type: plansPage{}},
			{At: "GET /regions", Status: 200, Type: regionsPage{}},
			{At: "GET /regions/{region-id}/availability", Status: 200, Type: availabilityWire{}},
			{At: "GET /ssh-keys", Status: 200, Type: sshKeysPage{}},
			{At: "POST /ssh-keys", Type: createSSHKeyWire{}},
			{At: "POST /ssh-keys", Status: 201, Type: sshKeyAnswer{}},
			{At: "POST /instances", Type: createInstanceWire{}},
			{At: "POST /instances", Status: 202, Type: instanceAnswer{}},
			{At: "GET /instances", Status: 200, Type: instancesPage{}},
			{At: "GET /instances/{instance-id}", Status: 200, Type: instanceAnswer{}},
			{At: "GET /firewalls", Status: 200, Type: firewallGroupsPage{}},
			{At: "POST /firewalls", Type: createFirewallGroupWire{}},
			{At: "POST /firewalls", Status: 201, Type: firewallGroupAnswer{}},
			{At: "GET /firewalls/{firewall-group-id}/rules", Status: 200, Type: firewallRulesPage{}},
			{At: "POST /firewalls/{firewall-group-id}/rules", Type: createFirewallRuleWire{}},
			{At: "POST /firewalls/{firewall-group-id}/rules", Status: 201, Type: firewallRuleAnswer{}},
			{At: "GET /blocks", Status: 200, Type: blocksPage{}},
			{At: "POST /blocks", Type: createBlockWire{}},
			{At: "POST /blocks", Status: 202, Type: blockAnswer{}},
			{At: "GET /blocks/{block-id}", Status: 200, Type: blockAnswer{}},
			{At: "POST /blocks/{block-id}/attach", Type: attachBlockWire{}},
			{At: "POST /blocks/{block-id}/detach", Type: detachBlockWire{}},
		},
		NotWire: map[string]string{
			"state":         "the stand-in's state file",
			"record":        "the stand-in's state file",
			"firewallGroup": "the stand-in's state file",
			"blockRecord":   "the stand-in's state file",
			"apiError":      "Vultr's error body, which the description gives no schema (its 4xx entries carry a description only)",
		},
	})
}

// specVolumes drives every block storage call the adapter makes, and the
// detach it does not (the stand-in serves it), through the validating
// server: a block made twice (one), listed, attached live to an instance
// of base's region and seen there, refused deletion while attached,
// detached, deleted, and gone.
func specVolumes(t *testing.T, a *Adapter, base vendors.CreateRequest) {
	t.Helper()
	ctx := context.Background()
	vreq := vendors.VolumeRequest{VolumeID: uuid.NewString(), Owner: vendors.NewOwner(), Region: base.Region, SizeGB: 10}
	vol, err := a.CreateVolume(ctx, vreq)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := a.CreateVolume(ctx, vreq); err != nil || again.ID != vol.ID {
		t.Fatalf("create volume twice: %+v, %v; want %s", again, err, vol.ID)
	}
	if all, err := a.ListVolumes(ctx); err != nil || !slices.ContainsFunc(all, func(v vendors.Volume) bool { return v.ID == vol.ID }) {
		t.Fatalf("list volumes %+v, %v; want %s", all, err, vol.ID)
	}
	req := l40sRequest(t)
	req.Volumes = []vendors.Volume{vol}
	in, err := a.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, a, in.ID, vendortest.Running)
	for done := false; !done; {
		if done, err = a.AttachVolumes(ctx, in.ID, req.Volumes); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := a.GetVolume(ctx, vol.ID); err != nil || got.State != vendors.VolumeInUse {
		t.Errorf("attached volume %+v, %v; want in use", got, err)
	}
	if err := a.DeleteVolume(ctx, vol.ID); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("deleting an attached volume: %v, want a refusal", err)
	}
	live := true
	if err := a.gv.BlockStorage.Detach(ctx, vol.ID, &govultr.BlockStorageDetach{Live: &live}); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteVolume(ctx, vol.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetVolume(ctx, vol.ID); !errors.Is(err, vendors.ErrNotFound) {
		t.Errorf("a deleted volume: %v, want not found", err)
	}
	if err := a.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, a, in.ID, vendortest.Gone)
}
