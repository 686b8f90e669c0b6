package provision

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// TestRecordEvent: an event a write cannot tell (an automatic deletion) is
// recorded in the transaction beside the write's own; a transaction not
// opened by the Service's store is refused.
func TestRecordEvent(t *testing.T) {
	st := storetest.Open(t, store.EngineSQLite)
	ctx := context.Background()
	acc, err := st.EnsureAccount(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	p := store.Procurement{OfferID: uuid.NewString(), AccountID: acc.ID, Vendor: "lambda", Offer: []byte(`{}`), Item: []byte(`{}`),
		Status: store.ProcurementReady, CreatedAt: now, UpdatedAt: now}
	r := store.Resource{ID: uuid.NewString(), OfferID: p.OfferID, AccountID: acc.ID, ResourceType: "vm", Vendor: "lambda",
		Name: "n", Status: supplyapi.ResourceRunning, Spec: []byte(`{}`), CreatedAt: now, UpdatedAt: now}
	if err := st.InsertProcurement(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertResource(ctx, r); err != nil {
		t.Fatal(err)
	}
	svc := New(Config{Store: st})
	err = svc.store.InTx(ctx, func(tx store.Tx) error {
		r.Status, r.StatusMessage = supplyapi.ResourceDeleting, "the resource's time limit passed"
		if _, err := tx.UpdateResource(ctx, r); err != nil {
			return err
		}
		return recordEvent(tx, supplyapi.EventResourceAutoDeleted, r)
	})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.EventsAfter(ctx, acc.ID, 0, store.EventFilter{}, 10)
	if err != nil || len(evs) != 2 || evs[0].Type != supplyapi.EventResourceDeleting || evs[1].Type != supplyapi.EventResourceAutoDeleted || evs[1].ResourceID != r.ID {
		t.Fatalf("events %+v %v", evs, err)
	}
	err = st.InTx(ctx, func(tx store.Tx) error { return recordEvent(tx, supplyapi.EventResourceAutoDeleted, r) })
	if !errors.Is(err, errNotRecording) {
		t.Errorf("a plain transaction: %v", err)
	}
}

// TestResourceEventType names every change a client follows, and nothing
// else (a sync that found nothing new, a create attempt noted).
func TestResourceEventType(t *testing.T) {
	at := time.Now()
	for _, c := range []struct {
		name          string
		before, after store.Resource
		want          string
	}{
		{"ready", store.Resource{Status: supplyapi.ResourceProvisioning}, store.Resource{Status: supplyapi.ResourceRunning}, supplyapi.EventResourceReady},
		{"recovered", store.Resource{Status: supplyapi.ResourceUnhealthy}, store.Resource{Status: supplyapi.ResourceRunning}, supplyapi.EventResourceRunning},
		{"unhealthy", store.Resource{Status: supplyapi.ResourceRunning}, store.Resource{Status: supplyapi.ResourceUnhealthy}, supplyapi.EventResourceUnhealthy},
		{"preempted", store.Resource{Status: supplyapi.ResourceRunning}, store.Resource{Status: supplyapi.ResourcePreempted}, supplyapi.EventResourcePreempted},
		{"failed", store.Resource{Status: supplyapi.ResourceProvisioning}, store.Resource{Status: supplyapi.ResourceFailed}, supplyapi.EventResourceFailed},
		{"deleting", store.Resource{Status: supplyapi.ResourceRunning}, store.Resource{Status: supplyapi.ResourceDeleting}, supplyapi.EventResourceDeleting},
		{"deleted", store.Resource{Status: supplyapi.ResourceDeleting}, store.Resource{Status: supplyapi.ResourceDeleted}, supplyapi.EventResourceDeleted},
		{"instance", store.Resource{Status: supplyapi.ResourceProvisioning}, store.Resource{Status: supplyapi.ResourceProvisioning, VendorInstanceID: "i-1"}, supplyapi.EventResourceInstanceCreated},
		{"cleaned up", store.Resource{Status: supplyapi.ResourceFailed}, store.Resource{Status: supplyapi.ResourceFailed, DeletedAt: &at}, supplyapi.EventResourceCleanedUp},
		{"stuck", store.Resource{Status: supplyapi.ResourceDeleting, StatusMessage: "deletion retrying: 500"},
			store.Resource{Status: supplyapi.ResourceDeleting, StatusMessage: stuckPrefix + " deletion has been failing for 1h"}, supplyapi.EventResourceDeletionStuck},
		{"still stuck", store.Resource{Status: supplyapi.ResourceDeleting, StatusMessage: stuckPrefix + " for 1h"},
			store.Resource{Status: supplyapi.ResourceDeleting, StatusMessage: stuckPrefix + " for 2h"}, ""},
		{"create attempt", store.Resource{Status: supplyapi.ResourceProvisioning}, store.Resource{Status: supplyapi.ResourceProvisioning, CreateAttemptedAt: &at}, ""},
		{"synced", store.Resource{Status: supplyapi.ResourceRunning, VendorInstanceID: "i-1"}, store.Resource{Status: supplyapi.ResourceRunning, VendorInstanceID: "i-1", LastSyncedAt: &at}, ""},
	} {
		if got := resourceEventType(c.before, c.after); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
