package provision_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/provision"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

func TestAutoDelete(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine, nil)
			ctx := context.Background()

			// Procured to go in 5 s: it boots, runs, and goes by itself. (The
			// sandbox boots in 0.4 s; 5 s leaves room for a loaded machine,
			// where 2 s once ran out before the machine was ready.)
			o := e.offer("lambda", "H100")
			start := time.Now()
			resp := e.procure(o, func(r *supplyapi.ProcureOfferRequest) { r.AutoDeleteAfter = supplyapi.DurationText("5s") })
			id := resp.ResourceIDs[0]
			r, err := e.svc.Resource(ctx, 1, id, false)
			if err != nil || r.DeleteAt == nil || r.DeleteAt.Sub(start) < 5*time.Second || r.DeleteAt.Sub(start) > 6*time.Second {
				t.Fatalf("delete_at %v for auto_delete_after 5s procured at %s (%v)", r.DeleteAt, start, err)
			}
			e.waitStatus(o.OfferID, "ready", ready)
			gone := e.waitResource(id, supplyapi.ResourceDeleted)
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("auto-deleted after %s, want about 5s", took)
			}
			if n := len(e.live(id.String())); n != 0 {
				t.Errorf("auto-deleted but %d instances live at the vendor", n)
			}
			if gone.AccruedCost <= 0 || gone.AccruedCost > o.TotalPricePerHour*15/3600 {
				t.Errorf("accrued cost %v of a few seconds at $%v/h", gone.AccruedCost, o.TotalPricePerHour)
			}
			if again, _ := e.svc.Resource(ctx, 1, id, false); again.AccruedCost != gone.AccruedCost {
				t.Errorf("a deleted resource's cost moved: %v then %v", gone.AccruedCost, again.AccruedCost)
			}
			if v := metricValue(t, e.reg, "supply_auto_deletes_total"); v != 1 {
				t.Errorf("supply_auto_deletes_total %v, want 1", v)
			}
			// The event log says the deletion was the resource's own, right
			// after the resource.deleting of the same transaction.
			evs, err := e.st.EventsAfter(ctx, 1, 0, store.EventFilter{ResourceID: id.String()}, 100)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, ev := range evs {
				types = append(types, ev.Type)
			}
			if i := slices.Index(types, supplyapi.EventResourceAutoDeleted); i < 1 || types[i-1] != supplyapi.EventResourceDeleting {
				t.Errorf("events of an auto-deleted resource: %v, want %s right after %s", types, supplyapi.EventResourceAutoDeleted, supplyapi.EventResourceDeleting)
			}

			// Procured for an hour, cleared, then moved to 1 s from now.
			o2 := e.offer("hyperstack", "H100")
			resp = e.procure(o2, func(r *supplyapi.ProcureOfferRequest) { r.AutoDeleteAfter = supplyapi.DurationText("1h") })
			id = resp.ResourceIDs[0]
			e.waitStatus(o2.OfferID, "ready", ready)
			r, err = e.svc.SetAutoDelete(ctx, 1, id, supplyapi.AutoDeleteRequest{AutoDeleteAfter: &supplyapi.Duration{}})
			if err != nil || r.DeleteAt != nil {
				t.Fatalf("clearing auto-delete: delete_at %v, %v", r.DeleteAt, err)
			}
			if _, err := e.svc.SetAutoDelete(ctx, 2, id, supplyapi.AutoDeleteRequest{AutoDeleteAfter: supplyapi.DurationText("1s")}); !errors.Is(err, refusal.ErrNotFound) {
				t.Errorf("another account moved the auto-delete: %v", err)
			}
			r, err = e.svc.SetAutoDelete(ctx, 1, id, supplyapi.AutoDeleteRequest{AutoDeleteAfter: supplyapi.DurationText("1")})
			if err != nil || r.DeleteAt == nil || time.Until(*r.DeleteAt) > time.Second {
				t.Fatalf("auto-delete in 1 s: delete_at %v, %v", r.DeleteAt, err)
			}
			e.waitResource(id, supplyapi.ResourceDeleted)
			if _, err := e.svc.SetAutoDelete(ctx, 1, id, supplyapi.AutoDeleteRequest{AutoDeleteAfter: supplyapi.DurationText("1h")}); !errors.Is(err, refusal.ErrConflict) {
				t.Errorf("extending a deleted resource: %v, want conflict", err)
			}
		})
	}
}

