package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// ProcureArgs is the job that brings one node from nothing to reachable:
// create on the vendor, wait for it to boot, check its SSH port.
type ProcureArgs struct {
	ResourceID string `json:"resource_id"`
	// Attempt is the procurement's try the job makes the node for (0,
	// omitted, for the offer procured): a job of an ended try stops.
	Attempt int64 `json:"attempt,omitempty"`
}

// Kind names the job in River.
func (ProcureArgs) Kind() string { return "procure" }

// InsertOpts makes the job unique per resource while it is pending.
func (ProcureArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: uniqueArgs, MaxAttempts: 50}
}

// TerminateArgs is the job that removes a node's instance from its vendor
// and waits until the vendor confirms it is gone: for deletions (the
// resource then becomes deleted) and for cleaning up after a failed
// procurement (the resource stays failed).
type TerminateArgs struct {
	ResourceID string `json:"resource_id"`
	// Deletion marks a deletion; without it the job cleans up after a
	// failure. They are separate jobs because River's uniqueness counts a
	// running job: a deletion asked for while a clean-up job finishes
	// would be dropped as its duplicate, and the resource would wait in
	// deleting for the reconciler. Each job acts only on a resource in
	// its own status, so the two never both terminate one instance.
	Deletion bool `json:"deletion,omitempty"`
}

// terminateJob is the job that takes r, deleting or failed, the rest of
// the way; false when r is neither.
func terminateJob(r store.Resource) (TerminateArgs, bool) {
	switch r.Status {
	case supplyapi.ResourceDeleting:
		return TerminateArgs{ResourceID: r.ID, Deletion: true}, true
	case supplyapi.ResourceFailed:
		return TerminateArgs{ResourceID: r.ID}, true
	}
	return TerminateArgs{}, false
}

// Kind names the job in River.
func (TerminateArgs) Kind() string { return "terminate" }

// InsertOpts makes the job unique per resource while it is pending. A
// deletion is never given up: the job snoozes between attempts, and
// MaxAttempts only counts unexpected errors (a database outage).
func (TerminateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: uniqueArgs, MaxAttempts: 1000}
}

// Workers returns the service's River workers.
func (s *Service) Workers(w *river.Workers) {
	river.AddWorker(w, &procureWorker{s: s})
	river.AddWorker(w, &terminateWorker{s: s})
	river.AddWorker(w, &reconcileWorker{s: s})
	river.AddWorker(w, &autoDeleteWorker{s: s})
	river.AddWorker(w, &failoverWorker{s: s})
	river.AddWorker(w, &powerWorker{s: s})
	river.AddWorker(w, &volumeWorker{s: s})
}

// PeriodicJobs returns the reconciler's schedule.
func (s *Service) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(s.cfg.ReconcileEvery),
		func() (river.JobArgs, *river.InsertOpts) { return ReconcileArgs{}, nil },
		&river.PeriodicJobOpts{ID: "reconcile", RunOnStart: true})}
}

type procureWorker struct {
	river.WorkerDefaults[ProcureArgs]
	s *Service
}

func (w *procureWorker) Timeout(*river.Job[ProcureArgs]) time.Duration { return w.s.cfg.StepTimeout }

