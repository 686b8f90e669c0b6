package ledger

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// Ports are the ports resource id asked to open, with where the vendor
// put them (Public 0 until it said); nil when it asked for none.
func Ports(ctx context.Context, q store.Queries, id string) ([]vendors.PortMapping, error) {
	b, err := q.ResourcePorts(ctx, id)
	if err != nil || b == nil {
		return nil, err
	}
	var out []vendors.PortMapping
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("ports of resource %s: %w", id, err)
	}
	return out, nil
}

// openPorts are r's ports as the API shows them: where to connect once
// the instance runs at an address and the vendor has said where each
// port is.
func openPorts(ctx context.Context, q store.Queries, r store.Resource) ([]supplyapi.Port, error) {
	ports, err := Ports(ctx, q, r.ID)
	if err != nil || ports == nil {
		return nil, err
	}
	out := make([]supplyapi.Port, 0, len(ports))
	for _, p := range ports {
		e := supplyapi.Port{Port: p.Number, Protocol: p.Protocol}
		if r.ExternalIP != "" && p.Public != 0 && r.Status == supplyapi.ResourceRunning {
			host, public := r.ExternalIP, p.Public
			e.Host, e.PublicPort = &host, &public
		}
		out = append(out, e)
	}
	return out, nil
}
