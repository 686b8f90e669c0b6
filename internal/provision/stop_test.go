package provision_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/provision"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/supplyapi"
)

// TestStopStart takes a Hyperstack machine through stop and start on the
// sandbox: stopped once the vendor says so, its host no longer answering
// SSH, left alone by the reconciler, running and reachable again after a
// start, auto-deleted from stopped; a second stop, and a stop at a vendor
// without stop, are refused.
func TestStopStart(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t, engine, nil)
			o := e.offer("hyperstack", "H100")
			id := e.procure(o, nil).ResourceIDs[0]
			e.waitStatus(o.OfferID, "ready", ready)
			before := e.waitResource(id, supplyapi.ResourceRunning)
			if _, err := e.svc.Start(ctx, 1, id); !errors.Is(err, refusal.ErrConflict) {
				t.Errorf("start of a running resource: %v, want a conflict", err)
			}
			if _, err := e.svc.Stop(ctx, 2, id); !errors.Is(err, refusal.ErrNotFound) {
				t.Errorf("another account stops the resource: %v", err)
			}
			resp, err := e.svc.Stop(ctx, 1, id)
			if err != nil || resp.Status != supplyapi.ResourceStopping {
				t.Fatalf("stop: %+v, %v", resp, err)
			}
			if _, err := e.svc.Stop(ctx, 1, id); !errors.Is(err, refusal.ErrConflict) {
				t.Errorf("stop of a stopping resource: %v, want a conflict", err)
			}
			stopped := e.waitResource(id, supplyapi.ResourceStopped)
			if err := provision.ProbeSSH(ctx, *before.Access.ExternalIP, *before.Access.SSHPort); err == nil {
				t.Error("the host of a stopped machine still answers SSH")
			}
			if err := e.svc.Reconcile(ctx); err != nil {
				t.Fatal(err)
			}
			if r, err := e.svc.Resource(ctx, 1, id, true); err != nil || r.Status != supplyapi.ResourceStopped {
				t.Fatalf("after a reconcile: %+v, %v; want it still stopped", r, err)
			}
			if stopped.AccruedCost <= 0 {
				t.Errorf("accrued cost %v", stopped.AccruedCost)
			}
			if _, err := e.svc.Start(ctx, 1, id); err != nil {
				t.Fatal(err)
			}
			again := e.waitResource(id, supplyapi.ResourceRunning)
			if err := provision.ProbeSSH(ctx, *again.Access.ExternalIP, *again.Access.SSHPort); err != nil {
				t.Errorf("running again but not reachable: %v", err)
			}
			if _, err := e.svc.Stop(ctx, 1, id); err != nil {
				t.Fatal(err)
			}
			e.waitResource(id, supplyapi.ResourceStopped)
			// Auto-delete keeps counting while stopped, and deletes it.
			if _, err := e.svc.SetAutoDelete(ctx, 1, id, supplyapi.AutoDeleteRequest{AutoDeleteAfter: supplyapi.DurationText("1")}); err != nil {
				t.Fatalf("auto-delete of a stopped resource: %v", err)
			}
			e.waitResource(id, supplyapi.ResourceDeleted)
			if n := len(e.live(id.String())); n != 0 {
				t.Errorf("%d instances live after the deletion", n)
			}

			l := e.offer("lambda", "H100")
			lid := e.procure(l, nil).ResourceIDs[0]
			e.waitStatus(l.OfferID, "ready", ready)
			var qe *offers.QueryError
			if _, err := e.svc.Stop(ctx, 1, lid); !errors.As(err, &qe) || qe.Msg != "Value error, vendor lambda does not support stop and start (supports_stop is false)" {
				t.Errorf("stop at lambda: %v, want a 422 naming the vendor and the capability", err)
			}
		})
	}
}

// TestStartWithoutGPU stops a RunPod pod, whose stop releases its GPU,
// lets other customers take every GPU of its data centre, and starts it:
// the start is refused, the resource stays stopped and its status message
// says why; with the GPUs back, it starts. While stopped it is billed its
// disk only.
func TestStartWithoutGPU(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, storetest.Engines(t)[0], nil)
	o := e.offer("runpod", "H100")
	id := e.procure(o, nil).ResourceIDs[0]
	e.waitStatus(o.OfferID, "ready", ready)
	if _, err := e.svc.Stop(ctx, 1, id); err != nil {
		t.Fatal(err)
	}
	e.waitResource(id, supplyapi.ResourceStopped)
	acct, err := e.svc.Account(ctx, 1)
	if err != nil || acct.Live.HourlyUSD >= o.TotalPricePerHour/2 || acct.Live.HourlyUSD <= 0 {
		t.Errorf("live spend of a stopped pod %+v, %v; want its disk only, below the pod's $%v", acct.Live, err, o.TotalPricePerHour)
	}
	sel := standin.Selection{Vendor: "runpod", Region: o.VendorRegion}
	if _, err := e.sb.Capacity().Set(sel, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Start(ctx, 1, id); err != nil {
		t.Fatal(err)
	}
	var r supplyapi.ResourceSummary
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if r, err = e.svc.Resource(ctx, 1, id, false); err != nil {
			t.Fatal(err)
		}
		if r.Status == supplyapi.ResourceStopped && r.StatusMessage != nil && strings.HasPrefix(*r.StatusMessage, "start failed: the vendor has no GPU for it now") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("resource %s %v; want stopped, saying the start found no GPU", r.Status, r.StatusMessage)
		}
	}
	if _, err := e.sb.Capacity().Set(sel, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Start(ctx, 1, id); err != nil {
		t.Fatal(err)
	}
	e.waitResource(id, supplyapi.ResourceRunning)
}

// TestStopStartCluster stops and starts a RunPod cluster as a whole: the
// nodes and the parent go stopped, then running; a node alone is refused.
func TestStopStartCluster(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, storetest.Engines(t)[0], nil)
	o := e.clusterOffer("runpod", 2)
	resp := e.procure(o, nil)
	e.waitStatus(o.OfferID, "ready", ready)
	var parent supplyapi.ResourceSummary
	var nodes []supplyapi.ResourceSummary
	for _, id := range resp.ResourceIDs {
		r := e.waitResource(id, supplyapi.ResourceRunning)
		if r.ResourceType == "cluster" {
			parent = r
		} else {
			nodes = append(nodes, r)
		}
	}
	if len(nodes) != 2 {
		t.Fatalf("cluster of %d nodes", len(nodes))
	}
	if _, err := e.svc.Stop(ctx, 1, parent.ResourceID); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		e.waitResource(n.ResourceID, supplyapi.ResourceStopped)
	}
	e.waitResource(parent.ResourceID, supplyapi.ResourceStopped)
	if _, err := e.svc.Start(ctx, 1, nodes[0].ResourceID); !errors.Is(err, refusal.ErrConflict) {
		t.Errorf("start of one node of a cluster: %v, want a conflict", err)
	}
	if r, _ := e.svc.Resource(ctx, 1, nodes[0].ResourceID, false); r.Status != supplyapi.ResourceStopped {
		t.Errorf("the refused start touched the node: %s", r.Status)
	}
	if _, err := e.svc.Start(ctx, 1, parent.ResourceID); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		e.waitResource(n.ResourceID, supplyapi.ResourceRunning)
	}
	e.waitResource(parent.ResourceID, supplyapi.ResourceRunning)
}
