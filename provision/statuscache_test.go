package provision_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/provision"
	"github.com/gpusupply/supply/store"
	"github.com/gpusupply/supply/store/storetest"
)

// TestOfferStatusSeesEveryChange polls a ready procurement (so that its
// status is cached) and changes its rows through another handle on the
// database, as another replica or process would, one kind of change at a
// time: every next poll shows the change, and equals what a service with
// nothing cached renders from the same rows.
func TestOfferStatusSeesEveryChange(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, nil)
			ctx := context.Background()
			o := e.offer("lambda", "H100")
			resp := e.procure(o, nil)
			e.waitStatus(o.OfferID, "ready", ready)

			other, err := store.Open(ctx, e.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			fresh := func() provision.OfferStatus {
				t.Helper()
				st, err := provision.New(provision.Config{Store: other, Offers: e.index}).OfferStatus(ctx, 1, o.OfferID)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
			poll := func(what string, want func(provision.OfferStatus) bool) {
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
			}
			poll("nothing", ready)

			r, err := other.ResourceByID(ctx, resp.ResourceIDs[0].String())
			if err != nil {
				t.Fatal(err)
			}
			r.ExternalIP, r.SSHPort = "198.51.100.7", 2222
			if err := other.UpdateResource(ctx, r, provision.ResourceRunning); err != nil {
				t.Fatal(err)
			}
			poll("a new address, status unchanged", func(st provision.OfferStatus) bool {
				return *st.Instances[0].SSHCommand == "ssh root@198.51.100.7 -p 2222"
			})

			r.Status = provision.ResourceUnhealthy
			if err := other.UpdateResource(ctx, r, provision.ResourceRunning); err != nil {
				t.Fatal(err)
			}
			poll("the instance turning unhealthy", func(st provision.OfferStatus) bool {
				return st.Instances[0].Status == provision.ResourceUnhealthy && st.Progress == "0/1 instances running"
			})

			extra := r
			extra.ID, extra.Name, extra.NodeIndex, extra.Status = uuid.NewString(), "extra", 1, provision.ResourceRunning
			if err := other.InsertResource(ctx, extra); err != nil {
				t.Fatal(err)
			}
			poll("a resource added", func(st provision.OfferStatus) bool {
				return len(st.ResourceIDs) == 2 && len(st.Instances) == 2 && st.Progress == "1/2 instances running"
			})

			if err := other.SetProcurementStatus(ctx, o.OfferID.String(), "failed", "broken on purpose", time.Now()); err != nil {
				t.Fatal(err)
			}
			poll("the procurement failing", func(st provision.OfferStatus) bool {
				return failed(st) && st.Status == "failed" && *st.FailureReason == "broken on purpose"
			})

			// Another account is told nothing, cached or not.
			if _, err := e.svc.OfferStatus(ctx, 2, o.OfferID); err == nil {
				t.Error("another account read the status")
			}
		})
	}
}
