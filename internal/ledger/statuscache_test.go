package ledger_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// noOffers is an offer index that knows no offer: the ledger reads
// procured offers from their procurements.
type noOffers struct{}

func (noOffers) Answer(context.Context, int64, supplyapi.OfferQuery) (*offers.Answer, error) {
	return nil, offers.ErrNotFound
}

func (noOffers) Details(context.Context, int64, uuid.UUID) (supplyapi.OfferDetails, error) {
	return supplyapi.OfferDetails{}, offers.ErrNotFound
}

// TestOfferStatusSeesEveryChange polls a ready procurement (so that its
// status and resource lists are cached) and changes its rows through
// another handle on the database, as another replica or process would, one
// kind of change at a time: every next poll shows the change, and equals
// what a ledger with nothing cached renders from the same rows.
func TestOfferStatusSeesEveryChange(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			opts := storetest.Options(t, engine)
			opts.Migrate = true
			st, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			opts.Migrate = false
			other, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			// Accounts 1 and 2: the renter, and someone who must not see their things.
			for i, name := range []string{"renter", "other"} {
				if acc, err := st.EnsureAccount(ctx, name); err != nil || acc.ID != int64(i+1) {
					t.Fatalf("account %s: %+v %v", name, acc, err)
				}
			}

			// A procurement of one machine, ready, as the workflow
			// leaves it.
			at := time.Now().UTC().Truncate(time.Microsecond)
			o := supplyapi.Offer{
				OfferID: uuid.New(), GPUType: "nvidia-h100-sxm5-80gb", GPUFamily: "H100", GPUCount: 1, Vendor: "lambda",
				Region: "US", VendorRegion: "us-east-1", ContractType: "ondemand", Type: "vm", GPUPricePerHour: 2.49,
				TotalPricePerHour: 2.49, StorageDetails: []supplyapi.StorageDetail{}, DeploymentType: "single",
				CreatedAt: at.Add(-time.Hour), ExpiresAt: at.Add(-30 * time.Minute), ObservedAt: at.Add(-time.Hour),
			}
			offer, _ := json.Marshal(o)
			if err := st.InsertProcurement(ctx, store.Procurement{OfferID: o.OfferID.String(), AccountID: 1, Vendor: o.Vendor,
				Offer: offer, Item: []byte("{}"), Status: store.ProcurementReady, CreatedAt: o.CreatedAt, UpdatedAt: at}); err != nil {
				t.Fatal(err)
			}
			spec, _ := json.Marshal(supplyapi.Spec{GPUType: o.GPUType, GPUCount: 1, ContractType: o.ContractType, InstanceType: "gpu_1x_h100_sxm5"})
			started := at.Add(-50 * time.Minute)
			machine := store.Resource{
				ID: uuid.NewString(), OfferID: o.OfferID.String(), AccountID: 1, ResourceType: "vm", Vendor: o.Vendor,
				VendorRegion: o.VendorRegion, Name: "h100-lambda-0a1b2c3d", Status: supplyapi.ResourceRunning, Spec: spec,
				PricePerHour: o.TotalPricePerHour, VendorInstanceID: "i-1", ExternalIP: "127.1.0.2", SSHPort: 40123,
				BillingStartedAt: &started, CreatedAt: o.CreatedAt, UpdatedAt: at,
			}
			if err := st.InsertResource(ctx, machine); err != nil {
				t.Fatal(err)
			}

			// The clock stands still unless the test moves it, so that the
			// accrued costs of two ledgers' lists compare exactly.
			var frozen atomic.Pointer[time.Time]
			frozen.Store(&at)
			clock := func() time.Time { return *frozen.Load() }
			l := ledger.New(ledger.Config{Store: st, Offers: noOffers{}, Now: clock})
			uncached := func() *ledger.Ledger {
				return ledger.New(ledger.Config{Store: other, Offers: noOffers{}, Now: clock})
			}
			fresh := func() supplyapi.OfferStatusResponse {
				t.Helper()
				st, err := uncached().OfferStatus(ctx, 1, o.OfferID)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
			filters := []ledger.ResourceFilter{{}, {OfferID: &o.OfferID}, {Status: supplyapi.ResourceRunning}, {Limit: 1}}
			lists := func(what string) {
				t.Helper()
				for range 2 { // the first read renders, the next one hits the cache
					for _, f := range filters {
						got, err := l.Resources(ctx, 1, f)
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
					st, err := l.OfferStatus(ctx, 1, o.OfferID)
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
			poll("nothing", func(st supplyapi.OfferStatusResponse) bool {
				return st.ProcurementStatus == supplyapi.ProcurementReady && st.Progress == "1/1 instances running"
			})

			// A cached list's costs move with the clock.
			before, err := l.Resources(ctx, 1, ledger.ResourceFilter{})
			if err != nil {
				t.Fatal(err)
			}
			later := at.Add(time.Hour)
			frozen.Store(&later)
			lists("an hour")
			after, err := l.Resources(ctx, 1, ledger.ResourceFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := after[0].AccruedCost-before[0].AccruedCost, after[0].PricingTotalHourly; math.Abs(got-want) > 0.0002 {
				t.Errorf("an hour on, the cost grew by %v, want %v", got, want)
			}

			r, err := other.ResourceByID(ctx, machine.ID)
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
				return st.ProcurementStatus == supplyapi.ProcurementFailed && st.Status == "failed" && *st.FailureReason == "broken on purpose"
			})

			// Another account is told nothing, cached or not.
			if _, err := l.OfferStatus(ctx, 2, o.OfferID); !errors.Is(err, refusal.ErrNotFound) {
				t.Errorf("another account reading the status: %v, want not found", err)
			}
			if list, err := l.Resources(ctx, 2, ledger.ResourceFilter{}); err != nil || len(list) != 0 {
				t.Errorf("another account listed %d resources (%v)", len(list), err)
			}
		})
	}
}