// Work takes one step and snoozes until the next, so a booting instance
// costs no worker slot and a crash loses nothing: every step starts from
// what the database says.
func (w *procureWorker) Work(ctx context.Context, job *river.Job[ProcureArgs]) error {
	s := w.s
	ctx, r, ok, err := s.jobResource(ctx, job.Args.ResourceID)
	if !ok {
		return err
	}
	if r.Status != supplyapi.ResourceProvisioning {
		// Cancelled, failed elsewhere, or done. Whatever create this job
		// attempted is over: no two steps of one job run at once.
		return s.createOver(ctx, r)
	}
	p, err := s.store.ProcurementByOffer(ctx, r.OfferID)
	if err != nil {
		return err
	}
	if p.Attempt != job.Args.Attempt || ledger.BetweenTries(p) {
		return nil // the try this job was for has ended
	}
	v, ok := s.vendors[r.Vendor]
	if !ok {
		return stepAgain(s.fail(ctx, r, fmt.Sprintf("vendor %s is no longer configured", r.Vendor)))
	}
	if age := s.now().Sub(tryStart(p, r)); age > s.cfg.ProvisionTimeout {
		return stepAgain(s.fail(ctx, r, fmt.Sprintf("timeout: the instance was not reachable over SSH within %s", s.cfg.ProvisionTimeout)))
	}
	if r.VendorInstanceID == "" {
		return s.create(ctx, v, r, p)
	}
	inst, err := v.Get(ctx, r.VendorInstanceID)
	switch {
	case vendors.IsNotFound(err):
		return stepAgain(s.fail(ctx, r, "the instance disappeared at the vendor while it was being provisioned"))
	case err != nil:
		return s.retryLater(err)
	}
	switch inst.State {
	case vendors.StatePending:
		return river.JobSnooze(s.cfg.PollInterval)
	case vendors.StateRunning:
	default:
		return stepAgain(s.fail(ctx, r, s.instanceState(ctx, r, inst)))
	}
	if attached, err := s.attachLate(ctx, v, r, inst); !attached {
		return err
	}
	if inst.ExternalIP == "" {
		return river.JobSnooze(s.cfg.PollInterval)
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err = s.cfg.Probe(pctx, inst.ExternalIP, sshPort(inst))
	cancel()
	if err != nil {
		// Running but sshd not up yet: ready means reachable.
		return river.JobSnooze(s.cfg.PollInterval)
	}
	return s.markRunning(ctx, r, inst)
}

// create launches the node's instance. The resource records the attempt
// before the vendor is called, and the vendor instance carries the
// resource id, so a crash or an ambiguous answer is repaired by calling
// Create again, which finds the instance instead of making another.
func (s *Service) create(ctx context.Context, v vendors.Vendor, r store.Resource, p store.Procurement) error {
	var item vendors.CatalogItem
	if err := json.Unmarshal(p.Item, &item); err != nil {
		return stepAgain(s.fail(ctx, r, "the offer's catalog item cannot be read: "+err.Error()))
	}
	if r.ParentID != "" && r.NodeIndex > 0 {
		// Nodes of a cluster are created in order: the first one makes the
		// vendor's cluster object (fabric, pod group), which vendors
		// without idempotency keys would otherwise make twice.
		ok, err := s.earlierNodesCreated(ctx, r)
		if err != nil {
			return err
		}
		if !ok {
			return river.JobSnooze(s.cfg.PollInterval)
		}
	}
	now := s.now().UTC()
	if r.CreateAttemptedAt == nil {
		r.CreateAttemptedAt = &now
		r.UpdatedAt = now
		var err error
		if r, err = s.store.UpdateResource(ctx, r); err != nil {
			return stepAgain(err)
		}
	}
	req := vendors.CreateRequest{
		ResourceID: r.ID, Owner: s.cfg.Owner, Name: r.Name, InstanceType: item.InstanceType, Region: item.Region,
		Contract: item.Contract, SSHPublicKey: p.SSHPublicKey, UserData: p.CloudInit, Item: item,
	}
	vols, err := s.attachedVolumes(ctx, v, r.ID)
	if err != nil {
		return s.retryLater(err)
	}
	req.Volumes = vols
	ports, err := ledger.Ports(ctx, s.store, r.ID)
	if err != nil {
		return err
	}
	req.Ports = asked(ports)
	if r.ParentID != "" {
		nodes := max(item.Nodes, 1)
		req.Cluster = &vendors.ClusterNode{ClusterID: r.ParentID, Name: p.ClusterName, Index: r.NodeIndex, Nodes: nodes}
	}
	inst, err := v.Create(ctx, req)
	if err != nil {
		_, _, fallback, ferr := ledger.FailoverOf(p)
		if ferr != nil {
			return ferr
		}
		if vendors.Unanswered(err) && fallback && !errors.Is(ctx.Err(), context.Canceled) {
			// What the create may have made is found by its tag and
			// removed before the next try (removeTry). The step's own
			// deadline may be what cut the create short: the failover
			// is recorded all the same.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			return stepAgain(s.failOver(rctx, p, r, supplyapi.AttemptNoAnswer, "no answer: "+s.tenantError(r, err)))
		}
		if vendors.Retryable(err) {
			return s.retryLater(err)
		}
		if errors.Is(err, vendors.ErrNoCapacity) {
			s.offers.MarkRefused(r.Vendor, item)
		}
		// A definite refusal made nothing: clearing the attempt, whatever
		// happened to the resource meanwhile, lets the clean-up finish at
		// once instead of waiting out CreateGrace.
		reason := s.refusal(ctx, r, err)
		refused := err
		r, _, err := store.ChangeResource(ctx, s.store, r.ID, func(x *store.Resource) bool {
			x.CreateAttemptedAt = nil
			return true
		})
		if err != nil {
			return err
		}
		if fallback && failsOver(refused) {
			return stepAgain(s.failOver(ctx, p, r, supplyapi.AttemptRefused, reason))
		}
		return stepAgain(s.fail(ctx, r, reason))
	}
	// Record the instance whatever happened to the resource meanwhile: a
	// forced delete that came during Create needs the id to terminate it.
	if _, _, err := store.ChangeResource(ctx, s.store, r.ID, func(r *store.Resource) bool {
		s.recordInstance(r, inst.ID)
		return true
	}); err != nil {
		return err
	}
	return river.JobSnooze(s.cfg.PollInterval)
}

// createOver shortens the wait of a clean-up for an instance that r's
// create attempt may have made, now that the attempt is known to be over:
// CreateGrace covers an attempt that may still be sending, but once its
// step has ended (or its process has died and the job has been taken
// over) only the vendor's own delay in listing it remains. Without this a
// forced delete of a resource whose create a crash cut short stays
// deleting for the whole CreateGrace.
func (s *Service) createOver(ctx context.Context, r store.Resource) error {
	if r.VendorInstanceID != "" || r.CreateAttemptedAt == nil {
		return nil
	}
	opened := s.now().UTC().Add(-max(s.cfg.CreateGrace-s.cfg.CreateSettle, 0))
	_, _, err := store.ChangeResource(ctx, s.store, r.ID, func(x *store.Resource) bool {
		if x.VendorInstanceID != "" || x.CreateAttemptedAt == nil || !x.CreateAttemptedAt.After(opened) {
			return false
		}
		x.CreateAttemptedAt = &opened
		return true
	})
	return err
}

// recordInstance records the vendor's instance of r, found or just
// made: the vendor bills from now (unless an earlier sighting said so).
func (s *Service) recordInstance(r *store.Resource, instanceID string) {
	r.VendorInstanceID = instanceID
	if r.BillingStartedAt == nil {
		now := s.now().UTC()
		r.BillingStartedAt = &now
	}
}

// earlierNodesCreated reports whether every node of r's cluster before it
// has its vendor instance.
func (s *Service) earlierNodesCreated(ctx context.Context, r store.Resource) (bool, error) {
	nodes, err := s.store.ResourcesByParent(ctx, r.ParentID)
	if err != nil {
		return false, err
	}
	for _, n := range nodes {
		if n.NodeIndex < r.NodeIndex && n.VendorInstanceID == "" {
			return false, nil
		}
	}
	return true, nil
}

func (s *Service) markRunning(ctx context.Context, r store.Resource, inst vendors.Instance) error {
	// Before the resource's own write, which tells readers it changed.
	if err := s.notePorts(ctx, r, inst); err != nil {
		return err
	}
	now := s.now().UTC()
	r.Status, r.StatusMessage = supplyapi.ResourceRunning, ""
	r.ExternalIP, r.InternalIP, r.SSHPort = inst.ExternalIP, inst.InternalIP, sshPort(inst)
	r.ReadyAt, r.LastSyncedAt, r.UpdatedAt = &now, &now, now
	if _, err := s.store.UpdateResource(ctx, r); err != nil {
		return stepAgain(err)
	}
	s.log.InfoContext(ctx, "instance ready", "resource_id", r.ID, "vendor", r.Vendor, "ip", r.ExternalIP, "port", r.SSHPort)
	return s.settleProcurement(ctx, r.OfferID)
}

// settleProcurement marks a procurement ready once every node runs, and
// the cluster parent with it.
func (s *Service) settleProcurement(ctx context.Context, offerID string) error {
	rs, err := s.store.ResourcesByOffer(ctx, offerID)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.ResourceType != store.ResourceTypeCluster && r.Status != supplyapi.ResourceRunning {
			return nil
		}
	}
	now := s.now().UTC()
	for _, r := range rs {
		if r.ResourceType == store.ResourceTypeCluster && r.Status == supplyapi.ResourceProvisioning {
			if _, _, err := store.ChangeResource(ctx, s.store, r.ID, func(r *store.Resource) bool {
				if r.Status != supplyapi.ResourceProvisioning {
					return false
				}
				r.Status, r.ReadyAt, r.UpdatedAt = supplyapi.ResourceRunning, &now, now
				return true
			}); err != nil {
				return err
			}
		}
	}
	_, _, err = store.ChangeProcurement(ctx, s.store, offerID, func(p *store.Procurement) bool {
		if p.Status != store.ProcurementProvisioning || ledger.BetweenTries(*p) {
			return false // failed meanwhile (a cancellation): it stays failed
		}
		if endAttempt(p, supplyapi.AttemptReady, "") != nil {
			return false
		}
		p.Status, p.FailureReason, p.UpdatedAt = store.ProcurementReady, "", now
		return true
	})
	return err
}

