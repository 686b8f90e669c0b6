package provision_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/provision"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors/nebius"
	"github.com/gpusupply/supply/supplyapi"
)

// clusterOffer is the cheapest cluster offer of a vendor with that many
// nodes, of the first GPU family the vendor sells such clusters of.
func (e *env) clusterOffer(vendor string, nodes int) supplyapi.Offer {
	e.t.Helper()
	for _, gpu := range []string{"H100", "H200", "B200", "A100"} {
		res, err := e.index.Search(context.Background(), 1, supplyapi.OfferQuery{Vendor: vendor, Compute: supplyapi.OfferQueryCompute{GPUType: gpu, NodeCount: &nodes}})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(res.Offers) > 0 {
			return res.Offers[0]
		}
	}
	e.t.Fatalf("no %d-node cluster at %s", nodes, vendor)
	return supplyapi.Offer{}
}

// clusterParts splits a cluster procurement's resources into its parent
// and its nodes, in the order procured.
func (e *env) clusterParts(ids []uuid.UUID) (parent uuid.UUID, nodes []uuid.UUID) {
	e.t.Helper()
	for _, id := range ids {
		r, err := e.svc.Resource(context.Background(), 1, id, false)
		if err != nil {
			e.t.Fatal(err)
		}
		if r.ResourceType == "cluster" {
			parent = id
		} else {
			nodes = append(nodes, id)
		}
	}
	if parent == uuid.Nil || len(nodes) < 2 {
		e.t.Fatalf("procured %v: want a cluster parent and its nodes", ids)
	}
	return parent, nodes
}

func TestClusterProcureReadyDelete(t *testing.T) {
	for _, vendor := range clusterVendors {
		t.Run(vendor, func(t *testing.T) {
			e := newEnv(t, "sqlite", nil)
			ctx := context.Background()
			o := e.clusterOffer(vendor, 2)
			if o.DeploymentType != "cluster" || *o.NodeCount != 2 || o.GPUCount != 2**o.GPUsPerNode {
				t.Fatalf("cluster offer %+v", o)
			}
			resp := e.procure(o, func(r *supplyapi.ProcureOfferRequest) { r.ClusterName = ptr("train") })
			if len(resp.ResourceIDs) != 3 {
				t.Fatalf("%d resources, want the cluster and its 2 nodes", len(resp.ResourceIDs))
			}
			st := e.waitStatus(o.OfferID, "ready", ready)
			if st.Progress != "2/2 instances running" || len(st.Instances) != 2 {
				t.Fatalf("status %+v", st)
			}
			var parent supplyapi.ResourceSummary
			for _, id := range resp.ResourceIDs {
				r, err := e.svc.Resource(ctx, 1, id, false)
				if err != nil {
					t.Fatal(err)
				}
				if r.ResourceType == "cluster" {
					parent = r
				}
			}
			if parent.Name != "train" || parent.Status != supplyapi.ResourceRunning || len(parent.LinkedResources) != 2 {
				t.Fatalf("cluster parent %+v", parent)
			}
			for _, l := range parent.LinkedResources {
				if l.LinkType != "cluster_node" || l.Status != supplyapi.ResourceRunning {
					t.Errorf("link %+v", l)
				}
				if n := len(e.live(l.ResourceID.String())); n > 1 {
					t.Errorf("node %s has %d instances", l.ResourceID, n)
				}
			}
			if _, err := e.svc.Delete(ctx, 1, parent.ResourceID, false); err != nil {
				t.Fatal(err)
			}
			for _, id := range resp.ResourceIDs {
				e.waitResource(id, supplyapi.ResourceDeleted)
			}
			if n := len(e.live("")); n != 0 {
				t.Errorf("%d instances still live after the cluster was deleted", n)
			}
		})
	}
}

func TestClusterPartialFailureCleansUpEveryNode(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	ctx := context.Background()
	si, _ := e.sb.StandIn("nebius")
	// The vendor lets the first node in, then refuses the second: the
	// first one must not be left running (and billing) on its own.
	si.(*nebius.StandIn).SetInstanceQuota(1)
	o := e.clusterOffer("nebius", 2)
	resp := e.procure(o, nil)
	st := e.waitStatus(o.OfferID, "failed", failed)
	if st.FailureReason == nil || !strings.Contains(*st.FailureReason, "quota") {
		t.Errorf("failure reason %v, want the quota refusal", st.FailureReason)
	}
	for _, id := range resp.ResourceIDs {
		r := e.waitResource(id, supplyapi.ResourceFailed)
		if r.StatusMessage == nil {
			t.Errorf("resource %s failed without a message", id)
		}
	}
	// Clean-up runs in the background; wait for the vendor to confirm.
	deadline := time.Now().Add(20 * time.Second)
	for len(e.live("")) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("instances left after a failed cluster: %+v", e.live(""))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, id := range resp.ResourceIDs {
		r, err := e.svc.Resource(ctx, 1, id, false)
		for err == nil && r.ValidTo == nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			r, err = e.svc.Resource(ctx, 1, id, false)
		}
		if err != nil || r.ValidTo == nil || !strings.Contains(*r.StatusMessage, "removed") {
			t.Errorf("resource %s not cleaned up: %+v %v", id, r, err)
		}
	}
}

