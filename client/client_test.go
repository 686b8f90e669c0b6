package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/e2e"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// sshKey is a well-formed OpenSSH public key; sandbox instances accept any.
const sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZlZGN0b3JzZWVkMDEyMzQ1Njc4OWFiY2RlZjAxMjM0 renter@laptop"

// startServer runs the real supply binary in sandbox mode and answers a
// client of it with the initial key.
func startServer(t *testing.T, flags ...string) (*e2e.Server, *client.Client) {
	t.Helper()
	s := e2e.Start(t, store.EngineSQLite, flags...)
	s.WaitVendors(t)
	return s, client.New(s.URL, s.Key, client.WithUserAgent("client-test"))
}

// requireStatus fails unless err is a *client.Error with the status want.
func requireStatus(t *testing.T, err error, want int) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want a *client.Error %d", err, err, want)
	}
	if e.Status != want {
		t.Fatalf("status %d (%v), want %d", e.Status, e, want)
	}
	return e
}

// cheapest answers the cheapest on-demand single-machine H100 offer.
func cheapest(t *testing.T, c *client.Client) supplyapi.Offer {
	t.Helper()
	res, err := c.GetOffers(context.Background(), supplyapi.OfferQuery{
		Compute: supplyapi.OfferQueryCompute{GPUType: "H100", ContractType: "ondemand"}, Limit: 1,
	})
	if err != nil {
		t.Fatalf("get offers: %v", err)
	}
	if len(res.Offers) != 1 {
		t.Fatalf("got %d offers, want 1", len(res.Offers))
	}
	return res.Offers[0]
}

