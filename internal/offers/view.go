package offers

import (
	"cmp"
	"slices"
)

// The view queries read: every vendor's offers in cells by shape, vendor,
// region and contract, each sorted in answer order, made anew for a vendor
// only when its offers change.

// view is an immutable picture of every vendor's offers; queries read it
// without locks.
type view struct {
	// shapes holds the offers a query can match, split by what every
	// query names (GPU and machine shape), then by vendor (in the order
	// of vendors), then into cells by what a query may filter on (region,
	// contract); each cell is sorted as answers are. A query's cost then
	// follows its answer, not the catalog: it counts its matches cell by
	// cell and merges the cells' cheapest offers until it has its limit.
	// A vendor's cells are made anew only when its offers change; the
	// other vendors' are shared with the last view.
	shapes map[shapeKey][][]cell
	// vendors are the vendor names in configuration order, with each
	// one's last good read (to leave out stale ones) and Cilium support.
	vendors []string
	stamps  []stamp
	cilium  []bool
	// snapshots are the snapshots the vendors' cells show.
	snapshots []int64
}

// shapeKey is what a query always asks for: a GPU (a canonical name, or a
// family under familyKey) and a machine shape. A single machine has nodes
// 0 and its GPU count; a cluster is listed twice, with its total GPU
// count and with count 0, as a cluster query need not give one.
type shapeKey struct {
	gpu          string
	nodes, count int
}

// cell is the offers of one shape from one vendor in one region under one
// contract, sorted by compareEntries.
type cell struct {
	region, contract string
	entries          []*viewEntry
}

type viewEntry struct {
	// Entry is shared with the vendor's state, never changed once made.
	*Entry
	// gpuPrice and totalPrice are the entry's, here too so that sorting
	// and merging read no entry.
	gpuPrice, totalPrice float64
	// item is the entry's place in its vendor's snapshot
	// (view.snapshots).
	item int32
	// rank is the entry's place among its vendor's offers in answer order
	// (compareEntries), so that merging cells mostly compares integers
	// (see before).
	rank int32
	// vendor is the vendor's position in view.vendors, byName its place
	// in name order.
	vendor, byName int32
}

// restamp makes a new view of the current one's offers with every
// vendor's current observed_at. The caller holds ix.mu.
func (ix *Index) restamp() {
	v := *ix.view.Load()
	v.stamps = ix.stamps(v.stamps)
	ix.view.Store(&v)
}

// stamps are every vendor's current observed_at, reusing those of old
// that did not move. The caller holds ix.mu.
func (ix *Index) stamps(old []stamp) []stamp {
	stamps := make([]stamp, len(ix.order))
	for i, name := range ix.order {
		if at := ix.state[name].observedAt; i < len(old) && old[i].at.Equal(at) {
			stamps[i] = old[i]
		} else {
			stamps[i] = newStamp(at)
		}
	}
	return stamps
}

// rebuild makes a new view in which the named vendors' cells are made
// from their current entries and every other vendor's are the last view's:
// a refresh costs the vendor that changed, not the whole catalog.
func (ix *Index) rebuild(names ...string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	v := ix.view.Load()
	for _, name := range names {
		vi := slices.Index(ix.order, name)
		v = v.with(vi, ix.part(vi), ix.state[name].snapshotID, len(ix.order))
	}
	next := *v
	next.vendors, next.stamps = ix.order, ix.stamps(v.stamps)
	ix.view.Store(&next)
}

// with is v with vendor vi's cells replaced by part's, from snapshot, in a
// view of n vendors. The shapes' lists of every other vendor's cells are
// shared with v: a vendor's change costs its own cells and the shapes.
func (v *view) with(vi int, part map[shapeKey][]cell, snapshot int64, n int) *view {
	next := *v
	next.shapes = make(map[shapeKey][][]cell, len(v.shapes)+len(part))
	for shape, byVendor := range v.shapes {
		if byVendor[vi] == nil && part[shape] == nil {
			next.shapes[shape] = byVendor
			continue
		}
		byVendor = slices.Clone(byVendor)
		byVendor[vi] = part[shape]
		if slices.ContainsFunc(byVendor, func(cells []cell) bool { return cells != nil }) {
			next.shapes[shape] = byVendor
		}
	}
	for shape, cells := range part {
		if _, ok := v.shapes[shape]; !ok {
			next.shapes[shape] = make([][]cell, n)
			next.shapes[shape][vi] = cells
		}
	}
	next.snapshots = make([]int64, n)
	copy(next.snapshots, v.snapshots)
	next.snapshots[vi] = snapshot
	return &next
}

