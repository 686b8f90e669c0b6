package provision_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/provision"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// gatedVendor lets a test decide when each Create answers.
type gatedVendor struct {
	vendors.Vendor
	create func(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error)
}

func (g gatedVendor) Create(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
	return g.create(ctx, req)
}

// DeleteCluster keeps the wrapped vendor's clusters deletable.
func (g gatedVendor) DeleteCluster(ctx context.Context, clusterID string) error {
	if cd, ok := g.Vendor.(vendors.ClusterDeleter); ok {
		return cd.DeleteCluster(ctx, clusterID)
	}
	return nil
}

// withVendor replaces one vendor of the service by wrap's answer.
func withVendor(name string, wrap func(vendors.Vendor) vendors.Vendor) func(*provision.Config) {
	return func(c *provision.Config) {
		vs := make([]vendors.Vendor, len(c.Vendors))
		for i, v := range c.Vendors {
			vs[i] = v
			if v.Name() == name {
				vs[i] = wrap(v)
			}
		}
		c.Vendors = vs
	}
}

// gatedStore holds the first transaction opened with a context carrying
// gateKey at its start, until the test lets it go.
type gatedStore struct {
	store.Store
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

type gateKey struct{}

func (g *gatedStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	if ctx.Value(gateKey{}) != nil {
		g.once.Do(func() {
			close(g.entered)
			<-g.release
		})
	}
	return g.Store.InTx(ctx, fn)
}

// waitRow reads the resource until cond holds.
func waitRow(t *testing.T, st store.Queries, id string, what string, cond func(store.Resource) bool) store.Resource {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := st.ResourceByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("resource %s never %s: %+v", id, what, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A forced delete that read the resource before the create step recorded
// the vendor's instance must not write over the instance id: the delete
// re-reads and terminates that instance by its id. (Comparing only the
// status, the delete erased the id and the billing start, and the
// termination had to find the instance by its tag, or missed it while the
// vendor's listing lagged.)
func TestForcedDeleteWhileCreateRecordsInstance(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			creating, answer := make(chan struct{}), make(chan struct{})
			gate := &gatedStore{entered: make(chan struct{}), release: make(chan struct{})}
			e := newEnv(t, engine, func(c *provision.Config) {
				gate.Store = c.Store
				c.Store = gate
				withVendor("lambda", func(v vendors.Vendor) vendors.Vendor {
					return gatedVendor{Vendor: v, create: func(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
						close(creating)
						<-answer
						return v.Create(ctx, req)
					}}
				})(c)
			})
			ctx := context.Background()
			o := e.offer("lambda", "H100")
			id := e.procure(o, nil).ResourceIDs[0]
			<-creating

			// The delete reads the resource (provisioning, no instance yet)
			// and is held before it writes.
			deleted := make(chan error, 1)
			go func() {
				_, err := e.svc.Delete(context.WithValue(ctx, gateKey{}, true), 1, id, true)
				deleted <- err
			}()
			<-gate.entered
			close(answer)
			recorded := waitRow(t, e.st, id.String(), "recorded its instance", func(r store.Resource) bool { return r.VendorInstanceID != "" })
			close(gate.release)
			if err := <-deleted; err != nil {
				t.Fatalf("delete: %v", err)
			}

			r, err := e.st.ResourceByID(ctx, id.String())
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != supplyapi.ResourceDeleting || r.VendorInstanceID != recorded.VendorInstanceID || r.BillingStartedAt == nil {
				t.Fatalf("after the delete: status %s, instance %q, billing start %v; want deleting, %q and the start kept",
					r.Status, r.VendorInstanceID, r.BillingStartedAt, recorded.VendorInstanceID)
			}
			gone := e.waitResource(id, supplyapi.ResourceDeleted)
			if gone.AccruedCost <= 0 {
				t.Errorf("deleted after billing started, yet accrued %v", gone.AccruedCost)
			}
			if n := len(e.live(id.String())); n != 0 {
				t.Errorf("%d instances still live at the vendor", n)
			}
		})
	}
}

// hookedStore runs a hook inside the first transaction opened with the
// armed context that reads a procurement's resources: between a decision's
// read of the rows and its writes, where another writer may commit.
type hookedStore struct {
	store.Store
	armed atomic.Pointer[context.Context]
	hook  func()
}

func (h *hookedStore) arm(ctx context.Context, hook func()) {
	h.hook = hook
	h.armed.Store(&ctx)
}

// fire runs the hook if ctx is the armed one.
func (h *hookedStore) fire(ctx context.Context) {
	if armed := h.armed.Load(); armed != nil && *armed == ctx && h.armed.CompareAndSwap(armed, nil) {
		h.hook()
	}
}

func (h *hookedStore) ResourcesByOffer(ctx context.Context, offerID string) ([]store.Resource, error) {
	rs, err := h.Store.ResourcesByOffer(ctx, offerID)
	h.fire(ctx)
	return rs, err
}

func (h *hookedStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return h.Store.InTx(ctx, func(tx store.Tx) error { return fn(&hookedTx{Tx: tx, h: h, ctx: ctx}) })
}

type hookedTx struct {
	store.Tx
	h   *hookedStore
	ctx context.Context
}

