package provision_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/provision"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/sandbox"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/supplyapi"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZ1c3VwcGx5dGVzdGtleWZvcnByb3Zpc2lvbmluZzAx renter@test"

// env is a whole procurement stack: sandbox vendors over loopback HTTP,
// a real store, the offer index and the service with its River workers.
type env struct {
	t  *testing.T
	sb *sandbox.Sandbox
	// dir is the sandbox's data dir, where it writes its endpoints.
	dir string
	st  store.Store
	// opts open the same database again: another process's handle.
	opts    store.Options
	index   *offers.Index
	svc     *provision.Service
	reg     *prometheus.Registry
	vendors map[string]vendors.Vendor
}

func newEnv(t *testing.T, engine string, mod func(*provision.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	sb, err := sandbox.Start(sandbox.Options{DataDir: dir, BootTime: 400 * time.Millisecond, SteadyStock: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	opts := storetest.Options(t, engine)
	opts.Migrate = true
	st, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opts.Migrate = false
	// Accounts 1 and 2: the renter, and someone who must not see their things.
	for i, name := range []string{"renter", "other"} {
		if acc, err := st.EnsureAccount(context.Background(), name); err != nil || acc.ID != int64(i+1) {
			t.Fatalf("account %s: %+v %v", name, acc, err)
		}
	}
	var sources []offers.Source
	vs := map[string]vendors.Vendor{}
	for _, v := range sb.Vendors() {
		sources = append(sources, v)
		vs[v.Name()] = v
	}
	// The loops are not started (tests refresh by hand), but the period
	// tells a waiting procurement when to look again.
	index, err := offers.New(offers.Config{Sources: sources, Snapshots: st, IDKey: []byte("0123456789abcdef"), Refresh: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for name := range vs {
		if err := index.Refresh(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	cfg := provision.Config{
		Owner: vendors.NewOwner(), Store: st, Offers: index, Vendors: sb.Vendors(), Metrics: reg,
		PollInterval: 100 * time.Millisecond, ReconcileEvery: time.Hour,
	}
	if mod != nil {
		mod(&cfg)
	}
	svc := provision.New(cfg)
	workers := river.NewWorkers()
	svc.Workers(workers)
	ctx, cancel := context.WithCancel(context.Background())
	if err := st.StartJobs(ctx, workers, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		stop, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		st.StopJobs(stop)
	})
	return &env{t: t, sb: sb, dir: dir, st: st, opts: opts, index: index, svc: svc, reg: reg, vendors: vs}
}

// offer is the cheapest single H100-family (or other) offer of a vendor.
func (e *env) offer(vendor, gpu string) supplyapi.Offer {
	e.t.Helper()
	res, err := e.index.Search(context.Background(), 1, supplyapi.OfferQuery{Vendor: vendor, Compute: supplyapi.OfferQueryCompute{GPUType: gpu}})
	if err != nil || len(res.Offers) == 0 {
		e.t.Fatalf("no %s offer at %s: %v", gpu, vendor, err)
	}
	return res.Offers[0]
}

func (e *env) procure(o supplyapi.Offer, mod func(*supplyapi.ProcureOfferRequest)) supplyapi.ProcureOfferResponse {
	e.t.Helper()
	req := supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey}
	if mod != nil {
		mod(&req)
	}
	resp, err := e.svc.Procure(context.Background(), 1, "", req)
	if err != nil {
		e.t.Fatalf("procure: %v", err)
	}
	if resp.Status != supplyapi.ProcureInProgress || len(resp.ResourceIDs) == 0 {
		e.t.Fatalf("procure answered %+v", resp)
	}
	return resp
}

// waitStatus polls the offer status until cond holds.
func (e *env) waitStatus(id uuid.UUID, what string, cond func(supplyapi.OfferStatusResponse) bool) supplyapi.OfferStatusResponse {
	e.t.Helper()
	var st supplyapi.OfferStatusResponse
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		st, err = e.svc.OfferStatus(context.Background(), 1, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if cond(st) {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("offer never became %s; last status %+v", what, st)
	return st
}

func (e *env) waitResource(id uuid.UUID, status string) supplyapi.ResourceSummary {
	e.t.Helper()
	var r supplyapi.ResourceSummary
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		r, err = e.svc.Resource(context.Background(), 1, id, false)
		if err != nil {
			e.t.Fatal(err)
		}
		if r.Status == status {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	msg := ""
	if r.StatusMessage != nil {
		msg = *r.StatusMessage
	}
	e.t.Fatalf("resource %s never became %s; last %s (%q): %+v", id, status, r.Status, msg, r)
	return r
}

// live lists what the vendors' consoles show as still billing.
func (e *env) live(resourceID string) []standin.ConsoleEntry {
	var out []standin.ConsoleEntry
	for _, in := range e.sb.Instances() {
		if in.Live && (resourceID == "" || vendors.ResourceIDFromName(in.Name) == resourceID) {
			out = append(out, in)
		}
	}
	return out
}

func ready(st supplyapi.OfferStatusResponse) bool {
	return st.ProcurementStatus == supplyapi.ProcurementReady
}
func failed(st supplyapi.OfferStatusResponse) bool {
	return st.ProcurementStatus == supplyapi.ProcurementFailed
}

func TestFullLifecycle(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			for _, vendor := range []string{"lambda", "hyperstack"} {
				e := newEnv(t, engine, nil)
				o := e.offer(vendor, "H100")
				resp := e.procure(o, func(r *supplyapi.ProcureOfferRequest) {
					s := "#!/bin/bash\necho hello\n"
					r.CloudInit, r.ResourceName = &s, ptr("trainer")
				})
				st := e.waitStatus(o.OfferID, "ready", ready)
				if st.Progress != "1/1 instances running" || len(st.Instances) != 1 {
					t.Fatalf("%s: status %+v", vendor, st)
				}
				in := st.Instances[0]
				if in.SSHCommand == nil || !strings.HasPrefix(*in.SSHCommand, "ssh root@"+*in.ExternalIP) {
					t.Fatalf("%s: ssh command %v", vendor, in.SSHCommand)
				}
				if *in.SSHPort != 22 && !strings.HasSuffix(*in.SSHCommand, fmt.Sprintf(" -p %d", *in.SSHPort)) {
					t.Errorf("%s: ssh command %q does not name port %d", vendor, *in.SSHCommand, *in.SSHPort)
				}
				if err := provision.ProbeSSH(context.Background(), *in.ExternalIP, *in.SSHPort); err != nil {
					t.Errorf("%s: ready but not reachable: %v", vendor, err)
				}
				d, err := e.svc.Details(context.Background(), 1, o.OfferID)
				if err != nil || d.Status != supplyapi.OfferProcured || d.ProcuredAt == nil {
					t.Errorf("%s: offer details after procurement: %+v %v", vendor, d, err)
				}

				id := resp.ResourceIDs[0]
				list, err := e.svc.Resources(context.Background(), 1, ledger.ResourceFilter{OfferID: &o.OfferID})
				if err != nil || len(list) != 1 || list[0].ResourceID != id || list[0].Name != "trainer" || list[0].Status != supplyapi.ResourceRunning {
					t.Fatalf("%s: resources %+v %v", vendor, list, err)
				}
				r, err := e.svc.Resource(context.Background(), 1, id, true)
				if err != nil || r.LastSyncedAt == nil || r.Access.SSHCommand == nil || r.Spec.GPUType != o.GPUType || r.PricingTotalHourly != o.TotalPricePerHour {
					t.Fatalf("%s: resource %+v %v", vendor, r, err)
				}
				if _, err := e.svc.Resource(context.Background(), 2, id, false); !errors.Is(err, refusal.ErrNotFound) {
					t.Errorf("%s: another account sees the resource: %v", vendor, err)
				}
				if n := len(e.live(id.String())); n != 1 {
					t.Fatalf("%s: %d live instances for the resource, want 1", vendor, n)
				}

				del, err := e.svc.Delete(context.Background(), 1, id, false)
				if err != nil || del.Status != supplyapi.ResourceDeleting {
					t.Fatalf("%s: delete %+v %v", vendor, del, err)
				}
				again, err := e.svc.Delete(context.Background(), 1, id, false)
				if err != nil || again.Status != supplyapi.ResourceDeleting {
					t.Errorf("%s: deleting a deleting resource: %+v %v", vendor, again, err)
				}
				gone := e.waitResource(id, supplyapi.ResourceDeleted)
				if gone.ValidTo == nil {
					t.Errorf("%s: deleted without valid_to", vendor)
				}
				if n := len(e.live(id.String())); n != 0 {
					t.Errorf("%s: deleted but %d instances still live at the vendor", vendor, n)
				}
				if _, err := e.svc.Delete(context.Background(), 1, id, false); !errors.Is(err, refusal.ErrConflict) {
					t.Errorf("%s: second delete of a deleted resource: %v, want conflict", vendor, err)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestProcureRefusals(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	o := e.offer("lambda", "H100")
	ctx := context.Background()
	var qe *offers.QueryError
	for name, tc := range map[string]struct {
		req  supplyapi.ProcureOfferRequest
		kind error
		loc  string
	}{
		"unknown offer":           {supplyapi.ProcureOfferRequest{OfferID: uuid.New(), SSHPublicKey: testKey}, refusal.ErrNotFound, ""},
		"bad key":                 {supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: "ssh-rsa nope"}, nil, "[body ssh_public_key]"},
		"bad cloud-init":          {supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey, CloudInit: ptr("echo hi")}, nil, "[body cloud_init]"},
		"NUL in cloud-init":       {supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey, CloudInit: ptr("#!/bin/sh\necho\x00hi\n")}, nil, "[body cloud_init]"},
		"CR in the key comment":   {supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey + "\rfake"}, nil, "[body ssh_public_key]"},
		"NUL in the key comment":  {supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey + "\x00"}, nil, "[body ssh_public_key]"},
		"ESC in the name":         {supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey, ResourceName: ptr("a\x1b[2Jb")}, nil, "[body resource_name]"},
		"BEL in the name":         {supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey, ResourceName: ptr("bell\a")}, nil, "[body resource_name]"},
		"CR in the name":          {supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey, ResourceName: ptr("x\rtrain")}, nil, "[body resource_name]"},
		"LF in the name":          {supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey, ResourceName: ptr("x\ntrain")}, nil, "[body resource_name]"},
		"NUL in the name":         {supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey, ResourceName: ptr("x\x00")}, nil, "[body resource_name]"},
		"RLO in the name":         {supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey, ResourceName: ptr("evil\u202egnp.exe")}, nil, "[body resource_name]"},
		"ESC in the cluster name": {supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey, ClusterName: ptr("c\x1b]0;owned\a")}, nil, "[body cluster_name]"},
	} {
		_, err := e.svc.Procure(ctx, 1, "", tc.req)
		if err == nil {
			t.Fatalf("%s: procured, want a refusal", name)
		}
		switch {
		case tc.kind != nil && !errors.Is(err, tc.kind):
			t.Errorf("%s: %v, want %v", name, err, tc.kind)
		case tc.loc != "" && (!errors.As(err, &qe) || fmt.Sprint(qe.Loc) != tc.loc):
			t.Errorf("%s: %v, want a field error at %s", name, err, tc.loc)
		}
	}
	e.procure(o, nil)
	if _, err := e.svc.Procure(ctx, 1, "", supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey}); !errors.Is(err, refusal.ErrConflict) {
		t.Errorf("second procurement: %v, want conflict", err)
	}
	if _, err := e.svc.Procure(ctx, 2, "", supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey}); !errors.Is(err, refusal.ErrNotFound) {
		t.Errorf("another account's offer: %v, want not found", err)
	}
	later := provision.New(provision.Config{Store: e.st, Offers: e.index, Vendors: e.sb.Vendors(), Now: func() time.Time { return time.Now().Add(31 * time.Minute) }})
	fresh := e.offer("hyperstack", "H100")
	if _, err := later.Procure(ctx, 1, "", supplyapi.ProcureOfferRequest{OfferID: fresh.OfferID, SSHPublicKey: testKey}); !errors.Is(err, refusal.ErrGone) {
		t.Errorf("expired offer: %v, want gone", err)
	}
	rid := e.waitStatus(o.OfferID, "started", func(st supplyapi.OfferStatusResponse) bool { return len(st.ResourceIDs) == 1 }).ResourceIDs[0]
	if r, _ := e.svc.Resource(ctx, 1, rid, false); r.Status == supplyapi.ResourceProvisioning {
		if _, err := e.svc.Delete(ctx, 1, rid, false); !errors.Is(err, refusal.ErrConflict) {
			t.Errorf("delete while provisioning without force: %v, want conflict", err)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	o := e.offer("lambda", "H100")
	ctx := context.Background()
	req := supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey}
	first, err := e.svc.Procure(ctx, 1, "key-1", req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.svc.Procure(ctx, 1, "key-1", req)
	if err != nil || fmt.Sprint(second.ResourceIDs) != fmt.Sprint(first.ResourceIDs) {
		t.Fatalf("replay: %+v %v, want %+v", second, err, first)
	}
	other := req
	other.ResourceName = ptr("different")
	var qe *offers.QueryError
	if _, err := e.svc.Procure(ctx, 1, "key-1", other); !errors.As(err, &qe) || fmt.Sprint(qe.Loc) != "[header Idempotency-Key]" {
		t.Errorf("same key, different body: %v, want a 422 on the header", err)
	}
	e.waitStatus(o.OfferID, "ready", ready)
	if n := len(e.live("")); n != 1 {
		t.Errorf("%d live instances after a replayed procurement, want 1", n)
	}
}

// TestCloudConfigForContainers: a vendor whose instances are containers
// cannot run a #cloud-config; that is known when the offer is procured,
// so it is a 422 then, not a failure in the background.
func TestCloudConfigForContainers(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	ctx := context.Background()
	config, script := "#cloud-config\npackages: [htop]\n", "#!/bin/sh\necho hi\n"
	for _, vendor := range []string{"runpod", "vastai"} {
		o := e.offer(vendor, "H100")
		_, err := e.svc.Procure(ctx, 1, "", supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey, CloudInit: &config})
		var qe *offers.QueryError
		if !errors.As(err, &qe) || fmt.Sprint(qe.Loc) != "[body cloud_init]" || !strings.Contains(qe.Msg, "do not run cloud-init") {
			t.Fatalf("%s with a #cloud-config: %v, want a 422 on cloud_init", vendor, err)
		}
		if rs, err := e.svc.Resources(ctx, 1, ledger.ResourceFilter{OfferID: &o.OfferID}); err != nil || len(rs) != 0 {
			t.Fatalf("%s: the refused procurement left resources %+v (%v)", vendor, rs, err)
		}
		e.procure(o, func(r *supplyapi.ProcureOfferRequest) { r.CloudInit = &script })
	}
	// A virtual machine runs it.
	e.procure(e.offer("lambda", "H100"), func(r *supplyapi.ProcureOfferRequest) { r.CloudInit = &config })
}

