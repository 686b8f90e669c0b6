package offers

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpusupply/supply/catalog"
	"github.com/gpusupply/supply/store"
	"github.com/gpusupply/supply/vendors"
)

// Snapshots is where the index persists each vendor's catalog so that an
// offer id resolves on any replica and after a restart.
type Snapshots interface {
	InsertSnapshot(ctx context.Context, s store.Snapshot) (store.Snapshot, error)
	SnapshotByID(ctx context.Context, id int64) (store.Snapshot, error)
	LatestSnapshot(ctx context.Context, vendor string) (store.Snapshot, error)
}

// Source is what the index reads from a vendor.
type Source interface {
	Name() string
	Info() vendors.Info
	Catalog(ctx context.Context) ([]vendors.CatalogItem, error)
}

// Config configures an Index.
type Config struct {
	Sources   []Source
	Snapshots Snapshots
	// IDKey is the 16-byte AES key offer ids are sealed with; every
	// replica must use the same one.
	IDKey []byte
	// TTL is how long a returned offer stays procurable (default 30m).
	TTL time.Duration
	// Refresh is how often each vendor's catalog is re-read (default 60s).
	Refresh time.Duration
	// FetchTimeout bounds one catalog read (default 30s).
	FetchTimeout time.Duration
	// MaxAge is how old a vendor's catalog may get before its offers are
	// left out of answers (default 15m).
	MaxAge time.Duration
	// Sandbox marks every vendor as a local stand-in.
	Sandbox bool
	Logger  *slog.Logger
	// Metrics receives the index's metrics (nil: not registered).
	Metrics prometheus.Registerer
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Index holds every vendor's current catalog in memory and answers
// queries from it without ever waiting on a vendor.
type Index struct {
	cfg     Config
	codec   offerCodec
	sources map[string]Source
	order   []string

	mu sync.Mutex // guards vendor state, taken and rebuilding the view
	// building lets one vendor at a time make new entries, a snapshot
	// and a view: when every catalog changes at once (a restart, or the
	// sandbox's prices stepping together), memory holds the current
	// entries and one vendor's new ones, not every vendor's new ones.
	building sync.Mutex
	state    map[string]*vendorState
	// taken are single-machine items procured since their snapshot was
	// read, by snapshot id: hidden until the vendor's catalog changes.
	taken   map[int64]map[int]bool
	view    atomic.Pointer[view]
	cache   snapshotCache
	metrics indexMetrics
}

type vendorState struct {
	info vendors.Info
	// byName is the vendor's place among the vendors in name order, the
	// order of equally priced offers of different vendors in answers.
	byName     int
	snapshotID int64
	// entries are the snapshot's offers; an offer id names one by index.
	entries []*Entry
	// read is the offerable part of the catalog as last read, to tell an
	// unchanged read and to reuse the entries of unchanged items.
	read []readItem
	hash string
	// size is the snapshot body's length, to size the next one.
	size       int
	observedAt time.Time
	lastError  string
	failures   int
	refreshed  bool
	// refused are items a create was refused for lack of capacity, with
	// when: hidden from answers until a read that began after that.
	refused map[itemKey]time.Time
}

// itemKey names a catalog item across reads: what is launched, where and
// how it is rented.
type itemKey struct {
	instanceType, region string
	contract             vendors.Contract
}

func itemKeyOf(it vendors.CatalogItem) itemKey {
	return itemKey{instanceType: it.InstanceType, region: it.Region, contract: it.Contract}
}

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

// New builds an Index. Call Start to load the last snapshots and begin
// refreshing.
func New(cfg Config) (*Index, error) {
	if cfg.TTL <= 0 {
		cfg.TTL = 30 * time.Minute
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = time.Minute
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 30 * time.Second
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 15 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	codec, err := newOfferCodec(cfg.IDKey)
	if err != nil {
		return nil, err
	}
	ix := &Index{
		cfg:     cfg,
		codec:   codec,
		sources: map[string]Source{},
		state:   map[string]*vendorState{},
		taken:   map[int64]map[int]bool{},
		cache:   snapshotCache{max: 64},
		metrics: newIndexMetrics(cfg.Metrics),
	}
	var cilium []bool
	for _, s := range cfg.Sources {
		ix.sources[s.Name()] = s
		ix.order = append(ix.order, s.Name())
		ix.state[s.Name()] = &vendorState{info: s.Info()}
		cilium = append(cilium, s.Info().Cilium)
	}
	var names []string
	for _, st := range ix.state {
		names = append(names, st.info.Name)
	}
	slices.Sort(names)
	for _, st := range ix.state {
		st.byName = slices.Index(names, st.info.Name)
	}
	// No vendor's offers until the first rebuild.
	ix.view.Store(&view{cilium: cilium})
	return ix, nil
}

// Start loads each vendor's last persisted catalog (so a restart answers
// at once, marked with its age) and starts one refresh loop per vendor,
// which stop with ctx.
func (ix *Index) Start(ctx context.Context) {
	for _, name := range ix.order {
		snap, err := ix.cfg.Snapshots.LatestSnapshot(ctx, name)
		if err == nil {
			if entries, err := decodeSnapshot(ix.sources[name].Info(), snap.Offers); err == nil {
				ix.mu.Lock()
				st := ix.state[name]
				st.snapshotID, st.entries, st.read, st.hash, st.size, st.observedAt = snap.ID, entries, readOf(entries), snap.ContentHash, len(snap.Offers), snap.ObservedAt
				ix.mu.Unlock()
			}
		}
	}
	ix.rebuild(ix.order...)
	for _, name := range ix.order {
		go ix.loop(ctx, name)
	}
}

func (ix *Index) loop(ctx context.Context, name string) {
	for {
		if err := ix.Refresh(ctx, name); err != nil && ctx.Err() == nil {
			ix.cfg.Logger.Warn("catalog refresh failed", "vendor", name, "err", err)
		}
		// A little jitter keeps replicas (and vendors) from refreshing in step.
		wait := ix.cfg.Refresh + rand.N(ix.cfg.Refresh/10+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// Refresh reads one vendor's catalog now, persists it when it changed and
// swaps it into the answers.
func (ix *Index) Refresh(ctx context.Context, name string) error {
	src, ok := ix.sources[name]
	if !ok {
		return fmt.Errorf("refresh: unknown vendor %q", name)
	}
	started := ix.cfg.Now()
	fctx, cancel := context.WithTimeout(ctx, ix.cfg.FetchTimeout)
	items, err := readCatalog(fctx, src)
	cancel()
	if err != nil {
		ix.metrics.refreshes.WithLabelValues(name, "error").Inc()
		ix.mu.Lock()
		st := ix.state[name]
		st.lastError, st.failures, st.refreshed = err.Error(), st.failures+1, true
		ix.mu.Unlock()
		return fmt.Errorf("read %s catalog: %w", name, err)
	}
	now := ix.cfg.Now().UTC()

	ix.mu.Lock()
	st := ix.state[name]
	if st.snapshotID != 0 && sameRead(st.read, items) {
		// What the last read said, item for item: nothing to encode,
		// persist or re-sort; only the time it was confirmed moves.
		st.observedAt = now
		st.lastError, st.failures, st.refreshed = "", 0, true
		cleared := st.clearRefusals(started)
		ix.restamp()
		ix.mu.Unlock()
		ix.metrics.refreshes.WithLabelValues(name, "ok").Inc()
		if cleared {
			ix.rebuild(name)
		}
		return nil
	}
	ix.mu.Unlock()

	ix.building.Lock()
	defer ix.building.Unlock()
	ix.mu.Lock()
	last, size := st.read, st.size
	ix.mu.Unlock()
	read, entries, err := ix.entries(src.Info(), last, items)
	if err != nil {
		ix.metrics.refreshes.WithLabelValues(name, "error").Inc()
		return fmt.Errorf("read %s catalog: %w", name, err)
	}
	// Encoded once: the snapshot's body, and its hash to tell whether
	// the store already has it (after a restart).
	body := snapshotBody(entries, size)
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])

	ix.mu.Lock()
	snapID, unchanged := st.snapshotID, st.snapshotID != 0 && st.hash == hash
	ix.mu.Unlock()
	if !unchanged {
		snap, err := ix.cfg.Snapshots.InsertSnapshot(ctx, store.Snapshot{Vendor: name, ObservedAt: now, ContentHash: hash, Offers: body})
		if err != nil {
			ix.metrics.refreshes.WithLabelValues(name, "error").Inc()
			return fmt.Errorf("persist %s snapshot: %w", name, err)
		}
		snapID = snap.ID
	}
	ix.mu.Lock()
	if st.snapshotID != snapID {
		delete(ix.taken, st.snapshotID)
	}
	// read points at copies of the items (in the entries or its own): a
	// source may hand out, and later change, the same slice.
	st.snapshotID, st.entries, st.read, st.hash, st.size, st.observedAt = snapID, entries, read, hash, len(body), now
	st.lastError, st.failures, st.refreshed = "", 0, true
	st.clearRefusals(started)
	ix.mu.Unlock()
	ix.metrics.refreshes.WithLabelValues(name, "ok").Inc()
	ix.metrics.items.WithLabelValues(name).Set(float64(len(entries)))
	ix.rebuild(name)
	return nil
}

// readCatalog reads src's catalog: only what is in stock when src can list that
// alone (vendors.InStock), since the index keeps nothing else.
func readCatalog(ctx context.Context, src Source) ([]vendors.CatalogItem, error) {
	if s, ok := src.(vendors.InStock); ok {
		return s.CatalogInStock(ctx)
	}
	return src.Catalog(ctx)
}

// entries turns a vendor's catalog into offerable entries (in stock, GPU
// known to the registry), reusing last's for items listed as before.
// Unknown GPU names are logged and counted, never guessed.
func (ix *Index) entries(info vendors.Info, last []readItem, items []vendors.CatalogItem) ([]readItem, []*Entry, error) {
	unknown := map[string]bool{}
	read, out, err := diffRead(info, last, items, func(name string) {
		if !unknown[name] {
			unknown[name] = true
			ix.metrics.unknownGPU.WithLabelValues(info.Name, name).Inc()
			ix.cfg.Logger.Warn("unknown GPU name in vendor catalog; its offers are left out", "vendor", info.Name, "gpu_name", name)
		}
	})
	if len(out) > maxItem+1 {
		// An offer id has room for this many items of one snapshot.
		ix.cfg.Logger.Warn("vendor catalog too large; extra items left out", "vendor", info.Name, "items", len(out), "kept", maxItem+1)
		out = out[:maxItem+1]
	}
	return read, out, err
}

// sameItem reports whether two catalog items are the same listing at the
// same price and stock.
// (TestSameItemSeesEveryField fails when a field is added and not here.)
func sameItem(a, b vendors.CatalogItem) bool {
	return a.InstanceType == b.InstanceType && a.Region == b.Region && a.Country == b.Country && a.Contract == b.Contract &&
		a.GPUName == b.GPUName && a.GPUCount == b.GPUCount && a.VCPUs == b.VCPUs && a.MemoryGB == b.MemoryGB &&
		a.BootDiskGB == b.BootDiskGB && a.PricePerHour == b.PricePerHour && a.BootDiskPricePerHour == b.BootDiskPricePerHour &&
		a.Available == b.Available && a.Stock == b.Stock && a.Nodes == b.Nodes && a.InfinibandGbps == b.InfinibandGbps &&
		a.ClusterStorageGB == b.ClusterStorageGB && maps.Equal(a.Extra, b.Extra)
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

// Search answers a query from memory, as values.
func (ix *Index) Search(ctx context.Context, accountID int64, q Query) (Result, error) {
	a, err := ix.Answer(ctx, accountID, q)
	if err != nil {
		return Result{}, err
	}
	return a.Result(), nil
}

// Answer answers a query from memory, ready to be written as JSON. Every
// offer in it gets an id that resolves, on any replica, to exactly this
// offer until it expires.
func (ix *Index) Answer(ctx context.Context, accountID int64, q Query) (*Answer, error) {
	gpus, err := catalog.GPUs().Resolve(q.Compute.GPUType)
	if err != nil {
		var unknown *catalog.UnknownGPUError
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
	key := gpus[0].Name
	if len(gpus) > 1 {
		key = familyKey(gpus[0].Family)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	v := ix.view.Load()
	now := ix.cfg.Now()
	picked, total := ix.match(q, queryShape(q, key), v, now, limit)
	created := now.UTC().Truncate(time.Second)
	a := &Answer{TotalCount: total, FiltersApplied: ix.filtersApplied(q, gpus, v, now),
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
func (ix *Index) match(q Query, shape shapeKey, v *view, now time.Time, limit int) ([]*viewEntry, int) {
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
func queryShape(q Query, gpu string) shapeKey {
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
func (ix *Index) filtersApplied(q Query, gpus []catalog.GPU, v *view, now time.Time) map[string]any {
	names := make([]string, len(gpus))
	for i, g := range gpus {
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

// Resolve returns the offer behind an id for the account that was shown
// it, with the catalog item to launch, exactly as it was answered. It
// does not say whether the offer has expired or been procured.
func (ix *Index) Resolve(ctx context.Context, accountID int64, id uuid.UUID) (Offer, vendors.CatalogItem, error) {
	ref, err := ix.codec.decode(id)
	if err != nil || ref.Account != accountID {
		return Offer{}, vendors.CatalogItem{}, ErrNotFound
	}
	entries, observed, err := ix.snapshot(ctx, ref.Snapshot)
	if errors.Is(err, store.ErrNotFound) || err == nil && ref.Item >= len(entries) {
		return Offer{}, vendors.CatalogItem{}, ErrNotFound
	}
	if err != nil {
		return Offer{}, vendors.CatalogItem{}, err
	}
	e := entries[ref.Item]
	o := e.Offer()
	o.ObservedAt = observed
	o.OfferID, o.CreatedAt, o.ExpiresAt = id, ref.Created, ref.Created.Add(ix.cfg.TTL)
	return o, e.Item, nil
}

// MarkTaken hides a procured offer from further answers when it is one
// specific machine (a marketplace listing with stock 1), until the vendor's
// catalog next changes: otherwise the next renter is shown a machine that
// is gone. Other offers stay: their stock is a pool.
func (ix *Index) MarkTaken(ctx context.Context, accountID int64, id uuid.UUID) error {
	_, item, err := ix.Resolve(ctx, accountID, id)
	if err != nil || item.Stock != 1 {
		return err
	}
	ref, _ := ix.codec.decode(id)
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

// NextRead is when the next read of some vendor's catalog is due: the
// earliest last read plus the refresh period, and now for a vendor that
// has not been read. A catalog read is what can bring new stock.
func (ix *Index) NextRead() time.Time {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	now := ix.cfg.Now()
	next := now.Add(ix.cfg.Refresh)
	for _, st := range ix.state {
		if st.observedAt.IsZero() {
			return now
		}
		next = earliest(next, st.observedAt.Add(ix.cfg.Refresh))
	}
	return next
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Details is GET /offers/{id} for offers nobody has procured: available
// until it expires. Procurement state is layered on top by the caller
// that owns it.
func (ix *Index) Details(ctx context.Context, accountID int64, id uuid.UUID) (Details, error) {
	o, _, err := ix.Resolve(ctx, accountID, id)
	if err != nil {
		return Details{}, err
	}
	d := Details{Offer: o, Status: StatusAvailable}
	if !ix.cfg.Now().Before(o.ExpiresAt) {
		d.Status = StatusExpired
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

// Vendors reports each configured vendor and the health of its catalog.
func (ix *Index) Vendors() []VendorStatus {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	now := ix.cfg.Now()
	out := make([]VendorStatus, 0, len(ix.order))
	for _, name := range ix.order {
		st := ix.state[name]
		vs := VendorStatus{
			Name: name, DisplayName: st.info.DisplayName,
			SupportsSpot: st.info.Spot, SupportsCilium: st.info.Cilium, SupportsClusters: st.info.Clusters,
			Offers: len(st.entries), LastError: st.lastError, Sandbox: ix.cfg.Sandbox,
		}
		if !st.observedAt.IsZero() {
			t := st.observedAt
			vs.ObservedAt = &t
		}
		age := now.Sub(st.observedAt)
		switch {
		case st.observedAt.IsZero() && !st.refreshed:
			vs.Status = "starting"
		case st.observedAt.IsZero() || age > ix.cfg.MaxAge:
			vs.Status = "down"
		case st.failures > 0 || age > 2*ix.cfg.Refresh+ix.cfg.FetchTimeout:
			vs.Status = "degraded"
		default:
			vs.Status = "healthy"
		}
		out = append(out, vs)
	}
	return out
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

type indexMetrics struct {
	refreshes  *prometheus.CounterVec
	items      *prometheus.GaugeVec
	unknownGPU *prometheus.CounterVec
}

func newIndexMetrics(reg prometheus.Registerer) indexMetrics {
	m := indexMetrics{
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supply_catalog_refreshes_total", Help: "Vendor catalog reads by vendor and result (ok, error).",
		}, []string{"vendor", "result"}),
		items: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "supply_catalog_offers", Help: "Offerable catalog items per vendor after the last good read.",
		}, []string{"vendor"}),
		unknownGPU: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supply_catalog_unknown_gpu_names_total", Help: "Catalog reads that met a GPU name the registry does not know, by vendor and name.",
		}, []string{"vendor", "gpu_name"}),
	}
	if reg != nil {
		reg.MustRegister(m.refreshes, m.items, m.unknownGPU)
	}
	return m
}
