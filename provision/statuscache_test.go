package provision_test

import (
	"context"
	"math"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/provision"
	"github.com/gpusupply/supply/store"
	"github.com/gpusupply/supply/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// TestOfferStatusSeesEveryChange polls a ready procurement (so that its
// status and resource lists are cached) and changes its rows through
// another handle on the database, as another replica or process would, one
// kind of change at a time: every next poll shows the change, and equals
// what a service with nothing cached renders from the same rows.
func TestOfferStatusSeesEveryChange(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			// The clock stops once the machine is ready, so that the
			// accrued costs of two services' lists compare exactly.
			var frozen atomic.Pointer[time.Time]
			clock := func() time.Time {
				if at := frozen.Load(); at != nil {
					return *at
				}
				return time.Now()
			}
			e := newEnv(t, engine, func(c *provision.Config) { c.Now = clock })
			ctx := context.Background()
			o := e.offer("lambda", "H100")
			resp := e.procure(o, nil)
			e.waitStatus(o.OfferID, "ready", ready)
			at := time.Now()
			frozen.Store(&at)

			other, err := store.Open(ctx, e.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			uncached := func() *provision.Service {
				return provision.New(provision.Config{Store: other, Offers: e.index, Now: clock})
			}
			fresh := func() supplyapi.OfferStatusResponse {
				t.Helper()
				st, err := uncached().OfferStatus(ctx, 1, o.OfferID)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
			filters := []provision.ResourceFilter{{}, {OfferID: &o.OfferID}, {Status: supplyapi.ResourceRunning}, {Limit: 1}}
			lists := func(what string) {
				t.Helper()
				for range 2 { // the first read renders, the next one hits the cache
					for _, f := range filters {
						got, err := e.svc.Resources(ctx, 1, f)
						if err != nil {
							t.Fatal(err)
						}
						want, err := uncached().Resources(ctx, 1, f)
						if err != nil {
							t.Fatal(err)
						}
						if !reflect.DeepEqual(got, want) {
							t.Fatalf("after %s the list %+v answers\n%+v\nwhere the rows say\n%+v", what, f, got, want)
						}
					}
				}
			}
			poll := func(what string, want func(supplyapi.OfferStatusResponse) bool) {
				t.Helper()
				for range 3 { // the first poll renders, the next ones hit the cache
					st, err := e.svc.OfferStatus(ctx, 1, o.OfferID)
					if err != nil {
						t.Fatal(err)
					}
					if !want(st) {
						t.Fatalf("after %s: %+v", what, st)
					}
					if f := fresh(); !reflect.DeepEqual(st, f) {
						t.Fatalf("after %s the poll answers\n%+v\nwhere the rows say\n%+v", what, st, f)
					}
				}
				lists(what)
			}
			poll("nothing", ready)

			// A cached list's costs move with the clock.
			before, err := e.svc.Resources(ctx, 1, provision.ResourceFilter{})
			if err != nil {
				t.Fatal(err)
			}
			later := at.Add(time.Hour)
			frozen.Store(&later)
			lists("an hour")
			after, err := e.svc.Resources(ctx, 1, provision.ResourceFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := after[0].AccruedCost-before[0].AccruedCost, after[0].PricingTotalHourly; math.Abs(got-want) > 0.0002 {
				t.Errorf("an hour on, the cost grew by %v, want %v", got, want)
			}

			r, err := other.ResourceByID(ctx, resp.ResourceIDs[0].String())
			if err != nil {
				t.Fatal(err)
			}
			r.ExternalIP, r.SSHPort = "198.51.100.7", 2222
			if r, err = other.UpdateResource(ctx, r); err != nil {
				t.Fatal(err)
			}
			poll("a new address, status unchanged", func(st supplyapi.OfferStatusResponse) bool {
				return *st.Instances[0].SSHCommand == "ssh root@198.51.100.7 -p 2222"
			})

			r.Status = supplyapi.ResourceUnhealthy
			if r, err = other.UpdateResource(ctx, r); err != nil {
				t.Fatal(err)
			}
			poll("the instance turning unhealthy", func(st supplyapi.OfferStatusResponse) bool {
				return st.Instances[0].Status == supplyapi.ResourceUnhealthy && st.Progress == "0/1 instances running"
			})

			extra := r
			extra.ID, extra.Name, extra.NodeIndex, extra.Status = uuid.NewString(), "extra", 1, supplyapi.ResourceRunning
			if err := other.InsertResource(ctx, extra); err != nil {
				t.Fatal(err)
			}
			poll("a resource added", func(st supplyapi.OfferStatusResponse) bool {
				return len(st.ResourceIDs) == 2 && len(st.Instances) == 2 && st.Progress == "1/2 instances running"
			})

			if _, _, err := store.ChangeProcurement(ctx, other, o.OfferID.String(), func(p *store.Procurement) bool {
				p.Status, p.FailureReason, p.UpdatedAt = "failed", "broken on purpose", time.Now()
				return true
			}); err != nil {
				t.Fatal(err)
			}
			poll("the procurement failing", func(st supplyapi.OfferStatusResponse) bool {
				return failed(st) && st.Status == "failed" && *st.FailureReason == "broken on purpose"
			})

			// Another account is told nothing, cached or not.
			if _, err := e.svc.OfferStatus(ctx, 2, o.OfferID); err == nil {
				t.Error("another account read the status")
			}
			if list, err := e.svc.Resources(ctx, 2, provision.ResourceFilter{}); err != nil || len(list) != 0 {
				t.Errorf("another account listed %d resources (%v)", len(list), err)
			}
		})
	}
}
