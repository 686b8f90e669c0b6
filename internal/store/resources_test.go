package store_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store"
)

// base is a time the tests write: not UTC and with nanoseconds, which the
// store must normalise.
var base = time.Date(2026, 11, 27, 13, 0, 0, 123456789, time.FixedZone("CET", 3600))

// stored is t as the store returns it: UTC, microseconds.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func storedPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	s := stored(*t)
	return &s
}

func ptr[T any](v T) *T { return &v }

func testProcurement(accountID int64, offerID string) store.Procurement {
	return store.Procurement{
		OfferID:      offerID,
		AccountID:    accountID,
		Vendor:       "lambda",
		Offer:        []byte(`{"offer_id": "` + offerID + `",  "b": 1, "a": 2}`),
		Item:         []byte(`{"instance_type":"gpu_1x_h100"}`),
		SSHPublicKey: "ssh-ed25519 AAAA test",
		Status:       "provisioning",
		CreatedAt:    base,
		UpdatedAt:    base,
	}
}

// storedProcurement is p as the store returns it.
func storedProcurement(p store.Procurement) store.Procurement {
	p.CreatedAt, p.UpdatedAt = stored(p.CreatedAt), stored(p.UpdatedAt)
	return p
}

func testResource(accountID int64, offerID, id string, created time.Time) store.Resource {
	return store.Resource{
		ID:           id,
		OfferID:      offerID,
		AccountID:    accountID,
		ResourceType: "vm",
		Vendor:       "lambda",
		VendorRegion: "us-east-1",
		Name:         "gpu-" + id,
		Status:       "provisioning",
		Spec:         []byte(`{"gpu": "H100",  "count": 1}`),
		PricePerHour: 2.49,
		CreatedAt:    created,
		UpdatedAt:    created,
	}
}

// storedResource is r as the store returns it.
func storedResource(r store.Resource) store.Resource {
	for _, t := range []**time.Time{&r.CreateAttemptedAt, &r.DeleteRequestedAt, &r.ReadyAt, &r.DeletedAt, &r.LastSyncedAt, &r.DeleteAt, &r.BillingStartedAt} {
		*t = storedPtr(*t)
	}
	r.CreatedAt, r.UpdatedAt = stored(r.CreatedAt), stored(r.UpdatedAt)
	return r
}

