package provision

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/events"
	"github.com/gpusupply/supply/store"
	"github.com/gpusupply/supply/store/storetest"
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
		Status: procurementReady, CreatedAt: now, UpdatedAt: now}
	r := store.Resource{ID: uuid.NewString(), OfferID: p.OfferID, AccountID: acc.ID, ResourceType: "vm", Vendor: "lambda",
		Name: "n", Status: ResourceRunning, Spec: []byte(`{}`), CreatedAt: now, UpdatedAt: now}
	if err := st.InsertProcurement(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertResource(ctx, r); err != nil {
		t.Fatal(err)
	}
	svc := New(Config{Store: st})
	err = svc.store.InTx(ctx, func(tx store.Tx) error {
		r.Status, r.StatusMessage = ResourceDeleting, "the resource's time limit passed"
		if _, err := tx.UpdateResource(ctx, r); err != nil {
			return err
		}
		return recordEvent(tx, events.ResourceAutoDeleted, r)
	})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.EventsAfter(ctx, acc.ID, 0, store.EventFilter{}, 10)
	if err != nil || len(evs) != 2 || evs[0].Type != events.ResourceDeleting || evs[1].Type != events.ResourceAutoDeleted || evs[1].ResourceID != r.ID {
		t.Fatalf("events %+v %v", evs, err)
	}
	err = st.InTx(ctx, func(tx store.Tx) error { return recordEvent(tx, events.ResourceAutoDeleted, r) })
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
		{"ready", store.Resource{Status: ResourceProvisioning}, store.Resource{Status: ResourceRunning}, events.ResourceReady},
		{"recovered", store.Resource{Status: ResourceUnhealthy}, store.Resource{Status: ResourceRunning}, events.ResourceRunning},
		{"unhealthy", store.Resource{Status: ResourceRunning}, store.Resource{Status: ResourceUnhealthy}, events.ResourceUnhealthy},
		{"preempted", store.Resource{Status: ResourceRunning}, store.Resource{Status: ResourcePreempted}, events.ResourcePreempted},
		{"failed", store.Resource{Status: ResourceProvisioning}, store.Resource{Status: ResourceFailed}, events.ResourceFailed},
		{"deleting", store.Resource{Status: ResourceRunning}, store.Resource{Status: ResourceDeleting}, events.ResourceDeleting},
		{"deleted", store.Resource{Status: ResourceDeleting}, store.Resource{Status: ResourceDeleted}, events.ResourceDeleted},
		{"instance", store.Resource{Status: ResourceProvisioning}, store.Resource{Status: ResourceProvisioning, VendorInstanceID: "i-1"}, events.ResourceInstanceCreated},
		{"cleaned up", store.Resource{Status: ResourceFailed}, store.Resource{Status: ResourceFailed, DeletedAt: &at}, events.ResourceCleanedUp},
		{"stuck", store.Resource{Status: ResourceDeleting, StatusMessage: "deletion retrying: 500"},
			store.Resource{Status: ResourceDeleting, StatusMessage: stuckPrefix + " deletion has been failing for 1h"}, events.ResourceDeletionStuck},
		{"still stuck", store.Resource{Status: ResourceDeleting, StatusMessage: stuckPrefix + " for 1h"},
			store.Resource{Status: ResourceDeleting, StatusMessage: stuckPrefix + " for 2h"}, ""},
		{"create attempt", store.Resource{Status: ResourceProvisioning}, store.Resource{Status: ResourceProvisioning, CreateAttemptedAt: &at}, ""},
		{"synced", store.Resource{Status: ResourceRunning, VendorInstanceID: "i-1"}, store.Resource{Status: ResourceRunning, VendorInstanceID: "i-1", LastSyncedAt: &at}, ""},
	} {
		if got := resourceEventType(c.before, c.after); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
