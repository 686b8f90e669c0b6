package standin

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// The contracts of an Item, as supply's offers name them.
const (
	OnDemand = "ondemand"
	Spot     = "spot"
)

// Item is one thing a stand-in sells, named as supply's offers name it:
// the instance type and region its adapter puts in a catalog item (the
// region is an offer's vendor_region), under one contract. A unit of an
// item is what one create makes: one instance, or one cluster of
// NodeCount nodes where the vendor creates a cluster whole.
type Item struct {
	Vendor       string `json:"vendor"`
	InstanceType string `json:"instance_type"`
	Region       string `json:"region"`
	Contract     string `json:"contract"`
	// GPUCount is every node's GPUs together, as an offer's gpu_count.
	GPUCount  int `json:"gpu_count"`
	NodeCount int `json:"node_count"`
}

// Level is what a stand-in's stock model says of one of its items now.
type Level struct {
	Item
	// Natural is how many units the stock model leaves: the item's stock
	// less what the stand-in's instances hold, the flicker aside.
	Natural int
	// Flickered says the time-based flicker (Options.Flicker) has the
	// item sold out now.
	Flickered bool
}

// Stock is an item and how many units of it can be created now: one line
// of the sandbox's GET /capacity.
type Stock struct {
	Item
	Free int `json:"free"`
}

// Selection picks a vendor's items; Region, Contract and InstanceType
// narrow it when set.
type Selection struct {
	Vendor, Region, Contract, InstanceType string
}

// String describes the selection: `lambda items of region "us-east-1"`.
func (s Selection) String() string {
	var b strings.Builder
	b.WriteString(s.Vendor + " items")
	for _, f := range []struct{ name, value string }{{"region", s.Region}, {"contract", s.Contract}, {"instance type", s.InstanceType}} {
		if f.value != "" {
			fmt.Fprintf(&b, " of %s %q", f.name, f.value)
		}
	}
	return b.String()
}

func (s Selection) matches(it Item) bool {
	return it.Vendor == s.Vendor && (s.Region == "" || it.Region == s.Region) &&
		(s.Contract == "" || it.Contract == s.Contract) && (s.InstanceType == "" || it.InstanceType == s.InstanceType)
}

// Errors of Capacity.Set.
var (
	ErrUnknownVendor = errors.New("no stand-in of this vendor")
	ErrNoItem        = errors.New("no item matches")
)

// Capacity is a sandbox's ledger of the stock other customers hold: the
// one place every stand-in asks how many units of an item are free
// (Free), and where a test or a demo takes stock away or gives it back
// (Set). Without a Set an item is what its stand-in's stock model says,
// flicker included; after one it is pinned to what Set left free, less
// what renters take since, whatever the flicker, until the next Set. The
// zero of *Capacity (nil) takes nothing away. The ledger is kept in its
// file across restarts.
type Capacity struct {
	path string
	// mu guards sellers and serialises writers of taken. A Set holds its
	// seller's lock around mu: the order is always seller, then mu.
	mu      sync.Mutex
	sellers map[string]seller
	// taken is how many units of an item other customers hold, for the
	// items a Set pinned. Replaced whole on every Set, so that Free, asked
	// for every item of every catalog read, takes no lock.
	taken atomic.Pointer[map[Item]int]
}

// seller is a stand-in as the ledger sees it: levels lists its items,
// with its lock held.
type seller struct {
	mu     sync.Locker
	levels func() []Level
}

// takenEntry is one pinned item in the ledger's file.
type takenEntry struct {
	Item
	Taken int `json:"taken"`
}

// NewCapacity returns a ledger kept at path ("": in memory only), with
// what it held there before.
func NewCapacity(path string) (*Capacity, error) {
	var saved []takenEntry
	if err := Load(path, &saved); err != nil {
		return nil, fmt.Errorf("capacity ledger: %w", err)
	}
	taken := make(map[Item]int, len(saved))
	for _, e := range saved {
		taken[e.Item] = e.Taken
	}
	c := &Capacity{path: path, sellers: map[string]seller{}}
	c.taken.Store(&taken)
	return c, nil
}

