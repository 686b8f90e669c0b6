package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// Resource is GET /resources/{id}: the stored state, re-synced with the
// vendor first when it is older than SyncAfter or forceRefresh is set.
func (s *Service) Resource(ctx context.Context, accountID int64, id uuid.UUID, forceRefresh bool) (supplyapi.ResourceSummary, error) {
	r, err := s.resource(ctx, accountID, id)
	if err != nil {
		return supplyapi.ResourceSummary{}, err
	}
	stale := r.LastSyncedAt == nil || s.now().Sub(*r.LastSyncedAt) > s.cfg.SyncAfter
	if (forceRefresh || stale) && r.VendorInstanceID != "" && syncable(r.Status) {
		if synced, err := s.sync(ctx, r); err != nil {
			// A vendor that cannot answer now does not fail the read: the
			// stored state is served, and last_synced_at says how old it is.
			s.log.WarnContext(ctx, "resource re-sync failed", "resource_id", r.ID, "vendor", r.Vendor, "err", err)
		} else {
			r = synced
		}
	}
	return ledger.Summary(ctx, s.store, r, s.now())
}

func (s *Service) resource(ctx context.Context, accountID int64, id uuid.UUID) (store.Resource, error) {
	r, err := s.store.ResourceByID(ctx, id.String())
	if errors.Is(err, store.ErrNotFound) || err == nil && r.AccountID != accountID {
		return store.Resource{}, refusal.Errorf(refusal.ErrNotFound, "Resource %s not found", id)
	}
	if err != nil {
		return store.Resource{}, fmt.Errorf("get resource: %w", err)
	}
	annotate(ctx, r)
	return r, nil
}

func syncable(status string) bool {
	return status == supplyapi.ResourceRunning || status == supplyapi.ResourceUnhealthy
}

// sync reads the instance from the vendor and records what changed.
func (s *Service) sync(ctx context.Context, r store.Resource) (store.Resource, error) {
	v, ok := s.vendors[r.Vendor]
	if !ok {
		return r, fmt.Errorf("vendor %s is not configured", r.Vendor)
	}
	inst, getErr := v.Get(ctx, r.VendorInstanceID)
	if getErr != nil && !vendors.IsNotFound(getErr) {
		return r, getErr
	}
	out, _, err := store.ChangeResource(ctx, s.store, r.ID, func(x *store.Resource) bool {
		if !syncable(x.Status) {
			return false
		}
		now := s.now().UTC()
		x.LastSyncedAt, x.UpdatedAt = &now, now
		s.applyVendorState(ctx, x, inst, getErr)
		return true
	})
	if err != nil {
		return r, err
	}
	return out, nil
}

// applyVendorState maps what the vendor says of a live resource's
// instance (or that it is gone) onto the resource.
func (s *Service) applyVendorState(ctx context.Context, x *store.Resource, inst vendors.Instance, getErr error) {
	now := s.now().UTC()
	switch {
	case vendors.IsNotFound(getErr) || inst.State == vendors.StateTerminated:
		x.Status, x.FailureReason = supplyapi.ResourceFailed, "the instance disappeared at the vendor"
		if s.isSpot(*x) {
			x.Status, x.FailureReason = supplyapi.ResourcePreempted, "the spot instance was reclaimed by the vendor"
		}
		x.StatusMessage, x.DeletedAt = x.FailureReason, &now
		s.metrics.vanished.WithLabelValues(x.Vendor).Inc()
	case inst.State == vendors.StatePreempted:
		x.Status, x.StatusMessage = supplyapi.ResourcePreempted, "the spot instance was preempted by the vendor"
	case inst.State == vendors.StateRunning:
		x.Status, x.StatusMessage = supplyapi.ResourceRunning, ""
		if inst.ExternalIP != "" {
			x.ExternalIP, x.InternalIP, x.SSHPort = inst.ExternalIP, inst.InternalIP, sshPort(inst)
		}
	default:
		x.Status, x.StatusMessage = supplyapi.ResourceUnhealthy, s.instanceState(ctx, *x, inst)
	}
}

func (s *Service) isSpot(r store.Resource) bool {
	var sp supplyapi.Spec
	return json.Unmarshal(r.Spec, &sp) == nil && sp.ContractType == string(vendors.Spot)
}

// Delete is DELETE /resources/{id}: it marks the resource (and a
// cluster's nodes) deleting and enqueues the terminations in one
// transaction; the resource becomes deleted only once the vendor
// confirms the instance is gone.
func (s *Service) Delete(ctx context.Context, accountID int64, id uuid.UUID, force bool) (supplyapi.DeleteResourceResponse, error) {
	return s.deleteResource(ctx, accountID, id, force, causeUser)
}