func TestClient(t *testing.T) {
	t.Parallel()
	s, c := startServer(t, "--sandbox-boot-time", "500ms")
	ctx := context.Background()

	t.Run("discovery", func(t *testing.T) {
		gpus, err := c.GPUs(ctx)
		if err != nil || !slices.Contains(gpus["H100"], "nvidia-h100-sxm5-80gb") {
			t.Fatalf("GPUs = %v, %v; want H100 with nvidia-h100-sxm5-80gb", gpus, err)
		}
		vendors, err := c.Vendors(ctx)
		if err != nil || len(vendors) == 0 || !vendors[0].Sandbox {
			t.Fatalf("Vendors = %+v, %v; want sandbox vendors", vendors, err)
		}
		regions, err := c.Regions(ctx)
		if err != nil || !slices.Equal(regions, []string{"US", "EU", "APAC", "Other"}) {
			t.Fatalf("Regions = %v, %v", regions, err)
		}
		contracts, err := c.Contracts(ctx)
		if err != nil || !slices.Equal(contracts, []string{"ondemand", "spot"}) {
			t.Fatalf("Contracts = %v, %v", contracts, err)
		}
	})

	t.Run("get offers", func(t *testing.T) {
		res, err := c.GetOffers(ctx, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100", ContractType: "ondemand"}, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Offers) == 0 || len(res.Offers) > 3 || res.TotalCount < len(res.Offers) {
			t.Fatalf("%d offers of %d, want 1 to 3", len(res.Offers), res.TotalCount)
		}
		for i, o := range res.Offers {
			if o.GPUFamily != "H100" || o.ContractType != "ondemand" {
				t.Errorf("offer %d is %s %s, want ondemand H100", i, o.ContractType, o.GPUFamily)
			}
			if i > 0 && o.GPUPricePerHour < res.Offers[i-1].GPUPricePerHour {
				t.Errorf("offer %d is cheaper than the one before", i)
			}
		}
	})

	t.Run("get offers rejected", func(t *testing.T) {
		price := -1.0
		_, err := c.GetOffers(ctx, supplyapi.OfferQuery{Region: "Mars", Compute: supplyapi.OfferQueryCompute{GPUType: "H100", MaxPricePerGPUHour: &price}})
		e := requireStatus(t, err, http.StatusUnprocessableEntity)
		if len(e.Validation) != 2 {
			t.Fatalf("validation = %+v, want 2 fields", e.Validation)
		}
		for _, want := range []string{"body.compute.max_price_per_gpu_hour: Input should be greater than 0", "body.region: "} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
	})

	t.Run("get offers yaml", func(t *testing.T) {
		res, err := c.GetOffersYAML(ctx, []byte("compute:\n  gpu_type: H100\n  contract_type: spot\nlimit: 2\n"))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Offers) == 0 || len(res.Offers) > 2 {
			t.Fatalf("%d offers, want 1 or 2", len(res.Offers))
		}
		for _, o := range res.Offers {
			if o.ContractType != "spot" {
				t.Errorf("offer %s is %s, want spot", o.OfferID, o.ContractType)
			}
		}
		_, err = c.GetOffersYAML(ctx, []byte("compute: {gpu_count: 2}\n"))
		e := requireStatus(t, err, http.StatusUnprocessableEntity)
		if got := e.Error(); got != "body.compute.gpu_type: Field required" {
			t.Errorf("error = %q, want the missing field", got)
		}
	})

	t.Run("offer", func(t *testing.T) {
		o := cheapest(t, c)
		d, err := c.Offer(ctx, o.OfferID)
		if err != nil || d.OfferID != o.OfferID || d.Status != supplyapi.OfferAvailable {
			t.Fatalf("Offer = %+v, %v; want the available offer %s", d, err, o.OfferID)
		}
		_, err = c.Offer(ctx, uuid.New())
		if e := requireStatus(t, err, http.StatusNotFound); e.Detail != "Offer not found" {
			t.Errorf("detail = %q", e.Detail)
		}
	})

	t.Run("unknown ids", func(t *testing.T) {
		id := uuid.New()
		_, err := c.OfferStatus(ctx, id)
		requireStatus(t, err, http.StatusNotFound)
		_, err = c.Resource(ctx, id, true)
		requireStatus(t, err, http.StatusNotFound)
		_, err = c.Delete(ctx, id, false)
		requireStatus(t, err, http.StatusNotFound)
		_, err = c.Procure(ctx, supplyapi.ProcureOfferRequest{OfferID: id, SSHPublicKey: sshKey}, "")
		requireStatus(t, err, http.StatusNotFound)
	})

	t.Run("procure rejected", func(t *testing.T) {
		o := cheapest(t, c)
		_, err := c.Procure(ctx, supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: "not a key"}, "")
		e := requireStatus(t, err, http.StatusUnprocessableEntity)
		if len(e.Validation) == 0 || e.Validation[0].Field() != "body.ssh_public_key" {
			t.Fatalf("validation = %+v, want body.ssh_public_key", e.Validation)
		}
	})

	t.Run("lifecycle", func(t *testing.T) {
		o := cheapest(t, c)
		req := supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: sshKey}
		key := uuid.NewString()
		first, err := c.Procure(ctx, req, key)
		if err != nil || first.Status == supplyapi.ProcureFailed || len(first.ResourceIDs) != 1 {
			t.Fatalf("Procure = %+v, %v; want one resource in progress", first, err)
		}
		again, err := c.Procure(ctx, req, key)
		if err != nil || !slices.Equal(again.ResourceIDs, first.ResourceIDs) {
			t.Fatalf("retry with the same key = %+v, %v; want the first answer", again, err)
		}
		_, err = c.Procure(ctx, req, "")
		requireStatus(t, err, http.StatusConflict)

		var seen []string
		st, err := c.WaitReady(ctx, o.OfferID, func(st supplyapi.OfferStatusResponse) { seen = append(seen, st.ProcurementStatus) })
		if err != nil {
			t.Fatalf("WaitReady: %v", err)
		}
		if len(seen) == 0 || seen[len(seen)-1] != supplyapi.ProcurementReady {
			t.Errorf("changes seen %v, want them to end with ready", seen)
		}
		if len(st.Instances) != 1 || !strings.HasPrefix(deref(st.Instances[0].SSHCommand), "ssh root@") {
			t.Fatalf("ready status %+v, want one instance with an ssh command", st)
		}

		id := first.ResourceIDs[0]
		list, err := c.Resources(ctx, client.ResourceFilter{OfferID: &o.OfferID})
		if err != nil || len(list) != 1 || list[0].ResourceID != id || list[0].Status != supplyapi.ResourceRunning {
			t.Fatalf("Resources(offer) = %+v, %v; want the one running resource", list, err)
		}
		list, err = c.Resources(ctx, client.ResourceFilter{Status: supplyapi.ResourceDeleted})
		if err != nil || slices.ContainsFunc(list, func(r supplyapi.ResourceSummary) bool { return r.ResourceID == id }) {
			t.Fatalf("Resources(deleted) = %+v, %v; want no running resource", list, err)
		}
		r, err := c.Resource(ctx, id, true)
		if err != nil || r.ResourceID != id || r.Access.SSHCommand == nil {
			t.Fatalf("Resource = %+v, %v", r, err)
		}
		_, err = c.WaitDeleted(ctx, id, nil)
		if err == nil || !strings.Contains(err.Error(), "is running, not being deleted") {
			t.Fatalf("WaitDeleted before Delete: %v, want a refusal", err)
		}

		del, err := c.Delete(ctx, id, false)
		if err != nil || del.ResourceID != id || del.Status != supplyapi.ResourceDeleting {
			t.Fatalf("Delete = %+v, %v", del, err)
		}
		calls := 0
		gone, err := c.WaitDeleted(ctx, id, func(supplyapi.ResourceSummary) { calls++ })
		if err != nil || gone.Status != supplyapi.ResourceDeleted || gone.ValidTo == nil || calls == 0 {
			t.Fatalf("WaitDeleted = %+v, %v after %d changes; want deleted", gone, err, calls)
		}
		_, err = c.Delete(ctx, id, false)
		requireStatus(t, err, http.StatusConflict)
	})

	t.Run("wait cancelled", func(t *testing.T) {
		o := cheapest(t, c)
		if _, err := c.Procure(ctx, supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: sshKey}, ""); err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := c.WaitReady(cctx, o.OfferID, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitReady with a short deadline: %v, want the deadline", err)
		}
		// Only the waiting stopped: the procurement goes on.
		if st, err := c.WaitReady(ctx, o.OfferID, nil); err != nil || st.ProcurementStatus != supplyapi.ProcurementReady {
			t.Fatalf("WaitReady after the cancelled wait = %+v, %v", st, err)
		}
	})

	t.Run("bad key", func(t *testing.T) {
		for _, key := range []string{"", "sk-wrong"} {
			_, err := client.New(s.URL, key).Regions(ctx)
			if e := requireStatus(t, err, http.StatusUnauthorized); e.Error() != "Not authenticated" {
				t.Errorf("key %q: error %q", key, e)
			}
		}
	})
}

