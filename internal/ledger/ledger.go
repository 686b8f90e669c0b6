// Package ledger is the read side of provisioning: what an account's
// procurements and resources are as the API shows them (offer statuses,
// resource summaries and lists, procured offers), and what they cost (the
// account's live spend, usage over a window), read from the rows the
// workflow in package provision writes, with the caches that make polling
// them cheap.
//
// It is a package of its own, below the workflow, because the workflow
// renders what it writes too: every write records an event carrying the
// resource or the status as the API shows it (provision's recordingStore),
// so rendering (Summary, Status) and what it reads of a procurement's row
// (its tries, FailoverOf) live here, where both the API's reads and the
// workflow's writes reach them. The ledger never calls a vendor and never
// writes; a read that must ask the vendor first (GET /resources/{id} when
// stale) is the workflow's.
package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// Offers is what the ledger reads of the offer index: answers to queries,
// and offers nobody has procured.
type Offers interface {
	Answer(ctx context.Context, accountID int64, q supplyapi.OfferQuery) (*offers.Answer, error)
	Details(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.OfferDetails, error)
}

// Config configures a Ledger.
type Config struct {
	// Store is read, never written.
	Store  store.Store
	Offers Offers
	// Now is the clock costs are computed at (nil: time.Now).
	Now func() time.Time
}

// Ledger answers the API's reads of procurements, resources and spend,
// always on behalf of an account.
type Ledger struct {
	store  store.Store
	offers Offers
	now    func() time.Time
	// statuses are the offer statuses served to polls, versions the
	// reads that tell whether they are current.
	statuses statusCache
	versions *versionReads
	// lists are the resource lists served to polls.
	lists *listCache
}

// New builds a Ledger.
func New(cfg Config) *Ledger {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Ledger{
		store: cfg.Store, offers: cfg.Offers, now: cfg.Now,
		statuses: newStatusCache(), versions: newVersionReads(cfg.Store.ChangeVersion), lists: newListCache(),
	}
}

// Answer answers offer queries: the index does, and the ledger passes it
// on so that it is the API's one offer service (Details needs the
// procurements).
func (l *Ledger) Answer(ctx context.Context, accountID int64, q supplyapi.OfferQuery) (*offers.Answer, error) {
	return l.offers.Answer(ctx, accountID, q)
}

// Details is GET /offers/{id}: the offer as shown, with whether it was
// procured or failed.
func (l *Ledger) Details(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.OfferDetails, error) {
	d, _, err := l.details(ctx, accountID, id)
	return d, err
}

// details finds an offer and its procurement, if any. A procured offer is
// read from its procurement, which keeps a copy, so it stays visible after
// its catalog snapshot expires.
func (l *Ledger) details(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.OfferDetails, *store.Procurement, error) {
	p, err := l.store.ProcurementByOffer(ctx, id.String())
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && p.AccountID != accountID:
		d, err := l.offers.Details(ctx, accountID, id)
		return d, nil, err
	case err != nil:
		return supplyapi.OfferDetails{}, nil, fmt.Errorf("offer details: %w", err)
	}
	d, err := procuredDetails(p)
	if err != nil {
		return supplyapi.OfferDetails{}, nil, err
	}
	return d, &p, nil
}

// procuredDetails is a procured offer as its procurement keeps it.
func procuredDetails(p store.Procurement) (supplyapi.OfferDetails, error) {
	d := supplyapi.OfferDetails{Status: supplyapi.OfferProcured, ProcuredAt: &p.CreatedAt}
	if err := json.Unmarshal(p.Offer, &d.Offer); err != nil {
		return supplyapi.OfferDetails{}, fmt.Errorf("offer details: %w", err)
	}
	if p.Status == store.ProcurementFailed {
		d.Status = supplyapi.OfferFailed
	}
	return d, nil
}
