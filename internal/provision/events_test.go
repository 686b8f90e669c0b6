package provision_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// TestEventsRecordEveryTransition follows a procurement from start to
// deletion and reads back, from the event log, every change in order,
// each with the object as the API shows it.
func TestEventsRecordEveryTransition(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine, nil)
			o := e.offer("lambda", "H100")
			resp := e.procure(o, nil)
			e.waitStatus(o.OfferID, "ready", ready)
			id := resp.ResourceIDs[0]
			if _, err := e.svc.Delete(context.Background(), 1, id, false); err != nil {
				t.Fatal(err)
			}
			e.waitResource(id, supplyapi.ResourceDeleted)

			evs, err := e.st.EventsAfter(context.Background(), 1, 0, store.EventFilter{}, 100)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				supplyapi.EventProcurementStarted, supplyapi.EventResourceCreated, supplyapi.EventResourceInstanceCreated, supplyapi.EventResourceReady,
				supplyapi.EventProcurementReady, supplyapi.EventResourceDeleting, supplyapi.EventResourceDeleted,
			}
			var got []string
			for i, ev := range evs {
				got = append(got, ev.Type)
				if ev.ID != int64(i+1) {
					t.Errorf("event %d has id %d; ids must count from 1 without gaps", i, ev.ID)
				}
				if ev.OfferID != o.OfferID.String() {
					t.Errorf("event %d (%s) names offer %s", ev.ID, ev.Type, ev.OfferID)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("events %v, want %v", got, want)
			}
			// The data is the object's state right after the change.
			statusOf := func(ev store.Event, field string) string {
				var m map[string]any
				if err := json.Unmarshal(ev.Data, &m); err != nil {
					t.Fatalf("event %d data: %v", ev.ID, err)
				}
				s, _ := m[field].(string)
				return s
			}
			for ev, status := range map[int]string{3: supplyapi.ResourceRunning, 5: supplyapi.ResourceDeleting, 6: supplyapi.ResourceDeleted} {
				if got := statusOf(evs[ev], "status"); got != status || evs[ev].ResourceID != id.String() {
					t.Errorf("%s event shows status %q of %s, want %q of %s", evs[ev].Type, got, evs[ev].ResourceID, status, id)
				}
			}
			if got := statusOf(evs[4], "procurement_status"); got != supplyapi.ProcurementReady {
				t.Errorf("procurement.ready shows procurement_status %q", got)
			}
			if other, err := e.st.EventsAfter(context.Background(), 2, 0, store.EventFilter{}, 100); err != nil || len(other) != 0 {
				t.Errorf("another account has %d events (%v)", len(other), err)
			}
			only, err := e.st.EventsAfter(context.Background(), 1, 0, store.EventFilter{Type: supplyapi.EventResourceDeleted, ResourceID: id.String()}, 100)
			if err != nil || len(only) != 1 || only[0].ID != 7 {
				t.Errorf("filtered by type and resource: %+v %v", only, err)
			}
		})
	}
}

// waitEvents waits until account 1 has at least n events and returns their types.
func (e *env) waitEvents(n int) []string {
	e.t.Helper()
	var got []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := e.st.EventsAfter(context.Background(), 1, 0, store.EventFilter{}, 100)
		if err != nil {
			e.t.Fatal(err)
		}
		got = got[:0]
		for _, ev := range evs {
			got = append(got, ev.Type)
		}
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}
