package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"

	"github.com/gpusupply/supply/supplyapi"
)

// humaWrites is the body huma itself writes for a Body of v's type, the
// way these operations answered before they wrote their own bytes.
func humaWrites[T any](t *testing.T, v T) []byte {
	t.Helper()
	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("oracle", "1")
	cfg.CreateHooks = nil // as New does
	api := humago.New(mux, cfg)
	huma.Get(api, "/v", func(context.Context, *struct{}) (*struct{ Body T }, error) {
		return &struct{ Body T }{Body: v}, nil
	})
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v", nil))
	b, _ := io.ReadAll(w.Result().Body)
	return b
}

// TestTaggedAnswersAreHumas checks that the operations that encode their
// own answers (to tag them) write exactly the bytes huma wrote, HTML
// characters, non-ASCII, nulls and empty lists included.
func TestTaggedAnswersAreHumas(t *testing.T) {
	ts := newTestServer(t, 0)
	odd := "<gpu & co> “ünïcode” \u2028"
	status := supplyapi.OfferStatusResponse{
		OfferID: offerID, Status: "procured", CreatedAt: t0, ProcurementStatus: supplyapi.ProcurementFailed, Progress: "0/1 instances running",
		FailureReason: &odd, Instances: []supplyapi.InstanceInfo{{ResourceID: nodeID, Name: odd, Status: "failed"}}, ResourceIDs: []uuid.UUID{nodeID},
	}
	named := vmResource
	named.Name = odd
	resources := []supplyapi.ResourceSummary{clusterResource, named}
	ts.provision.answer(provisionAnswers{status: status, resources: resources})

	want := humaWrites(t, status)
	// A status of no version is encoded per poll; one of a version is
	// encoded once and then written from those bytes: all the same.
	for _, version := range []int64{0, 7, 7} {
		status.Version = version
		ts.provision.answer(provisionAnswers{status: status, resources: resources})
		r := ts.get(t, "/offers/"+offerID.String()+"/status")
		if r.status != http.StatusOK || !bytes.Equal(r.body, want) {
			t.Errorf("status answer of version %d\n got %d %q\nwant %q", version, r.status, r.body, want)
		}
	}
	// A list of no version is encoded per poll; summaries of a version are
	// written from the bytes kept of them, with their costs as they are
	// now: all the same.
	for i, cost := range []float64{12.3456, 0, 1e-7, 3, 2.5e21, -0.5} {
		list := slices.Clone(resources)
		for j := range list {
			list[j].Version = int64(min(i, 1)) * 9
			list[j].AccruedCost = cost * float64(j+1)
		}
		ts.provision.answer(provisionAnswers{status: status, resources: list})
		r := ts.get(t, "/resources")
		completeSummary(&list[1]) // what the handler gave huma
		if want := humaWrites(t, list); r.status != http.StatusOK || !bytes.Equal(r.body, want) {
			t.Errorf("resources answer of version %d, cost %v\n got %d %q\nwant %q", list[0].Version, cost, r.status, r.body, want)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	}
}

// TestETag checks conditional polling: the ETag comes back as
// If-None-Match for a bodyless 304 until the answer changes.
func TestETag(t *testing.T) {
	ts := newTestServer(t, 0)
	status := supplyapi.OfferStatusResponse{OfferID: offerID, Status: "procured", CreatedAt: t0, ProcurementStatus: supplyapi.ProcurementInProgress,
		Progress: "0/1 instances running", Instances: []supplyapi.InstanceInfo{}, ResourceIDs: []uuid.UUID{}}
	ts.provision.answer(provisionAnswers{status: status, resources: []supplyapi.ResourceSummary{vmResource}})
	paths := []string{"/offers/" + offerID.String() + "/status", "/resources"}
	tags := map[string]string{}
	for _, path := range paths {
		first := ts.get(t, path)
		tag := first.header.Get("ETag")
		if first.status != http.StatusOK || len(tag) < 10 || tag[:3] != `W/"` {
			t.Fatalf("%s: %d with ETag %q", path, first.status, tag)
		}
		tags[path] = tag
		if again := ts.get(t, path); again.header.Get("ETag") != tag {
			t.Errorf("%s: the same answer got ETag %q, then %q", path, tag, again.header.Get("ETag"))
		}
		for _, inm := range []string{tag, tag[2:], `"other", ` + tag, "*"} {
			r := ts.conditional(t, path, inm)
			if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != tag {
				t.Errorf("%s If-None-Match %s: %d %q ETag %q, want 304 without a body", path, inm, r.status, r.body, r.header.Get("ETag"))
			}
		}
		if r := ts.conditional(t, path, `W/"other"`); r.status != http.StatusOK || !bytes.Equal(r.body, first.body) {
			t.Errorf("%s with a stale tag: %d, want the answer", path, r.status)
		}
	}

	// Any change makes the old tag stale.
	status.ProcurementStatus, status.Progress = supplyapi.ProcurementReady, "1/1 instances running"
	running := vmResource
	running.Status = supplyapi.ResourceRunning
	ts.provision.answer(provisionAnswers{status: status, resources: []supplyapi.ResourceSummary{running}})
	for _, path := range paths {
		r := ts.conditional(t, path, tags[path])
		if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`running`)) || r.header.Get("ETag") == tags[path] {
			t.Errorf("%s changed, polled with the old tag: %d %q ETag %q", path, r.status, r.body, r.header.Get("ETag"))
		}
	}
}

