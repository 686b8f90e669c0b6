package ledger_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// TestStoppedCost checks accrued cost, usage by day and live spend of a
// machine stopped twice at a vendor that bills only its disk while it is
// stopped: $2.00 an hour running, $0.10 stopped.
func TestStoppedCost(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, engine)
			acc, err := st.EnsureAccount(ctx, "renter")
			if err != nil {
				t.Fatal(err)
			}
			at := func(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }
			now := at(2, 12)
			svc := ledger.New(ledger.Config{Store: st, Now: func() time.Time { return now }})
			offerID := uuid.NewString()
			if err := st.InsertProcurement(ctx, store.Procurement{OfferID: offerID, AccountID: acc.ID, Vendor: "runpod",
				Offer: []byte("{}"), Item: []byte("{}"), Status: "ready", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			// Billed from 1st 20:00; stopped 22:00 to 2nd 06:00 (8 h), and
			// again since 10:00 (2 h): 6 h running ($12.00) and 10 h stopped
			// ($1.00) by 12:00.
			started := at(1, 20)
			r := store.Resource{ID: uuid.NewString(), OfferID: offerID, AccountID: acc.ID, ResourceType: "container", Vendor: "runpod",
				Status: supplyapi.ResourceStopped, Spec: []byte(`{"gpu_type":"H100","gpu_count":1}`), PricePerHour: 2,
				BillingStartedAt: &started, CreatedAt: started, UpdatedAt: started}
			for _, span := range [][2]time.Time{{at(1, 22), at(2, 6)}, {at(2, 10), {}}} {
				if err := ledger.OpenStop(&r, span[0], 0.10); err != nil {
					t.Fatal(err)
				}
				if !span[1].IsZero() {
					if err := ledger.CloseStop(&r, span[1]); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := st.InsertResource(ctx, r); err != nil {
				t.Fatal(err)
			}
			list, err := svc.Resources(ctx, acc.ID, ledger.ResourceFilter{})
			if err != nil || len(list) != 1 || math.Abs(list[0].AccruedCost-13.00) > 0.0001 {
				t.Fatalf("resources %+v, %v; want an accrued cost of $13.00", list, err)
			}
			u, err := svc.Usage(ctx, acc.ID, ledger.UsageQuery{From: at(1, 0), To: at(3, 0), GroupBy: "day"})
			if err != nil {
				t.Fatal(err)
			}
			// The 1st: 2 h running, 2 h stopped: $4.20. The 2nd: 4 h running
			// (06:00 to 10:00), 6 h and 2 h stopped: $8.00 + $0.80.
			byDay := map[string]float64{}
			for _, g := range u.Groups {
				byDay[g.Key] = g.Cost
			}
			if math.Abs(byDay["2026-11-01"]-4.20) > 0.0001 || math.Abs(byDay["2026-11-02"]-8.80) > 0.0001 || math.Abs(u.TotalCost-13.00) > 0.0001 {
				t.Errorf("usage by day %v, total %v; want $4.20, $8.80, $13.00", byDay, u.TotalCost)
			}
			acct, err := svc.Account(ctx, acc.ID)
			if err != nil || acct.Live.HourlyUSD != 0.10 {
				b, _ := json.Marshal(acct)
				t.Errorf("account %s, %v; want a live spend of $0.10 an hour while stopped", b, err)
			}
		})
	}
}