// fail marks a node failed with a reason the renter can read, fails the
// rest of its procurement (a cluster is all or nothing) and enqueues the
// clean-up of whatever the vendor made. r is the row the decision to fail
// was taken on: if it has changed since, fail changes nothing and returns
// an error wrapping store.ErrConflict, and the caller decides again on the
// row as it is now (stepAgain).
func (s *Service) fail(ctx context.Context, r store.Resource, reason string) error {
	now := s.now().UTC()
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		return s.failRest(ctx, tx, r.OfferID, &r, reason, now)
	})
	if err != nil {
		return err
	}
	s.metrics.failures.WithLabelValues(r.Vendor).Inc()
	s.log.WarnContext(ctx, "procurement failed", "resource_id", r.ID, "offer_id", r.OfferID, "vendor", r.Vendor, "reason", reason)
	return nil
}

// failRest fails, in tx, the procurement offerID with reason, and every
// resource of it still provisioning: the resource in cause (nil: none)
// gets the reason as written, the others are told it was another one (a
// cluster is all or nothing). Each failed resource gets its clean-up job.
// cause must still be the row it was when the caller decided, or nothing
// is written and the error wraps store.ErrConflict; the others are read
// and changed in tx as they are now.
//
// A node that is already running is not failed here but left to its
// cluster's decision: the parent fails with the rest, and its clean-up
// (deleteCluster) fails and terminates the nodes still live. So a node
// that becomes ready while another fails needs no second look: whichever
// commits first, the cluster ends failed and every node cleaned up.
func (s *Service) failRest(ctx context.Context, tx store.Tx, offerID string, cause *store.Resource, reason string, now time.Time) error {
	if cause != nil {
		if cause.Status != supplyapi.ResourceProvisioning {
			return fmt.Errorf("fail resource %s: it is %s, not provisioning: %w", cause.ID, cause.Status, store.ErrConflict)
		}
		if err := s.failOne(ctx, tx, *cause, reason, now); err != nil {
			return err
		}
	}
	outcome := supplyapi.AttemptFailed
	if strings.HasPrefix(reason, "cancelled") {
		outcome = supplyapi.AttemptCancelled
	}
	return s.failProvisioning(ctx, tx, offerID, reason, outcome, now, func(x store.Resource) string {
		if x.ResourceType == store.ResourceTypeCluster {
			return "a node of the cluster failed: " + reason
		}
		return "another node of the cluster failed: " + reason
	})
}