func TestAutoDeleteCluster(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	ctx := context.Background()
	o := e.clusterOffer("nebius", 2)
	resp := e.procure(o, func(r *supplyapi.ProcureOfferRequest) { r.AutoDeleteAfter = supplyapi.DurationText("1h") })
	e.waitStatus(o.OfferID, "ready", ready)
	parent, node := resp.ResourceIDs[0], resp.ResourceIDs[1]
	if _, err := e.svc.SetAutoDelete(ctx, 1, node, supplyapi.AutoDeleteRequest{AutoDeleteAfter: supplyapi.DurationText("1s")}); !errors.Is(err, refusal.ErrConflict) {
		t.Fatalf("moving a node's auto-delete: %v, want conflict", err)
	}
	if _, err := e.svc.SetAutoDelete(ctx, 1, parent, supplyapi.AutoDeleteRequest{AutoDeleteAfter: supplyapi.DurationText("1s")}); err != nil {
		t.Fatal(err)
	}
	for _, id := range resp.ResourceIDs {
		e.waitResource(id, supplyapi.ResourceDeleted)
		if n := len(e.live(id.String())); n != 0 {
			t.Errorf("resource %s auto-deleted but %d instances live", id, n)
		}
	}
}

func TestAutoDeleteDefaultAndRefusals(t *testing.T) {
	e := newEnv(t, "sqlite", func(c *provision.Config) {
		c.DefaultAutoDelete, c.MaxAutoDelete = 4*time.Hour, 48*time.Hour
	})
	ctx := context.Background()
	bad := []struct {
		input any
		msg   string
	}{
		{"soon", `must be a duration such as "4h"`},
		{"-5m", "must be longer than zero"},
		{-1, "must be longer than zero"},
		{0, "must be longer than zero"},
		{"0s", "must be longer than zero"},
		{"49h", "must be at most 48h0m0s"},
		{48*3600 + 1, "must be at most 48h0m0s"},
		{"99999999999999999999h", `must be a duration such as "4h"`},
		{1e300, "must be at most"},
		{true, `must be a duration such as "4h"`},
		{"", `must be a duration such as "4h"`},
	}
	for _, tt := range bad {
		raw, _ := json.Marshal(tt.input)
		var d supplyapi.Duration
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		o := e.offer("lambda", "H100")
		_, err := e.svc.Procure(ctx, 1, "", supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey, AutoDeleteAfter: &d})
		var qe *offers.QueryError
		if !errors.As(err, &qe) || fmt.Sprint(qe.Loc) != "[body auto_delete_after]" || !strings.Contains(qe.Msg, tt.msg) {
			t.Errorf("auto_delete_after %s: %v, want a 422 on body.auto_delete_after saying %q", raw, err, tt.msg)
		}
	}
	if list, _ := e.svc.Resources(ctx, 1, ledger.ResourceFilter{}); len(list) != 0 {
		t.Fatalf("refused procurements recorded %d resources", len(list))
	}

	// Nothing said: the server's default; null: never.
	o := e.offer("lambda", "H100")
	now := time.Now()
	r, _ := e.svc.Resource(ctx, 1, e.procure(o, nil).ResourceIDs[0], false)
	if r.DeleteAt == nil || r.DeleteAt.Sub(now).Round(time.Minute) != 4*time.Hour {
		t.Errorf("default auto-delete: delete_at %v, want 4h from now", r.DeleteAt)
	}
	o = e.offer("hyperstack", "H100")
	r, _ = e.svc.Resource(ctx, 1, e.procure(o, func(r *supplyapi.ProcureOfferRequest) { r.AutoDeleteAfter = &supplyapi.Duration{} }).ResourceIDs[0], false)
	if r.DeleteAt != nil {
		t.Errorf("auto_delete_after null: delete_at %v, want never", r.DeleteAt)
	}
	if _, err := e.svc.SetAutoDelete(ctx, 1, r.ResourceID, supplyapi.AutoDeleteRequest{AutoDeleteAfter: supplyapi.DurationText("72h")}); err == nil {
		t.Error("PATCH over the maximum was accepted")
	}
}

// cheapOffers are n single-GPU on-demand offers of a few families.
func (e *env) cheapOffers(n int) []supplyapi.Offer {
	e.t.Helper()
	var out []supplyapi.Offer
	for _, gpu := range []string{"H100", "A100", "L40S", "H200", "RTX 4090", "A6000"} {
		res, err := e.index.Search(context.Background(), 1, supplyapi.OfferQuery{Limit: 4,
			Compute: supplyapi.OfferQueryCompute{GPUType: gpu, GPUCount: 1, ContractType: "ondemand"}})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, o := range res.Offers {
			if o.GPUCount == 1 && (o.NodeCount == nil || *o.NodeCount <= 1) && len(out) < n {
				out = append(out, o)
			}
		}
	}
	if len(out) < n {
		e.t.Fatalf("only %d single-GPU offers", len(out))
	}
	return out
}

