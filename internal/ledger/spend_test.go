package ledger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// TestUsage checks accrued costs to the cent with a fake clock, over
// resources written as the workers would have left them.
func TestUsage(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, engine)
			acc, err := st.EnsureAccount(ctx, "renter")
			if err != nil {
				t.Fatal(err)
			}
			other, _ := st.EnsureAccount(ctx, "other")
			at := func(day, hour, minute int) *time.Time {
				t := time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC)
				return &t
			}
			now := *at(2, 14, 0)
			svc := ledger.New(ledger.Config{Store: st, Now: func() time.Time { return now }})

			type res struct {
				name, vendor, gpu, typ, status string
				price                          float64
				gpus                           int
				started, deleted               *time.Time
				parent                         string
				account                        int64
			}
			offer := 0
			record := func(rs ...res) []string {
				offer++
				offerID := uuid.NewString()
				if err := st.InsertProcurement(ctx, store.Procurement{OfferID: offerID, AccountID: rs[0].account, Vendor: rs[0].vendor,
					Offer: []byte("{}"), Item: []byte("{}"), Status: "ready", CreatedAt: now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, r := range rs {
					spec, _ := json.Marshal(supplyapi.Spec{GPUType: r.gpu, GPUCount: r.gpus})
					id := uuid.NewString()
					parent := ""
					if r.parent != "" {
						parent = ids[0]
					}
					created := now.Add(-48 * time.Hour)
					if err := st.InsertResource(ctx, store.Resource{ID: id, OfferID: offerID, AccountID: r.account, ParentID: parent,
						ResourceType: r.typ, Vendor: r.vendor, Name: r.name, Status: r.status, Spec: spec, PricePerHour: r.price,
						BillingStartedAt: r.started, DeletedAt: r.deleted, CreatedAt: created, UpdatedAt: created}); err != nil {
						t.Fatal(err)
					}
					ids = append(ids, id)
				}
				return ids
			}
			a := acc.ID
			// Deleted after 2 h at $2.10: $4.20.
			vmA := record(res{"a", "lambda", "nvidia-h100-sxm5-80gb", "vm", "deleted", 2.10, 1, at(2, 10, 0), at(2, 12, 0), "", a})[0]
			// Live since 11:00 at $1.55: $4.65 by 14:00.
			vmB := record(res{"b", "hyperstack", "nvidia-a100-pcie-40gb", "vm", "running", 1.55, 1, at(2, 11, 0), nil, "", a})[0]
			// A cluster of $7.20 in all, two nodes of $3.60 from 12:00; one gone
			// at 13:00 ($3.60), one live ($7.20): $10.80, not counted twice.
			cluster := record(
				res{"c", "nebius", "nvidia-h100-sxm5-80gb", "cluster", "running", 7.20, 16, at(2, 12, 0), nil, "", a},
				res{"c-0", "nebius", "nvidia-h100-sxm5-80gb", "vm", "deleted", 3.60, 8, at(2, 12, 0), at(2, 13, 0), "p", a},
				res{"c-1", "nebius", "nvidia-h100-sxm5-80gb", "vm", "running", 3.60, 8, at(2, 12, 0), nil, "p", a},
			)
			// Failed before the vendor made anything: nothing.
			record(res{"d", "lambda", "nvidia-h100-sxm5-80gb", "vm", "failed", 9.99, 1, nil, at(2, 9, 0), "", a})
			// Across midnight at $1.00: 1 h on the 1st, 1.5 h on the 2nd.
			vmE := record(res{"e", "verda", "nvidia-a100-pcie-40gb", "vm", "deleted", 1.00, 1, at(1, 23, 0), at(2, 1, 30), "", a})[0]
			// Another account's: never in this one's usage.
			record(res{"x", "lambda", "nvidia-h100-sxm5-80gb", "vm", "running", 50, 1, at(2, 0, 0), nil, "", other.ID})

			cost := map[string]float64{}
			list, err := svc.Resources(ctx, a, ledger.ResourceFilter{})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range list {
				cost[r.ResourceID.String()] = r.AccruedCost
			}
			for id, want := range map[string]float64{vmA: 4.20, vmB: 4.65, cluster[0]: 10.80, cluster[1]: 3.60, cluster[2]: 7.20, vmE: 2.50} {
				if math.Abs(cost[id]-want) >= 0.005 {
					t.Errorf("accrued cost of %s: %v, want %.2f", id, cost[id], want)
				}
			}

			usage := func(from, to time.Time, groupBy string) supplyapi.Usage {
				t.Helper()
				u, err := svc.Usage(ctx, a, ledger.UsageQuery{From: from, To: to, GroupBy: groupBy})
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
			cents := func(u supplyapi.Usage) string {
				s := fmt.Sprintf("total %.2f", u.TotalCost)
				for _, g := range u.Groups {
					s += fmt.Sprintf(", %s %.2f (%d)", g.Key, g.Cost, g.Resources)
				}
				return s
			}
			tests := []struct {
				from, to *time.Time
				groupBy  string
				want     string
			}{
				{at(1, 0, 0), &now, "", "total 22.15"},
				{at(1, 0, 0), &now, "vendor", "total 22.15, nebius 10.80 (2), hyperstack 4.65 (1), lambda 4.20 (1), verda 2.50 (1)"},
				{at(1, 0, 0), &now, "gpu_type", "total 22.15, nvidia-h100-sxm5-80gb 15.00 (3), nvidia-a100-pcie-40gb 7.15 (2)"},
				{at(1, 0, 0), &now, "day", "total 22.15, 2026-11-01 1.00 (1), 2026-11-02 21.15 (5)"},
				// Only what overlaps 11:30–12:30: A 0.5 h, B 1 h, nodes 0.5 h each.
				{at(2, 11, 30), at(2, 12, 30), "", "total 6.20"},
				// After now nothing has accrued yet.
				{&now, at(3, 0, 0), "vendor", "total 0.00"},
			}
			for _, tt := range tests {
				if got := cents(usage(*tt.from, *tt.to, tt.groupBy)); got != tt.want {
					t.Errorf("usage %s–%s by %q: %s, want %s", tt.from.Format(time.DateTime), tt.to.Format(time.DateTime), tt.groupBy, got, tt.want)
				}
			}
		})
	}
}