// failProvisioning fails, in tx, the procurement offerID with reason (its
// current try, if it has tries, with outcome) and every resource of it
// still provisioning, as read and changed in tx, each with why's sentence
// for it and its clean-up job.
func (s *Service) failProvisioning(ctx context.Context, tx store.Tx, offerID, reason, outcome string, now time.Time, why func(store.Resource) string) error {
	rs, err := tx.ResourcesByOffer(ctx, offerID)
	if err != nil {
		return err
	}
	for _, x := range rs {
		if x.Status != supplyapi.ResourceProvisioning {
			continue
		}
		_, changed, err := store.ChangeResource(ctx, tx, x.ID, func(y *store.Resource) bool {
			if y.Status != supplyapi.ResourceProvisioning {
				return false // running by now: its cluster decides
			}
			markFailed(y, why(*y), now)
			return true
		})
		if err != nil {
			return err
		}
		if changed {
			if err := tx.Enqueue(ctx, TerminateArgs{ResourceID: x.ID}, nil); err != nil {
				return err
			}
		}
	}
	_, _, err = store.ChangeProcurement(ctx, tx, offerID, func(p *store.Procurement) bool {
		if p.Status == store.ProcurementFailed || endAttempt(p, outcome, reason) != nil {
			return false
		}
		p.Status, p.FailureReason, p.Phase, p.UpdatedAt = store.ProcurementFailed, reason, "", now
		return true
	})
	return err
}