// ensureAccount creates the named account.
func ensureAccount(t *testing.T, s store.Queries, name string) int64 {
	t.Helper()
	a, err := s.EnsureAccount(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func insertProcurement(t *testing.T, s store.Queries, p store.Procurement) {
	t.Helper()
	if err := s.InsertProcurement(t.Context(), p); err != nil {
		t.Fatalf("InsertProcurement(%s): %v", p.OfferID, err)
	}
}

func insertResource(t *testing.T, s store.Queries, r store.Resource) {
	t.Helper()
	if err := s.InsertResource(t.Context(), r); err != nil {
		t.Fatalf("InsertResource(%s): %v", r.ID, err)
	}
}

// requireResource fails unless the stored resource r.ID is r.
func requireResource(t *testing.T, s store.Queries, r store.Resource) {
	t.Helper()
	got, err := s.ResourceByID(t.Context(), r.ID)
	if err != nil {
		t.Fatalf("ResourceByID(%s): %v", r.ID, err)
	}
	if want := storedResource(r); !reflect.DeepEqual(got, want) {
		t.Fatalf("ResourceByID(%s) =\n%+v\nwant\n%+v", r.ID, got, want)
	}
}

func ids(rs []store.Resource) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestProcurements(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		alice := ensureAccount(t, s, "alice")
		p := testProcurement(alice, "offer-1")
		insertProcurement(t, s, p)

		got, err := s.ProcurementByOffer(ctx, p.OfferID)
		if err != nil || !reflect.DeepEqual(got, storedProcurement(p)) {
			t.Fatalf("ProcurementByOffer = %+v, %v; want %+v", got, err, storedProcurement(p))
		}
		requireUTCMicro(t, "CreatedAt", got.CreatedAt, stored(base), stored(base))
		if _, err := s.ProcurementByOffer(ctx, "offer-unknown"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ProcurementByOffer(unknown) error = %v, want ErrNotFound", err)
		}

		again := testProcurement(alice, p.OfferID)
		again.Vendor = "runpod"
		if err := s.InsertProcurement(ctx, again); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("InsertProcurement(same offer) error = %v, want ErrConflict", err)
		}
		if err := s.InsertProcurement(ctx, testProcurement(alice+100, "offer-2")); err == nil || errors.Is(err, store.ErrConflict) {
			t.Fatalf("InsertProcurement(unknown account) error = %v, want a foreign key error", err)
		}

		at := base.Add(time.Minute)
		failed := got
		failed.Status, failed.FailureReason, failed.UpdatedAt = "failed", "no capacity", at
		written, err := s.UpdateProcurement(ctx, failed)
		want := storedProcurement(failed)
		want.Version++
		if err != nil || !reflect.DeepEqual(written, want) {
			t.Fatalf("UpdateProcurement = %+v, %v; want %+v", written, err, want)
		}
		if got, err := s.ProcurementByOffer(ctx, p.OfferID); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("after UpdateProcurement ProcurementByOffer = %+v, %v; want %+v", got, err, want)
		}
		// A writer holding the version before loses and changes nothing.
		stale := failed
		stale.Status, stale.FailureReason = "ready", ""
		if _, err := s.UpdateProcurement(ctx, stale); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("UpdateProcurement(stale) error = %v, want ErrConflict", err)
		}
		if got, err := s.ProcurementByOffer(ctx, p.OfferID); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("after a stale UpdateProcurement ProcurementByOffer = %+v, %v; want %+v", got, err, want)
		}
		// A failover's fields: the try moves to another vendor and waits.
		if between, err := s.ProcurementsBetweenTries(ctx); err != nil || len(between) != 0 {
			t.Fatalf("ProcurementsBetweenTries before any = %+v, %v", between, err)
		}
		moved := written
		moved.Vendor, moved.Item, moved.Status, moved.FailureReason = "hyperstack", []byte(`{"instance_type":"n3-H100x1"}`), "provisioning", ""
		moved.Fallback, moved.Attempts = []byte(`{"max_attempts":5}`), []byte(`[{"vendor":"lambda"}]`)
		moved.Phase, moved.Attempt = "waiting", 1
		written, err = s.UpdateProcurement(ctx, moved)
		want = storedProcurement(moved)
		want.Version++
		if err != nil || !reflect.DeepEqual(written, want) {
			t.Fatalf("UpdateProcurement(failover) = %+v, %v; want %+v", written, err, want)
		}
		other := testProcurement(alice, "offer-3")
		insertProcurement(t, s, other)
		if between, err := s.ProcurementsBetweenTries(ctx); err != nil || len(between) != 1 || !reflect.DeepEqual(between[0], want) {
			t.Fatalf("ProcurementsBetweenTries = %+v, %v; want only %+v", between, err, want)
		}

		unknown := failed
		unknown.OfferID = "offer-unknown"
		if _, err := s.UpdateProcurement(ctx, unknown); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateProcurement(unknown) error = %v, want ErrNotFound", err)
		}
	})
}