func TestSpendCaps(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine, nil)
			ctx := context.Background()
			offs := e.cheapOffers(3)
			first, second := offs[0], offs[1]
			capUSD := first.TotalPricePerHour + second.TotalPricePerHour/2
			if err := e.st.SetAccountLimits(ctx, 1, &capUSD, nil); err != nil {
				t.Fatal(err)
			}
			id := e.procure(first, nil).ResourceIDs[0]
			e.waitResource(id, supplyapi.ResourceRunning)
			if v := liveSpendGauge(t, e, "1"); math.Abs(v-first.TotalPricePerHour) > 1e-9 {
				t.Errorf("supply_live_hourly_spend_usd %v, want %v", v, first.TotalPricePerHour)
			}
			before := len(e.sb.Instances())
			_, err := e.svc.Procure(ctx, 1, "", supplyapi.ProcureOfferRequest{OfferID: second.OfferID, SSHPublicKey: testKey})
			want := fmt.Sprintf("cap on live hourly spend of $%.2f per hour: its live resources cost $%.2f per hour now and this offer costs $%.2f per hour",
				capUSD, first.TotalPricePerHour, second.TotalPricePerHour)
			if !errors.Is(err, refusal.ErrForbidden) || !strings.Contains(err.Error(), want) {
				t.Fatalf("procurement over the hourly cap: %v, want forbidden saying %q", err, want)
			}
			acc, err := e.svc.Account(ctx, 1)
			if err != nil || acc.Name != "renter" || acc.Live.Resources != 1 || acc.Live.GPUCount != 1 ||
				math.Abs(acc.Live.HourlyUSD-first.TotalPricePerHour) > 1e-4 || *acc.Limits.MaxHourlyUSD != capUSD || acc.Limits.MaxGPUCount != nil {
				t.Fatalf("account %+v %v", acc, err)
			}

			// The GPU cap, met exactly by what is live.
			gpus := int64(1)
			if err := e.st.SetAccountLimits(ctx, 1, nil, &gpus); err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.Procure(ctx, 1, "", supplyapi.ProcureOfferRequest{OfferID: second.OfferID, SSHPublicKey: testKey})
			if !errors.Is(err, refusal.ErrForbidden) || !strings.Contains(err.Error(), "cap of 1 live GPUs: its live resources hold 1 GPUs now and this offer has 1") {
				t.Fatalf("procurement over the GPU cap: %v", err)
			}
			// A vendor is only ever called by the job of a recorded
			// resource, which a refusal never writes: no resource, no call.
			if list, _ := e.svc.Resources(ctx, 1, ledger.ResourceFilter{}); len(list) != 1 {
				t.Fatalf("refused procurements recorded resources: %d, want 1", len(list))
			}
			if after := len(e.sb.Instances()); after != before {
				t.Fatalf("refused procurements reached the vendors: %d instances, were %d", after, before)
			}
			// The other account has no cap.
			res, err := e.index.Search(ctx, 2, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: offs[2].GPUType}})
			if err != nil || len(res.Offers) == 0 {
				t.Fatalf("offers for the other account: %v", err)
			}
			if _, err := e.svc.Procure(ctx, 2, "", supplyapi.ProcureOfferRequest{OfferID: res.Offers[0].OfferID, SSHPublicKey: testKey}); err != nil {
				t.Fatalf("an account without caps was refused: %v", err)
			}
			// Once the first is deleted, the second fits.
			if _, err := e.svc.Delete(ctx, 1, id, false); err != nil {
				t.Fatal(err)
			}
			e.waitResource(id, supplyapi.ResourceDeleted)
			// The gauge is set just after the deletion is recorded.
			for deadline := time.Now().Add(10 * time.Second); liveSpendGauge(t, e, "1") != 0; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("supply_live_hourly_spend_usd %v after the deletion, want 0", liveSpendGauge(t, e, "1"))
				}
			}
			e.procure(second, nil)
		})
	}
}

func TestSpendCapRace(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine, nil)
			ctx := context.Background()
			offs := e.cheapOffers(6)
			gpus := int64(1)
			if err := e.st.SetAccountLimits(ctx, 1, nil, &gpus); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, len(offs))
			for i, o := range offs {
				wg.Go(func() {
					_, errs[i] = e.svc.Procure(ctx, 1, "", supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey})
				})
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, refusal.ErrForbidden):
					t.Errorf("concurrent procurement: %v", err)
				}
			}
			if list, _ := e.svc.Resources(ctx, 1, ledger.ResourceFilter{}); ok != 1 || len(list) != 1 {
				t.Fatalf("%d of %d concurrent procurements passed a 1-GPU cap, %d resources recorded; want 1", ok, len(offs), len(list))
			}
		})
	}
}

// liveSpendGauge is supply_live_hourly_spend_usd of one account.
func liveSpendGauge(t *testing.T, e *env, account string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == "supply_live_hourly_spend_usd" && len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == account {
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}
