package provision_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gpusupply/supply/internal/actor"
	"github.com/gpusupply/supply/internal/keys"
	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/logging"
	"github.com/gpusupply/supply/internal/provision"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// keyContext is ctx as the API hands it on for a request with key k.
func keyContext(ctx context.Context, k supplyapi.APIKeyInfo) context.Context {
	return actor.With(ctx, actor.Actor{KeyID: k.ID, Name: k.Name})
}

// logLine is the JSON log line with message msg about resource id.
func logLine(t *testing.T, logs *lockedBuffer, msg, id string) map[string]any {
	t.Helper()
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg && rec["resource_id"] == id {
			return rec
		}
	}
	t.Fatalf("no log line %q of %s in:\n%s", msg, id, logs.String())
	return nil
}

// TestKeyCaps: a member key with max_gpu_count 1 holds at most one GPU
// however many procurements it races, the account's cap holds across its
// keys, a key rents only from its vendors, a key's max_hourly_usd counts
// its own resources alone, and every event of a
// procurement, the workers' included, names the key that made it, and
// so do the workers' log lines.
func TestKeyCaps(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			logs := &lockedBuffer{}
			logger, err := logging.New(logs, logging.FormatJSON, "info")
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, engine, func(c *provision.Config) { c.Logger = logger })
			ctx := context.Background()
			ks := keys.New(e.st)
			one := int64(1)
			ci, err := ks.Create(ctx, 1, supplyapi.APIKeyRequest{Name: "ci", Role: "member", MaxGPUCount: &one})
			if err != nil {
				t.Fatal(err)
			}
			dev, err := ks.Create(ctx, 1, supplyapi.APIKeyRequest{Name: "dev", Role: "member"})
			if err != nil {
				t.Fatal(err)
			}
			offs := e.cheapOffers(14)

			var wg sync.WaitGroup
			errs := make([]error, 10)
			for i, o := range offs[:10] {
				wg.Go(func() {
					_, errs[i] = e.svc.Procure(keyContext(ctx, ci), 1, "", supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: testKey})
				})
			}
			wg.Wait()
			passed, procured := 0, ""
			for i, err := range errs {
				switch {
				case err == nil:
					passed, procured = passed+1, offs[i].OfferID.String()
				case !errors.Is(err, refusal.ErrForbidden) || !strings.Contains(err.Error(), "this API key's cap of 1 live GPUs: the key's live resources hold 1 GPUs now"):
					t.Errorf("concurrent procurement with the capped key: %v", err)
				}
			}
			mine, err := e.svc.Resources(ctx, 1, ledger.ResourceFilter{CreatedBy: ci.ID})
			if err != nil || passed != 1 || len(mine) != 1 {
				t.Fatalf("%d of 10 concurrent procurements passed a key's 1-GPU cap, %d resources created by it (%v); want 1", passed, len(mine), err)
			}

			// The account's cap counts every key's resources: 1 held by
			// ci, and dev may add 1 more under a cap of 2, not 2 more.
			two := int64(2)
			if err := e.st.SetAccountLimits(ctx, 1, nil, &two); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Procure(keyContext(ctx, dev), 1, "", supplyapi.ProcureOfferRequest{OfferID: offs[10].OfferID, SSHPublicKey: testKey}); err != nil {
				t.Fatalf("the uncapped key within the account's cap: %v", err)
			}
			_, err = e.svc.Procure(keyContext(ctx, dev), 1, "", supplyapi.ProcureOfferRequest{OfferID: offs[11].OfferID, SSHPublicKey: testKey})
			if !errors.Is(err, refusal.ErrForbidden) || !strings.Contains(err.Error(), "the account's cap of 2 live GPUs: its live resources hold 2 GPUs now") {
				t.Fatalf("the uncapped key over the account's cap: %v", err)
			}
			if err := e.st.SetAccountLimits(ctx, 1, nil, nil); err != nil {
				t.Fatal(err)
			}

			// A key limited to vendors the offer is not from.
			nowhere, err := ks.Create(ctx, 1, supplyapi.APIKeyRequest{Name: "nowhere", Role: "member", Vendors: []string{"novendor"}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.Procure(keyContext(ctx, nowhere), 1, "", supplyapi.ProcureOfferRequest{OfferID: offs[12].OfferID, SSHPublicKey: testKey})
			if !errors.Is(err, refusal.ErrForbidden) || !strings.Contains(err.Error(), "may rent from novendor only, and this offer is from "+offs[12].Vendor) {
				t.Fatalf("a key procuring outside its vendors: %v", err)
			}

			// A key's hourly cap counts the key's resources, not the
			// account's: thrifty may hold one offer's price while ci and
			// dev hold more, and no second offer on top of it.
			price := offs[12].TotalPricePerHour
			thrifty, err := ks.Create(ctx, 1, supplyapi.APIKeyRequest{Name: "thrifty", Role: "member", MaxHourlyUSD: &price})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Procure(keyContext(ctx, thrifty), 1, "", supplyapi.ProcureOfferRequest{OfferID: offs[12].OfferID, SSHPublicKey: testKey}); err != nil {
				t.Fatalf("an offer within the key's hourly cap, the account holding more: %v", err)
			}
			_, err = e.svc.Procure(keyContext(ctx, thrifty), 1, "", supplyapi.ProcureOfferRequest{OfferID: offs[13].OfferID, SSHPublicKey: testKey})
			if want := fmt.Sprintf("this API key's cap on live hourly spend of $%.2f per hour: the key's live resources cost $%.2f per hour now and this offer costs $%.2f per hour",
				price, price, offs[13].TotalPricePerHour); !errors.Is(err, refusal.ErrForbidden) || !strings.Contains(fmt.Sprint(err), want) {
				t.Fatalf("a second offer over the key's hourly cap: %v, want 403 %q", err, want)
			}

			// Every event of ci's procurement names ci, the workers'
			// (the machine became ready) as well as the request's.
			id := mine[0].ResourceID
			e.waitResource(id, supplyapi.ResourceRunning)
			evs, err := e.st.EventsAfter(ctx, 1, 0, store.EventFilter{ResourceID: procured}, 100)
			if err != nil {
				t.Fatal(err)
			}
			types := map[string]bool{}
			for _, ev := range evs {
				types[ev.Type] = true
				if ev.ActorKeyID == nil || *ev.ActorKeyID != ci.ID || ev.ActorName != "ci" {
					t.Errorf("event %s of ci's procurement names %v %q, want key %d ci", ev.Type, ev.ActorKeyID, ev.ActorName, ci.ID)
				}
			}
			if !types[supplyapi.EventProcurementStarted] || !types[supplyapi.EventResourceReady] {
				t.Errorf("events of ci's procurement: %v; want its start and the machine's readiness among them", types)
			}
			// So does the workers' log line of it.
			ready := logLine(t, logs, "instance ready", id.String())
			if who, _ := ready["actor"].(map[string]any); who["key_id"] != float64(ci.ID) || who["name"] != "ci" {
				t.Errorf("the log line of ci's machine becoming ready: %v, want actor key %d ci", ready, ci.ID)
			}
		})
	}
}
