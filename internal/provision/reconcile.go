package provision

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// ReconcileArgs is the periodic job that compares every vendor's tagged
// instances with the database and repairs the drift.
type ReconcileArgs struct{}

// Kind names the job in River.
func (ReconcileArgs) Kind() string { return "reconcile" }

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	s *Service
}

func (w *reconcileWorker) Timeout(*river.Job[ReconcileArgs]) time.Duration { return 5 * time.Minute }

func (w *reconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	return w.s.Reconcile(ctx)
}

// Reconcile runs one pass: for every configured vendor it terminates
// orphans (instances carrying supply's tag that no live resource owns),
// marks resources whose instance vanished (failed, or preempted for
// spot), fails provisioning stuck past the timeout (with clean-up), and
// makes sure every deletion and clean-up still has its job. A vendor that
// cannot be listed is skipped this pass; the others are still repaired.
func (s *Service) Reconcile(ctx context.Context) error {
	live, err := s.store.LiveResources(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	byVendor := map[string][]store.Resource{}
	byAccount := map[int64][]store.Resource{}
	stuck := 0
	for _, r := range live {
		byVendor[r.Vendor] = append(byVendor[r.Vendor], r)
		byAccount[r.AccountID] = append(byAccount[r.AccountID], r)
		if r.DeleteAt != nil && r.ParentID == "" && autoDeletable(r.Status) {
			// Idempotent: a no-op while its auto-delete job waits.
			if err := s.store.Enqueue(ctx, AutoDeleteArgs{ResourceID: r.ID, At: *r.DeleteAt}, nil); err != nil {
				return fmt.Errorf("reconcile: %w", err)
			}
		}
		if r.Status == supplyapi.ResourceDeleting && r.DeleteRequestedAt != nil && s.now().Sub(*r.DeleteRequestedAt) > s.cfg.DeleteWarnAfter {
			stuck++
		}
	}
	s.metrics.stuckDeletions.Set(float64(stuck))
	s.metrics.liveSpend.Reset()
	for account, rs := range byAccount {
		ls, err := ledger.LiveSpend(rs)
		if err != nil {
			// A gauge is not worth skipping the vendors' repairs for.
			s.log.WarnContext(ctx, "reconcile: live spend not measured", "account_id", account, "err", err)
			continue
		}
		s.metrics.liveSpend.WithLabelValues(strconv.FormatInt(account, 10)).Set(ls.HourlyUSD)
	}
	// A procurement between tries is its failover job's: make sure it has one.
	between, err := s.store.ProcurementsBetweenTries(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	for _, p := range between {
		if err := s.store.Enqueue(ctx, FailoverArgs{OfferID: p.OfferID, Attempt: p.Attempt}, nil); err != nil {
			return fmt.Errorf("reconcile: %w", err)
		}
	}
	var errs []error
	for name, v := range s.vendors {
		if err := s.reconcileVendor(ctx, v, byVendor[name]); err != nil {
			errs = append(errs, err)
		}
		if err := s.reconcileFirewalls(ctx, v); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.reconcileVolumes(ctx))
	return errors.Join(errs...)
}

// reconcileProvisioning makes sure a provisioning resource goes on: it
// fails one whose try has outlived the provisioning timeout, and gives
// the others their procure job, unless their procurement is between tries.
func (s *Service) reconcileProvisioning(ctx context.Context, r store.Resource) error {
	p, err := s.store.ProcurementByOffer(ctx, r.OfferID)
	if err != nil || ledger.BetweenTries(p) {
		return err
	}
	if s.now().Sub(tryStart(p, r)) > s.cfg.ProvisionTimeout+time.Minute {
		// A resource that changed since the list was read is left to
		// its procure job, which times it out on what it reads.
		err := s.fail(ctx, r, fmt.Sprintf("timeout: provisioning did not finish within %s", s.cfg.ProvisionTimeout))
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
		return err
	}
	// Idempotent: makes sure a procurement whose job was lost goes on.
	return s.store.Enqueue(ctx, ProcureArgs{ResourceID: r.ID, Attempt: p.Attempt}, nil)
}

func (s *Service) reconcileVendor(ctx context.Context, v vendors.Vendor, live []store.Resource) error {
	insts, err := v.List(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "reconcile: cannot list instances; skipping vendor this pass", "vendor", v.Name(), "err", err)
		return nil
	}
	seen := map[string]bool{}
	foreign := 0
	for _, inst := range insts {
		seen[inst.ID] = true
		if inst.ResourceID == "" || inst.State == vendors.StateTerminated {
			continue
		}
		mine, err := s.reconcileInstance(ctx, v, inst)
		if err != nil {
			s.log.WarnContext(ctx, "reconcile: instance", "vendor", v.Name(), "instance", inst.ID, "err", err)
		}
		if !mine {
			foreign++
			s.noteForeign(ctx, v.Name(), inst)
		}
	}
	s.metrics.foreign.WithLabelValues(v.Name()).Set(float64(foreign))
	for _, r := range live {
		if r.ResourceType == store.ResourceTypeCluster {
			continue
		}
		switch {
		case r.Status == supplyapi.ResourceDeleting:
			// Idempotent: a no-op while the deletion job is still queued.
			if err := s.store.Enqueue(ctx, TerminateArgs{ResourceID: r.ID, Deletion: true}, nil); err != nil {
				return err
			}
		case r.Status == supplyapi.ResourceProvisioning:
			if err := s.reconcileProvisioning(ctx, r); err != nil {
				return err
			}
		case r.Status == supplyapi.ResourceStopped && r.VendorInstanceID != "" && !seen[r.VendorInstanceID]:
			if err := s.reconcileStopped(ctx, v, r); err != nil {
				return err
			}
		case r.Status == supplyapi.ResourceStopping || r.Status == supplyapi.ResourceStarting:
			job, _ := powerJob(r)
			// Idempotent: a no-op while its job is still queued.
			if err := s.store.Enqueue(ctx, job, nil); err != nil {
				return err
			}
		case syncable(r.Status) && r.VendorInstanceID != "" && !seen[r.VendorInstanceID]:
			// Not listed: confirm with a direct look before calling it vanished.
			inst, err := v.Get(ctx, r.VendorInstanceID)
			if err != nil && !vendors.IsNotFound(err) {
				continue
			}
			if _, _, err := store.ChangeResource(ctx, s.store, r.ID, func(x *store.Resource) bool {
				if !syncable(x.Status) {
					return false
				}
				now := s.now().UTC()
				x.LastSyncedAt, x.UpdatedAt = &now, now
				s.applyVendorState(ctx, x, inst, err)
				return true
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// reconcileInstance decides what to do with one tagged vendor instance,
// and reports whether it is this installation's. An instance is ours when
// it carries our installation id, or, made before instances carried one,
// when our database knows its resource id. Anything else (another
// installation's on a shared account, or a machine a person named like
// ours) is never touched, whatever its tag says.
func (s *Service) reconcileInstance(ctx context.Context, v vendors.Vendor, inst vendors.Instance) (mine bool, err error) {
	if inst.Owner != "" && inst.Owner != s.cfg.Owner {
		return false, nil
	}
	r, err := s.store.ResourceByID(ctx, inst.ResourceID)
	switch {
	case errors.Is(err, store.ErrNotFound) && inst.Owner == "":
		return false, nil
	case errors.Is(err, store.ErrNotFound):
		return true, s.terminateOrphan(ctx, v, inst, "no resource has this id")
	case err != nil:
		return true, err
	}
	return true, s.repairInstance(ctx, v, inst, r)
}

// repairInstance brings one of our instances in line with its resource.
func (s *Service) repairInstance(ctx context.Context, v vendors.Vendor, inst vendors.Instance, r store.Resource) error {
	if r.ResourceType == store.ResourceTypeCluster {
		// Some vendors (RunPod) can only tag a cluster's members with the
		// cluster's id: such an instance is an orphan only once the
		// cluster is deleted; its nodes are reconciled by instance id.
		if r.Status == supplyapi.ResourceDeleted {
			return s.terminateOrphan(ctx, v, inst, "its cluster is deleted")
		}
		return nil
	}
	switch {
	case r.Vendor != v.Name():
		return s.terminateOrphan(ctx, v, inst, "the resource lives at another vendor")
	case r.VendorInstanceID != "" && r.VendorInstanceID != inst.ID:
		return s.terminateOrphan(ctx, v, inst, "a duplicate of the resource's instance "+r.VendorInstanceID)
	case r.Status == supplyapi.ResourceDeleted:
		return s.terminateOrphan(ctx, v, inst, "its resource is deleted")
	case r.Status == supplyapi.ResourceFailed && inst.State != vendors.StateTerminating:
		return s.store.Enqueue(ctx, TerminateArgs{ResourceID: r.ID}, nil)
	case r.VendorInstanceID == "" && r.Status == supplyapi.ResourceProvisioning:
		// Created, but the answer was lost: adopt it.
		_, _, err := store.ChangeResource(ctx, s.store, r.ID, func(x *store.Resource) bool {
			if x.VendorInstanceID != "" || x.Status != supplyapi.ResourceProvisioning {
				return false
			}
			s.recordInstance(x, inst.ID)
			return true
		})
		return err
	}
	return nil
}

func (s *Service) terminateOrphan(ctx context.Context, v vendors.Vendor, inst vendors.Instance, why string) error {
	if inst.State == vendors.StateTerminating {
		return nil
	}
	s.metrics.orphansFound.WithLabelValues(v.Name()).Inc()
	s.log.WarnContext(ctx, "reconcile: terminating orphan instance", "vendor", v.Name(), "instance", inst.ID, "resource_id", inst.ResourceID, "why", why)
	if err := v.Terminate(ctx, inst.ID); err != nil && !vendors.IsNotFound(err) {
		return fmt.Errorf("terminate orphan %s: %w", inst.ID, err)
	}
	s.metrics.orphansTerminated.WithLabelValues(v.Name()).Inc()
	return nil
}

// noteForeign logs, once per instance, an instance the reconciler leaves
// alone because it is not this installation's.
func (s *Service) noteForeign(ctx context.Context, vendor string, inst vendors.Instance) {
	key := vendor + "/" + inst.ID
	s.foreignMu.Lock()
	defer s.foreignMu.Unlock()
	if s.foreignSeen[key] {
		return
	}
	s.foreignSeen[key] = true
	s.log.InfoContext(ctx, "reconcile: leaving alone an instance of another installation", "vendor", vendor, "instance", inst.ID,
		"resource_id", inst.ResourceID, "owner", inst.Owner, "installation", s.cfg.Owner)
}