func TestProcurementFails(t *testing.T) {
	t.Parallel()
	// Instances never boot in time, so every procurement fails.
	_, c := startServer(t, "--sandbox-boot-time", "1h", "--provision-timeout", "1s")
	o := cheapest(t, c)
	if _, err := c.Procure(context.Background(), supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: sshKey}, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.WaitReady(ctx, o.OfferID, nil)
	var failed *client.FailedError
	if !errors.As(err, &failed) || failed.OfferID != o.OfferID || failed.Reason == "" {
		t.Fatalf("WaitReady = %v, want a FailedError with a reason", err)
	}
	if !strings.Contains(err.Error(), "procurement of offer "+o.OfferID.String()+" failed: ") {
		t.Errorf("error %q does not say which procurement failed", err)
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	_, err = client.New(url, "key").GPUs(context.Background())
	var unreachable *client.UnreachableError
	if !errors.As(err, &unreachable) {
		t.Fatalf("error %v (%T), want an UnreachableError", err, err)
	}
	if want := "the supply server at " + url + " is not reachable"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start with %q", err, want)
	}
}

// TestAnswersOutsideTheAPI covers what a proxy in front of the server may
// answer: an error page that is not the API's JSON, and passing 503s that
// waiting rides out (polling, as the server streams no events).
func TestAnswersOutsideTheAPI(t *testing.T) {
	t.Parallel()
	var polls atomic.Int32
	id := uuid.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/available_gpus":
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("<html>bad gateway</html>"))
		case r.URL.Path == "/events":
			// An older server, without event streams: waiting polls.
			http.NotFound(w, r)
		case polls.Add(1) <= 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.Write([]byte(`{"offer_id":"` + id.String() + `","status":"procured","procurement_status":"ready","progress":"1/1 instances running"}`))
		}
	}))
	defer srv.Close()
	c := client.New(srv.URL, "key")

	_, err := c.GPUs(context.Background())
	if e := requireStatus(t, err, http.StatusBadGateway); e.Error() != "the server answered 502 Bad Gateway" {
		t.Errorf("error = %q", e)
	}
	st, err := c.WaitReady(context.Background(), id, nil)
	if err != nil || st.ProcurementStatus != supplyapi.ProcurementReady || polls.Load() != 3 {
		t.Fatalf("WaitReady = %+v, %v after %d polls; want ready on the third", st, err, polls.Load())
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestWaitUsesTheEventStream: WaitReady and WaitDeleted follow the
// resource's events (the server logs the stream), and Follow and Events
// read back the same transitions.
func TestWaitUsesTheEventStream(t *testing.T) {
	t.Parallel()
	s, c := startServer(t, "--sandbox-boot-time", "500ms")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := cheapest(t, c)
	resp, err := c.Procure(ctx, supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: sshKey}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitReady(ctx, o.OfferID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, resp.ResourceIDs[0], false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitDeleted(ctx, resp.ResourceIDs[0], nil); err != nil {
		t.Fatal(err)
	}
	// A stream is logged when it ends, as the wait that opened it returns.
	streams := func() int { return strings.Count(s.Stderr(), `"operation":"list_events_events_get"`) }
	for deadline := time.Now().Add(5 * time.Second); streams() < 2 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if n := streams(); n < 2 {
		t.Errorf("the server logged %d event streams, want one per wait", n)
	}
	var types []string
	err = c.Follow(ctx, client.FollowOptions{Filter: client.EventFilter{ResourceID: resp.ResourceIDs[0].String()}}, func(e supplyapi.Event) error {
		types = append(types, e.Type)
		if e.Type == "resource.deleted" {
			return client.ErrStopFollowing
		}
		return nil
	})
	want := []string{"resource.created", "resource.instance_created", "resource.ready", "resource.deleting", "resource.deleted"}
	if err != nil || !slices.Equal(types, want) {
		t.Fatalf("followed %v (%v), want %v", types, err, want)
	}
	page, err := c.Events(ctx, 0, client.EventFilter{Type: "procurement.ready"}, 10)
	if err != nil || len(page.Events) != 1 || page.Events[0].OfferID != o.OfferID.String() {
		t.Errorf("procurement.ready events: %+v %v", page, err)
	}
}

// TestFailover procures through a vendor's refusal: the cheapest H100's
// item is taken away at its vendor (the catalog, read once an hour here,
// still lists it), and the procurement, with a fallback, is ready at the
// next cheapest while WaitProcurement reports each try once, in order.
// Then a procurement waiting for stock is cancelled.
func TestFailover(t *testing.T) {
	t.Parallel()
	s, c := startServer(t, "--sandbox-boot-time", "500ms", "--catalog-refresh", "1h")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("ready after a refusal", func(t *testing.T) {
		o := cheapest(t, c)
		taken := s.TakeAway(t, o)
		q := supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100", ContractType: "ondemand"}}
		if _, err := c.Procure(ctx, supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: sshKey,
			Fallback: &supplyapi.Fallback{Query: &q}}, ""); err != nil {
			t.Fatal(err)
		}
		var tries []supplyapi.Attempt
		changes := 0
		st, err := c.WaitProcurement(ctx, o.OfferID, client.WaitHooks{
			OnChange: func(supplyapi.OfferStatusResponse) { changes++ },
			OnAttempt: func(n int, a supplyapi.Attempt) {
				if n != len(tries)+1 {
					t.Errorf("try %d reported after %d tries", n, len(tries))
				}
				tries = append(tries, a)
			},
		})
		if err != nil {
			t.Fatalf("WaitProcurement: %v (items taken away: %+v)", err, taken)
		}
		if len(tries) < 2 || !slices.EqualFunc(tries, st.Attempts, sameTry) || changes < 2 {
			t.Fatalf("tries reported %+v after %d changes, want each of %+v once", tries, changes, st.Attempts)
		}
		first, last := tries[0], tries[len(tries)-1]
		if first.OfferID != o.OfferID || first.Outcome != supplyapi.AttemptRefused || !strings.HasPrefix(deref(first.Reason), "no capacity") {
			t.Errorf("first try %+v, want %s refused for lack of capacity", first, o.OfferID)
		}
		if last.Outcome != supplyapi.AttemptReady || last.Vendor+last.Region == o.Vendor+o.VendorRegion {
			t.Errorf("last try %+v, want ready elsewhere than %s %s", last, o.Vendor, o.VendorRegion)
		}
	})

	t.Run("cancel a wait for stock", func(t *testing.T) {
		// Every offer of the cheapest H100's vendor and exact GPU at its
		// price or less is taken away: nothing the fallback may try is
		// in stock, so the procurement waits.
		o := cheapest(t, c)
		q := supplyapi.OfferQuery{Vendor: o.Vendor, Compute: supplyapi.OfferQueryCompute{GPUType: o.GPUType, ContractType: "ondemand",
			MaxPricePerGPUHour: &o.GPUPricePerHour}, Limit: 1000}
		res, err := c.GetOffers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range res.Offers {
			s.TakeAway(t, x)
		}
		if _, err := c.Procure(ctx, supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: sshKey,
			Fallback: &supplyapi.Fallback{Query: &q, Until: supplyapi.DurationText("10m")}}, ""); err != nil {
			t.Fatal(err)
		}
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		var waiting supplyapi.OfferStatusResponse
		_, err = c.WaitProcurement(wctx, o.OfferID, client.WaitHooks{OnChange: func(st supplyapi.OfferStatusResponse) {
			if strings.HasPrefix(st.Progress, "waiting for capacity") {
				waiting = st
				stop()
			}
		}})
		if !errors.Is(err, context.Canceled) || waiting.ProcurementStatus != supplyapi.ProcurementInProgress {
			t.Fatalf("WaitProcurement = %v, last status %+v; want a wait for capacity", err, waiting)
		}

		st, err := c.Cancel(ctx, o.OfferID)
		if err != nil || st.ProcurementStatus != supplyapi.ProcurementFailed || !strings.Contains(deref(st.FailureReason), "cancelled by the user") {
			t.Fatalf("Cancel = %+v, %v; want the procurement failed, cancelled by the user", st, err)
		}
		if len(st.Attempts) == 0 || st.Attempts[0].OfferID != o.OfferID || slices.ContainsFunc(st.Attempts, func(a supplyapi.Attempt) bool {
			return a.Outcome != supplyapi.AttemptRefused
		}) {
			t.Errorf("attempts after the cancel %+v, want refusals only, of %s first", st.Attempts, o.OfferID)
		}
		_, err = c.Cancel(ctx, o.OfferID)
		requireStatus(t, err, http.StatusConflict)
		_, err = c.Cancel(ctx, uuid.New())
		requireStatus(t, err, http.StatusNotFound)
	})
}