func TestResources(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		alice, bob := ensureAccount(t, s, "alice"), ensureAccount(t, s, "bob")
		insertProcurement(t, s, testProcurement(alice, "offer-cluster"))
		insertProcurement(t, s, testProcurement(alice, "offer-vms"))
		insertProcurement(t, s, testProcurement(bob, "offer-bob"))

		t0, t1, t2 := base, base.Add(time.Second), base.Add(2*time.Second)
		cluster := testResource(alice, "offer-cluster", "c", t0)
		cluster.ResourceType, cluster.PricePerHour = "cluster", 0
		node0 := testResource(alice, "offer-cluster", "c-0", t0)
		node1 := testResource(alice, "offer-cluster", "c-1", t0)
		node0.ParentID, node1.ParentID, node1.NodeIndex = "c", "c", 1
		// v has every nullable timestamp and the vendor's details set; w
		// was created at the same time, so only the ID orders the two.
		v := testResource(alice, "offer-vms", "v", t1)
		v.Status, v.VendorInstanceID, v.ExternalIP, v.InternalIP, v.SSHPort = "ready", "i-123", "203.0.113.7", "10.0.0.7", 2222
		v.CreateAttemptedAt, v.ReadyAt, v.LastSyncedAt = ptr(t1), ptr(t1.Add(time.Minute)), ptr(t2)
		v.DeleteRequestedAt, v.DeletedAt = ptr(t2.Add(time.Nanosecond)), ptr(t2.Add(time.Hour))
		w := testResource(alice, "offer-vms", "w", t1)
		w.Status = "deleted"
		b := testResource(bob, "offer-bob", "b", t2)
		b.Status = "failed"
		b.VendorInstanceID = "i-123"
		all := []store.Resource{cluster, node1, node0, v, w, b}
		for _, r := range all {
			insertResource(t, s, r)
		}
		for _, r := range all {
			requireResource(t, s, r)
		}
		got, err := s.ResourceByID(ctx, "v")
		if err != nil {
			t.Fatal(err)
		}
		requireUTCMicro(t, "ReadyAt", *got.ReadyAt, stored(t1), stored(t1.Add(time.Minute)))

		if _, err := s.ResourceByID(ctx, "unknown"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ResourceByID(unknown) error = %v, want ErrNotFound", err)
		}
		if err := s.InsertResource(ctx, testResource(alice, "offer-vms", "v", t2)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("InsertResource(same ID) error = %v, want ErrConflict", err)
		}
		requireResource(t, s, v)
		orphan := testResource(alice, "offer-vms", "orphan", t2)
		orphan.ParentID = "unknown"
		for name, r := range map[string]store.Resource{
			"unknown offer":  testResource(alice, "offer-unknown", "x", t2),
			"unknown parent": orphan,
		} {
			if err := s.InsertResource(ctx, r); err == nil || errors.Is(err, store.ErrConflict) {
				t.Errorf("InsertResource(%s) error = %v, want a foreign key error", name, err)
			}
		}

		lists := []struct {
			name string
			list func() ([]store.Resource, error)
			want []string
		}{
			{"by offer, parent first", func() ([]store.Resource, error) { return s.ResourcesByOffer(ctx, "offer-cluster") }, []string{"c", "c-0", "c-1"}},
			{"by offer, none", func() ([]store.Resource, error) { return s.ResourcesByOffer(ctx, "offer-unknown") }, []string{}},
			{"by parent", func() ([]store.Resource, error) { return s.ResourcesByParent(ctx, "c") }, []string{"c-0", "c-1"}},
			{"by parent, no nodes", func() ([]store.Resource, error) { return s.ResourcesByParent(ctx, "v") }, []string{}},
			{"list, no filter", func() ([]store.Resource, error) {
				return s.ListResources(ctx, alice, store.ResourceFilter{}, store.ResourceCursor{}, 0)
			}, []string{"w", "v", "c-1", "c-0", "c"}},
			{"list by offer", func() ([]store.Resource, error) {
				return s.ListResources(ctx, alice, store.ResourceFilter{OfferID: "offer-cluster"}, store.ResourceCursor{}, 0)
			}, []string{"c-1", "c-0", "c"}},
			{"list by status", func() ([]store.Resource, error) {
				return s.ListResources(ctx, alice, store.ResourceFilter{Status: "ready"}, store.ResourceCursor{}, 0)
			}, []string{"v"}},
			{"list by offer and status", func() ([]store.Resource, error) {
				return s.ListResources(ctx, alice, store.ResourceFilter{OfferID: "offer-vms", Status: "deleted"}, store.ResourceCursor{}, 0)
			}, []string{"w"}},
			{"list of another account's offer", func() ([]store.Resource, error) {
				return s.ListResources(ctx, alice, store.ResourceFilter{OfferID: "offer-bob"}, store.ResourceCursor{}, 0)
			}, []string{}},
			{"list of bob", func() ([]store.Resource, error) {
				return s.ListResources(ctx, bob, store.ResourceFilter{}, store.ResourceCursor{}, 0)
			}, []string{"b"}},
			{"live", func() ([]store.Resource, error) { return s.LiveResources(ctx) }, []string{"c", "c-0", "c-1", "v"}},
			{"by vendor instance", func() ([]store.Resource, error) { return s.ResourcesByVendorInstance(ctx, "lambda", "i-123") }, []string{"v", "b"}},
			{"by other vendor's instance", func() ([]store.Resource, error) { return s.ResourcesByVendorInstance(ctx, "runpod", "i-123") }, []string{}},
		}
		for _, tt := range lists {
			got, err := tt.list()
			if err != nil || !slices.Equal(ids(got), tt.want) {
				t.Errorf("%s = %v, %v; want %v", tt.name, ids(got), err, tt.want)
			}
		}
		// The lists return whole rows, not only IDs.
		if got, err := s.ResourcesByParent(ctx, "c"); err != nil || len(got) != 2 || !reflect.DeepEqual(got[1], storedResource(node1)) {
			t.Errorf("ResourcesByParent = %+v, %v; want node1 %+v second", got, err, storedResource(node1))
		}
	})
}

