package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// OfferStatus is GET /offers/{id}/status. It reads only the database, so
// clients may poll it as hard as they like: while the account's
// procurements and resources stay unchanged, a poll is one single-row read
// (see statusCache).
func (l *Ledger) OfferStatus(ctx context.Context, accountID int64, offerID uuid.UUID) (supplyapi.OfferStatusResponse, error) {
	// Read before the rows: a change that commits in between makes the
	// entry stale at once, never a stale entry look current.
	version, err := l.versions.get(ctx, accountID)
	if err != nil {
		return supplyapi.OfferStatusResponse{}, fmt.Errorf("offer status: %w", err)
	}
	if st, ok := l.statuses.get(offerID, accountID, version); ok {
		return st, nil
	}
	d, p, err := l.details(ctx, accountID, offerID)
	if errors.Is(err, offers.ErrNotFound) {
		return supplyapi.OfferStatusResponse{}, refusal.Errorf(refusal.ErrNotFound, "Offer %s not found", offerID)
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
	st, err := procurementStatus(ctx, l.store, d, *p)
	if err != nil {
		return supplyapi.OfferStatusResponse{}, err
	}
	st.Version = version
	l.statuses.put(offerID, accountID, version, st)
	return st, nil
}

// Status is the status of a procured offer as the API shows it, read
// through q: the workflow renders a procurement's events with it, inside
// the transaction that changes the procurement.
func Status(ctx context.Context, q store.Queries, p store.Procurement) (supplyapi.OfferStatusResponse, error) {
	d, err := procuredDetails(p)
	if err != nil {
		return supplyapi.OfferStatusResponse{}, err
	}
	return procurementStatus(ctx, q, d, p)
}

// procurementStatus is the status of a procured offer, read through q.
func procurementStatus(ctx context.Context, q store.Queries, d supplyapi.OfferDetails, p store.Procurement) (supplyapi.OfferStatusResponse, error) {
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
		if r.ResourceType == store.ResourceTypeCluster {
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
		ports, err := openPorts(ctx, q, r)
		if err != nil {
			return supplyapi.OfferStatusResponse{}, fmt.Errorf("offer status: %w", err)
		}
		st.Instances = append(st.Instances, supplyapi.InstanceInfo{
			ResourceID: uuid.MustParse(r.ID), Name: r.Name, Status: r.Status,
			ExternalIP: a.ExternalIP, InternalIP: a.InternalIP, SSHCommand: a.SSHCommand, SSHPort: a.SSHPort, Ports: ports,
		})
	}
	st.Progress = fmt.Sprintf("%d/%d instances running", running, nodes)
	if progress := failoverProgress(p); progress != "" {
		st.Progress = progress
	}
	st.Attempts = attemptsOf(p)
	switch {
	case p.Status == store.ProcurementFailed:
		st.ProcurementStatus = supplyapi.ProcurementFailed
		reason := p.FailureReason
		st.FailureReason = &reason
	case p.Status == store.ProcurementReady:
		st.ProcurementStatus = supplyapi.ProcurementReady
	case created == 0 && p.Attempt == 0 && !BetweenTries(p):
		st.ProcurementStatus = supplyapi.ProcurementStarted
	default:
		st.ProcurementStatus = supplyapi.ProcurementInProgress
	}
	return st, nil
}