// deletion is who asked for a deletion, in the words the resource shows.
type deletion struct {
	message string // the status message while deleting
	by      string // what cancelled a provisioning resource
	event   string // an event recorded besides resource.deleting ("": none)
	// reason is the failure reason of a procurement this cancels ("": one
	// naming the resource and by).
	reason string
}

var (
	causeUser       = deletion{message: "deletion requested", by: "deleted by the user"}
	causeAutoDelete = deletion{message: "auto-delete: its delete_at has come", by: "auto-deleted at its delete_at", event: supplyapi.EventResourceAutoDeleted}
	causeCancel     = deletion{message: "procurement cancelled", by: "cancelled by the user", reason: "cancelled by the user"}
)

// deleteResource is Delete for the user or for auto-delete (cause).
func (s *Service) deleteResource(ctx context.Context, accountID int64, id uuid.UUID, force bool, cause deletion) (supplyapi.DeleteResourceResponse, error) {
	for range 5 {
		r, err := s.resource(ctx, accountID, id)
		if err != nil {
			return supplyapi.DeleteResourceResponse{}, err
		}
		resp := supplyapi.DeleteResourceResponse{ResourceID: id, Status: supplyapi.ResourceDeleting}
		switch r.Status {
		case supplyapi.ResourceDeleted:
			return supplyapi.DeleteResourceResponse{}, refusal.Errorf(refusal.ErrConflict, "Resource %s is already deleted", id)
		case supplyapi.ResourceDeleting:
			resp.Message = "Deletion already in progress"
			return resp, nil
		case supplyapi.ResourceProvisioning:
			// A procurement waiting for stock has nothing at any vendor:
			// deleting ends the wait, no force needed.
			if !force && !s.waiting(ctx, r.OfferID) {
				return supplyapi.DeleteResourceResponse{}, refusal.Errorf(refusal.ErrConflict, "Resource %s is still provisioning; wait until it is running, or pass force=true to cancel the provisioning and terminate whatever was created", id)
			}
		}
		targets := []store.Resource{r}
		if r.ResourceType == store.ResourceTypeCluster {
			nodes, err := s.store.ResourcesByParent(ctx, r.ID)
			if err != nil {
				return supplyapi.DeleteResourceResponse{}, fmt.Errorf("delete: %w", err)
			}
			for _, n := range nodes {
				if n.Status != supplyapi.ResourceDeleted && n.Status != supplyapi.ResourceDeleting {
					targets = append(targets, n)
				}
			}
		}
		now := s.now().UTC()
		err = s.store.InTx(ctx, func(tx store.Tx) error {
			for _, t := range targets {
				t.Status, t.StatusMessage, t.DeleteRequestedAt, t.UpdatedAt = supplyapi.ResourceDeleting, cause.message, &now, now
				t, err := tx.UpdateResource(ctx, t)
				if err != nil {
					return err
				}
				if cause.event != "" {
					if err := recordEvent(tx, cause.event, t); err != nil {
						return err
					}
				}
				if err := tx.Enqueue(ctx, TerminateArgs{ResourceID: t.ID, Deletion: true}, nil); err != nil {
					return err
				}
			}
			if r.Status != supplyapi.ResourceProvisioning {
				return nil
			}
			// A procurement cancelled by the renter ends here, not never:
			// its status says why, and a cluster (all or nothing) gives
			// up its other nodes and its parent with it.
			reason := fmt.Sprintf("cancelled: resource %s was %s while it was provisioning", r.ID, cause.by)
			if cause.reason != "" {
				reason = cause.reason
			}
			return s.failRest(ctx, tx, r.OfferID, nil, reason, now)
		})
		if errors.Is(err, store.ErrConflict) {
			continue // changed under us (a worker took a step): look again
		}
		if err != nil {
			return supplyapi.DeleteResourceResponse{}, fmt.Errorf("delete: %w", err)
		}
		resp.Message = "Deletion started; the resource becomes deleted once the vendor confirms the instance is gone"
		if r.Status == supplyapi.ResourceProvisioning {
			resp.Message = "Provisioning cancelled; " + resp.Message
		}
		if len(targets) > 1 {
			resp.Message += fmt.Sprintf(" (cluster of %d nodes)", len(targets)-1)
		}
		return resp, nil
	}
	return supplyapi.DeleteResourceResponse{}, fmt.Errorf("delete %s: the resource kept changing; try again", id)
}

// waiting reports whether the procurement of offerID waits for stock.
func (s *Service) waiting(ctx context.Context, offerID string) bool {
	p, err := s.store.ProcurementByOffer(ctx, offerID)
	return err == nil && p.Phase == store.PhaseWaiting
}