// TestStatusAnswersFollowVersion checks that a status answer is encoded
// again exactly when the status's version changes (or it has none), and
// that a conditional poll of a kept answer still gets its 304.
func TestStatusAnswersFollowVersion(t *testing.T) {
	ts := newTestServer(t, 0)
	path := "/offers/" + offerID.String() + "/status"
	status := supplyapi.OfferStatusResponse{OfferID: offerID, Status: "procured", CreatedAt: t0, ProcurementStatus: supplyapi.ProcurementInProgress,
		Progress: "0/1 instances running", Instances: []supplyapi.InstanceInfo{}, ResourceIDs: []uuid.UUID{}, Version: 3}
	poll := func(progress string, version int64) response {
		t.Helper()
		st := status
		st.Progress, st.Version = progress, version
		ts.provision.answer(provisionAnswers{status: st})
		return ts.get(t, path)
	}
	first := poll("0/1 instances running", 3)
	// The same version promises the same status: the kept bytes are
	// written, whatever the service renders (here, on purpose, it differs).
	if r := poll("not what version 3 said", 3); !bytes.Equal(r.body, first.body) || r.header.Get("ETag") != first.header.Get("ETag") {
		t.Errorf("same version: got %q, want the kept answer %q", r.body, first.body)
	}
	if r := ts.conditional(t, path, first.header.Get("ETag")); r.status != http.StatusNotModified {
		t.Errorf("kept answer polled with its tag: %d, want 304", r.status)
	}
	if r := poll("1/1 instances running", 4); !bytes.Contains(r.body, []byte(`"1/1 instances running"`)) || r.header.Get("ETag") == first.header.Get("ETag") {
		t.Errorf("new version: got %q ETag %q", r.body, r.header.Get("ETag"))
	}
	// An older version never replaces the answer of a newer one.
	poll("0/1 instances running", 3)
	if r := poll("anything", 4); !bytes.Contains(r.body, []byte(`"1/1 instances running"`)) {
		t.Errorf("version 4 after a poll of version 3: got %q", r.body)
	}
	for _, progress := range []string{"a", "b"} {
		if r := poll(progress, 0); !bytes.Contains(r.body, []byte(`"progress":"`+progress+`"`)) {
			t.Errorf("no version: got %q, want progress %q", r.body, progress)
		}
	}
}

// conditional GETs path with If-None-Match.
func (ts *testServer) conditional(t *testing.T, path, ifNoneMatch string) response {
	t.Helper()
	req := ts.newRequest(t, http.MethodGet, path, "", "", "Bearer "+ts.key)
	req.Header.Set("If-None-Match", ifNoneMatch)
	return ts.send(t, req)
}
