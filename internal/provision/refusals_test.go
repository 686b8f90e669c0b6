package provision_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/provision"
	"github.com/gpusupply/supply/internal/sandbox"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/supplyapi"
)

// lockedBuffer is a log destination that several goroutines write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// configuredIdentifiers are the values an operator configured vendor's
// adapter with that name its account (keys, client, project, tenant and
// service account ids), as the sandbox tells another installation to set
// them: not URLs, files, zones, regions or switches, which every offer
// shows or no refusal holds.
func configuredIdentifiers(t *testing.T, dir, vendor string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "sandbox", sandbox.EndpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	var endpoints sandbox.Endpoints
	if err := json.Unmarshal(b, &endpoints); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for name, value := range endpoints[vendor] {
		switch {
		case strings.HasSuffix(name, "_URL"), strings.HasSuffix(name, "_ENDPOINT"), strings.HasSuffix(name, "_FILE"),
			strings.HasSuffix(name, "_INSECURE"), strings.HasSuffix(name, "_ZONES"), strings.HasSuffix(name, "_REGIONS"):
		case strings.HasSuffix(name, "_PROJECTS"): // region=project,...
			for _, pair := range strings.Split(value, ",") {
				_, project, _ := strings.Cut(pair, "=")
				ids = append(ids, project)
			}
		default:
			ids = append(ids, value)
		}
	}
	if len(ids) == 0 {
		t.Fatalf("the sandbox configures %s with no identifiers: %v", vendor, endpoints[vendor])
	}
	return ids
}

