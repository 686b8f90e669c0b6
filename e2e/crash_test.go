package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/supplyapi"
)

// TestCrashLeavesNoLeakAndNoDuplicate procures 20 offers and deletes 10 of
// the resources while the server is killed with SIGKILL at random moments
// and restarted, ten times, with the default job settings; everything
// settles within a minute of the last restart. At the end every resource is running or deleted, and the
// vendors' consoles show exactly one live instance per running resource.
func TestCrashLeavesNoLeakAndNoDuplicate(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			crashTest(t, engine)
		})
	}
}

func crashTest(t *testing.T, engine string) {
	// The default job settings: taking over a killed process's jobs must
	// be quick as shipped, not only when tuned for a test.
	s := Start(t, engine,
		"--sandbox-boot-time", "1500ms",
		"--reconcile-every", "5s",
	)
	s.WaitVendors(t)
	picked := pickOffers(t, s, 20)
	c := &retryingClient{url: s.URL, key: s.Key, http: &http.Client{Timeout: 5 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	type outcome struct {
		resources []uuid.UUID
		deleted   bool
		err       error
	}
	results := make([]outcome, len(picked))
	// run procures offer i after delay and deletes every other one (with
	// force: some are still provisioning, which a delete cancels).
	run := func(i int, delay time.Duration) {
		time.Sleep(delay)
		req := supplyapi.ProcureOfferRequest{OfferID: picked[i].OfferID, SSHPublicKey: crashKey}
		var resp supplyapi.ProcureOfferResponse
		// The Idempotency-Key makes a retry after a lost answer safe.
		err := c.call(ctx, http.MethodPost, "/procure_offer", picked[i].OfferID.String(), req, &resp, http.StatusOK)
		results[i].resources, results[i].err = resp.ResourceIDs, err
		if err != nil || i%2 == 1 {
			return
		}
		time.Sleep(rand.N(2 * time.Second))
		var del supplyapi.DeleteResourceResponse
		err = c.call(ctx, http.MethodDelete, "/resources/"+resp.ResourceIDs[0].String()+"?force=true", "", nil, &del, http.StatusOK)
		results[i].deleted, results[i].err = err == nil, err
	}
	// The first half is spread over kills at random moments.
	half := len(picked) / 2
	var wg sync.WaitGroup
	for i := range half {
		wg.Go(func() { run(i, rand.N(8*time.Second)) })
	}
	for range kills - 1 {
		time.Sleep(500*time.Millisecond + rand.N(1500*time.Millisecond))
		s.Kill(t)
		s.Restart(t)
	}
	wg.Wait()
	// The second half is in flight at the last kill: answered, its
	// instances booting or terminating. What the kill interrupts must
	// settle within settleBound of the restart.
	for i := half; i < len(picked); i++ {
		wg.Go(func() { run(i, 0) })
	}
	wg.Wait()
	s.Kill(t)
	s.Restart(t)
	lastRestart := time.Now()

	want := map[uuid.UUID]string{}
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("offer %d: %v", i, r.err)
		}
		status := supplyapi.ResourceRunning
		if r.deleted {
			status = supplyapi.ResourceDeleted
		}
		want[r.resources[0]] = status
	}
	// Everything interrupted settles within a minute of the last restart.
	settled := waitSettled(t, s, want, time.Until(lastRestart.Add(settleBound)))
	settleTook := time.Since(lastRestart)

	var console []standin.ConsoleEntry
	s.JSON(t, http.MethodGet, "/sandbox/instances", "", nil, http.StatusOK, &console)
	live := map[string]int{}
	for _, in := range console {
		if in.Live {
			live[vendors.ResourceIDFromName(in.Name)]++
		}
	}
	running := 0
	for id, status := range settled {
		n := live[id.String()]
		delete(live, id.String())
		switch {
		case status == supplyapi.ResourceRunning && n != 1:
			t.Errorf("running resource %s has %d live instances, want exactly 1", id, n)
		case status != supplyapi.ResourceRunning && n != 0:
			t.Errorf("%s resource %s still has %d live instances (a leak)", status, id, n)
		}
		if status == supplyapi.ResourceRunning {
			running++
		}
	}
	for name, n := range live {
		t.Errorf("%d live instance(s) of resource %q belong to no resource we kept (a leak)", n, name)
	}
	// The sandbox's moving stock may refuse a few launches (a clean "no
	// capacity" failure is accepted above), but most must run: a run in
	// which nothing ever runs is a failure, not a pass.
	if wantRunning := len(picked) / 2; running < wantRunning*2/3 {
		t.Errorf("%d of %d kept resources running, want at least %d", running, wantRunning, wantRunning*2/3)
	}
	t.Logf("%s: %d running, %d deleted, %d offers, %d kills; settled %.1fs after the last restart",
		engine, running, len(settled)-running, len(picked), kills, settleTook.Seconds())
}