// failOne fails x, as the caller read it, with why and enqueues its
// clean-up (a node terminates what the vendor made; a cluster parent fails
// its live nodes and waits for them, then removes the vendor's cluster
// object). The write loses, wrapping store.ErrConflict, if x has changed.
func (s *Service) failOne(ctx context.Context, tx store.Tx, x store.Resource, why string, now time.Time) error {
	markFailed(&x, why, now)
	if _, err := tx.UpdateResource(ctx, x); err != nil {
		return err
	}
	return tx.Enqueue(ctx, TerminateArgs{ResourceID: x.ID}, nil)
}

// markFailed sets what a failure changes on a resource.
func markFailed(x *store.Resource, why string, now time.Time) {
	x.Status, x.FailureReason, x.StatusMessage, x.UpdatedAt = supplyapi.ResourceFailed, why, why, now
}

type terminateWorker struct {
	river.WorkerDefaults[TerminateArgs]
	s *Service
}

func (w *terminateWorker) Timeout(*river.Job[TerminateArgs]) time.Duration {
	return w.s.cfg.StepTimeout
}

// Work takes one step of a termination. It terminates only an instance
// the vendor does not already report as terminating, so repeated steps
// never send a second terminate for the same instance.
func (w *terminateWorker) Work(ctx context.Context, job *river.Job[TerminateArgs]) error {
	s := w.s
	ctx, r, ok, err := s.jobResource(ctx, job.Args.ResourceID)
	if !ok {
		return err
	}
	if own, ok := terminateJob(r); !ok || own != job.Args {
		return nil // not this job's to finish: deleted, or the other job's
	}
	if r.ResourceType == store.ResourceTypeCluster {
		return s.deleteCluster(ctx, r)
	}
	gone, err := s.terminateStep(ctx, r)
	if err != nil {
		return s.noteDeleteTrouble(ctx, r, err)
	}
	if !gone {
		return river.JobSnooze(s.cfg.PollInterval)
	}
	if err := s.closePorts(ctx, r); err != nil {
		return s.noteDeleteTrouble(ctx, r, err)
	}
	return s.confirmGone(ctx, r)
}

// terminateStep moves an instance towards gone and says whether it is.
func (s *Service) terminateStep(ctx context.Context, r store.Resource) (bool, error) {
	v, ok := s.vendors[r.Vendor]
	if !ok {
		return false, fmt.Errorf("vendor %s is not configured; cannot confirm the instance is gone", r.Vendor)
	}
	id := r.VendorInstanceID
	if id == "" {
		// Create may have made the instance without us learning its id
		// (a crash, an ambiguous answer): look for our tag.
		inst, found, err := findByResource(ctx, v, r.ID)
		if err != nil {
			return false, err
		}
		if !found {
			if r.CreateAttemptedAt == nil || s.now().Sub(*r.CreateAttemptedAt) > s.cfg.CreateGrace {
				return true, nil
			}
			return false, nil // a create may still be in flight
		}
		id = inst.ID
		if _, _, err := store.ChangeResource(ctx, s.store, r.ID, func(r *store.Resource) bool { s.recordInstance(r, id); return true }); err != nil {
			return false, err
		}
	}
	inst, err := v.Get(ctx, id)
	switch {
	case vendors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, err
	case inst.State == vendors.StateTerminated:
		return true, nil
	case inst.State == vendors.StateTerminating:
		return false, nil
	}
	if err := v.Terminate(ctx, id); err != nil {
		if vendors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
	s.log.InfoContext(ctx, "terminate requested", "resource_id", r.ID, "vendor", r.Vendor, "instance", id)
	return false, nil
}

func findByResource(ctx context.Context, v vendors.Vendor, resourceID string) (vendors.Instance, bool, error) {
	list, err := v.List(ctx)
	if err != nil {
		return vendors.Instance{}, false, err
	}
	for _, inst := range list {
		if inst.ResourceID == resourceID && inst.State != vendors.StateTerminated {
			return inst, true, nil
		}
	}
	return vendors.Instance{}, false, nil
}

// confirmGone records that the vendor confirmed the instance is gone:
// a deleting resource becomes deleted; a failed one stays failed, cleaned.
func (s *Service) confirmGone(ctx context.Context, r store.Resource) error {
	now := s.now().UTC()
	if _, _, err := store.ChangeResource(ctx, s.store, r.ID, func(x *store.Resource) bool {
		switch x.Status {
		case supplyapi.ResourceDeleting:
			x.Status, x.StatusMessage = supplyapi.ResourceDeleted, "deleted; the vendor confirmed the instance is gone"
		case supplyapi.ResourceFailed:
			x.StatusMessage = x.FailureReason + " (anything the vendor created has been removed)"
		default:
			return false
		}
		x.DeletedAt, x.UpdatedAt = &now, now
		return true
	}); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "instance gone", "resource_id", r.ID, "vendor", r.Vendor)
	s.refreshSpend(ctx, r.AccountID)
	if r.ParentID == "" {
		return nil
	}
	// The parent's own job finishes it once every node is gone.
	parent, err := s.store.ResourceByID(ctx, r.ParentID)
	if err != nil {
		return err
	}
	if job, ok := terminateJob(parent); ok {
		return s.store.Enqueue(ctx, job, nil)
	}
	return nil
}