// A node of a cluster deleted (with force) while the cluster provisions
// ends the whole procurement: the offer's status is failed, the other
// node and the parent give up too, and the parent can then be deleted
// without force.
func TestClusterNodeForceDeletedWhileProvisioning(t *testing.T) {
	// A node whose create was attempted but not seen at the vendor is
	// deleted after CreateGrace: short here, so the test does not wait.
	e := newEnv(t, "sqlite", func(c *provision.Config) { c.CreateGrace = 2 * time.Second })
	ctx := context.Background()
	o := e.clusterOffer("nebius", 2)
	resp := e.procure(o, nil)
	parent, nodes := e.clusterParts(resp.ResourceIDs)
	node := nodes[0]
	if _, err := e.svc.Delete(ctx, 1, node, true); err != nil {
		t.Fatal(err)
	}
	st, err := e.svc.OfferStatus(ctx, 1, o.OfferID)
	if err != nil || st.ProcurementStatus != supplyapi.ProcurementFailed || st.FailureReason == nil || !strings.Contains(*st.FailureReason, "deleted by the user") {
		t.Fatalf("offer status %+v %v, want failed: deleted by the user", st, err)
	}
	p := e.waitResource(parent, supplyapi.ResourceFailed)
	if p.StatusMessage == nil || !strings.Contains(*p.StatusMessage, "deleted by the user") {
		t.Errorf("parent %+v, want failed saying why", p)
	}
	if _, err := e.svc.Delete(ctx, 1, parent, false); err != nil {
		t.Fatalf("delete the parent without force: %v", err)
	}
	for _, id := range resp.ResourceIDs {
		e.waitResource(id, supplyapi.ResourceDeleted)
	}
	if n := len(e.live("")); n != 0 {
		t.Errorf("%d instances still live after the cluster was cancelled", n)
	}
}

// pausingStore holds a worker after its transaction commits the one
// write it waits for (a resource failed and cleaned up), until released:
// the clean-up job is then caught between its last step and its
// completion.
type pausingStore struct {
	store.Store
	id      atomic.Pointer[string]
	paused  chan struct{}
	release chan struct{}
	once    sync.Once
}

func (p *pausingStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	w := &watchingTx{id: p.id.Load()}
	err := p.Store.InTx(ctx, func(tx store.Tx) error {
		w.Tx = tx
		return fn(w)
	})
	if err == nil && w.cleaned {
		p.once.Do(func() {
			close(p.paused)
			<-p.release
		})
	}
	return err
}

// watchingTx notes whether its transaction recorded the resource id as
// failed and cleaned up.
type watchingTx struct {
	store.Tx
	id      *string
	cleaned bool
}

func (w *watchingTx) UpdateResource(ctx context.Context, r store.Resource) (store.Resource, error) {
	if w.id != nil && r.ID == *w.id && r.Status == supplyapi.ResourceFailed && r.DeletedAt != nil {
		w.cleaned = true
	}
	return w.Tx.UpdateResource(ctx, r)
}

// A deletion asked for while a failed node's clean-up job is finishing is
// not lost as that job's duplicate: the node and its cluster become
// deleted without waiting for the reconciler (an hour here).
func TestClusterDeletedWhileCleanupFinishes(t *testing.T) {
	p := &pausingStore{paused: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, "sqlite", func(c *provision.Config) {
		p.Store = c.Store
		c.Store = p
	})
	ctx := context.Background()
	o := e.clusterOffer("nebius", 2)
	resp := e.procure(o, nil)
	parent, nodes := e.clusterParts(resp.ResourceIDs)
	first, second := nodes[0], nodes[1]
	held := second.String()
	p.id.Store(&held)
	// Cancelling one node fails the other, whose clean-up job then pauses
	// right after recording that the vendor has nothing left of it.
	if _, err := e.svc.Delete(ctx, 1, first, true); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.paused:
	case <-time.After(20 * time.Second):
		t.Fatal("the failed node's clean-up never finished")
	}
	release := sync.OnceFunc(func() { close(p.release) })
	t.Cleanup(release)
	if _, err := e.svc.Delete(ctx, 1, parent, false); err != nil {
		t.Fatalf("delete the failed cluster: %v", err)
	}
	release()
	for _, id := range resp.ResourceIDs {
		e.waitResource(id, supplyapi.ResourceDeleted)
	}
}
