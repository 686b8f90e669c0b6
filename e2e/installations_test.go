package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/supplyapi"
)

// sharedVendors are the vendors the multi-server tests rent from: quick to
// boot in the sandbox, and without Lambda's 12 s between launches, which a
// real adapter (the second server's) keeps.
var sharedVendors = []string{"hyperstack", "runpod", "verda", "aws", "digitalocean", "vultr"}

// TestTwoInstallationsShareAVendorAccount: two installations (their own
// databases and ids) use one vendor account, the first server's sandbox.
// Both rent machines and reconcile every two seconds for several rounds:
// neither terminates the other's machines, and each counts the other's as
// foreign.
func TestTwoInstallationsShareAVendorAccount(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			twoInstallations(t, engine)
		})
	}
}

func twoInstallations(t *testing.T, engine string) {
	a := Start(t, engine, "--reconcile-every", "2s", "--sandbox-boot-time", "1s")
	b := StartConfig(t, Config{
		Engine: engine,
		Flags:  []string{"--sandbox=false", "--reconcile-every", "2s"},
		Env:    a.SandboxEnv(t),
	})
	a.WaitVendors(t)
	b.WaitVendors(t)
	if ia, ib := installation(t, a), installation(t, b); ia == ib || !vendors.ValidOwner(ia) || !vendors.ValidOwner(ib) {
		t.Fatalf("installation ids %q and %q, want two different ones", ia, ib)
	}

	var rented []rental
	for i, s := range []*Server{a, b} {
		for _, v := range sharedVendors {
			rented = append(rented, rent(t, s, offerOf(t, s, v, i)))
		}
	}
	for _, r := range rented {
		waitReady(t, r, time.Minute)
	}
	// Several reconcile rounds on both: what would have touched the
	// other's instances, had it been going to.
	for _, s := range []*Server{a, b} {
		waitReconciles(t, s, 2)
	}

	live := liveByResource(t, a)
	for _, r := range rented {
		var got supplyapi.ResourceSummary
		r.server.JSON(t, http.MethodGet, "/resources/"+r.resource.String(), "", nil, http.StatusOK, &got)
		if got.Status != supplyapi.ResourceRunning || live[r.resource.String()] != 1 {
			t.Errorf("%s resource %s after reconciling: %s, %d live instances; want running, 1", r.vendor, r.resource, got.Status, live[r.resource.String()])
		}
	}
	for _, s := range []*Server{a, b} {
		if n := metric(t, s, "supply_reconciler_foreign_instances"); n != float64(len(sharedVendors)) {
			t.Errorf("%s counts %v foreign instances, want the other's %d", s.URL, n, len(sharedVendors))
		}
		if n := metric(t, s, "supply_reconciler_orphans_terminated_total"); n != 0 {
			t.Errorf("%s terminated %v orphans, want none", s.URL, n)
		}
	}
}

// rental is one procured machine and the server that procured it.
type rental struct {
	server   *Server
	vendor   string
	offer    uuid.UUID
	resource uuid.UUID
}

// offerOf is the i-th cheapest single-machine offer of vendor (any GPU),
// so that servers sharing one stand-in rent different machines.
func offerOf(t *testing.T, s *Server, vendor string, i int) supplyapi.Offer {
	t.Helper()
	for _, gpu := range []string{"H100", "A100", "L40S", "RTX 4090", "L4", "H200", "A6000"} {
		var res supplyapi.OfferResult
		body := fmt.Sprintf(`{"vendor":%q,"compute":{"gpu_type":%q},"limit":10}`, vendor, gpu)
		s.JSON(t, http.MethodPost, "/get_offers", "application/json", []byte(body), http.StatusOK, &res)
		if len(res.Offers) > i {
			return res.Offers[i]
		}
	}
	t.Fatalf("no offer #%d at %s", i, vendor)
	return supplyapi.Offer{}
}

// rent procures o on s.
func rent(t *testing.T, s *Server, o supplyapi.Offer) rental {
	t.Helper()
	body, _ := json.Marshal(supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: crashKey})
	var resp supplyapi.ProcureOfferResponse
	s.JSON(t, http.MethodPost, "/procure_offer", "application/json", body, http.StatusOK, &resp)
	return rental{server: s, vendor: o.Vendor, offer: o.OfferID, resource: resp.ResourceIDs[0]}
}

