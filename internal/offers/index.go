package offers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// The index: what it keeps per vendor, and the refresh loop that reads each
// vendor's catalog, persists it as a snapshot when it changed and swaps the
// vendor's offers into the view (view.go) that queries read (query.go).
// Offer ids are opened in resolve.go.

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
	taken map[int64]map[int]bool
	// fresh is, by account, the earliest created_at its next answer may
	// carry (a time.Time): one second after the newest offer it procured
	// here. An offer id is account, second, snapshot and item, so without
	// it an answer in the same second as the one a procured offer came
	// from shows that offer again under its spent id, and a script renting
	// machines one after another gets 409 for the second.
	fresh   sync.Map
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
		a.ClusterStorageGB == b.ClusterStorageGB && a.NoVolumes == b.NoVolumes && maps.Equal(a.Extra, b.Extra)
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

// Vendors reports each configured vendor and the health of its catalog.
func (ix *Index) Vendors() []supplyapi.VendorStatus {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	now := ix.cfg.Now()
	out := make([]supplyapi.VendorStatus, 0, len(ix.order))
	for _, name := range ix.order {
		st := ix.state[name]
		vs := supplyapi.VendorStatus{
			Name: name, DisplayName: st.info.DisplayName,
			SupportsSpot: st.info.Spot, SupportsCilium: st.info.Cilium, SupportsClusters: st.info.Clusters,
			SupportsStop: st.info.Stop, SupportsVolumes: st.info.Volumes, SupportsPorts: st.info.Ports,
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