// TestIdempotencyKeyConcurrent: retries that arrive while the first
// request with their key is still running get its answer, not a 409, on
// one replica or two. The second replica reads offers slowly, so its
// first request finds the offer procured by the first replica only after
// it last looked for the key's answer.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, nil)
			slow := provision.New(provision.Config{Store: e.st, Offers: slowOffers{e.index, 300 * time.Millisecond}, Vendors: e.sb.Vendors()})
			replicas := []*provision.Service{e.svc, slow}
			o := e.offer("lambda", "H100")
			req := supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey}
			const n = 20
			answers := make([]supplyapi.ProcureOfferResponse, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					answers[i], errs[i] = replicas[i%2].Procure(context.Background(), 1, "same-key", req)
				})
			}
			close(start)
			wg.Wait()
			for i := range n {
				if errs[i] != nil || fmt.Sprint(answers[i]) != fmt.Sprint(answers[0]) {
					t.Errorf("request %d: %+v %v; want the first answer %+v", i, answers[i], errs[i], answers[0])
				}
			}
			if rs, err := e.svc.Resources(context.Background(), 1, ledger.ResourceFilter{OfferID: &o.OfferID}); err != nil || len(rs) != 1 {
				t.Errorf("%d resources (%v), want 1", len(rs), err)
			}
		})
	}
}

