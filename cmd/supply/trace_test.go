package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/gpusupply/supply/internal/api"
	"github.com/gpusupply/supply/internal/telemetry"
	"github.com/gpusupply/supply/supplyapi"
)

// TestProcurementTrace runs the server in this process with an in-memory
// span exporter and procures one offer on a REST vendor (Lambda) and one
// on a gRPC vendor (Nebius): each procurement is one trace, from the
// procure_offer server span through the procure job's steps to the
// vendor's client spans, all naming the resource and the vendor.
func TestProcurementTrace(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	telemetry.Install(tp)
	base, key := startInProcess(t, "--sandbox-boot-time", "500ms")

	for _, vendor := range []string{"lambda", "nebius"} {
		t.Run(vendor, func(t *testing.T) {
			resourceID := procureAndWait(t, base, key, vendor)
			// The step that made the procurement ready ends its span just
			// after: wait until every ended span's parent has ended too.
			spans := recorder.Ended()
			for deadline := time.Now().Add(10 * time.Second); !parentsEnded(spans) && time.Now().Before(deadline); spans = recorder.Ended() {
				time.Sleep(20 * time.Millisecond)
			}
			var procure sdktrace.ReadOnlySpan
			for _, s := range spans {
				if s.Name() == api.OperationID("procure_offer", http.MethodPost, "/procure_offer") && hasAttr(s, "resource_id", resourceID) {
					procure = s
				}
			}
			if procure == nil {
				t.Fatalf("no procure_offer span with resource_id %s among %d spans", resourceID, len(spans))
			}
			if procure.SpanKind() != trace.SpanKindServer || !hasAttr(procure, "vendor", vendor) {
				t.Errorf("procure_offer span: kind %s, attributes %v", procure.SpanKind(), procure.Attributes())
			}
			// Every span of the trace, by id, to walk up parents.
			byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
			for _, s := range spans {
				if s.SpanContext().TraceID() == procure.SpanContext().TraceID() {
					byID[s.SpanContext().SpanID()] = s
				}
			}
			descends := func(s sdktrace.ReadOnlySpan, from sdktrace.ReadOnlySpan) bool {
				for p := s.Parent(); p.IsValid(); {
					if p.SpanID() == from.SpanContext().SpanID() {
						return true
					}
					up, ok := byID[p.SpanID()]
					if !ok {
						return false
					}
					p = up.Parent()
				}
				return false
			}
			var steps, vendorCalls int
			for _, s := range byID {
				switch {
				case s.Name() == "river.work/procure":
					steps++
					if !descends(s, procure) || !hasAttr(s, "resource_id", resourceID) || !hasAttr(s, "vendor", vendor) {
						t.Errorf("job step span %s: parent %s, attributes %v", s.Name(), s.Parent().SpanID(), s.Attributes())
					}
				case s.SpanKind() == trace.SpanKindClient && hasAttr(s, "vendor", vendor):
					vendorCalls++
					if !descends(s, procure) {
						t.Errorf("vendor call span %s is not under the procure_offer span", s.Name())
					}
				}
			}
			// Create, then look at the instance until it runs: two steps at least.
			if steps < 2 || vendorCalls < 2 {
				t.Errorf("trace of the procurement: %d procure steps and %d %s calls, want at least 2 of each; spans: %s",
					steps, vendorCalls, vendor, names(byID))
			}
		})
	}
}

// parentsEnded reports whether the parent of every span that has one
// within its trace is among spans.
func parentsEnded(spans []sdktrace.ReadOnlySpan) bool {
	ended := map[trace.SpanID]bool{}
	for _, s := range spans {
		ended[s.SpanContext().SpanID()] = true
	}
	for _, s := range spans {
		if p := s.Parent(); p.IsValid() && !p.IsRemote() && !ended[p.SpanID()] {
			return false
		}
	}
	return true
}

// startInProcess runs `supply server` in this process on a fresh data
// dir and a free port, and answers its URL and initial API key.
func startInProcess(t *testing.T, flags ...string) (string, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dataDir := t.TempDir()
	cmd := serverCommand()
	cmd.SetArgs(append([]string{"--listen", addr, "--metrics-listen", "", "--data-dir", dataDir, "--log-level", "warn", "--sandbox-steady-stock"}, flags...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("server not ready")
		}
	}
	key, err := os.ReadFile(filepath.Join(dataDir, "initial-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	apiKey := strings.TrimSpace(string(key))
	// Wait for every vendor's first catalog read, as e2e.Server.WaitVendors does.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var vs []supplyapi.VendorStatus
		apiCall(t, base, apiKey, http.MethodGet, "/available_vendors", nil, &vs)
		if len(vs) > 0 && !slices.ContainsFunc(vs, func(v supplyapi.VendorStatus) bool { return v.Status == "starting" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("vendor catalogs not read: %+v", vs)
		}
	}
	return base, apiKey
}

// apiCall sends in as JSON with the API key, decodes the answer into out
// (when not nil) and answers the status code.
func apiCall(t *testing.T, base, key, method, path string, in, out any) int {
	t.Helper()
	var body bytes.Buffer
	if in != nil {
		json.NewEncoder(&body).Encode(in)
	}
	req, _ := http.NewRequest(method, base+path, &body)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// procureAndWait procures vendor's cheapest single-machine H100 and
// waits until its resource is running.
func procureAndWait(t *testing.T, base, key, vendor string) string {
	t.Helper()
	call := func(method, path string, in, out any) int { return apiCall(t, base, key, method, path, in, out) }
	var offered supplyapi.OfferResult
	call(http.MethodPost, "/get_offers", map[string]any{"vendor": vendor, "compute": map[string]any{"gpu_type": "H100", "gpu_count": 1}, "limit": 20}, &offered)
	i := slices.IndexFunc(offered.Offers, func(o supplyapi.Offer) bool { return o.NodeCount == nil || *o.NodeCount <= 1 })
	if i < 0 {
		t.Fatalf("no single-machine %s H100 among %d offers", vendor, len(offered.Offers))
	}
	var procured supplyapi.ProcureOfferResponse
	if code := call(http.MethodPost, "/procure_offer", map[string]any{"offer_id": offered.Offers[i].OfferID, "ssh_public_key": testSSHKey}, &procured); code != http.StatusOK || len(procured.ResourceIDs) != 1 {
		t.Fatalf("procure %s offer %s: %d %+v", vendor, offered.Offers[i].OfferID, code, procured)
	}
	id := procured.ResourceIDs[0].String()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var r struct{ Status string }
		call(http.MethodGet, "/resources/"+id, nil, &r)
		if r.Status == supplyapi.ResourceRunning {
			return id
		}
		if time.Now().After(deadline) || r.Status == supplyapi.ResourceFailed {
			t.Fatalf("resource %s is %q", id, r.Status)
		}
	}
}

func hasAttr(s sdktrace.ReadOnlySpan, key, value string) bool {
	for _, a := range s.Attributes() {
		if string(a.Key) == key && a.Value.AsString() == value {
			return true
		}
	}
	return false
}

func names(spans map[trace.SpanID]sdktrace.ReadOnlySpan) string {
	var out []string
	for _, s := range spans {
		out = append(out, fmt.Sprintf("%s(%s)", s.Name(), s.SpanKind()))
	}
	return strings.Join(out, ", ")
}
