package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/offers"
	"github.com/gpusupply/supply/store"
	"github.com/gpusupply/supply/supplyapi"
	"github.com/gpusupply/supply/vendors"
)

// OfferStatus is GET /offers/{id}/status. It reads only the database, so
// clients may poll it as hard as they like: while the account's
// procurements and resources stay unchanged, a poll is one single-row read
// (see statusCache).
func (s *Service) OfferStatus(ctx context.Context, accountID int64, offerID uuid.UUID) (supplyapi.OfferStatusResponse, error) {
	// Read before the rows: a change that commits in between makes the
	// entry stale at once, never a stale entry look current.
	version, err := s.versions.get(ctx, accountID)
	if err != nil {
		return supplyapi.OfferStatusResponse{}, fmt.Errorf("offer status: %w", err)
	}
	if st, ok := s.statuses.get(offerID, accountID, version); ok {
		return st, nil
	}
	d, p, err := s.details(ctx, accountID, offerID)
	if errors.Is(err, offers.ErrNotFound) {
		return supplyapi.OfferStatusResponse{}, refuse(ErrNotFound, "Offer %s not found", offerID)
	}
	if err != nil {
		return supplyapi.OfferStatusResponse{}, err
	}
	if p == nil {
		return supplyapi.OfferStatusResponse{
			OfferID: offerID, Status: d.Status, CreatedAt: d.CreatedAt, ProcurementStatus: supplyapi.ProcurementAvailable,
			Instances: []supplyapi.InstanceInfo{}, ResourceIDs: []uuid.UUID{}, Progress: "not procured",
		}, nil
	}
	st, err := s.procurementStatus(ctx, s.store, d, *p)
	if err != nil {
		return supplyapi.OfferStatusResponse{}, err
	}
	st.Version = version
	s.statuses.put(offerID, accountID, version, st)
	return st, nil
}

// procurementStatus is the status of a procured offer, read through q.
func (s *Service) procurementStatus(ctx context.Context, q store.Queries, d supplyapi.OfferDetails, p store.Procurement) (supplyapi.OfferStatusResponse, error) {
	st := supplyapi.OfferStatusResponse{
		OfferID: uuid.MustParse(p.OfferID), Status: d.Status, CreatedAt: d.CreatedAt, ProcurementStatus: supplyapi.ProcurementAvailable,
		Instances: []supplyapi.InstanceInfo{}, ResourceIDs: []uuid.UUID{}, ProcuredAt: d.ProcuredAt,
	}
	rs, err := q.ResourcesByOffer(ctx, p.OfferID)
	if err != nil {
		return supplyapi.OfferStatusResponse{}, fmt.Errorf("offer status: %w", err)
	}
	running, nodes, created := 0, 0, 0
	for _, r := range rs {
		st.ResourceIDs = append(st.ResourceIDs, uuid.MustParse(r.ID))
		if r.ResourceType == typeCluster {
			continue
		}
		nodes++
		if r.Status == supplyapi.ResourceRunning {
			running++
		}
		if r.VendorInstanceID != "" {
			created++
		}
		a := access(r)
		st.Instances = append(st.Instances, supplyapi.InstanceInfo{
			ResourceID: uuid.MustParse(r.ID), Name: r.Name, Status: r.Status,
			ExternalIP: a.ExternalIP, InternalIP: a.InternalIP, SSHCommand: a.SSHCommand, SSHPort: a.SSHPort,
		})
	}
	st.Progress = fmt.Sprintf("%d/%d instances running", running, nodes)
	if progress := failoverProgress(p); progress != "" {
		st.Progress = progress
	}
	st.Attempts = attemptsOf(p)
	switch {
	case p.Status == procurementFailed:
		st.ProcurementStatus = supplyapi.ProcurementFailed
		reason := p.FailureReason
		st.FailureReason = &reason
	case p.Status == procurementReady:
		st.ProcurementStatus = supplyapi.ProcurementReady
	case created == 0 && p.Attempt == 0 && !betweenTries(p):
		st.ProcurementStatus = supplyapi.ProcurementStarted
	default:
		st.ProcurementStatus = supplyapi.ProcurementInProgress
	}
	return st, nil
}