// slowOffers makes resolving an offer take a while, as a slow database
// would, so that a request can be caught mid-procurement.
type slowOffers struct {
	provision.Offers
	delay time.Duration
}

func (s slowOffers) Resolve(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.Offer, vendors.CatalogItem, error) {
	time.Sleep(s.delay)
	return s.Offers.Resolve(ctx, accountID, id)
}

// TestIdempotencyKeyStillInProgress: a retry that waited long enough for
// the first request is told the key is still in progress.
func TestIdempotencyKeyStillInProgress(t *testing.T) {
	e := newEnv(t, "sqlite", func(c *provision.Config) {
		c.Offers = slowOffers{c.Offers, time.Second}
		c.IdempotencyWait = 50 * time.Millisecond
	})
	req := supplyapi.ProcureOfferRequest{OfferID: e.offer("lambda", "H100").OfferID, SSHPublicKey: testKey}
	first := make(chan error, 1)
	go func() {
		_, err := e.svc.Procure(context.Background(), 1, "slow-key", req)
		first <- err
	}()
	time.Sleep(100 * time.Millisecond)
	_, err := e.svc.Procure(context.Background(), 1, "slow-key", req)
	var pe *refusal.Error
	if !errors.As(err, &pe) || !errors.Is(err, refusal.ErrConflict) || !strings.Contains(pe.Detail, "still in progress") {
		t.Errorf("retry during the first request: %v, want a 409 saying the key is still in progress", err)
	}
	if err := <-first; err != nil {
		t.Fatalf("first request: %v", err)
	}
	// Another account's same key is its own.
	if _, err := e.svc.Procure(context.Background(), 2, "slow-key", req); !errors.Is(err, refusal.ErrNotFound) {
		t.Errorf("other account, same key: %v, want its own answer (not found)", err)
	}
}