func TestUpdateResource(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		alice := ensureAccount(t, s, "alice")
		insertProcurement(t, s, testProcurement(alice, "offer-1"))
		r := testResource(alice, "offer-1", "r", base)
		r.LastSyncedAt = ptr(base)
		insertResource(t, s, r)

		// Every mutable field changes.
		ready := r
		ready.Name = "renamed"
		ready.Vendor, ready.VendorRegion, ready.Spec, ready.PricePerHour = "hyperstack", "CANADA-1", []byte(`{"gpu": "A100"}`), 1.35
		ready.Status, ready.StatusMessage, ready.FailureReason = "ready", "running", "none"
		ready.VendorInstanceID, ready.ExternalIP, ready.InternalIP, ready.SSHPort = "i-1", "203.0.113.1", "10.0.0.1", 22
		ready.CreateAttemptedAt, ready.DeleteRequestedAt = ptr(base.Add(time.Second)), ptr(base.Add(2*time.Second))
		ready.ReadyAt, ready.DeletedAt, ready.LastSyncedAt = ptr(base.Add(3*time.Second)), ptr(base.Add(4*time.Second)), nil
		ready.UpdatedAt, ready.BillingStartedAt = base.Add(5*time.Second), ptr(base.Add(6*time.Second))
		withDeleteAt := ready
		// DeleteAt is only SetDeleteAt's: a worker's write leaves it be.
		withDeleteAt.DeleteAt = ptr(base.Add(time.Hour))
		written, err := s.UpdateResource(ctx, withDeleteAt)
		if err != nil {
			t.Fatalf("UpdateResource: %v", err)
		}
		ready.Version++
		if want := storedResource(ready); !reflect.DeepEqual(written, want) {
			t.Fatalf("UpdateResource returned\n%+v\nwant\n%+v", written, want)
		}
		requireResource(t, s, ready)

		// A writer that read the old version loses and changes nothing.
		stale := r
		stale.Status, stale.UpdatedAt = "failed", base.Add(time.Hour)
		if _, err := s.UpdateResource(ctx, stale); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("UpdateResource(stale version) error = %v, want ErrConflict", err)
		}
		requireResource(t, s, ready)

		// A resource on its way out loses its auto-delete time, whoever
		// moves it there.
		for _, status := range []string{"deleting", "deleted", "failed"} {
			x := insertResourceWithDeleteAt(t, s, alice, "offer-1", "r-"+status)
			x.Status = status
			out, err := s.UpdateResource(ctx, x)
			if err != nil || out.DeleteAt != nil {
				t.Errorf("UpdateResource to %s: delete_at %v, %v; want none", status, out.DeleteAt, err)
			}
		}

		missing := r
		missing.ID = "unknown"
		if _, err := s.UpdateResource(ctx, missing); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateResource(unknown) error = %v, want ErrNotFound", err)
		}
	})
}

