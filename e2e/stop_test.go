package e2e

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// TestStopStart stops and starts a sandbox Hyperstack machine through the
// real binary, with the CLI, on each engine: supports_stop says who can
// (what the README's capability table says),
// the machine goes stopping → stopped → starting → running with events
// for each, a second stop is a 409, the CLI's start brings it back, a
// stopped machine deletes, and a vendor without stop is a 422.
func TestStopStart(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := Start(t, engine)
			requireDocumented(t, s.WaitVendors(t), "supports_stop", stops)
			r := rent(t, s, offerOf(t, s, "hyperstack", 0))
			waitReady(t, r, time.Minute)
			id := r.resource.String()
			cli := func(args ...string) string {
				t.Helper()
				cmd := exec.Command(Binary(t), args...)
				cmd.Env = append(s.env(), "SUPPLY_URL="+s.URL, "SUPPLY_API_KEY="+s.Key)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("supply %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return string(out)
			}
			if out := cli("stop", id); !strings.Contains(out, "Stopping resource "+id) {
				t.Errorf("supply stop: %q", out)
			}
			if code, _, body := s.Do(t, http.MethodPost, "/resources/"+id+"/stop", "", nil); code != http.StatusConflict {
				t.Errorf("a second stop: %d %s, want 409", code, body)
			}
			waitStatus(t, s, id, supplyapi.ResourceStopped)
			cli("start", id)
			running := waitStatus(t, s, id, supplyapi.ResourceRunning)
			if running.Access.SSHCommand == nil {
				t.Errorf("running again without an ssh command: %+v", running)
			}
			var events supplyapi.EventPage
			s.JSON(t, http.MethodGet, "/events?resource_id="+id, "", nil, http.StatusOK, &events)
			var seen []string
			for _, e := range events.Events {
				seen = append(seen, e.Type)
			}
			if got := strings.Join(seen, " "); !strings.Contains(got, "resource.stopping resource.stopped resource.starting resource.running") {
				t.Errorf("events %s", got)
			}
			cli("stop", id)
			waitStatus(t, s, id, supplyapi.ResourceStopped)
			if code, _, body := s.Do(t, http.MethodDelete, "/resources/"+id, "", nil); code != http.StatusOK {
				t.Fatalf("delete a stopped machine: %d %s", code, body)
			}
			waitStatus(t, s, id, supplyapi.ResourceDeleted)

			l := rent(t, s, offerOf(t, s, "lambda", 0))
			waitReady(t, l, time.Minute)
			code, _, body := s.Do(t, http.MethodPost, "/resources/"+l.resource.String()+"/stop", "", nil)
			if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "vendor lambda does not support stop and start") {
				t.Errorf("stop at lambda: %d %s, want a 422 naming the vendor", code, body)
			}
		})
	}
}

// waitStatus waits until resource id has status and returns it.
func waitStatus(t *testing.T, s *Server, id, status string) supplyapi.ResourceSummary {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var r supplyapi.ResourceSummary
		s.JSON(t, http.MethodGet, "/resources/"+id, "", nil, http.StatusOK, &r)
		if r.Status == status {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("resource %s is %s, not %s, after a minute", id, r.Status, status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
