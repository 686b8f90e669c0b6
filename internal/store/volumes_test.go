package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store"
)

// TestVolumes: a volume reads back as written on both engines; the
// account lists its own newest first; live volumes leave out the ended
// ones; an update over a stale version loses with ErrConflict, and
// ChangeVolume re-reads and wins.
func TestVolumes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		acc, err := s.EnsureAccount(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 12, 7, 10, 0, 0, 123456789, time.UTC)
		v := store.Volume{ID: "11111111-1111-4111-8111-111111111111", AccountID: acc.ID, Vendor: "lambda", VendorRegion: "us-east-1",
			Name: "data", SizeGB: 100, PricePerGBMonth: 0.2, Status: store.VolumeCreating, CreatedAt: now, UpdatedAt: now}
		if err := s.InsertVolume(ctx, v); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertVolume(ctx, v); !errors.Is(err, store.ErrConflict) {
			t.Errorf("inserting the same id again: %v, want ErrConflict", err)
		}
		got, err := s.VolumeByID(ctx, v.ID)
		v.CreatedAt, v.UpdatedAt = now.Truncate(time.Microsecond), now.Truncate(time.Microsecond)
		if err != nil || !reflect.DeepEqual(got, v) {
			t.Fatalf("VolumeByID = %+v, %v\nwant %+v", got, err, v)
		}
		later := v
		later.ID, later.CreatedAt, later.Status = "22222222-2222-4222-8222-222222222222", now.Add(time.Minute), store.VolumeDeleted
		if err := s.InsertVolume(ctx, later); err != nil {
			t.Fatal(err)
		}
		if list, err := s.VolumesOfAccount(ctx, acc.ID); err != nil || len(list) != 2 || list[0].ID != later.ID {
			t.Errorf("VolumesOfAccount = %+v, %v; want the later first", list, err)
		}
		if live, err := s.LiveVolumes(ctx); err != nil || len(live) != 1 || live[0].ID != v.ID {
			t.Errorf("LiveVolumes = %+v, %v; want only the creating one", live, err)
		}
		stale := got
		got.Status, got.VendorVolumeID, got.AttachedTo, got.BillingStartedAt = store.VolumeAvailable, "fs-1", "r-1", &now
		written, err := s.UpdateVolume(ctx, got)
		if err != nil || written.Version != 1 || written.VendorVolumeID != "fs-1" || written.BillingStartedAt == nil {
			t.Fatalf("UpdateVolume = %+v, %v", written, err)
		}
		if _, err := s.UpdateVolume(ctx, stale); !errors.Is(err, store.ErrConflict) {
			t.Errorf("update over a stale version: %v, want ErrConflict", err)
		}
		if att, err := s.VolumesAttachedTo(ctx, "r-1"); err != nil || len(att) != 1 || att[0].ID != v.ID {
			t.Errorf("VolumesAttachedTo = %+v, %v", att, err)
		}
		changed, ok, err := store.ChangeVolume(ctx, s, v.ID, func(x *store.Volume) bool { x.Status = store.VolumeDeleting; return true })
		if err != nil || !ok || changed.Status != store.VolumeDeleting || changed.Version != 2 {
			t.Errorf("ChangeVolume = %+v, %v, %v", changed, ok, err)
		}
		if _, err := s.VolumeByID(ctx, "33333333-3333-4333-8333-333333333333"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a missing volume: %v, want ErrNotFound", err)
		}
	})
}
