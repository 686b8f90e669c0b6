package offers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// Answering a query: finding the cells of the view it can match, counting
// their offers and merging their cheapest into one list in answer order,
// and the filters the answer reports.

// Search answers a query from memory, as values.
func (ix *Index) Search(ctx context.Context, accountID int64, q supplyapi.OfferQuery) (supplyapi.OfferResult, error) {
	a, err := ix.Answer(ctx, accountID, q)
	if err != nil {
		return supplyapi.OfferResult{}, err
	}
	return a.Result(), nil
}

// Answer answers a query from memory, ready to be written as JSON. Every
// offer in it gets an id that resolves, on any replica, to exactly this
// offer until it expires.
func (ix *Index) Answer(ctx context.Context, accountID int64, q supplyapi.OfferQuery) (*Answer, error) {
	variants, err := gpus.GPUs().Resolve(q.Compute.GPUType)
	if err != nil {
		var unknown *gpus.UnknownGPUError
		if errors.As(err, &unknown) {
			return nil, &QueryError{Loc: []any{"body", "compute", "gpu_type"}, Type: "value_error",
				Msg: "Value error, " + unknown.Error(), Input: q.Compute.GPUType}
		}
		return nil, err
	}
	if q.Vendor != "" && !slices.Contains(vendors.Slugs, q.Vendor) {
		return nil, &QueryError{Loc: []any{"body", "vendor"}, Type: "value_error",
			Msg: fmt.Sprintf("Value error, unknown vendor %q; known vendors: %v", q.Vendor, vendors.Slugs), Input: q.Vendor}
	}
	key := variants[0].Name
	if len(variants) > 1 {
		key = familyKey(variants[0].Family)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	v := ix.view.Load()
	now := ix.cfg.Now()
	picked, total := ix.match(q, queryShape(q, key), v, now, limit)
	created := now.UTC().Truncate(time.Second)
	if f, ok := ix.fresh.Load(accountID); ok {
		created = latest(created, f.(time.Time))
	}
	a := &Answer{TotalCount: total, FiltersApplied: ix.filtersApplied(q, variants, v, now),
		Created: created, Expires: created.Add(ix.cfg.TTL), offers: make([]answered, len(picked)), stamps: v.stamps}
	scratch := new([32]byte)
	for i, e := range picked {
		id, err := ix.codec.encodeWith(scratch, offerRef{Account: accountID, Created: created, Snapshot: v.snapshots[e.vendor], Item: int(e.item)})
		if err != nil {
			return nil, err
		}
		a.offers[i] = answered{id: id, entry: e.Entry, enc: &e.enc, observed: int(e.vendor)}
	}
	return a, nil
}

// match returns the cheapest limit offers of the view that q matches, in
// answer order, and how many match in all. It reads only the cells q can
// match: counts come from each cell's length (or a binary search under a
// price cap), offers from merging the cells' heads.
func (ix *Index) match(q supplyapi.OfferQuery, shape shapeKey, v *view, now time.Time, limit int) ([]*viewEntry, int) {
	byVendor := v.shapes[shape]
	cilium := q.Network != nil && q.Network.SupportsCilium != nil && *q.Network.SupportsCilium
	n := 0
	for _, cells := range byVendor {
		n += len(cells)
	}
	// heads are the matching cells' offers under the price cap; merged
	// below, cheapest first.
	heads := make([][]*viewEntry, 0, n)
	total := 0
	for vi, cells := range byVendor {
		// Which vendors may answer is decided once per vendor, not per offer.
		if len(cells) == 0 || now.Sub(v.stamps[vi].at) > ix.cfg.MaxAge || q.Vendor != "" && q.Vendor != v.vendors[vi] || cilium && !v.cilium[vi] {
			continue
		}
		for _, c := range cells {
			if q.Region != "" && c.region != q.Region || q.Compute.ContractType != "" && c.contract != q.Compute.ContractType {
				continue
			}
			es := c.entries
			if q.VendorRegion != "" {
				es = inRegion(es, q.VendorRegion)
			}
			if most := q.Compute.MaxPricePerGPUHour; most != nil {
				es = es[:sort.Search(len(es), func(i int) bool { return es[i].gpuPrice > *most })]
			}
			if len(es) > 0 {
				total += len(es)
				heads = append(heads, es)
			}
		}
	}
	return merge(heads, min(limit, total)), total
}

// queryShape is the shape of offers q asks for, of the GPU key gpu. A
// cluster query matches clusters of that many nodes, and the GPU count,
// when given, is per offer as always; any other query matches single
// machines of its GPU count.
func queryShape(q supplyapi.OfferQuery, gpu string) shapeKey {
	if n := q.Compute.NodeCount; n != nil && *n > 0 {
		return shapeKey{gpu, *n, max(q.Compute.GPUCount, 0)}
	}
	count := q.Compute.GPUCount
	if count <= 0 {
		count = 1
	}
	return shapeKey{gpu, 0, count}
}

// merge takes the first n offers, in answer order, from lists that are
// each in answer order: a k-way merge over a small heap of list heads.
func merge(lists [][]*viewEntry, n int) []*viewEntry {
	out := make([]*viewEntry, 0, n)
	if len(lists) == 1 {
		return append(out, lists[0][:n]...)
	}
	less := func(i, j int) bool { return before(lists[i][0], lists[j][0]) }
	down := func(i int) {
		for {
			m := i
			if l := 2*i + 1; l < len(lists) && less(l, m) {
				m = l
			}
			if r := 2*i + 2; r < len(lists) && less(r, m) {
				m = r
			}
			if m == i {
				return
			}
			lists[i], lists[m] = lists[m], lists[i]
			i = m
		}
	}
	for i := len(lists)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(out) < n {
		out = append(out, lists[0][0])
		if lists[0] = lists[0][1:]; len(lists[0]) == 0 {
			lists[0] = lists[len(lists)-1]
			lists = lists[:len(lists)-1]
		}
		down(0)
	}
	return out
}

// before reports whether a comes before b in answer order, as
// compareEntries would: by price (which tells most pairs apart at once),
// then, within a vendor, by rank, and across vendors by total price and
// the vendors' names. (Prices are numbers, never NaN, so < orders them as
// cmp.Compare does.)
func before(a, b *viewEntry) bool {
	switch {
	case a.gpuPrice != b.gpuPrice:
		return a.gpuPrice < b.gpuPrice
	case a.vendor == b.vendor:
		return a.rank < b.rank
	case a.totalPrice != b.totalPrice:
		return a.totalPrice < b.totalPrice
	}
	return a.byName < b.byName
}

// filtersApplied is the normalised query, plus the vendors whose offers
// could not be included (down or stale), so a client can tell.
func (ix *Index) filtersApplied(q supplyapi.OfferQuery, variants []gpus.GPU, v *view, now time.Time) map[string]any {
	names := make([]string, len(variants))
	for i, g := range variants {
		names[i] = g.Name
	}
	count := q.Compute.GPUCount
	if count <= 0 && q.Compute.NodeCount == nil {
		count = 1
	}
	f := map[string]any{"gpu_type": q.Compute.GPUType, "gpu_types": names, "limit": max(q.Limit, 0)}
	if q.Limit <= 0 {
		f["limit"] = 100
	}
	if count > 0 {
		f["gpu_count"] = count
	}
	if q.Compute.NodeCount != nil {
		f["node_count"] = *q.Compute.NodeCount
	}
	if q.Compute.MaxPricePerGPUHour != nil {
		f["max_price_per_gpu_hour"] = *q.Compute.MaxPricePerGPUHour
	}
	if q.Compute.ContractType != "" {
		f["contract_type"] = q.Compute.ContractType
	}
	if q.Vendor != "" {
		f["vendor"] = q.Vendor
	}
	if q.Region != "" {
		f["region"] = q.Region
	}
	if q.VolumeID != nil {
		f["volume_id"] = q.VolumeID.String()
	}
	if q.Network != nil && q.Network.SupportsCilium != nil {
		f["supports_cilium"] = *q.Network.SupportsCilium
	}
	var missing []string
	for i, name := range v.vendors {
		if now.Sub(v.stamps[i].at) > ix.cfg.MaxAge {
			missing = append(missing, name)
		}
	}
	if missing != nil {
		f["vendors_unavailable"] = missing
	}
	return f
}
