package ledger

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// LiveSpend adds up live resources, for GET /account and for the
// workflow's spend caps and gauge. A cluster parent carries its nodes'
// total price, so it is skipped: its nodes count.
func LiveSpend(rs []store.Resource) (supplyapi.LiveSpend, error) {
	var ls supplyapi.LiveSpend
	for _, r := range rs {
		if r.ResourceType == store.ResourceTypeCluster {
			continue
		}
		var sp supplyapi.Spec
		if err := json.Unmarshal(r.Spec, &sp); err != nil {
			return supplyapi.LiveSpend{}, fmt.Errorf("resource %s spec: %w", r.ID, err)
		}
		ls.HourlyUSD += hourlyNow(r)
		ls.GPUCount += int64(sp.GPUCount)
		ls.Resources++
	}
	return ls, nil
}

// Account is GET /account: the account's caps and its live spend.
func (l *Ledger) Account(ctx context.Context, accountID int64) (supplyapi.AccountInfo, error) {
	acc, err := l.store.AccountByID(ctx, accountID)
	if err != nil {
		return supplyapi.AccountInfo{}, fmt.Errorf("account: %w", err)
	}
	live, err := l.store.LiveResourcesOfAccount(ctx, accountID)
	if err != nil {
		return supplyapi.AccountInfo{}, fmt.Errorf("account: %w", err)
	}
	ls, err := LiveSpend(live)
	if err != nil {
		return supplyapi.AccountInfo{}, fmt.Errorf("account: %w", err)
	}
	vs, err := l.store.VolumesOfAccount(ctx, accountID)
	if err != nil {
		return supplyapi.AccountInfo{}, fmt.Errorf("account: %w", err)
	}
	ls.HourlyUSD = roundUSD(ls.HourlyUSD + VolumesPerHour(vs))
	return supplyapi.AccountInfo{Name: acc.Name, Limits: supplyapi.AccountLimits{MaxHourlyUSD: acc.MaxHourlyUSD, MaxGPUCount: acc.MaxGPUCount}, Live: ls}, nil
}

// accruedCost is what a node has cost from when its vendor made the
// instance until the vendor confirmed it gone (or until now), within
// [from, to); zero for a cluster parent, whose nodes carry the cost.
func accruedCost(r store.Resource, now, from, to time.Time) float64 {
	start, end, ok := billed(r, now)
	if !ok || r.ResourceType == store.ResourceTypeCluster {
		return 0
	}
	start, end = later(start, from), earlier(end, to)
	if !end.After(start) {
		return 0
	}
	return r.PricePerHour*end.Sub(start).Hours() - stoppedSavings(r, start, end)
}

// billed is the span a node's vendor bills for: from the instance's
// creation to the vendor's confirmation that it is gone, or to now.
func billed(r store.Resource, now time.Time) (start, end time.Time, ok bool) {
	if r.BillingStartedAt == nil {
		return time.Time{}, time.Time{}, false
	}
	end = now
	if r.DeletedAt != nil {
		end = *r.DeletedAt
	}
	return *r.BillingStartedAt, end, true
}

// roundUSD rounds an amount to a hundredth of a cent: exact to the cent
// when added up, and small sandbox amounts still show.
func roundUSD(v float64) float64 { return math.Round(v*10000) / 10000 }

// UsageQuery narrows GET /usage: the window [From, To) and the grouping
// ("" for none).
type UsageQuery struct {
	From, To time.Time
	GroupBy  string
}

// Usage is GET /usage: what the account's resources cost within the
// window, deleted ones included, clusters by their nodes.
func (l *Ledger) Usage(ctx context.Context, accountID int64, q UsageQuery) (supplyapi.Usage, error) {
	rs, err := l.store.ListResources(ctx, accountID, store.ResourceFilter{}, store.ResourceCursor{}, 0)
	if err != nil {
		return supplyapi.Usage{}, fmt.Errorf("usage: %w", err)
	}
	now := l.now().UTC()
	u := supplyapi.Usage{From: q.From, To: q.To, Currency: "USD", Groups: []supplyapi.UsageGroup{}}
	if q.GroupBy != "" {
		u.GroupBy = &q.GroupBy
	}
	groups := map[string]*supplyapi.UsageGroup{}
	add := func(key string, cost float64) {
		g := groups[key]
		if g == nil {
			g = &supplyapi.UsageGroup{Key: key}
			groups[key] = g
		}
		g.Cost += cost
		g.Resources++
	}
	for _, r := range rs {
		cost := accruedCost(r, now, q.From, q.To)
		if cost == 0 {
			continue
		}
		u.TotalCost += cost
		switch q.GroupBy {
		case supplyapi.GroupByVendor:
			add(r.Vendor, cost)
		case supplyapi.GroupByGPUType:
			var sp supplyapi.Spec
			if err := json.Unmarshal(r.Spec, &sp); err != nil {
				return supplyapi.Usage{}, fmt.Errorf("usage: resource %s spec: %w", r.ID, err)
			}
			add(sp.GPUType, cost)
		case supplyapi.GroupByDay:
			start, end, _ := billed(r, now)
			addDays(q, start, end, func(from, to time.Time) float64 { return accruedCost(r, now, from, to) }, add)
		}
	}
	vs, err := l.store.VolumesOfAccount(ctx, accountID)
	if err != nil {
		return supplyapi.Usage{}, fmt.Errorf("usage: %w", err)
	}
	u.TotalCost += volumesUsage(vs, q, now, add)
	u.TotalCost = roundUSD(u.TotalCost)
	for _, g := range groups {
		g.Cost = roundUSD(g.Cost)
		u.Groups = append(u.Groups, *g)
	}
	slices.SortFunc(u.Groups, func(a, b supplyapi.UsageGroup) int {
		if q.GroupBy == supplyapi.GroupByDay {
			return cmp.Compare(a.Key, b.Key)
		}
		return cmp.Or(cmp.Compare(b.Cost, a.Cost), cmp.Compare(a.Key, b.Key))
	})
	return u, nil
}

// addDays adds, per UTC day of [start, end) within q's window, what cost
// says that part of the day cost.
func addDays(q UsageQuery, start, end time.Time, cost func(from, to time.Time) float64, add func(key string, cost float64)) {
	start, end = later(start, q.From), earlier(end, q.To)
	for day := start.Truncate(24 * time.Hour); day.Before(end); day = day.Add(24 * time.Hour) {
		if c := cost(later(day, q.From), earlier(day.Add(24*time.Hour), q.To)); c > 0 {
			add(day.Format(time.DateOnly), c)
		}
	}
}

// costOf is a resource's accrued cost as GET /resources shows it: a
// node's own, a cluster's as the sum of its nodes'.
func costOf(r store.Resource, nodes []store.Resource, now time.Time) float64 {
	all := time.Unix(0, 0).UTC()
	end := now.Add(time.Hour)
	if r.ResourceType != store.ResourceTypeCluster {
		return roundUSD(accruedCost(r, now, all, end))
	}
	var sum float64
	for _, n := range nodes {
		sum += accruedCost(n, now, all, end)
	}
	return roundUSD(sum)
}