// TestRefusalsReachTenantsRedacted: for every vendor, a refusal to create
// whose message names the operator's vendor account (what its adapter was
// configured with, and an e-mail, an ARN, a project path, an internal host
// and someone's UUID) reaches the renter's failure_reason as the kind of
// refusal and the message without them; the operator's log has the whole
// message, and the refusal is counted by vendor and kind.
func TestRefusalsReachTenantsRedacted(t *testing.T) {
	logs := &lockedBuffer{}
	e := newEnv(t, "sqlite", func(c *provision.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	})
	general := []string{"ops-billing@operator.example", "arn:aws:iam::123456789012:role/gpu-fleet",
		"projects/acme-internal-ml", "gw-7.fleet.internal", "9d4a3c21-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}
	// Each vendor's create request, as its stand-in sees it.
	creates := map[string]struct{ method, path string }{
		"lambda":       {http.MethodPost, "/api/v1/instance-operations/launch"},
		"hyperstack":   {http.MethodPost, "/v1/core/virtual-machines"},
		"scaleway":     {http.MethodPost, "/instance/v1/zones/"},
		"verda":        {http.MethodPost, "/v1/instances"},
		"runpod":       {http.MethodPost, "/v2/pods"},
		"nebius":       {http.MethodPost, "/nebius.compute.v1.InstanceService/Create"},
		"vastai":       {http.MethodPut, "/api/v0/asks/"},
		"vultr":        {http.MethodPost, "/v2/instances"},
		"aws":          {http.MethodPost, "/RunInstances"}, // aws.ActionPath
		"digitalocean": {http.MethodPost, "/v2/droplets"},
	}
	for _, vendor := range vendors.Slugs {
		t.Run(vendor, func(t *testing.T) {
			c, ok := creates[vendor]
			if !ok {
				t.Fatalf("no create request known for %s: add it to this test", vendor)
			}
			configured := configuredIdentifiers(t, e.dir, vendor)
			// The sandbox's identifiers are random tokens, which the
			// redaction's patterns catch anyway; an operator's may be a
			// plain word, which only the adapter's list names.
			var named []string
			if ids, ok := e.vendors[vendor].(vendors.AccountIdentifiers); ok {
				named = ids.AccountIdentifiers()
			}
			for _, id := range configured {
				if !slices.Contains(named, id) {
					t.Errorf("%s's adapter does not name %q among its account identifiers %q", vendor, id, named)
				}
			}
			secret := append(configured, general...)
			message := "launch refused for " + strings.Join(secret, " and ")
			si, ok := e.sb.StandIn(vendor)
			if !ok {
				t.Fatalf("no %s stand-in", vendor)
			}
			si.Faults().Add(standin.Rule{Method: c.method, PathPrefix: c.path, Status: http.StatusBadRequest, Message: message, Times: 1})
			o := e.offer(vendor, "H100")
			resp := e.procure(o, nil)
			st := e.waitStatus(o.OfferID, "failed", failed)
			r := e.waitResource(resp.ResourceIDs[0], supplyapi.ResourceFailed)
			row, err := e.st.ResourceByID(t.Context(), resp.ResourceIDs[0].String())
			if err != nil {
				t.Fatal(err)
			}
			for what, text := range map[string]*string{
				"procurement's failure_reason": st.FailureReason, "resource's failure_reason": &row.FailureReason,
				"resource's status_message": r.StatusMessage,
			} {
				if text == nil {
					t.Errorf("%s: none", what)
					continue
				}
				if !strings.HasPrefix(*text, "invalid request: ") || !strings.Contains(*text, "launch refused for ") || !strings.Contains(*text, "<redacted>") {
					t.Errorf("%s: %q, want the kind of refusal and the vendor's message, redacted", what, *text)
				}
				for _, s := range secret {
					if strings.Contains(strings.ToLower(*text), strings.ToLower(s)) {
						t.Errorf("%s shows the tenant %q: %s", what, s, *text)
					}
				}
			}
			if !strings.Contains(logs.String(), strings.ReplaceAll(message, "/", `\/`)) && !strings.Contains(logs.String(), message) {
				t.Errorf("the log lacks the vendor's whole message %q", message)
			}
			if n := metricValue(t, e.reg, "supply_vendor_refusals_total", "vendor", vendor, "kind", "invalid"); n != 1 {
				t.Errorf("supply_vendor_refusals_total{vendor=%q,kind=\"invalid\"} = %v, want 1", vendor, n)
			}
		})
	}
}

// TestDeletionTroubleReachesTenantsRedacted: while a vendor keeps refusing
// to terminate, the renter reads why in status_message, without the
// operator's account in it.
func TestDeletionTroubleReachesTenantsRedacted(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	o := e.offer("lambda", "H100")
	resp := e.procure(o, nil)
	e.waitStatus(o.OfferID, "ready", ready)
	secret := append(configuredIdentifiers(t, e.dir, "lambda"), "ops-billing@operator.example")
	si, _ := e.sb.StandIn("lambda")
	si.Faults().Add(standin.Rule{Method: http.MethodPost, PathPrefix: "/api/v1/instance-operations/terminate",
		Status: http.StatusServiceUnavailable, Message: "terminate refused for " + strings.Join(secret, " and ")})
	id := resp.ResourceIDs[0]
	if _, err := e.svc.Delete(t.Context(), 1, id, false); err != nil {
		t.Fatal(err)
	}
	var msg string
	for deadline := time.Now().Add(20 * time.Second); !strings.HasPrefix(msg, "deletion retrying: "); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("status_message never said the deletion is retrying; last %q", msg)
		}
		r, err := e.svc.Resource(t.Context(), 1, id, false)
		if err != nil {
			t.Fatal(err)
		}
		msg = ""
		if r.StatusMessage != nil {
			msg = *r.StatusMessage
		}
	}
	if !strings.Contains(msg, "terminate refused for <redacted>") {
		t.Errorf("status_message %q, want the vendor's message, redacted", msg)
	}
	for _, s := range secret {
		if strings.Contains(msg, s) {
			t.Errorf("status_message shows the tenant %q: %s", s, msg)
		}
	}
	si.Faults().Clear()
	e.waitResource(id, supplyapi.ResourceDeleted)
}
