package offers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// What an offer id leads back to: the offer and the catalog item it was
// shown with (Resolve, Details), read from a vendor's current snapshot or a
// small cache of older ones in front of the store, and what procurement
// tells the index about an offer (MarkTaken, MarkRefused).

// Resolve returns the offer behind an id for the account that was shown
// it, with the catalog item to launch, exactly as it was answered. It
// does not say whether the offer has expired or been procured.
func (ix *Index) Resolve(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.Offer, vendors.CatalogItem, error) {
	ref, err := ix.codec.decode(id)
	if err != nil || ref.Account != accountID {
		return supplyapi.Offer{}, vendors.CatalogItem{}, ErrNotFound
	}
	entries, observed, err := ix.snapshot(ctx, ref.Snapshot)
	if errors.Is(err, store.ErrNotFound) || err == nil && ref.Item >= len(entries) {
		return supplyapi.Offer{}, vendors.CatalogItem{}, ErrNotFound
	}
	if err != nil {
		return supplyapi.Offer{}, vendors.CatalogItem{}, err
	}
	e := entries[ref.Item]
	o := e.Offer()
	o.ObservedAt = observed
	o.OfferID, o.CreatedAt, o.ExpiresAt = id, ref.Created, ref.Created.Add(ix.cfg.TTL)
	return o, e.Item, nil
}

// MarkTaken tells the index an offer was procured. The account's next
// answers here carry new ids (fresh), never the spent one. The offer is
// hidden from further answers when it is one specific machine (a
// marketplace listing with stock 1), until the vendor's catalog next
// changes: otherwise the next renter is shown a machine that is gone.
// Other offers stay: their stock is a pool.
func (ix *Index) MarkTaken(ctx context.Context, accountID int64, id uuid.UUID) error {
	ref, err := ix.codec.decode(id)
	if err != nil || ref.Account != accountID {
		return ErrNotFound
	}
	ix.markFresh(accountID, ref.Created.Add(time.Second))
	_, item, err := ix.Resolve(ctx, accountID, id)
	if err != nil || item.Stock != 1 {
		return err
	}
	ix.mu.Lock()
	if ix.taken[ref.Snapshot] == nil {
		ix.taken[ref.Snapshot] = map[int]bool{}
	}
	ix.taken[ref.Snapshot][ref.Item] = true
	// Only the vendor whose current snapshot it is shows the offer.
	var shown []string
	for _, name := range ix.order {
		if ix.state[name].snapshotID == ref.Snapshot {
			shown = append(shown, name)
		}
	}
	ix.mu.Unlock()
	ix.rebuild(shown...)
	return nil
}

// MarkRefused hides a vendor's item from every answer at once, because
// the vendor has just refused to create it for lack of capacity: the
// catalog said it was in stock, but the next renter would be refused too.
// It shows again when a read of the vendor's catalog that began after the
// refusal lists it in stock.
func (ix *Index) MarkRefused(vendor string, item vendors.CatalogItem) {
	ix.mu.Lock()
	st, ok := ix.state[vendor]
	if ok {
		if st.refused == nil {
			st.refused = map[itemKey]time.Time{}
		}
		st.refused[itemKeyOf(item)] = ix.cfg.Now()
	}
	ix.mu.Unlock()
	if ok {
		ix.rebuild(vendor)
	}
}

// clearRefusals forgets the refusals from before a read that began at
// started, and says whether there were any. The caller holds ix.mu.
func (st *vendorState) clearRefusals(started time.Time) bool {
	n := len(st.refused)
	for k, at := range st.refused {
		if at.Before(started) {
			delete(st.refused, k)
		}
	}
	return len(st.refused) != n
}

// Details is GET /offers/{id} for offers nobody has procured: available
// until it expires. Procurement state is layered on top by the caller
// that owns it.
func (ix *Index) Details(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.OfferDetails, error) {
	o, _, err := ix.Resolve(ctx, accountID, id)
	if err != nil {
		return supplyapi.OfferDetails{}, err
	}
	d := supplyapi.OfferDetails{Offer: o, Status: supplyapi.OfferAvailable}
	if !ix.cfg.Now().Before(o.ExpiresAt) {
		d.Status = supplyapi.OfferExpired
	}
	return d, nil
}

// snapshot returns a snapshot's entries from memory when it is a
// vendor's current one, else from a small cache in front of the store.
func (ix *Index) snapshot(ctx context.Context, id int64) ([]*Entry, time.Time, error) {
	ix.mu.Lock()
	for _, st := range ix.state {
		if st.snapshotID == id {
			entries, observed := st.entries, st.observedAt
			ix.mu.Unlock()
			return entries, observed, nil
		}
	}
	ix.mu.Unlock()
	if c, ok := ix.cache.get(id); ok {
		return c.entries, c.observed, nil
	}
	snap, err := ix.cfg.Snapshots.SnapshotByID(ctx, id)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("load catalog snapshot %d: %w", id, err)
	}
	info := vendors.Info{Name: snap.Vendor}
	if src, ok := ix.sources[snap.Vendor]; ok {
		info = src.Info()
	}
	entries, err := decodeSnapshot(info, snap.Offers)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("decode catalog snapshot %d: %w", id, err)
	}
	ix.cache.put(id, cachedSnapshot{entries: entries, observed: snap.ObservedAt})
	return entries, snap.ObservedAt, nil
}

type cachedSnapshot struct {
	entries  []*Entry
	observed time.Time
}

// snapshotCache keeps the last few old snapshots that offer lookups
// needed, so polling an offer does not decode its snapshot each time.
type snapshotCache struct {
	mu    sync.Mutex
	max   int
	items map[int64]cachedSnapshot
	order []int64
}

func (c *snapshotCache) get(id int64) (cachedSnapshot, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.items[id]
	return s, ok
}

func (c *snapshotCache) put(id int64, s cachedSnapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[int64]cachedSnapshot{}
	}
	if _, ok := c.items[id]; ok {
		return
	}
	if len(c.order) >= c.max {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
	c.items[id] = s
	c.order = append(c.order, id)
}

// markFresh moves the account's fresh floor forward to at.
func (ix *Index) markFresh(accountID int64, at time.Time) {
	for {
		old, loaded := ix.fresh.LoadOrStore(accountID, at)
		if !loaded || !at.After(old.(time.Time)) || ix.fresh.CompareAndSwap(accountID, old, at) {
			return
		}
	}
}

// latest is the later of a and b.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