// deleteCluster finishes a cluster parent once every node is gone, and
// removes the vendor's cluster object if it has one. A failed cluster
// first fails the nodes still live: they were running when another node
// failed, and a cluster is all or nothing.
func (s *Service) deleteCluster(ctx context.Context, parent store.Resource) error {
	if parent.Status == supplyapi.ResourceFailed {
		if err := s.failLiveNodes(ctx, parent); err != nil {
			return stepAgain(err)
		}
	}
	nodes, err := s.store.ResourcesByParent(ctx, parent.ID)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Status != supplyapi.ResourceDeleted && !(n.Status == supplyapi.ResourceFailed && n.DeletedAt != nil) {
			return river.JobSnooze(2 * s.cfg.PollInterval)
		}
	}
	if cd, ok := s.vendors[parent.Vendor].(vendors.ClusterDeleter); ok {
		if err := cd.DeleteCluster(ctx, parent.ID); err != nil && !vendors.IsNotFound(err) {
			return s.noteDeleteTrouble(ctx, parent, err)
		}
	}
	return s.confirmGone(ctx, parent)
}

// failLiveNodes fails, with their clean-up, the nodes of the failed
// cluster parent that are neither failed nor on their way out.
func (s *Service) failLiveNodes(ctx context.Context, parent store.Resource) error {
	return s.store.InTx(ctx, func(tx store.Tx) error {
		nodes, err := tx.ResourcesByParent(ctx, parent.ID)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		for _, n := range nodes {
			switch n.Status {
			case supplyapi.ResourceFailed, supplyapi.ResourceDeleting, supplyapi.ResourceDeleted:
				continue
			}
			if err := s.failOne(ctx, tx, n, "another node of the cluster failed: "+parent.FailureReason, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// noteDeleteTrouble keeps a failing termination going, with the reason
// in the resource's status message, and flags it once it has failed for
// longer than DeleteWarnAfter.
func (s *Service) noteDeleteTrouble(ctx context.Context, r store.Resource, cause error) error {
	since := r.CreatedAt
	if r.DeleteRequestedAt != nil {
		since = *r.DeleteRequestedAt
	}
	msg := "deletion retrying: " + s.tenantError(r, cause)
	if d := s.now().Sub(since); d > s.cfg.DeleteWarnAfter {
		msg = fmt.Sprintf("STUCK: deletion has been failing for %s and is still being retried: %s", d.Round(time.Minute), s.tenantError(r, cause))
	}
	if _, _, err := store.ChangeResource(ctx, s.store, r.ID, func(x *store.Resource) bool {
		if x.Status != supplyapi.ResourceDeleting || x.StatusMessage == msg {
			return false
		}
		x.StatusMessage, x.UpdatedAt = msg, s.now().UTC()
		return true
	}); err != nil {
		return err
	}
	s.log.WarnContext(ctx, "termination failed; will retry", "resource_id", r.ID, "vendor", r.Vendor, "err", cause)
	return s.retryLater(cause)
}

// retryLater snoozes after a transient vendor failure, honouring a
// vendor's Retry-After. Snoozing does not use up the job's attempts.
func (s *Service) retryLater(err error) error {
	wait := max(vendors.RetryAfter(err), 2*s.cfg.PollInterval)
	return river.JobSnooze(min(wait, time.Minute))
}

// stepAgain turns a write that lost to another writer into a step taken
// again at once: the next step reads the row as the winner left it and
// decides anew (the resource may be cancelled, failed or done by then).
func stepAgain(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return river.JobSnooze(0)
	}
	return err
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func sshPort(inst vendors.Instance) int {
	if inst.SSHPort == 0 {
		return 22
	}
	return inst.SSHPort
}