// insertResourceWithDeleteAt inserts a provisioning resource of the
// procurement whose auto-delete time is set, and returns it as stored.
func insertResourceWithDeleteAt(t *testing.T, s store.Store, account int64, offer, id string) store.Resource {
	t.Helper()
	ctx := t.Context()
	insertResource(t, s, testResource(account, offer, id, base))
	at := base.Add(time.Hour)
	if _, err := s.SetDeleteAt(ctx, offer, &at, base); err != nil {
		t.Fatal(err)
	}
	r, err := s.ResourceByID(ctx, id)
	if err != nil || r.DeleteAt == nil {
		t.Fatalf("resource %s: %+v, %v; want its delete_at set", id, r, err)
	}
	return r
}

// TestStaleWriteLoses is the race of issue 21 on both engines: writer A
// records the vendor's instance and the billing start without changing
// the status; writer B, holding the row as it was before, moves it from
// provisioning to deleting. B's write must not erase A's fields: written
// directly it loses, and through ChangeResource it is applied again to
// the row as A left it. (Comparing only the status, B's write won and
// both of A's fields were gone.)
func TestStaleWriteLoses(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		alice := ensureAccount(t, s, "alice")
		insertProcurement(t, s, testProcurement(alice, "offer-1"))
		r := testResource(alice, "offer-1", "r", base)
		insertResource(t, s, r)

		heldByB := r
		a := r
		a.VendorInstanceID, a.BillingStartedAt, a.UpdatedAt = "i-42", ptr(base.Add(time.Second)), base.Add(time.Second)
		if _, err := s.UpdateResource(ctx, a); err != nil {
			t.Fatalf("A's write: %v", err)
		}

		b := heldByB
		b.Status, b.DeleteRequestedAt, b.UpdatedAt = "deleting", ptr(base.Add(2*time.Second)), base.Add(2*time.Second)
		if _, err := s.UpdateResource(ctx, b); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("B's stale write: error %v, want ErrConflict", err)
		}
		got, err := s.ResourceByID(ctx, r.ID)
		if err != nil || got.Status != "provisioning" || got.VendorInstanceID != "i-42" || got.BillingStartedAt == nil {
			t.Fatalf("after B's stale write: %+v, %v", got, err)
		}

		// Through ChangeResource, in a transaction as the API's delete is.
		err = s.InTx(ctx, func(tx store.Tx) error {
			out, changed, err := store.ChangeResource(ctx, tx, r.ID, func(x *store.Resource) bool {
				x.Status, x.DeleteRequestedAt, x.UpdatedAt = "deleting", ptr(base.Add(2*time.Second)), base.Add(2*time.Second)
				return true
			})
			if err == nil && (!changed || out.Status != "deleting") {
				t.Errorf("ChangeResource = %+v, %v", out, changed)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err = s.ResourceByID(ctx, r.ID)
		if err != nil || got.Status != "deleting" || got.VendorInstanceID != "i-42" || got.BillingStartedAt == nil || got.Version != r.Version+2 {
			t.Fatalf("after B's change: %+v, %v", got, err)
		}
	})
}

// TestConcurrentChangesKeepEveryField has two writers change different
// fields of one row at once, many times, a moment apart as job steps and
// requests are: through ChangeResource neither ever writes back over the
// other, on either engine.
func TestConcurrentChangesKeepEveryField(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		alice := ensureAccount(t, s, "alice")
		insertProcurement(t, s, testProcurement(alice, "offer-1"))
		r := testResource(alice, "offer-1", "r", base)
		insertResource(t, s, r)

		const n = 40
		errs := make(chan error, 2)
		for _, field := range []func(*store.Resource, int){
			func(x *store.Resource, i int) { x.StatusMessage = fmt.Sprint(i) },
			func(x *store.Resource, i int) { x.SSHPort = i },
		} {
			go func() {
				for i := 1; i <= n; {
					// ChangeResource bounds its tries; a caller (a job step)
					// that still lost tries again later, as this one does.
					_, _, err := store.ChangeResource(ctx, s, r.ID, func(x *store.Resource) bool { field(x, i); return true })
					switch {
					case err == nil:
						i++
					case !errors.Is(err, store.ErrConflict):
						errs <- err
						return
					}
					time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
				}
				errs <- nil
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ResourceByID(ctx, r.ID)
		if err != nil || got.StatusMessage != fmt.Sprint(n) || got.SSHPort != n || got.Version != r.Version+2*n {
			t.Fatalf("after both writers: message %q, port %d, version %d (%v); want %d, %d, %d",
				got.StatusMessage, got.SSHPort, got.Version, err, n, n, r.Version+2*n)
		}
	})
}