// kills is how many times the crash test kills the server; settleBound is
// how soon after the last restart everything must have settled.
const (
	kills       = 10
	settleBound = 60 * time.Second
)

// crashKey is any valid OpenSSH key: readiness reads the SSH server's
// version line and never logs in, so no test needs its private half.
const crashKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZ1c3VwcGx5dGVzdGtleWZvcnByb3Zpc2lvbmluZzAx crash@test"

// pickOffers takes n distinct single-machine offers, spread over vendors.
func pickOffers(t *testing.T, s *Server, n int) []supplyapi.Offer {
	t.Helper()
	byVendor := map[string][]supplyapi.Offer{}
	for _, gpu := range []string{"H100", "A100", "L40S", "L4", "RTX 4090", "H200", "A6000"} {
		var res supplyapi.OfferResult
		body := fmt.Sprintf(`{"compute":{"gpu_type":%q},"limit":200}`, gpu)
		if code, _, b := s.Do(t, http.MethodPost, "/get_offers", "application/json", []byte(body)); code == http.StatusOK {
			json.Unmarshal(b, &res)
		}
		for _, o := range res.Offers {
			byVendor[o.Vendor] = append(byVendor[o.Vendor], o)
		}
	}
	if len(byVendor) != len(vendors.Slugs) {
		t.Fatalf("offers from %d vendors, want all %d in the crash test", len(byVendor), len(vendors.Slugs))
	}
	var picked []supplyapi.Offer
	for len(picked) < n {
		progress := false
		for v, list := range byVendor {
			if len(list) > 0 && len(picked) < n {
				picked, byVendor[v], progress = append(picked, list[0]), list[1:], true
			}
		}
		if !progress {
			t.Fatalf("only %d offers in the sandbox, want %d", len(picked), n)
		}
	}
	return picked
}

// waitSettled waits until every resource has the status wanted of it. A
// resource the vendor could not supply (failed, out of stock in the
// sandbox's moving stock) is accepted when it failed cleanly; it is
// reported as failed.
func waitSettled(t *testing.T, s *Server, want map[uuid.UUID]string, limit time.Duration) map[uuid.UUID]string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var list []supplyapi.ResourceSummary
		s.JSON(t, http.MethodGet, "/resources", "", nil, http.StatusOK, &list)
		got := map[uuid.UUID]string{}
		done := true
		var pending []string
		for _, r := range list {
			if _, ok := want[r.ResourceID]; !ok {
				continue
			}
			got[r.ResourceID] = r.Status
			cleanFailure := r.Status == supplyapi.ResourceFailed && r.ValidTo != nil && r.StatusMessage != nil &&
				strings.HasPrefix(*r.StatusMessage, "no capacity")
			if r.Status != want[r.ResourceID] && !cleanFailure {
				done = false
				pending = append(pending, fmt.Sprintf("%s %s (want %s)", r.Vendor, r.Status, want[r.ResourceID]))
			}
		}
		if done && len(got) == len(want) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("resources did not settle within %s: %v\n%s", limit, pending, s.tail())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// retryingClient calls the API through crashes: it retries until the
// server answers the wanted status, or another definite answer.
type retryingClient struct {
	url, key string
	http     *http.Client
}

func (c *retryingClient) call(ctx context.Context, method, path, idempotencyKey string, in, out any, want int) error {
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	for {
		req, err := http.NewRequestWithContext(ctx, method, c.url+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.key)
		req.Header.Set("Content-Type", "application/json")
		if idempotencyKey != "" {
			req.Header.Set("Idempotency-Key", idempotencyKey)
		}
		resp, err := c.http.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == want:
				return json.Unmarshal(b, out)
			case resp.StatusCode == http.StatusConflict && method == http.MethodDelete && strings.Contains(string(b), "already deleted"):
				return json.Unmarshal([]byte(`{"status":"deleted"}`), out)
			case resp.StatusCode < 500 && resp.StatusCode != http.StatusConflict:
				return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s: gave up: %w", method, path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
