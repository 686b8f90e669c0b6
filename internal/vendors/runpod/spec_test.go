package runpod

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// specPath is RunPod's published REST v2 description in the vendor specs.
const specPath = "runpod/api-reference-v2/openapi.json"

// TestWireConformance proves every wire type of the adapter and its
// stand-in against RunPod's own OpenAPI description, field by field: a
// name or type the description does not have fails here even though the
// adapter and the stand-in, sharing the type, would agree with each other.
func TestWireConformance(t *testing.T) {
	vendortest.CheckConformance(t, vendortest.Conformance{
		Spec:     loadSpec(t),
		Bindings: wireBindings(),
		NotWire: map[string]string{
			"savedState":    "the stand-in's state file",
			"podRecord":     "the stand-in's state file",
			"clusterRecord": "the stand-in's state file",
			"volumeRecord":  "the stand-in's state file",
		},
	})
}

// wireBindings ties each wire type to the operation whose JSON it is:
// what the adapter sends and reads, and what the stand-in answers.
func wireBindings() []vendortest.Binding {
	var b []vendortest.Binding
	for _, status := range []int{400, 401, 403, 404, 422, 429} {
		b = append(b, vendortest.Binding{At: "POST /v2/pods", Status: status, Type: problem{}})
	}
	return append(b,
		vendortest.Binding{At: "DELETE /v2/pods/{id}", Status: 409, Type: problem{}},
		vendortest.Binding{At: "DELETE /v2/clusters/{id}", Status: 404, Type: problem{}},
		vendortest.Binding{At: "GET /v2/clusters/{id}", Status: 404, Type: problem{}},
		vendortest.Binding{At: "GET /v2/catalog/gpus", Status: 200, Type: gpuList{}},
		vendortest.Binding{At: "GET /v2/catalog/datacenters", Status: 200, Type: dataCenterList{}},
		vendortest.Binding{At: "GET /v2/pods", Status: 200, Type: podList{}},
		vendortest.Binding{At: "POST /v2/pods", Type: createPodRequest{}},
		vendortest.Binding{At: "POST /v2/pods", Status: 201, Type: pod{}},
		vendortest.Binding{At: "GET /v2/pods/{id}", Status: 200, Type: pod{}},
		vendortest.Binding{At: "GET /v2/clusters", Status: 200, Type: clusterList{}},
		vendortest.Binding{At: "POST /v2/clusters", Type: createClusterRequest{}},
		vendortest.Binding{At: "POST /v2/clusters", Status: 201, Type: cluster{}},
		vendortest.Binding{At: "GET /v2/clusters/{id}", Status: 200, Type: cluster{}},
		vendortest.Binding{At: "GET /v2/clusters/{id}/pods", Status: 200, Type: podList{}},
		vendortest.Binding{At: "POST /v2/pods/{id}/action", Type: podActionRequest{}},
		vendortest.Binding{At: "POST /v2/pods/{id}/action", Status: 200, Type: pod{}},
		vendortest.Binding{At: "POST /v2/pods/{id}/action", Status: 409, Type: problem{}},
		vendortest.Binding{At: "GET /v2/network-volumes", Status: 200, Type: networkVolumeList{}},
		vendortest.Binding{At: "POST /v2/network-volumes", Type: createNetworkVolumeRequest{}},
		vendortest.Binding{At: "POST /v2/network-volumes", Status: 201, Type: networkVolume{}},
		vendortest.Binding{At: "GET /v2/network-volumes/{id}", Status: 200, Type: networkVolume{}},
		vendortest.Binding{At: "GET /v2/network-volumes/{id}", Status: 404, Type: problem{}},
	)
}