func TestCreatedButAnswered500MakesNoDuplicate(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	si, _ := e.sb.StandIn("lambda")
	si.Faults().Add(standin.Rule{Method: http.MethodPost, PathPrefix: "/api/v1/instance-operations/launch", Status: 500, AfterHandler: true, Times: 1})
	o := e.offer("lambda", "H100")
	resp := e.procure(o, nil)
	e.waitStatus(o.OfferID, "ready", ready)
	if n := len(e.live(resp.ResourceIDs[0].String())); n != 1 {
		t.Errorf("%d live instances for the resource after an ambiguous launch, want exactly 1", n)
	}
}

func TestNoCapacityFailsCleanly(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	o := e.offer("lambda", "H100")
	// Someone else takes every machine of this type in this region.
	item := func() vendors.CatalogItem {
		_, it, err := e.index.Resolve(context.Background(), 1, o.OfferID)
		if err != nil {
			t.Fatal(err)
		}
		return it
	}()
	for i := 0; ; i++ {
		_, err := e.vendors["lambda"].Create(context.Background(), vendors.CreateRequest{
			ResourceID: uuid.NewString(), InstanceType: item.InstanceType, Region: item.Region, SSHPublicKey: testKey, Item: item,
		})
		if errors.Is(err, vendors.ErrNoCapacity) {
			break
		}
		if err != nil || i > 50 {
			t.Fatalf("filling the region: %v after %d", err, i)
		}
	}
	before := len(e.live(""))
	resp := e.procure(o, nil)
	st := e.waitStatus(o.OfferID, "failed", failed)
	if st.FailureReason == nil || !strings.HasPrefix(*st.FailureReason, "no capacity") {
		t.Errorf("failure reason %v, want no capacity", st.FailureReason)
	}
	r := e.waitResource(resp.ResourceIDs[0], supplyapi.ResourceFailed)
	if r.StatusMessage == nil {
		t.Error("failed resource has no status message")
	}
	if after := len(e.live("")); after != before {
		t.Errorf("live instances went from %d to %d after a failed procurement", before, after)
	}
	want := []string{supplyapi.EventProcurementStarted, supplyapi.EventResourceCreated, supplyapi.EventResourceFailed, supplyapi.EventProcurementFailed, supplyapi.EventResourceCleanedUp}
	if got := e.waitEvents(len(want)); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestForceDeleteDuringProvisioningWithDeleteRefusals(t *testing.T) {
	// Hyperstack refuses to delete a VM that is still being created; the
	// deletion must keep trying until the vendor accepts and confirms.
	e := newEnv(t, "sqlite", nil)
	o := e.offer("hyperstack", "H100")
	resp := e.procure(o, nil)
	id := resp.ResourceIDs[0]
	e.waitStatus(o.OfferID, "created", func(st supplyapi.OfferStatusResponse) bool {
		return st.ProcurementStatus == supplyapi.ProcurementInProgress
	})
	if _, err := e.svc.Delete(context.Background(), 1, id, false); !errors.Is(err, refusal.ErrConflict) {
		t.Errorf("delete while provisioning: %v, want conflict", err)
	}
	del, err := e.svc.Delete(context.Background(), 1, id, true)
	if err != nil || del.Status != supplyapi.ResourceDeleting || !strings.Contains(del.Message, "cancelled") {
		t.Fatalf("force delete: %+v %v", del, err)
	}
	// The procurement ends with the cancellation, so a client polling the
	// offer's status stops waiting.
	st, err := e.svc.OfferStatus(context.Background(), 1, o.OfferID)
	if err != nil || st.ProcurementStatus != supplyapi.ProcurementFailed || st.FailureReason == nil || !strings.Contains(*st.FailureReason, "deleted by the user") {
		t.Errorf("offer status after a forced delete: %+v %v, want failed, deleted by the user", st, err)
	}
	e.waitResource(id, supplyapi.ResourceDeleted)
	if n := len(e.live(id.String())); n != 0 {
		t.Errorf("%d instances left at the vendor after a forced delete", n)
	}
}

func TestReconcilerTerminatesOrphansAndMarksVanished(t *testing.T) {
	var owner string
	e := newEnv(t, "sqlite", func(c *provision.Config) { owner = c.Owner })
	ctx := context.Background()
	// Instances with resource ids supply never had: one of this
	// installation's (an orphan, say a create whose record was lost),
	// one of another installation on the same account, and one made
	// before instances carried an owner, or by a person copying our
	// naming. Only the first is ours to terminate.
	// Each from an offer of its own: the sandbox's stock is thin.
	res, err := e.index.Search(ctx, 1, supplyapi.OfferQuery{Vendor: "lambda", Compute: supplyapi.OfferQueryCompute{GPUType: "A100"}})
	if err != nil || len(res.Offers) < 3 {
		t.Fatalf("want 3 Lambda A100 offers: %d, %v", len(res.Offers), err)
	}
	launched := 0
	launch := func(owner string) string {
		_, item, err := e.index.Resolve(ctx, 1, res.Offers[launched].OfferID)
		if err != nil {
			t.Fatal(err)
		}
		launched++
		id := uuid.NewString()
		if _, err := e.vendors["lambda"].Create(ctx, vendors.CreateRequest{ResourceID: id, Owner: owner, InstanceType: item.InstanceType, Region: item.Region, SSHPublicKey: testKey, Item: item}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	stray, foreign, lookalike := launch(owner), launch(vendors.NewOwner()), launch("")
	// A ready resource whose instance someone terminates at the vendor.
	h := e.offer("hyperstack", "H100")
	resp := e.procure(h, nil)
	e.waitStatus(h.OfferID, "ready", ready)
	r, _ := e.st.ResourceByID(ctx, resp.ResourceIDs[0].String())
	if err := e.vendors["hyperstack"].Terminate(ctx, r.VendorInstanceID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := e.svc.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ := e.st.ResourceByID(ctx, r.ID)
		if len(e.live(stray)) == 0 && got.Status == supplyapi.ResourceFailed {
			if !strings.Contains(got.FailureReason, "disappeared") {
				t.Errorf("vanished resource reason %q", got.FailureReason)
			}
			evs, err := e.st.EventsAfter(ctx, 1, 0, store.EventFilter{ResourceID: r.ID, Type: supplyapi.EventResourceFailed}, 10)
			if err != nil || len(evs) != 1 || !strings.Contains(string(evs[0].Data), "disappeared") {
				t.Errorf("the vanished instance's event: %+v %v", evs, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reconciler did not repair: stray live %d, resource %s", len(e.live(stray)), got.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := metricValue(t, e.reg, "supply_reconciler_orphans_terminated_total"); n != 1 {
		t.Errorf("orphans terminated metric = %v, want 1", n)
	}
	for _, id := range []string{foreign, lookalike} {
		if n := len(e.live(id)); n != 1 {
			t.Errorf("instance %s, not ours, has %d live instances after reconciling, want 1 (untouched)", id, n)
		}
	}
	if n := metricValue(t, e.reg, "supply_reconciler_foreign_instances"); n != 2 {
		t.Errorf("foreign instances metric = %v, want 2", n)
	}
}

// metricValue sums a counter or gauge family from the registry (0 when
// it has no series yet), or its series with the labels given as name,
// value pairs.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}
				if !found {
					continue series
				}
			}
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return total
}

func TestDeletionNeverGivesUpAndSaysWhenStuck(t *testing.T) {
	e := newEnv(t, "sqlite", func(c *provision.Config) { c.DeleteWarnAfter = 300 * time.Millisecond })
	ctx := context.Background()
	o := e.offer("lambda", "H100")
	id := e.procure(o, nil).ResourceIDs[0]
	e.waitStatus(o.OfferID, "ready", ready)
	si, _ := e.sb.StandIn("lambda")
	si.Faults().Add(standin.Rule{Method: http.MethodPost, PathPrefix: "/api/v1/instance-operations/terminate", Status: 500})
	if _, err := e.svc.Delete(ctx, 1, id, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := e.svc.Resource(ctx, 1, id, false)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != supplyapi.ResourceDeleting {
			t.Fatalf("status %s while the vendor refuses every terminate", r.Status)
		}
		if r.StatusMessage != nil && strings.HasPrefix(*r.StatusMessage, "STUCK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a failing deletion was never flagged; message %v", r.StatusMessage)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := e.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if g := metricValue(t, e.reg, "supply_deletions_stuck"); g != 1 {
		t.Errorf("supply_deletions_stuck = %v, want 1", g)
	}
	// The vendor recovers: the same deletion goes through, no new request needed.
	si.Faults().Clear()
	e.waitResource(id, supplyapi.ResourceDeleted)
	if n := len(e.live(id.String())); n != 0 {
		t.Errorf("%d instances live after the deletion finished", n)
	}
	if err := e.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if g := metricValue(t, e.reg, "supply_deletions_stuck"); g != 0 {
		t.Errorf("supply_deletions_stuck = %v after recovery, want 0", g)
	}
	// Stuck is said once, however long the deletion keeps failing.
	want := []string{
		supplyapi.EventProcurementStarted, supplyapi.EventResourceCreated, supplyapi.EventResourceInstanceCreated, supplyapi.EventResourceReady,
		supplyapi.EventProcurementReady, supplyapi.EventResourceDeleting, supplyapi.EventResourceDeletionStuck, supplyapi.EventResourceDeleted,
	}
	if got := e.waitEvents(len(want)); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestProcuredOfferOutlivesItsSnapshot(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	o := e.offer("lambda", "H100")
	e.procure(o, nil)
	// An index that has never seen the snapshot, as after the expiry job
	// deleted it: the procured offer must still be there for its owner.
	forgetful, err := offers.New(offers.Config{Snapshots: storetest.Open(t, "sqlite"), IDKey: []byte("0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	svc := provision.New(provision.Config{Store: e.st, Offers: forgetful, Vendors: e.sb.Vendors()})
	d, err := svc.Details(context.Background(), 1, o.OfferID)
	if err != nil || d.Status != supplyapi.OfferProcured || d.GPUPricePerHour != o.GPUPricePerHour || d.ProcuredAt == nil {
		t.Fatalf("details of a procured offer without its snapshot: %+v %v", d, err)
	}
	if _, err := svc.Details(context.Background(), 2, o.OfferID); !errors.Is(err, offers.ErrNotFound) {
		t.Errorf("another account sees the procured offer: %v", err)
	}
}