// Resources is GET /resources: the account's resources, newest first,
// deleted ones included, or a page of them.
func (s *Service) Resources(ctx context.Context, accountID int64, f ResourceFilter) ([]supplyapi.ResourceSummary, error) {
	// Read before the rows, as OfferStatus does.
	version, err := s.versions.get(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	key := listKey{accountID: accountID, filter: filterKey(f)}
	now := s.now().UTC()
	if list, ok := s.lists.get(key, version, now); ok {
		return list, nil
	}
	offerID := ""
	if f.OfferID != nil {
		offerID = f.OfferID.String()
	}
	rs, err := s.store.ListResources(ctx, accountID, offerID, f.Status, f.After, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	out := make([]supplyapi.ResourceSummary, 0, len(rs))
	costs := make([]costRows, 0, len(rs))
	for _, r := range rs {
		sum, nodes, err := s.render(ctx, s.store, r)
		if err != nil {
			return nil, err
		}
		sum.Version = version
		out = append(out, sum)
		costs = append(costs, costRows{resource: r, nodes: nodes})
	}
	s.lists.put(key, version, out, costs)
	for i, rows := range costs {
		out[i].AccruedCost = costOf(rows.resource, rows.nodes, now)
	}
	return out, nil
}

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
	return s.summary(ctx, s.store, r)
}

func (s *Service) resource(ctx context.Context, accountID int64, id uuid.UUID) (store.Resource, error) {
	r, err := s.store.ResourceByID(ctx, id.String())
	if errors.Is(err, store.ErrNotFound) || err == nil && r.AccountID != accountID {
		return store.Resource{}, refuse(ErrNotFound, "Resource %s not found", id)
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
			return supplyapi.DeleteResourceResponse{}, refuse(ErrConflict, "Resource %s is already deleted", id)
		case supplyapi.ResourceDeleting:
			resp.Message = "Deletion already in progress"
			return resp, nil
		case supplyapi.ResourceProvisioning:
			// A procurement waiting for stock has nothing at any vendor:
			// deleting ends the wait, no force needed.
			if !force && !s.waiting(ctx, r.OfferID) {
				return supplyapi.DeleteResourceResponse{}, refuse(ErrConflict, "Resource %s is still provisioning; wait until it is running, or pass force=true to cancel the provisioning and terminate whatever was created", id)
			}
		}
		targets := []store.Resource{r}
		if r.ResourceType == typeCluster {
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
	return err == nil && p.Phase == phaseWaiting
}

// summary renders a resource as the API shows it.
func (s *Service) summary(ctx context.Context, q store.Queries, r store.Resource) (supplyapi.ResourceSummary, error) {
	sum, nodes, err := s.render(ctx, q, r)
	if err != nil {
		return supplyapi.ResourceSummary{}, err
	}
	sum.AccruedCost = costOf(r, nodes, s.now().UTC())
	return sum, nil
}

// render is the summary of r but for its accrued cost, and the nodes of a
// cluster, which its cost is the sum of.
func (s *Service) render(ctx context.Context, q store.Queries, r store.Resource) (supplyapi.ResourceSummary, []store.Resource, error) {
	var spec supplyapi.Spec
	if err := json.Unmarshal(r.Spec, &spec); err != nil {
		return supplyapi.ResourceSummary{}, nil, fmt.Errorf("resource %s spec: %w", r.ID, err)
	}
	sum := supplyapi.ResourceSummary{
		ResourceID: uuid.MustParse(r.ID), ResourceType: r.ResourceType, Vendor: r.Vendor, VendorRegion: r.VendorRegion,
		Status: r.Status, CreatedAt: r.CreatedAt, Name: r.Name, Access: access(r), Spec: spec,
		LinkedResources: []supplyapi.Link{}, PricingTotalHourly: r.PricePerHour, ValidFrom: r.CreatedAt,
		ValidTo: r.DeletedAt, LastSyncedAt: r.LastSyncedAt, DeleteAt: r.DeleteAt,
	}
	if r.StatusMessage != "" {
		msg := r.StatusMessage
		sum.StatusMessage = &msg
	}
	offerType := "single"
	var nodes []store.Resource
	switch {
	case r.ResourceType == typeCluster:
		offerType = "cluster"
		var err error
		if nodes, err = q.ResourcesByParent(ctx, r.ID); err != nil {
			return supplyapi.ResourceSummary{}, nil, err
		}
		for _, n := range nodes {
			sum.LinkedResources = append(sum.LinkedResources, link(n, "cluster_node", r))
		}
	case r.ParentID != "":
		offerType = "cluster"
		parent, err := q.ResourceByID(ctx, r.ParentID)
		if err != nil {
			return supplyapi.ResourceSummary{}, nil, err
		}
		sum.LinkedResources = append(sum.LinkedResources, link(parent, "cluster", r))
	}
	role := "primary"
	if r.ParentID != "" {
		role = "cluster_node"
	}
	sum.OfferHistory = []supplyapi.OfferHistory{{OfferID: uuid.MustParse(r.OfferID), OfferType: offerType, Role: role, CreatedAt: r.CreatedAt}}
	return sum, nodes, nil
}

// link describes other as seen from self: linked since both existed,
// until either was deleted.
func link(other store.Resource, kind string, self store.Resource) supplyapi.Link {
	l := supplyapi.Link{
		ResourceID: uuid.MustParse(other.ID), ResourceType: other.ResourceType, Status: other.Status,
		LinkType: kind, LinkedSince: later(other.CreatedAt, self.CreatedAt), Name: other.Name,
	}
	switch {
	case other.DeletedAt != nil && self.DeletedAt != nil:
		t := earlier(*other.DeletedAt, *self.DeletedAt)
		l.LinkedUntil = &t
	case other.DeletedAt != nil:
		l.LinkedUntil = other.DeletedAt
	case self.DeletedAt != nil:
		l.LinkedUntil = self.DeletedAt
	}
	return l
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// access is how to reach a resource: its addresses and the ssh command,
// which names the port only when it is not 22.
func access(r store.Resource) supplyapi.Access {
	var a supplyapi.Access
	if r.ExternalIP == "" {
		return a
	}
	ext := r.ExternalIP
	a.ExternalIP = &ext
	if r.InternalIP != "" {
		in := r.InternalIP
		a.InternalIP = &in
	}
	port := r.SSHPort
	if port == 0 {
		port = 22
	}
	cmd := "ssh root@" + ext
	if port != 22 {
		cmd += " -p " + strconv.Itoa(port)
	}
	a.SSHCommand, a.SSHPort = &cmd, &port
	return a
}
