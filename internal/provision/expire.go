// Package provision holds supply's durable background work as River jobs:
// procuring and deleting instances, polling them, failing over, deleting
// them when their time comes, reconciling with the vendors, and expiring
// old offers; and the requests that start that work. Every write records
// its event (recordingStore). What the API reads of it (statuses, resource
// summaries and lists, spend and usage) is package ledger's, which this
// package embeds in its Service and renders its events with.
package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// ExpireOffersArgs is the periodic job that forgets catalog snapshots no
// unexpired offer can point to any more, old idempotency keys, and console
// sessions that ended.
type ExpireOffersArgs struct{}

// Kind names the job in River.
func (ExpireOffersArgs) Kind() string { return "expire_offers" }

// Pruner deletes what the expiry job forgets.
type Pruner interface {
	// DeleteSnapshotsBefore deletes catalog snapshots replaced before a
	// time, keeping each vendor's latest.
	DeleteSnapshotsBefore(ctx context.Context, before time.Time) (int64, error)
	DeleteIdempotencyRecordsBefore(ctx context.Context, before time.Time) (int64, error)
	// DeleteEndedSessions deletes console sessions that expired by a
	// time, and those of revoked keys.
	DeleteEndedSessions(ctx context.Context, now time.Time) (int64, error)
}

// ExpireOffersWorker deletes the snapshots behind offers that expired
// more than Grace ago and were never procured (a procured offer keeps its
// own copy with its resources), so GET /offers/{id} answers "expired" for
// a day and 404 after. Idempotency keys are kept for a day as well. Console
// sessions that no longer count (expired, or of a revoked key) go too: they
// are refused already, this only keeps their table small.
type ExpireOffersWorker struct {
	river.WorkerDefaults[ExpireOffersArgs]
	Store Pruner
	// TTL is the offer lifetime; Grace how long expired offers stay visible.
	TTL, Grace time.Duration
	Now        func() time.Time
}

// Work runs one expiry pass.
func (w *ExpireOffersWorker) Work(ctx context.Context, _ *river.Job[ExpireOffersArgs]) error {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	if _, err := w.Store.DeleteSnapshotsBefore(ctx, now().Add(-w.TTL-w.Grace)); err != nil {
		return fmt.Errorf("expire offers: %w", err)
	}
	if _, err := w.Store.DeleteIdempotencyRecordsBefore(ctx, now().Add(-w.Grace)); err != nil {
		return fmt.Errorf("expire idempotency keys: %w", err)
	}
	if _, err := w.Store.DeleteEndedSessions(ctx, now()); err != nil {
		return fmt.Errorf("expire console sessions: %w", err)
	}
	return nil
}

// ExpireOffersJob is the periodic job, run hourly and once at start.
func ExpireOffersJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return ExpireOffersArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: "expire_offers"})
}