// waitReady waits until r's procurement is ready.
func waitReady(t *testing.T, r rental, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var st supplyapi.OfferStatusResponse
		r.server.JSON(t, http.MethodGet, "/offers/"+r.offer.String()+"/status", "", nil, http.StatusOK, &st)
		switch st.ProcurementStatus {
		case supplyapi.ProcurementReady:
			return
		case supplyapi.ProcurementFailed:
			t.Fatalf("%s procurement failed: %v", r.vendor, *st.FailureReason)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s procurement not ready after %s: %+v\n%s", r.vendor, limit, st, r.server.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// installation is the server's installation id, from /readyz.
func installation(t *testing.T, s *Server) string {
	t.Helper()
	var ready struct {
		Installation string `json:"installation_id"`
	}
	s.JSON(t, http.MethodGet, "/readyz", "", nil, http.StatusOK, &ready)
	return ready.Installation
}

// liveByResource counts the live instances of each resource id in the
// vendors' own consoles: the sandbox's vendor side, with its key, which
// shows every installation's instances.
func liveByResource(t *testing.T, sandboxServer *Server) map[string]int {
	t.Helper()
	var console []standin.ConsoleEntry
	sandboxServer.VendorConsole(t, http.MethodGet, "/instances", nil, http.StatusOK, &console)
	live := map[string]int{}
	for _, in := range console {
		if in.Live {
			live[vendors.ResourceIDFromName(in.Name)]++
		}
	}
	return live
}

// metric sums every series of a metric family in the server's /metrics.
func metric(t *testing.T, s *Server, name string) float64 {
	t.Helper()
	total := 0.0
	sc := bufio.NewScanner(bytes.NewReader(s.Metrics(t)))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		total += v
	}
	return total
}

// TestTwoReplicasOnePostgres: two replicas of one installation share a
// PostgreSQL database, with a third server's sandbox as the vendors.
// Procurements and deletions go through both; an offer one replica shows
// is procured on the other; one replica is killed in the middle; the
// survivor finishes everything within takeoverBound of the kill, with no
// instance duplicated or leaked; periodic jobs run once, not once per
// replica.
func TestTwoReplicasOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("replica test skipped in -short mode")
	}
	host := Start(t, store.EngineSQLite, "--sandbox-boot-time", "1500ms")
	flags := []string{"--sandbox=false", "--reconcile-every", "2s"}
	a := StartConfig(t, Config{Engine: store.EnginePostgres, Flags: flags, Env: host.SandboxEnv(t)})
	b := StartConfig(t, Config{Engine: store.EnginePostgres, DatabaseURL: a.DatabaseURL, Flags: flags, Env: host.SandboxEnv(t)})
	b.Key = a.Key
	a.WaitVendors(t)
	b.WaitVendors(t)
	if ia, ib := installation(t, a), installation(t, b); ia != ib {
		t.Fatalf("replicas of one database have installation ids %q and %q, want one", ia, ib)
	}

	// Periodic jobs: River's leader alone enqueues them, so with both
	// replicas up a 2 s reconcile runs once per 2 s, not twice: six of
	// them take at least five periods (10 s), where twice as many would
	// come in half the time.
	since := time.Now()
	for jobsSince(t, a.DatabaseURL, "reconcile", since) < 6 {
		if time.Since(since) > time.Minute {
			t.Fatal("fewer than 6 reconcile jobs in a minute at one per 2 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if took := time.Since(since); took < 8*time.Second {
		t.Errorf("6 reconcile jobs in %s at one per 2 s: periodic jobs run on both replicas", took.Round(100*time.Millisecond))
	}

	// Offers shown by one replica, procured on the other; half deleted
	// (with force: some still provision) through the first.
	var rented []rental
	deleted := map[uuid.UUID]bool{}
	for i, v := range sharedVendors {
		for j, pair := range [][2]*Server{{a, b}, {b, a}} {
			o := offerOf(t, pair[0], v, j)
			r := rent(t, pair[1], o)
			rented = append(rented, r)
			if (i+j)%2 == 0 {
				var del supplyapi.DeleteResourceResponse
				pair[0].JSON(t, http.MethodDelete, "/resources/"+r.resource.String()+"?force=true", "", nil, http.StatusOK, &del)
				deleted[r.resource] = true
			}
		}
	}
	// Kill a while the instances boot and terminate.
	a.Kill(t)
	killed := time.Now()

	deadline := killed.Add(takeoverBound)
	for _, r := range rented {
		want := supplyapi.ResourceRunning
		if deleted[r.resource] {
			want = supplyapi.ResourceDeleted
		}
		for {
			var got supplyapi.ResourceSummary
			b.JSON(t, http.MethodGet, "/resources/"+r.resource.String(), "", nil, http.StatusOK, &got)
			if got.Status == want {
				break
			}
			msg := ""
			if got.StatusMessage != nil {
				msg = " (" + *got.StatusMessage + ")"
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s resource %s is %s%s %s after the kill, want %s\n%s", r.vendor, r.resource, got.Status, msg, time.Since(killed), want, b.tail())
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	t.Logf("the survivor settled everything %.1fs after the kill", time.Since(killed).Seconds())
	live := liveByResource(t, host)
	for _, r := range rented {
		want := 1
		if deleted[r.resource] {
			want = 0
		}
		if n := live[r.resource.String()]; n != want {
			t.Errorf("%s resource %s has %d live instances, want %d", r.vendor, r.resource, n, want)
		}
		delete(live, r.resource.String())
	}
	for id, n := range live {
		t.Errorf("%d live instance(s) of %q belong to no resource (a leak)", n, id)
	}
}

// waitReconciles waits until s has finished n more reconcile passes than
// it had when called.
func waitReconciles(t *testing.T, s *Server, n float64) {
	t.Helper()
	const name = `supply_job_steps_total{kind="reconcile",outcome="ok"}`
	from := metric(t, s, name)
	for deadline := time.Now().Add(time.Minute); metric(t, s, name) < from+n; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s finished no %v reconcile passes in a minute", s.URL, n)
		}
	}
}

// takeoverBound is how soon after a replica's kill -9 the survivor must
// have finished its work: the dead one's running steps are taken over
// 10–12 s after the kill (store.HolderDeadAfterBeats), the rest is a
// sandbox boot or termination.
const takeoverBound = 20 * time.Second

// jobsSince counts the River jobs of a kind inserted since then.
func jobsSince(t *testing.T, databaseURL, kind string, since time.Time) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1 AND created_at >= $2`, kind, since).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