func TestIdempotencyRecords(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		old := store.IdempotencyRecord{AccountID: 1, Key: "k", RequestHash: "h1", Response: []byte(`{"status": "in_progress"}`), CreatedAt: base}
		recent := store.IdempotencyRecord{AccountID: 2, Key: "k", RequestHash: "h2", Response: []byte(`{}`), CreatedAt: base.Add(time.Hour)}
		for _, rec := range []store.IdempotencyRecord{old, recent} {
			if err := s.InsertIdempotencyRecord(ctx, rec); err != nil {
				t.Fatalf("InsertIdempotencyRecord(%d, %q): %v", rec.AccountID, rec.Key, err)
			}
		}
		want := old
		want.CreatedAt = stored(old.CreatedAt)
		got, err := s.IdempotencyRecord(ctx, old.AccountID, old.Key)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("IdempotencyRecord = %+v, %v; want %+v", got, err, want)
		}

		again := old
		again.RequestHash = "other"
		if err := s.InsertIdempotencyRecord(ctx, again); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("InsertIdempotencyRecord(same key) error = %v, want ErrConflict", err)
		}
		if got, err := s.IdempotencyRecord(ctx, old.AccountID, old.Key); err != nil || got.RequestHash != old.RequestHash {
			t.Fatalf("after conflict IdempotencyRecord = %+v, %v; want hash %q", got, err, old.RequestHash)
		}
		if _, err := s.IdempotencyRecord(ctx, old.AccountID, "unknown"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("IdempotencyRecord(unknown) error = %v, want ErrNotFound", err)
		}

		if n, err := s.DeleteIdempotencyRecordsBefore(ctx, base.Add(30*time.Minute)); err != nil || n != 1 {
			t.Fatalf("DeleteIdempotencyRecordsBefore = %d, %v; want 1", n, err)
		}
		if _, err := s.IdempotencyRecord(ctx, old.AccountID, old.Key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old record: error = %v, want ErrNotFound", err)
		}
		if _, err := s.IdempotencyRecord(ctx, recent.AccountID, recent.Key); err != nil {
			t.Errorf("recent record: %v", err)
		}
	})
}

// TestProcurementInTx procures as package provision does: the procurement,
// its resource, the idempotency record and the job commit or go together.
func TestProcurementInTx(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		alice := ensureAccount(t, s, "alice")
		p := testProcurement(alice, "offer-1")
		r := testResource(alice, p.OfferID, "r", base)
		rec := store.IdempotencyRecord{AccountID: alice, Key: "k", RequestHash: "h", Response: []byte(`{}`), CreatedAt: base}
		procure := func(tx store.Tx) error {
			if err := tx.InsertProcurement(ctx, p); err != nil {
				return err
			}
			if err := tx.InsertResource(ctx, r); err != nil {
				return err
			}
			if err := tx.InsertIdempotencyRecord(ctx, rec); err != nil {
				return err
			}
			return tx.Enqueue(ctx, noopArgs{N: 1}, nil)
		}

		errBoom := errors.New("boom")
		err := s.InTx(ctx, func(tx store.Tx) error {
			if err := procure(tx); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("InTx rollback error = %v, want %v", err, errBoom)
		}
		if _, err := s.ProcurementByOffer(ctx, p.OfferID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after rollback ProcurementByOffer error = %v, want ErrNotFound", err)
		}
		if _, err := s.ResourceByID(ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after rollback ResourceByID error = %v, want ErrNotFound", err)
		}
		if _, err := s.IdempotencyRecord(ctx, rec.AccountID, rec.Key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after rollback IdempotencyRecord error = %v, want ErrNotFound", err)
		}
		if n := store.CountRows(t, s, "river_job"); n != 0 {
			t.Errorf("after rollback river_job has %d rows, want 0", n)
		}

		if err := s.InTx(ctx, procure); err != nil {
			t.Fatalf("InTx commit: %v", err)
		}
		requireResource(t, s, r)

		// A conflict leaves the transaction usable (on PostgreSQL a failed
		// statement would abort it), so a caller may go on and commit.
		other := testResource(alice, p.OfferID, "other", base)
		err = s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.InsertProcurement(ctx, p); !errors.Is(err, store.ErrConflict) {
				t.Errorf("InsertProcurement again in tx error = %v, want ErrConflict", err)
			}
			if err := tx.InsertIdempotencyRecord(ctx, rec); !errors.Is(err, store.ErrConflict) {
				t.Errorf("InsertIdempotencyRecord again in tx error = %v, want ErrConflict", err)
			}
			return tx.InsertResource(ctx, other)
		})
		if err != nil {
			t.Fatalf("InTx after conflicts: %v", err)
		}
		requireResource(t, s, other)
		if n := store.CountRows(t, s, "river_job"); n != 1 {
			t.Errorf("river_job has %d rows, want 1", n)
		}
	})
}

