package provision_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/gpusupply/supply/internal/provision"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
)

func TestExpireOffers(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, "sqlite")
	acc, err := st.EnsureAccount(ctx, "renter")
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	// The store stamps snapshots with the real time; the job runs two days later.
	old, _ := st.InsertSnapshot(ctx, store.Snapshot{Vendor: "lambda", ObservedAt: time.Now(), ContentHash: "a", Offers: []byte("[]")})
	if _, err := st.InsertSnapshot(ctx, store.Snapshot{Vendor: "lambda", ObservedAt: time.Now(), ContentHash: "b", Offers: []byte("[]")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(2 * day)
	if err := st.InsertIdempotencyRecord(ctx, store.IdempotencyRecord{AccountID: acc.ID, Key: "old", RequestHash: "h", Response: []byte("{}"), CreatedAt: now.Add(-2 * day)}); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertIdempotencyRecord(ctx, store.IdempotencyRecord{AccountID: acc.ID, Key: "new", RequestHash: "h", Response: []byte("{}"), CreatedAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	key, err := st.CreateAPIKey(ctx, store.APIKey{AccountID: acc.ID, Prefix: "sk_supply_test", Hash: []byte("key hash")})
	if err != nil {
		t.Fatal(err)
	}
	for token, expires := range map[string]time.Time{"ended": now.Add(-time.Minute), "live": now.Add(time.Hour)} {
		if _, err := st.CreateSession(ctx, store.Session{TokenHash: []byte(token), AccountID: acc.ID, APIKeyID: key.ID, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
	}
	w := &provision.ExpireOffersWorker{Store: st, TTL: 30 * time.Minute, Grace: day, Now: func() time.Time { return now }}
	if err := w.Work(ctx, &river.Job[provision.ExpireOffersArgs]{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SnapshotByID(ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("replaced snapshot still there: %v", err)
	}
	if s, err := st.LatestSnapshot(ctx, "lambda"); err != nil || s.ContentHash != "b" {
		t.Errorf("the latest snapshot must stay: %+v %v", s, err)
	}
	if _, err := st.IdempotencyRecord(ctx, acc.ID, "old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("day-old idempotency key still there: %v", err)
	}
	if _, err := st.IdempotencyRecord(ctx, acc.ID, "new"); err != nil {
		t.Errorf("recent idempotency key gone: %v", err)
	}
	// Asked as of before it expired, a session still in the table answers.
	before := now.Add(-time.Hour)
	if _, err := st.ActiveSession(ctx, []byte("ended"), before); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired console session still there: %v", err)
	}
	if _, err := st.ActiveSession(ctx, []byte("live"), before); err != nil {
		t.Errorf("live console session gone: %v", err)
	}
}
