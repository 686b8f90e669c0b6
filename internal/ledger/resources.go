package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// ResourceFilter narrows GET /resources.
type ResourceFilter struct {
	OfferID *uuid.UUID
	Status  string
	// CreatedBy is the id of the key that procured the resources; 0: any.
	CreatedBy int64
	// Limit, when above 0, pages the list: at most Limit resources,
	// those after After (see store.Queries.ListResources).
	Limit int
	After store.ResourceCursor
}

// Resources is GET /resources: the account's resources, newest first,
// deleted ones included, or a page of them.
func (l *Ledger) Resources(ctx context.Context, accountID int64, f ResourceFilter) ([]supplyapi.ResourceSummary, error) {
	// Read before the rows, as OfferStatus does.
	version, err := l.versions.get(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	key := listKey{accountID: accountID, filter: filterKey(f)}
	now := l.now().UTC()
	if list, ok := l.lists.get(key, version, now); ok {
		return list, nil
	}
	sf := store.ResourceFilter{Status: f.Status, CreatedBy: f.CreatedBy}
	if f.OfferID != nil {
		sf.OfferID = f.OfferID.String()
	}
	rs, err := l.store.ListResources(ctx, accountID, sf, f.After, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	out := make([]supplyapi.ResourceSummary, 0, len(rs))
	costs := make([]costRows, 0, len(rs))
	for _, r := range rs {
		sum, nodes, err := render(ctx, l.store, r)
		if err != nil {
			return nil, err
		}
		sum.Version = version
		out = append(out, sum)
		costs = append(costs, costRows{resource: r, nodes: nodes})
	}
	l.lists.put(key, version, out, costs)
	for i, rows := range costs {
		out[i].AccruedCost = costOf(rows.resource, rows.nodes, now)
	}
	return out, nil
}

// Summary renders a resource as the API shows it, read through q, with
// what it has cost until now: for GET /resources/{id}, and for the
// workflow's events, inside the transaction that changes the resource.
func Summary(ctx context.Context, q store.Queries, r store.Resource, now time.Time) (supplyapi.ResourceSummary, error) {
	sum, nodes, err := render(ctx, q, r)
	if err != nil {
		return supplyapi.ResourceSummary{}, err
	}
	sum.AccruedCost = costOf(r, nodes, now.UTC())
	return sum, nil
}

// render is the summary of r but for its accrued cost, and the nodes of a
// cluster, which its cost is the sum of.
func render(ctx context.Context, q store.Queries, r store.Resource) (supplyapi.ResourceSummary, []store.Resource, error) {
	var spec supplyapi.Spec
	if err := json.Unmarshal(r.Spec, &spec); err != nil {
		return supplyapi.ResourceSummary{}, nil, fmt.Errorf("resource %s spec: %w", r.ID, err)
	}
	sum := supplyapi.ResourceSummary{
		ResourceID: uuid.MustParse(r.ID), ResourceType: r.ResourceType, Vendor: r.Vendor, VendorRegion: r.VendorRegion,
		Status: r.Status, CreatedAt: r.CreatedAt, Name: r.Name, Access: access(r), Spec: spec,
		LinkedResources: []supplyapi.Link{}, PricingTotalHourly: r.PricePerHour, ValidFrom: r.CreatedAt,
		ValidTo: r.DeletedAt, LastSyncedAt: r.LastSyncedAt, DeleteAt: r.DeleteAt,
	}
	if r.StatusMessage != "" {
		msg := r.StatusMessage
		sum.StatusMessage = &msg
	}
	offerType := "single"
	var nodes []store.Resource
	switch {
	case r.ResourceType == store.ResourceTypeCluster:
		offerType = "cluster"
		var err error
		if nodes, err = q.ResourcesByParent(ctx, r.ID); err != nil {
			return supplyapi.ResourceSummary{}, nil, err
		}
		for _, n := range nodes {
			sum.LinkedResources = append(sum.LinkedResources, link(n, "cluster_node", r))
		}
	case r.ParentID != "":
		offerType = "cluster"
		parent, err := q.ResourceByID(ctx, r.ParentID)
		if err != nil {
			return supplyapi.ResourceSummary{}, nil, err
		}
		sum.LinkedResources = append(sum.LinkedResources, link(parent, "cluster", r))
	}
	role := "primary"
	if r.ParentID != "" {
		role = "cluster_node"
	}
	sum.OfferHistory = []supplyapi.OfferHistory{{OfferID: uuid.MustParse(r.OfferID), OfferType: offerType, Role: role, CreatedAt: r.CreatedAt}}
	ports, err := openPorts(ctx, q, r)
	if err != nil {
		return supplyapi.ResourceSummary{}, nil, err
	}
	sum.Ports = ports
	return sum, nodes, nil
}

// link describes other as seen from self: linked since both existed,
// until either was deleted.
func link(other store.Resource, kind string, self store.Resource) supplyapi.Link {
	l := supplyapi.Link{
		ResourceID: uuid.MustParse(other.ID), ResourceType: other.ResourceType, Status: other.Status,
		LinkType: kind, LinkedSince: later(other.CreatedAt, self.CreatedAt), Name: other.Name,
	}
	switch {
	case other.DeletedAt != nil && self.DeletedAt != nil:
		t := earlier(*other.DeletedAt, *self.DeletedAt)
		l.LinkedUntil = &t
	case other.DeletedAt != nil:
		l.LinkedUntil = other.DeletedAt
	case self.DeletedAt != nil:
		l.LinkedUntil = self.DeletedAt
	}
	return l
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// access is how to reach a resource: its addresses and the ssh command,
// which names the port only when it is not 22.
func access(r store.Resource) supplyapi.Access {
	var a supplyapi.Access
	if r.ExternalIP == "" {
		return a
	}
	ext := r.ExternalIP
	a.ExternalIP = &ext
	if r.InternalIP != "" {
		in := r.InternalIP
		a.InternalIP = &in
	}
	port := r.SSHPort
	if port == 0 {
		port = 22
	}
	cmd := "ssh root@" + ext
	if port != 22 {
		cmd += " -p " + strconv.Itoa(port)
	}
	a.SSHCommand, a.SSHPort = &cmd, &port
	return a
}
