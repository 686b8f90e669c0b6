package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
)

// TestEventIDsPerAccount: each account's ids count from 1 without gaps,
// also when many transactions append at once, and a reader that has seen
// id n never later finds an id below n (ids commit in order).
func TestEventIDsPerAccount(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, engine)
			ctx := context.Background()
			a, _ := st.EnsureAccount(ctx, "a")
			b, _ := st.EnsureAccount(ctx, "b")
			if last, err := st.LastEventID(ctx, a.ID); err != nil || last != 0 {
				t.Fatalf("last id before any event: %d %v", last, err)
			}
			const writers, each = 4, 15
			var wg sync.WaitGroup
			stop := make(chan struct{})
			readerErr := make(chan error, 1)
			go func() { readerErr <- readInOrder(ctx, st, a.ID, stop) }()
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						acc := a.ID
						if (w+i)%3 == 0 {
							acc = b.ID
						}
						err := st.InTx(ctx, func(tx store.Tx) error {
							_, _, err := tx.AppendEvents(ctx, acc, []store.Event{
								{Type: "resource.ready", ResourceID: "r", OfferID: "o", Data: []byte(`{}`)},
								{Type: "procurement.ready", OfferID: "o", Data: []byte(`{}`)},
							})
							return err
						})
						if err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(stop)
			if err := <-readerErr; err != nil {
				t.Error(err)
			}
			total := 0
			for _, acc := range []int64{a.ID, b.ID} {
				evs, err := st.EventsAfter(ctx, acc, 0, store.EventFilter{}, 1000)
				if err != nil {
					t.Fatal(err)
				}
				for i, e := range evs {
					if e.ID != int64(i+1) || e.AccountID != acc {
						t.Fatalf("account %d: event %d has id %d", acc, i+1, e.ID)
					}
				}
				if last, _ := st.LastEventID(ctx, acc); last != int64(len(evs)) {
					t.Errorf("account %d: last id %d of %d events", acc, last, len(evs))
				}
				total += len(evs)
			}
			if total != 2*writers*each {
				t.Errorf("%d events, want %d", total, 2*writers*each)
			}
			only, err := st.EventsAfter(ctx, a.ID, 0, store.EventFilter{Type: "procurement.ready", ResourceID: "o"}, 1000)
			if err != nil || len(only) == 0 || only[0].ResourceID != "" {
				t.Errorf("filtered by type and offer: %d %v", len(only), err)
			}
			n, err := st.DeleteEventsBefore(ctx, time.Now().Add(time.Minute))
			if err != nil || n != int64(total) {
				t.Errorf("deleted %d of %d events: %v", n, total, err)
			}
		})
	}
}

// readInOrder reads the account's events as a stream does, after the last
// id it saw, until stop; it fails if an id appears that it skipped over.
func readInOrder(ctx context.Context, st store.Store, account int64, stop <-chan struct{}) error {
	var after int64
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		evs, err := st.EventsAfter(ctx, account, after, store.EventFilter{}, 1000)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.ID != after+1 {
				return errors.New("a reader saw an event id appear after a later one")
			}
			after = e.ID
		}
		time.Sleep(time.Millisecond)
	}
}

// TestWebhookAttemptAfterDisable: an attempt that was on the wire while its
// webhook was disabled is recorded, but the delivery the disabling failed
// stays failed, unless that attempt got through.
func TestWebhookAttemptAfterDisable(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, engine)
			ctx := context.Background()
			acc, err := st.EnsureAccount(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			hook := store.Webhook{ID: "7f0c1d9e-2f43-4b8e-a0c5-6a1d2b3c4d5e", AccountID: acc.ID, URL: "https://example.com/hook", Secret: "whsec_c2VjcmV0", CreatedAt: time.Now()}
			var ids [2]int64
			err = st.InTx(ctx, func(tx store.Tx) error {
				if err := tx.InsertWebhook(ctx, hook); err != nil {
					return err
				}
				for i := range ids {
					d := store.WebhookDelivery{WebhookID: hook.ID, EventID: int64(i + 1), EventType: "resource.ready", Stream: "r", Payload: []byte(`{}`)}
					if ids[i], err = tx.InsertWebhookDelivery(ctx, d); err != nil {
						return err
					}
				}
				_, err := tx.DisableWebhook(ctx, hook.ID, "down for good", time.Now())
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			record := func(id int64, state string, status int64) bool {
				t.Helper()
				d := store.WebhookDelivery{ID: id, State: state, Attempts: 1, LastStatusCode: status}
				var moved bool
				err := st.InTx(ctx, func(tx store.Tx) (err error) {
					moved, err = tx.RecordWebhookAttempt(ctx, d, store.WebhookAttempt{Attempt: 1, StatusCode: status})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return moved
			}
			if record(ids[0], store.DeliveryPending, 0) {
				t.Error("a failed attempt moved a delivery the disabling had failed")
			}
			if !record(ids[1], store.DeliveryDelivered, 200) {
				t.Error("an attempt that got through did not make its delivery delivered")
			}
			for i, want := range []string{store.DeliveryFailed, store.DeliveryDelivered} {
				d, err := st.WebhookDeliveryByID(ctx, ids[i])
				if err != nil || d.State != want {
					t.Errorf("delivery %d: %s %v, want %s", i+1, d.State, err, want)
				}
				if as, err := st.WebhookAttempts(ctx, ids[i]); err != nil || len(as) != 1 {
					t.Errorf("delivery %d: attempts %+v %v, want the one made", i+1, as, err)
				}
			}
		})
	}
}