// Register makes a stand-in's items known to the ledger: levels lists
// them and is called with mu held (the stand-in's own lock), so that a
// Set sees no create halfway. A later Register of the vendor replaces it.
func (c *Capacity) Register(vendor string, mu sync.Locker, levels func() []Level) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.sellers[vendor] = seller{mu: mu, levels: levels}
	c.mu.Unlock()
}

// Free is how many units of an item can be created now: what a Set left
// of its natural level, or else its natural level unless it flickers out.
// Stand-ins ask it for every catalog answer and every create.
func (c *Capacity) Free(l Level) int {
	if c != nil {
		if m := c.taken.Load(); m != nil {
			if taken, ok := (*m)[l.Item]; ok {
				return max(l.Natural-taken, 0)
			}
		}
	}
	if l.Flickered {
		return 0
	}
	return l.Natural
}

// List returns every item of the registered stand-ins that sel picks
// (every item of every vendor when sel is zero), with its free units, in
// the order of vendor, region, instance type, contract and node count.
func (c *Capacity) List(sel Selection) []Stock {
	c.mu.Lock()
	sellers := make(map[string]seller, len(c.sellers))
	for v, s := range c.sellers {
		if sel.Vendor == "" || v == sel.Vendor {
			sellers[v] = s
		}
	}
	c.mu.Unlock()
	var out []Stock
	for vendor, s := range sellers {
		pick := sel
		pick.Vendor = vendor
		s.mu.Lock()
		for _, l := range s.levels() {
			if pick.matches(l.Item) {
				out = append(out, Stock{Item: l.Item, Free: c.Free(l)})
			}
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Stock) int { return compareItems(a.Item, b.Item) })
	return out
}

func compareItems(a, b Item) int {
	return cmp.Or(cmp.Compare(a.Vendor, b.Vendor), cmp.Compare(a.Region, b.Region),
		cmp.Compare(a.InstanceType, b.InstanceType), cmp.Compare(a.Contract, b.Contract), cmp.Compare(a.NodeCount, b.NodeCount))
}

// Set has other customers rent (or give back) units of the items sel
// picks until free of each are free, and returns those items as they are
// now. An item can have at most its natural level free: customers can
// give back what they hold, not hardware the stock model never had, so a
// larger free leaves that most (a sold-out item stays sold out). sel must
// name a vendor; ErrUnknownVendor and ErrNoItem say why it picked nothing.
func (c *Capacity) Set(sel Selection, free int) ([]Stock, error) {
	if free < 0 {
		return nil, fmt.Errorf("free must be at least 0, not %d", free)
	}
	c.mu.Lock()
	s, ok := c.sellers[sel.Vendor]
	c.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownVendor, sel.Vendor)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var picked []Level
	for _, l := range s.levels() {
		if sel.matches(l.Item) {
			picked = append(picked, l)
		}
	}
	if len(picked) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoItem, sel)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	taken := make(map[Item]int, len(*c.taken.Load())+len(picked))
	for it, n := range *c.taken.Load() {
		taken[it] = n
	}
	out := make([]Stock, 0, len(picked))
	for _, l := range picked {
		left := min(free, l.Natural)
		taken[l.Item] = l.Natural - left
		out = append(out, Stock{Item: l.Item, Free: left})
	}
	if err := c.save(taken); err != nil {
		return nil, err
	}
	c.taken.Store(&taken)
	slices.SortFunc(out, func(a, b Stock) int { return compareItems(a.Item, b.Item) })
	return out, nil
}

// save writes the ledger's file; the caller holds c.mu.
func (c *Capacity) save(taken map[Item]int) error {
	entries := make([]takenEntry, 0, len(taken))
	for it, n := range taken {
		entries = append(entries, takenEntry{Item: it, Taken: n})
	}
	slices.SortFunc(entries, func(a, b takenEntry) int { return compareItems(a.Item, b.Item) })
	if err := Save(c.path, entries); err != nil {
		return fmt.Errorf("capacity ledger: %w", err)
	}
	return nil
}
