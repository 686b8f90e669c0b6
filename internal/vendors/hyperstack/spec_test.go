package hyperstack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// loadSpec reads Hyperstack's published description. Spec quirk:
// Create_Security_Rule_Payload requires "virtual_machine_id" without
// defining it, and a create (this adapter's, SkyPilot's, the docs'
// example) cannot know the id of the VM it is creating; the requirement
// is dropped, in memory, so the rest of the payload is still checked.
func loadSpec(t *testing.T) *openapi3.T {
	spec := vendortest.LoadSpec(t, "hyperstack/openapi.yaml")
	rule := spec.Components.Schemas["Create_Security_Rule_Payload"]
	if rule == nil || rule.Value == nil {
		t.Fatal("Create_Security_Rule_Payload is gone from the Hyperstack spec")
	}
	rule.Value.Required = slices.DeleteFunc(rule.Value.Required, func(s string) bool { return s == "virtual_machine_id" })
	return spec
}

// TestAgainstPublishedSpec runs the adapter through a whole lifecycle
// against the stand-in with every request and answer checked against
// Hyperstack's OpenAPI description.
func TestAgainstPublishedSpec(t *testing.T) {
	spec := loadSpec(t)
	f := setup.Serve(t, standin.Options{BootTime: 300 * time.Millisecond}, func(h http.Handler) http.Handler {
		return vendortest.Validating(t, spec, basePath, h)
	})
	ctx := context.Background()

	if _, err := f.A.Catalog(ctx); err != nil {
		t.Fatal(err)
	}
	req := createRequest(t, "NORWAY-1", "n3-L40x1")
	req.UserData = "#cloud-config\npackages: [htop]\n"
	req.Ports = []vendors.Port{{Number: 8888, Protocol: vendors.TCP}, {Number: 5353, Protocol: vendors.UDP}}
	vol, err := f.A.CreateVolume(ctx, vendors.VolumeRequest{VolumeID: uuid.NewString(), Owner: vendors.NewOwner(), Region: "NORWAY-1", SizeGB: 100})
	if err != nil {
		t.Fatal(err)
	}
	req.Volumes = []vendors.Volume{vol}
	in, err := f.A.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.A.GetVolume(ctx, vol.ID); err != nil || got.State != vendors.VolumeInUse {
		t.Errorf("the volume of a VM: %+v, %v; want it in use", got, err)
	}
	if err := f.A.DeleteVolume(ctx, vol.ID); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("deleting an attached volume: %v, want ErrInvalid", err)
	}
	if err := f.A.Terminate(ctx, in.ID); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("terminate while creating: %v, want ErrTransient", err)
	}
	if _, err := f.A.Create(ctx, createRequest(t, "CANADA-1", "n3-H100x8")); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("create sold out: %v, want ErrNoCapacity", err)
	}
	vendortest.WaitFor(t, f.A, in.ID, vendortest.Running)
	vendortest.PowerRoundTrip(t, f.A, in.ID, nil)
	if _, err := f.A.List(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.A.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, f.A, in.ID, func(_ vendors.Instance, err error) bool { return errors.Is(err, vendors.ErrNotFound) })
	if _, err := f.A.ListVolumes(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.A.DeleteVolume(ctx, vol.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.A.DeleteVolume(ctx, vol.ID); err != nil {
		t.Errorf("deleting a gone volume: %v, want nil", err)
	}

	// What the adapter does not call, the stand-in still serves to spec.
	for _, call := range []struct{ method, path string }{
		{http.MethodGet, "/core/regions"},
		{http.MethodGet, "/core/stocks"},
		{http.MethodGet, "/core/flavors?region=US-1"},
		{http.MethodGet, "/core/environments?page=1&pageSize=10"},
		{http.MethodGet, "/core/keypairs"},
		{http.MethodDelete, "/core/keypair/999"},
		{http.MethodGet, "/core/volume-types"},
	} {
		r, _ := http.NewRequest(call.method, f.Srv.URL+basePath+call.path, nil)
		r.Header["api_key"] = []string{testKey}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	r, _ := http.NewRequest(http.MethodGet, f.Srv.URL+basePath+"/core/flavors", nil)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no api_key: %d, want 401", resp.StatusCode)
	}
}

// TestWireConformance proves every wire type of the adapter and its
// stand-in against Hyperstack's published description, field by field: a
// name or type the description does not have fails here even though the
// adapter and the stand-in, sharing the type, would agree with each other.
func TestWireConformance(t *testing.T) {
	spec := loadSpec(t)
	var bindings []vendortest.Binding
	// Every refusal the adapter reads, at each status it acts on, is
	// ErrorResponseModel.
	for at, statuses := range map[string][]int{
		"POST /core/virtual-machines":           {400, 401, 404, 405, 409},
		"DELETE /core/virtual-machines/{vm_id}": {400, 404, 409},
		"GET /core/virtual-machines/{vm_id}":    {404},
		"POST /core/environments":               {409},
		"POST /core/keypairs":                   {409},
		"POST /core/volumes":                    {400, 404, 409},
		"DELETE /core/volumes/{volume_id}":      {400, 404},
	} {
		for _, status := range statuses {
			bindings = append(bindings, vendortest.Binding{At: at, Status: status, Type: errorEnvelope{}})
		}
	}
	vendortest.CheckConformance(t, vendortest.Conformance{
		Spec: spec,
		Bindings: append(bindings,
			vendortest.Binding{At: "GET /core/regions", Status: 200, Type: regionList{}},
			vendortest.Binding{At: "GET /core/flavors", Status: 200, Type: flavorList{}},
			vendortest.Binding{At: "GET /core/stocks", Status: 200, Type: stockList{}},
			vendortest.Binding{At: "GET /pricebook", Status: 200, Type: []priceEntry{}},
			vendortest.Binding{At: "GET /core/environments", Status: 200, Type: environmentList{}},
			vendortest.Binding{At: "POST /core/environments", Type: createEnvironmentPayload{}},
			vendortest.Binding{At: "POST /core/environments", Status: 200, Type: environmentResponse{}},
			vendortest.Binding{At: "GET /core/keypairs", Status: 200, Type: keypairList{}},
			vendortest.Binding{At: "POST /core/keypairs", Type: importKeypairPayload{}},
			vendortest.Binding{At: "POST /core/keypairs", Status: 200, Type: keypairResponse{}},
			vendortest.Binding{At: "DELETE /core/keypair/{id}", Status: 200, Type: okEnvelope{}},
			vendortest.Binding{At: "POST /core/virtual-machines", Type: createPayload{}},
			vendortest.Binding{At: "POST /core/virtual-machines", Status: 200, Type: createResponse{}},
			vendortest.Binding{At: "GET /core/virtual-machines", Status: 200, Type: instanceList{}},
			vendortest.Binding{At: "GET /core/virtual-machines/{vm_id}", Status: 200, Type: instanceResponse{}},
			vendortest.Binding{At: "DELETE /core/virtual-machines/{vm_id}", Status: 200, Type: okEnvelope{}},
			vendortest.Binding{At: "GET /core/volume-types", Status: 200, Type: volumeTypes{}},
			vendortest.Binding{At: "GET /core/volumes", Status: 200, Type: volumeList{}},
			vendortest.Binding{At: "POST /core/volumes", Type: createVolumePayload{}},
			vendortest.Binding{At: "POST /core/volumes", Status: 200, Type: volumeResponse{}},
			vendortest.Binding{At: "GET /core/volumes/{volume_id}", Status: 200, Type: volumeResponse{}},
			vendortest.Binding{At: "DELETE /core/volumes/{volume_id}", Status: 200, Type: okEnvelope{}},
		),
		NotWire: map[string]string{
			"savedState":   "the stand-in's state file",
			"envRecord":    "the stand-in's state file",
			"keyRecord":    "the stand-in's state file",
			"vmRecord":     "the stand-in's state file",
			"volumeRecord": "the stand-in's state file",
		},
	})
}

// TestRefusalWordings classifies refusals worded as Hyperstack's sources
// word them, none equal to the phrase the adapter matches: the matching is
// about the phrase, wherever it sits in the sentence, not about the
// stand-in's sentence.
func TestRefusalWordings(t *testing.T) {
	for _, tt := range []struct {
		status  int
		message string
		want    error
	}{
		// SkyPilot's quote of a real refusal (sky/provision/hyperstack/instance.py).
		{400, "VM t-cancel-launch-a-d3-d2-cca4b597-head is currently being created and cannot be deleted yet. Please wait until the creation process is finished before attempting deletion..", vendors.ErrTransient},
		// The description's 402 of Attach_public_IP_to_VM, as a 402 and in a 400.
		{402, "Insufficient balance to create the resource", vendors.ErrQuota},
		{400, "Insufficient balance to create the resource", vendors.ErrQuota},
		{400, "Your organization has reached its VM quota in this environment", vendors.ErrQuota},
		{400, "Flavor n3-H100x8 is out of stock in CANADA-1", vendors.ErrNoCapacity},
		{400, "Not enough stock available for flavor n3-H100x8 in region CANADA-1", vendors.ErrNoCapacity},
		// Refusals without any phrase keep their status's kind.
		{400, "Invalid security rule: direction \"in\" protocol \"tcp\"", vendors.ErrInvalid},
		{409, "Environment with name supply-canada-1 already exists", vendors.ErrInvalid},
		{401, "Invalid API key", vendors.ErrAuth},
		{404, "Virtual machine 42 not found", vendors.ErrNotFound},
		{500, "", vendors.ErrTransient},
	} {
		body, _ := json.Marshal(errorEnvelope{Message: tt.message, ErrorReason: "bad_request"})
		if tt.status == 500 {
			body = nil // the description's 500 has no body
		}
		if got := parseError(tt.status, http.Header{}, body).Kind; got != tt.want {
			t.Errorf("%d %q: %v, want %v", tt.status, tt.message, got, tt.want)
		}
	}
	e := parseError(http.StatusTooManyRequests, http.Header{}, nil)
	if e.Kind != vendors.ErrRateLimited || e.RetryAfter != time.Minute {
		t.Errorf("429 without Retry-After: %v after %v, want rate limited for the rest of the minute", e.Kind, e.RetryAfter)
	}
}
