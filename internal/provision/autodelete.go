package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// DefaultMaxAutoDelete is Config.MaxAutoDelete's default.
const DefaultMaxAutoDelete = 30 * 24 * time.Hour

// AutoDeleteArgs is the job that deletes a resource at its DeleteAt. At
// is the time it was enqueued for: moving DeleteAt enqueues another job,
// and this one, finding a different time, ends without doing anything.
type AutoDeleteArgs struct {
	ResourceID string    `json:"resource_id"`
	At         time.Time `json:"at"`
}

// Kind names the job in River.
func (AutoDeleteArgs) Kind() string { return "auto_delete" }

// InsertOpts makes the job unique per resource and time while it waits,
// so that the reconciler may enqueue it again without doubling it.
func (AutoDeleteArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: uniqueArgs, MaxAttempts: 1000}
}

// schedulerLag is how late River may run a job snoozed for longer than
// this (its scheduler makes such jobs available every 5 s); a shorter
// snooze is run on time. A long wait is therefore snoozed in two parts.
const schedulerLag = 5 * time.Second

type autoDeleteWorker struct {
	river.WorkerDefaults[AutoDeleteArgs]
	s *Service
}

func (w *autoDeleteWorker) Timeout(*river.Job[AutoDeleteArgs]) time.Duration {
	return w.s.cfg.StepTimeout
}

// Work waits until the resource's DeleteAt and then deletes it.
func (w *autoDeleteWorker) Work(ctx context.Context, job *river.Job[AutoDeleteArgs]) error {
	s := w.s
	ctx, r, ok, err := s.jobResource(ctx, job.Args.ResourceID)
	if !ok {
		return err
	}
	if r.DeleteAt == nil || !r.DeleteAt.Equal(job.Args.At) || !autoDeletable(r.Status) {
		return nil // cleared, moved (another job has the new time), or already going
	}
	if wait := r.DeleteAt.Sub(s.now()); wait > 0 {
		if wait > schedulerLag {
			wait -= schedulerLag
		}
		return river.JobSnooze(wait)
	}
	return s.autoDelete(ctx, r)
}

// autoDeletable reports whether a resource in this status is still to
// be auto-deleted: not already deleting, deleted or failed.
func autoDeletable(status string) bool {
	return status != supplyapi.ResourceDeleting && status != supplyapi.ResourceDeleted && status != supplyapi.ResourceFailed
}

// autoDelete is the step that deletes a resource whose auto-delete time
// has come, exactly as its renter's DELETE with force would: a
// provisioning resource is cancelled, and it becomes deleted once the
// vendor confirms.
func (s *Service) autoDelete(ctx context.Context, r store.Resource) error {
	_, err := s.deleteResource(ctx, r.AccountID, uuid.MustParse(r.ID), true, causeAutoDelete)
	if errors.Is(err, refusal.ErrConflict) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	s.metrics.autoDeletes.WithLabelValues(r.Vendor).Inc()
	s.log.InfoContext(ctx, "auto-delete: deleting resource at its delete_at", "resource_id", r.ID, "vendor", r.Vendor,
		"delete_at", r.DeleteAt, "account_id", r.AccountID)
	return nil
}

// autoDeleteAfter reads the auto_delete_after a client sent: 0 for never
// (null), the server's default when absent, and otherwise a positive
// duration no longer than MaxAutoDelete.
func (s *Service) autoDeleteAfter(d *supplyapi.Duration, absent time.Duration) (time.Duration, error) {
	if d == nil {
		return absent, nil
	}
	if d.IsNull() {
		return 0, nil
	}
	after, err := d.Parse()
	if err == nil && after > s.cfg.MaxAutoDelete {
		err = fmt.Errorf("must be at most %s (the server's --max-auto-delete)", s.cfg.MaxAutoDelete)
	}
	if err != nil {
		return 0, fieldError("auto_delete_after", "Value error, auto_delete_after "+err.Error(), d.Input())
	}
	return after, nil
}

// deleteAtAfter is when a resource given after from now is deleted; nil
// for never. It has the store's precision, so that a job's At matches
// the stored time.
func deleteAtAfter(now time.Time, after time.Duration) *time.Time {
	if after <= 0 {
		return nil
	}
	t := now.Add(after).UTC().Truncate(time.Microsecond)
	return &t
}

// SetAutoDelete is PATCH /resources/{id}: it moves the resource's
// auto-delete time to d from now, or clears it (d null). A cluster's
// nodes follow their cluster, so a node is refused.
func (s *Service) SetAutoDelete(ctx context.Context, accountID int64, id uuid.UUID, req supplyapi.AutoDeleteRequest) (supplyapi.ResourceSummary, error) {
	if req.AutoDeleteAfter == nil {
		req.AutoDeleteAfter = &supplyapi.Duration{}
	}
	after, err := s.autoDeleteAfter(req.AutoDeleteAfter, 0)
	if err != nil {
		return supplyapi.ResourceSummary{}, err
	}
	r, err := s.resource(ctx, accountID, id)
	if err != nil {
		return supplyapi.ResourceSummary{}, err
	}
	if r.ParentID != "" {
		return supplyapi.ResourceSummary{}, refusal.Errorf(refusal.ErrConflict, "Resource %s is a node of cluster %s, which is deleted as a whole: change the cluster's auto-delete", id, r.ParentID)
	}
	if !autoDeletable(r.Status) {
		return supplyapi.ResourceSummary{}, refusal.Errorf(refusal.ErrConflict, "Resource %s is %s: there is nothing left to auto-delete", id, r.Status)
	}
	now := s.now().UTC()
	deleteAt := deleteAtAfter(now, after)
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		n, err := tx.SetDeleteAt(ctx, r.OfferID, deleteAt, now)
		if err != nil {
			return err
		}
		if n == 0 {
			return refusal.Errorf(refusal.ErrConflict, "Resource %s is being deleted: there is nothing left to auto-delete", id)
		}
		if deleteAt == nil {
			return nil
		}
		return tx.Enqueue(ctx, AutoDeleteArgs{ResourceID: r.ID, At: *deleteAt}, nil)
	})
	if err != nil {
		return supplyapi.ResourceSummary{}, err
	}
	s.log.InfoContext(ctx, "auto-delete changed", "resource_id", r.ID, "delete_at", deleteAt, "account_id", accountID)
	return s.Resource(ctx, accountID, id, false)
}