func TestGuardrails(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		alice, bob := ensureAccount(t, s, "alice"), ensureAccount(t, s, "bob")

		// Caps: set, read back by id and name, cleared; an unknown account is not found.
		usd, gpus := 12.5, int64(16)
		if err := s.SetAccountLimits(ctx, alice, &usd, &gpus); err != nil {
			t.Fatal(err)
		}
		if a, err := s.AccountByName(ctx, "alice"); err != nil || a.ID != alice || *a.MaxHourlyUSD != usd || *a.MaxGPUCount != gpus {
			t.Fatalf("AccountByName after SetAccountLimits: %+v %v", a, err)
		}
		if err := s.SetAccountLimits(ctx, alice, nil, &gpus); err != nil {
			t.Fatal(err)
		}
		if a, err := s.AccountByID(ctx, alice); err != nil || a.MaxHourlyUSD != nil || *a.MaxGPUCount != gpus {
			t.Fatalf("AccountByID after clearing a cap: %+v %v", a, err)
		}
		if b, _ := s.AccountByID(ctx, bob); b.MaxHourlyUSD != nil || b.MaxGPUCount != nil {
			t.Fatalf("another account got caps: %+v", b)
		}
		if err := s.SetAccountLimits(ctx, 999, &usd, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SetAccountLimits(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := s.AccountByName(ctx, "carol"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("AccountByName(unknown) = %v, want ErrNotFound", err)
		}
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.LockAccount(ctx, alice) }); err != nil {
			t.Fatalf("LockAccount: %v", err)
		}

		// delete_at is set on a procurement's resources that are not on their way out.
		insertProcurement(t, s, testProcurement(alice, "offer-1"))
		insertProcurement(t, s, testProcurement(bob, "offer-2"))
		at := ptr(base.Add(4 * time.Hour))
		running, failed, other := testResource(alice, "offer-1", "r", base), testResource(alice, "offer-1", "f", base), testResource(bob, "offer-2", "o", base)
		running.Status, failed.Status, running.BillingStartedAt = "running", "failed", ptr(base.Add(time.Minute))
		for _, r := range []store.Resource{running, failed, other} {
			insertResource(t, s, r)
		}
		if n, err := s.SetDeleteAt(ctx, "offer-1", at, base.Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("SetDeleteAt = %d, %v; want 1 resource", n, err)
		}
		running.DeleteAt, running.UpdatedAt = at, base.Add(time.Second)
		requireResource(t, s, running)
		requireResource(t, s, failed)
		requireResource(t, s, other)
		if n, err := s.SetDeleteAt(ctx, "offer-1", nil, base.Add(2*time.Second)); err != nil || n != 1 {
			t.Fatalf("SetDeleteAt(nil) = %d, %v", n, err)
		}
		running.DeleteAt, running.UpdatedAt = nil, base.Add(2*time.Second)
		requireResource(t, s, running)

		live, err := s.LiveResourcesOfAccount(ctx, alice)
		if err != nil || len(live) != 1 || live[0].ID != "r" {
			t.Fatalf("LiveResourcesOfAccount = %+v, %v; want r only", live, err)
		}
	})
}
