package provision

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// BenchmarkResourceWrite measures one procurement step's write of a
// resource, alone ("plain") and with its event ("with_event": the row read
// before, the resource rendered as the API shows it, the event appended
// and the account's webhooks looked up, all in the step's transaction).
// Each write flips the status, so every with_event write makes an event.
//
//	go test -run XXX -bench BenchmarkResourceWrite -benchtime 2000x ./provision/
func BenchmarkResourceWrite(b *testing.B) {
	for _, engine := range storetest.Engines(b) {
		b.Run(engine, func(b *testing.B) {
			st := storetest.Open(b, engine)
			ctx := context.Background()
			acc, err := st.EnsureAccount(ctx, "bench")
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now().UTC()
			p := store.Procurement{OfferID: uuid.NewString(), AccountID: acc.ID, Vendor: "lambda", Offer: []byte(`{}`), Item: []byte(`{}`),
				Status: store.ProcurementProvisioning, CreatedAt: now, UpdatedAt: now}
			r := store.Resource{ID: uuid.NewString(), OfferID: p.OfferID, AccountID: acc.ID, ResourceType: "vm", Vendor: "lambda",
				Name: "bench", Status: supplyapi.ResourceRunning, Spec: []byte(`{"gpu_type":"H100"}`), CreatedAt: now, UpdatedAt: now}
			if err := st.InsertProcurement(ctx, p); err != nil {
				b.Fatal(err)
			}
			if err := st.InsertResource(ctx, r); err != nil {
				b.Fatal(err)
			}
			svc := New(Config{Store: st})
			for _, bench := range []struct {
				name string
				q    store.Store
			}{{"plain", st}, {"with_event", svc.store}} {
				b.Run(bench.name, func(b *testing.B) {
					for b.Loop() {
						was := r.Status
						r.Status = supplyapi.ResourceUnhealthy
						if was == supplyapi.ResourceUnhealthy {
							r.Status = supplyapi.ResourceRunning
						}
						r.UpdatedAt = time.Now()
						var err error
						if r, err = bench.q.UpdateResource(ctx, r); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