// sameTry reports whether a and b are the same try, ended alike.
func sameTry(a, b supplyapi.Attempt) bool {
	return a.OfferID == b.OfferID && a.Outcome == b.Outcome && deref(a.Reason) == deref(b.Reason) && a.At.Equal(b.At)
}

// TestWaitReportsEveryTry: statuses read far apart skip tries that began
// and ended in between; each is reported all the same, once, in order,
// before the status that showed it.
func TestWaitReportsEveryTry(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	try := func(vendor, outcome string) string {
		return `{"offer_id":"` + id.String() + `","vendor":"` + vendor + `","region":"r","gpu_price_per_hour":2,"outcome":"` + outcome + `","reason":null,"at":"2026-01-02T03:04:05Z"}`
	}
	statuses := []string{
		`"procurement_status":"provisioning_in_progress","progress":"","attempts":[` + try("a", "trying") + `]`,
		`"procurement_status":"provisioning_in_progress","progress":"no capacity at b r; trying c r (3 of 5)","attempts":[` +
			try("a", "refused") + `,` + try("b", "no_answer") + `,` + try("c", "trying") + `]`,
		// Only a try's outcome changed: that is a change too.
		`"procurement_status":"provisioning_in_progress","progress":"no capacity at b r; trying c r (3 of 5)","attempts":[` +
			try("a", "refused") + `,` + try("b", "no_answer") + `,` + try("c", "refused") + `]`,
		`"procurement_status":"ready","progress":"1/1 instances running","attempts":[` +
			try("a", "refused") + `,` + try("b", "no_answer") + `,` + try("c", "refused") + `,` + try("d", "ready") + `]`,
	}
	var polls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/events" {
			http.NotFound(w, r) // no stream: waiting polls
			return
		}
		n := min(int(polls.Add(1)), len(statuses)) - 1
		w.Write([]byte(`{"offer_id":"` + id.String() + `","status":"procured",` + statuses[n] + `}`))
	}))
	defer srv.Close()
	var seen []string
	_, err := client.New(srv.URL, "key").WaitProcurement(context.Background(), id, client.WaitHooks{
		OnChange: func(st supplyapi.OfferStatusResponse) { seen = append(seen, "status "+st.ProcurementStatus) },
		OnAttempt: func(n int, a supplyapi.Attempt) {
			seen = append(seen, fmt.Sprintf("try %d %s %s", n, a.Vendor, a.Outcome))
		},
	})
	want := []string{
		"status provisioning_in_progress",
		"try 1 a refused", "try 2 b no_answer", "status provisioning_in_progress",
		"try 3 c refused", "status provisioning_in_progress",
		"try 4 d ready", "status ready",
	}
	if err != nil || !slices.Equal(seen, want) {
		t.Fatalf("WaitProcurement: %v, saw\n%s\nwant\n%s", err, strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
