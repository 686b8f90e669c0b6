package ledger

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// maxCachedSummaries bounds the summaries all cached lists hold together;
// past it, whole lists are dropped at random.
const maxCachedSummaries = 50_000

// listCache keeps resource lists as last read, under their account's
// store.ChangeVersion read before the rows, as statusCache keeps statuses:
// while no write of the account's procurements or resources commits, the
// same filter reads the same rows, so a poll of GET /resources costs the
// version read, a copy of the summaries and their costs. A summary is
// kept without its accrued cost, which moves with the clock; the rows the
// cost is computed from are kept beside it.
type listCache struct {
	mu      sync.Mutex
	entries map[listKey]cachedList
	held    int
}

type listKey struct {
	accountID int64
	filter    string
}

type cachedList struct {
	version   int64
	summaries []supplyapi.ResourceSummary
	costs     []costRows
}

// costRows are what a summary's accrued cost is computed from (costOf).
type costRows struct {
	resource store.Resource
	nodes    []store.Resource
}

func newListCache() *listCache {
	return &listCache{entries: map[listKey]cachedList{}}
}

// filterKey names a filter's list: every field of ResourceFilter.
func filterKey(f ResourceFilter) string {
	offer := ""
	if f.OfferID != nil {
		offer = f.OfferID.String()
	}
	return fmt.Sprintf("%s|%s|%d|%d|%s|%s", offer, f.Status, f.CreatedBy, f.Limit, f.After.CreatedAt.Format(time.RFC3339Nano), f.After.ID)
}

// get returns the list at version with its costs at now, in a slice the
// caller owns.
func (c *listCache) get(key listKey, version int64, now time.Time) ([]supplyapi.ResourceSummary, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if !ok || e.version != version {
		return nil, false
	}
	out := slices.Clone(e.summaries)
	for i, rows := range e.costs {
		out[i].AccruedCost = costOf(rows.resource, rows.nodes, now)
	}
	return out, true
}

// put keeps a list read at version, unless one of a later version is kept.
func (c *listCache) put(key listKey, version int64, summaries []supplyapi.ResourceSummary, costs []costRows) {
	if len(summaries) > maxCachedSummaries {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.entries[key]
	if ok && old.version > version {
		return
	}
	c.held -= len(old.summaries)
	delete(c.entries, key)
	for k, e := range c.entries {
		if c.held+len(summaries) <= maxCachedSummaries {
			break
		}
		c.held -= len(e.summaries)
		delete(c.entries, k)
	}
	c.entries[key] = cachedList{version: version, summaries: slices.Clone(summaries), costs: costs}
	c.held += len(summaries)
}