// TestDocumentedErrorStatuses classifies every error status RunPod's
// description documents for the operations supply uses, plus the ones
// createPod's "Which failures are worth retrying" table adds in prose
// (402, 5xx), against the kinds that table and components/responses give.
func TestDocumentedErrorStatuses(t *testing.T) {
	spec := loadSpec(t)
	kinds := map[int]error{
		400: vendors.ErrInvalid, // BadRequestError (a capacity detail: TestCapacityIsMatchedByPhrase)
		401: vendors.ErrAuth,    // UnauthorizedError
		402: vendors.ErrQuota,   // createPod: "Insufficient balance. Stop; no candidate will succeed."
		403: vendors.ErrAuth,    // ForbiddenError
		404: vendors.ErrNotFound,
		409: vendors.ErrInvalid, // deletePod: the pod belongs to a cluster
		422: vendors.ErrInvalid, // createPod: "Fix the request. Never retry."
		429: vendors.ErrRateLimited,
		500: vendors.ErrTransient, // createPod: "5xx Transient upstream failure"
		502: vendors.ErrTransient,
		503: vendors.ErrTransient,
	}
	creates := map[string]bool{"POST /v2/pods": true, "POST /v2/clusters": true}
	createKinds := map[int]error{
		403: vendors.ErrNoCapacity, // createPod: "cannot access the requested pool. Skip this candidate"
		404: vendors.ErrInvalid,    // the template or GPU type named does not exist
	}
	for _, op := range vendortest.Operations(t, spec, wireBindings()) {
		statuses := []int{402, 500, 502, 503}
		for code := range op.Responses.Map() {
			if n, err := strconv.Atoi(code); err == nil && n >= 400 {
				statuses = append(statuses, n)
			}
		}
		for _, status := range statuses {
			want, ok := kinds[status]
			if w, special := createKinds[status]; special && creates[op.At] {
				want = w
			}
			if !ok {
				t.Errorf("%s documents %d, which this test does not classify", op.At, status)
				continue
			}
			body, _ := json.Marshal(problem{Title: http.StatusText(status), Status: status, Detail: "refused"})
			e := parseError(status, nil, body)
			e.Status = status
			var err error = e
			if creates[op.At] {
				err = createError(err)
			}
			if got := vendortest.Kind(err); got != want {
				t.Errorf("%s answered %d: %v, want %v", op.At, status, got, want)
			}
		}
	}
}

// loadSpec loads RunPod's REST v2 description. It is the package's one
// table of spec patches, and it is empty: every field supply and the
// stand-in use is in the description as published, so nothing rests on
// an allowance. (The deprecated v1 description is not consulted.)
func loadSpec(t *testing.T) *openapi3.T {
	return vendortest.LoadSpec(t, specPath)
}

// TestAgainstPublishedSpec runs the adapter through a pod's and a
// cluster's whole lifecycle against the stand-in with every request and
// answer checked against RunPod's OpenAPI description.
func TestAgainstPublishedSpec(t *testing.T) {
	spec := loadSpec(t)
	f := setup.Serve(t, standin.Options{BootTime: 300 * time.Millisecond}, func(h http.Handler) http.Handler {
		return vendortest.Validating(t, spec, "", h)
	})
	ctx := context.Background()

	if _, err := f.A.Catalog(ctx); err != nil {
		t.Fatal(err)
	}
	req := createRequest(t, "EU-RO-1", shape{gpuID: "NVIDIA L40S", count: 1, cloud: cloudSecure})
	req.UserData = "#!/bin/bash\necho hello\n"
	req.Ports = []vendors.Port{{Number: 8888, Protocol: vendors.TCP}}
	in, err := f.A.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.A.Create(ctx, createRequest(t, "EU-SE-1", shape{gpuID: "NVIDIA H100 80GB HBM3", count: 1, cloud: cloudSecure})); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("create sold out: %v, want ErrNoCapacity", err)
	}
	f.SI.DenyPool("NVIDIA B200")
	if _, err := f.A.Create(ctx, createRequest(t, "US-TX-3", shape{gpuID: "NVIDIA B200", count: 1, cloud: cloudSecure})); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("create in a pool the account cannot access: %v, want ErrNoCapacity", err)
	}
	vendortest.WaitFor(t, f.A, in.ID, vendortest.Running)
	vendortest.PowerRoundTrip(t, f.A, in.ID, nil)
	if _, err := f.A.List(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.A.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, f.A, in.ID, vendortest.Gone)

	nodes := createCluster(t, f, "US-KS-2", 2)
	if err := f.A.Terminate(ctx, nodes[1].ID); err != nil { // a member: deletes the cluster
		t.Fatal(err)
	}
	if err := f.A.DeleteCluster(ctx, sentClusterID(t, f)); err != nil {
		t.Fatal(err)
	}

	// What the adapter does not call, the stand-in still serves to spec.
	for _, path := range []string{
		"/v2/catalog/datacenters?include=GPU_AVAILABILITY&regions=EUROPE,ASIA",
		"/v2/catalog/gpus",
		"/v2/catalog/gpus?include=AVAILABILITY",
		"/v2/pods",
		"/v2/pods/nope",
		"/v2/clusters/nope",
	} {
		r, _ := http.NewRequest(http.MethodGet, f.Srv.URL+path, nil)
		r.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(f.Srv.URL + "/v2/pods")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no bearer token: %d, want 401", resp.StatusCode)
	}
}
