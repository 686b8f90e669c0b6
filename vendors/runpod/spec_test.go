package runpod

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gpusupply/supply/vendors"
	"github.com/gpusupply/supply/vendors/standin"
	"github.com/gpusupply/supply/vendors/vendortest"
)

// specPath is RunPod's published REST v2 description in the vendor specs.
const specPath = "runpod/api-reference-v2/openapi.json"

// TestAgainstPublishedSpec runs the adapter through a pod's and a
// cluster's whole lifecycle against the stand-in with every request and
// answer checked against RunPod's OpenAPI description.
func TestAgainstPublishedSpec(t *testing.T) {
	spec := vendortest.LoadSpec(t, specPath)
	f := newFixture(t, standin.Options{BootTime: 300 * time.Millisecond}, func(h http.Handler) http.Handler {
		return vendortest.Validating(t, spec, "", h)
	})
	ctx := context.Background()

	if _, err := f.a.Catalog(ctx); err != nil {
		t.Fatal(err)
	}
	req := createRequest(t, "EU-RO-1", shape{gpuID: "NVIDIA L40S", count: 1, cloud: cloudSecure})
	req.UserData = "#!/bin/bash\necho hello\n"
	in, err := f.a.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Create(ctx, createRequest(t, "EU-SE-1", shape{gpuID: "NVIDIA H100 80GB HBM3", count: 1, cloud: cloudSecure})); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("create sold out: %v, want ErrNoCapacity", err)
	}
	vendortest.WaitFor(t, f.a, in.ID, vendortest.Running)
	if _, err := f.a.List(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.a.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, f.a, in.ID, vendortest.Gone)

	nodes := createCluster(t, f, "US-KS-2", 2)
	if err := f.a.Terminate(ctx, nodes[1].ID); err != nil { // a member: deletes the cluster
		t.Fatal(err)
	}
	if err := f.a.DeleteCluster(ctx, sentClusterID(t, f)); err != nil {
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
		r, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
		r.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(f.srv.URL + "/v2/pods")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no bearer token: %d, want 401", resp.StatusCode)
	}
}