func (t *hookedTx) ResourcesByOffer(ctx context.Context, offerID string) ([]store.Resource, error) {
	rs, err := t.Tx.ResourcesByOffer(ctx, offerID)
	t.h.fire(t.ctx)
	return rs, err
}

// A node of a cluster that becomes ready while another node fails is left
// to its cluster: whether it commits before the failure is decided or
// between the failure's read of the rows and its writes (PostgreSQL, where
// the two do not wait for each other), the failure goes through at once,
// the ready node is failed by its cluster's clean-up, not written over, and
// nothing is left at the vendor. (Failing it with the failure's own copy of
// the row lost to the node's write and made the failing step run again,
// asking the vendor for the refused node a second time.)
func TestClusterNodeReadyWhileAnotherFails(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			probeGate := make(chan struct{})
			var openGate sync.Once
			var refusals atomic.Int32
			var first atomic.Pointer[string]
			hooked := &hookedStore{}
			var e *env
			// The first node's readiness waits for the second node's
			// create; the second is refused for capacity. This runs in a
			// worker, so it waits for the node without failing the test:
			// the assertions below tell what happened.
			letFirstNodeRun := func() {
				openGate.Do(func() { close(probeGate) })
				for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					if r, err := hooked.Store.ResourceByID(context.Background(), *first.Load()); err != nil || r.Status != supplyapi.ResourceProvisioning {
						return
					}
				}
			}
			e = newEnv(t, engine, func(c *provision.Config) {
				hooked.Store = c.Store
				c.Store = hooked
				probe := c.Probe
				if probe == nil {
					probe = provision.ProbeSSH
				}
				c.Probe = func(ctx context.Context, ip string, port int) error {
					select {
					case <-probeGate:
						return probe(ctx, ip, port)
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				withVendor("nebius", func(v vendors.Vendor) vendors.Vendor {
					return gatedVendor{Vendor: v, create: func(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
						if req.Cluster.Index == 0 {
							first.Store(&req.ResourceID)
							return v.Create(ctx, req)
						}
						refusals.Add(1)
						if engine == store.EnginePostgres {
							hooked.arm(ctx, letFirstNodeRun)
						} else {
							// SQLite serialises transactions: the node
							// can only commit before the failure's.
							letFirstNodeRun()
						}
						return vendors.Instance{}, &vendors.Error{Kind: vendors.ErrNoCapacity, Message: "no capacity for this preset"}
					}}
				})(c)
			})
			o := e.clusterOffer("nebius", 2)
			resp := e.procure(o, nil)
			st := e.waitStatus(o.OfferID, "failed", failed)
			if st.FailureReason == nil || !strings.Contains(*st.FailureReason, "no capacity") {
				t.Fatalf("failure %v, want the refusal", st.FailureReason)
			}
			if engine == store.EnginePostgres && hooked.armed.Load() != nil {
				t.Fatal("the failure's transaction never read the resources")
			}
			parent, nodes := e.clusterParts(resp.ResourceIDs)
			for _, id := range append(nodes, parent) {
				r := waitRow(t, e.st, id.String(), "failed and cleaned up", func(r store.Resource) bool {
					return r.Status == supplyapi.ResourceFailed && r.DeletedAt != nil
				})
				if id.String() == *first.Load() && (r.VendorInstanceID == "" || r.ReadyAt == nil || !strings.Contains(r.FailureReason, "another node of the cluster failed")) {
					t.Errorf("the node that became ready: %+v", r)
				}
			}
			if n := refusals.Load(); n != 1 {
				t.Errorf("the refused node was asked for %d times, want once", n)
			}
			if n := len(e.live("")); n != 0 {
				t.Errorf("%d instances still live after the cluster failed", n)
			}
		})
	}
}

// A forced delete of a resource whose create was cut short without an
// answer (here by the step's deadline; in production also by a crash,
// after which the job is taken over) settles once the vendor has had
// CreateSettle to list what the create may have made, not after the
// whole CreateGrace: the attempt is over when its job steps again.
func TestForcedDeleteAfterAnUnansweredCreateSettles(t *testing.T) {
	creating := make(chan struct{})
	var once sync.Once
	e := newEnv(t, "sqlite", func(c *provision.Config) {
		c.StepTimeout, c.CreateGrace, c.CreateSettle = time.Second, time.Hour, time.Second
		withVendor("lambda", func(v vendors.Vendor) vendors.Vendor {
			return gatedVendor{Vendor: v, create: func(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
				// The request never reaches the vendor and never answers.
				once.Do(func() { close(creating) })
				<-ctx.Done()
				return vendors.Instance{}, &vendors.Error{Vendor: v.Name(), Op: "create", Kind: vendors.ErrTransient, Message: ctx.Err().Error()}
			}}
		})(c)
	})
	id := e.procure(e.offer("lambda", "H100"), nil).ResourceIDs[0]
	<-creating
	start := time.Now()
	if _, err := e.svc.Delete(context.Background(), 1, id, true); err != nil {
		t.Fatalf("delete: %v", err)
	}
	e.waitResource(id, supplyapi.ResourceDeleted)
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("deleted after %s, want within seconds of the create's end", took)
	}
	if live := e.live(id.String()); len(live) != 0 {
		t.Errorf("live instances %+v after the delete", live)
	}
}