// part makes vendor vi's cells, by shape, from its current entries. Single
// machines this replica has rented out are left out of them. The caller
// holds ix.mu.
func (ix *Index) part(vi int) map[shapeKey][]cell {
	st := ix.state[ix.order[vi]]
	taken := ix.taken[st.snapshotID]
	ves := make([]viewEntry, 0, len(st.entries))
	for i, e := range st.entries {
		if _, refused := st.refused[itemKeyOf(e.Item)]; !taken[i] && !refused {
			ves = append(ves, viewEntry{Entry: e, gpuPrice: e.gpuPrice, totalPrice: e.totalPrice,
				item: int32(i), vendor: int32(vi), byName: int32(st.byName)})
		}
	}
	slices.SortFunc(ves, func(a, b viewEntry) int { return compareEntries(&a, &b) })

	// Each entry is in two or four cells, one per shape it is listed
	// under. Which ones is found once, in rank order, so that every cell
	// is sorted as it is made and cut to size from one array.
	type cellKey struct {
		shape            shapeKey
		region, contract string
	}
	const most = 4
	index := map[cellKey]int32{}
	var keys []cellKey
	var sizes []int
	listed := 0
	in := make([]int32, most*len(ves)) // ves[i]'s cells are in[most*i:], up to a -1
	families := map[string]string{}
	for i := range ves {
		e := &ves[i]
		e.rank = int32(i)
		family, ok := families[e.gpuFamily]
		if !ok {
			family = familyKey(e.gpuFamily)
			families[e.gpuFamily] = family
		}
		var buf [most]shapeKey
		shapes := e.shapes(family, buf[:0])
		for j, shape := range shapes {
			k := cellKey{shape, e.region, string(e.Item.Contract)}
			c, ok := index[k]
			if !ok {
				c = int32(len(keys))
				index[k] = c
				keys, sizes = append(keys, k), append(sizes, 0)
			}
			sizes[c]++
			listed++
			in[most*i+j] = c
		}
		if len(shapes) < most {
			in[most*i+len(shapes)] = -1
		}
	}
	cells := make([]cell, len(keys))
	backing := make([]*viewEntry, listed)
	for c, k := range keys {
		cells[c] = cell{region: k.region, contract: k.contract, entries: backing[:0:sizes[c]]}
		backing = backing[sizes[c]:]
	}
	for i := range ves {
		for _, c := range in[most*i : most*i+most] {
			if c < 0 {
				break
			}
			cells[c].entries = append(cells[c].entries, &ves[i])
		}
	}
	part := map[shapeKey][]cell{}
	for c, k := range keys {
		part[k.shape] = append(part[k.shape], cells[c])
	}
	return part
}

// shapes appends to buf the shapes e is listed under: its GPU's and its
// family's (family is its familyKey), a cluster's each with its GPU count
// and with 0.
func (e *viewEntry) shapes(family string, buf []shapeKey) []shapeKey {
	for _, gpu := range [2]string{e.gpuType, family} {
		if e.nodes == 0 {
			buf = append(buf, shapeKey{gpu, 0, e.gpuCount})
		} else {
			buf = append(buf, shapeKey{gpu, e.nodes, e.gpuCount}, shapeKey{gpu, e.nodes, 0})
		}
	}
	return buf
}

// familyKey keeps family keys apart from canonical names in one map.
func familyKey(family string) string { return "family:" + family }

// compareEntries is the order of answers: cheapest first, then by vendor
// name and a fixed order down to the item, so that equal offers always come
// out alike.
func compareEntries(a, b *viewEntry) int {
	// Compared one key at a time: most pairs differ in price, and the
	// string keys are the dear ones (a refresh sorts all its vendor's offers).
	if c := cmp.Compare(a.gpuPrice, b.gpuPrice); c != 0 {
		return c
	}
	if c := cmp.Compare(a.totalPrice, b.totalPrice); c != 0 {
		return c
	}
	return cmp.Or(
		cmp.Compare(a.byName, b.byName),
		cmp.Compare(a.Item.Region, b.Item.Region),
		cmp.Compare(a.Item.InstanceType, b.Item.InstanceType),
		cmp.Compare(a.Item.Contract, b.Item.Contract),
		cmp.Compare(a.item, b.item),
	)
}
