package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// parsePorts reads open_ports: numbers, "port/protocol" and ranges,
// each port 1 to 65535, tcp or udp, MaxPorts in all; a port asked twice
// counts once. A bad entry is a 422 naming its place in the list.
func parsePorts(entries []supplyapi.OpenPort) ([]vendors.Port, error) {
	var out []vendors.Port
	for i, e := range entries {
		ports, err := parsePort(e.Value())
		if err != nil {
			return nil, &offers.QueryError{Loc: []any{"body", "open_ports", i}, Type: "value_error", Msg: "Value error, " + err.Error(), Input: e.Value()}
		}
		for _, p := range ports {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
		if len(out) > vendors.MaxPorts {
			return nil, &offers.QueryError{Loc: []any{"body", "open_ports"}, Type: "value_error",
				Msg: fmt.Sprintf("Value error, open_ports asks for more than %d ports (a range counts each of its ports)", vendors.MaxPorts), Input: e.Value()}
		}
	}
	return out, nil
}

var errPortSyntax = errors.New(`a port must be a number from 1 to 65535, "port/tcp", "port/udp" or a range such as "9000-9010"`)

// parsePort reads one entry of open_ports: a JSON number or string.
func parsePort(v any) ([]vendors.Port, error) {
	var text string
	switch v := v.(type) {
	case float64:
		text = strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		text = v
	default:
		return nil, errPortSyntax
	}
	spec, proto, ok := strings.Cut(text, "/")
	if !ok {
		proto = vendors.TCP
	}
	if proto != vendors.TCP && proto != vendors.UDP {
		return nil, fmt.Errorf("protocol %q: only tcp and udp ports can be opened", proto)
	}
	lo, hi, isRange := strings.Cut(spec, "-")
	from, err := portNumber(lo)
	if err != nil {
		return nil, err
	}
	to := from
	if isRange {
		if to, err = portNumber(hi); err != nil {
			return nil, err
		}
		if to < from {
			return nil, fmt.Errorf("range %q ends before it starts", spec)
		}
		if to-from >= vendors.MaxPorts {
			return nil, fmt.Errorf("range %q has more than %d ports", spec, vendors.MaxPorts)
		}
	}
	var out []vendors.Port
	for n := from; n <= to; n++ {
		out = append(out, vendors.Port{Number: n, Protocol: proto})
	}
	return out, nil
}

func portNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	switch {
	case err != nil || strings.HasPrefix(s, "+"):
		return 0, errPortSyntax
	case n < 1 || n > 65535:
		return 0, fmt.Errorf("port %d is out of range: ports are 1 to 65535", n)
	}
	return n, nil
}

// checkPorts refuses, at request time, ports the offer's vendor cannot
// open.
func checkPorts(info vendors.Info, v vendors.Vendor, ports []vendors.Port, input any) error {
	if len(ports) == 0 {
		return nil
	}
	if !info.Ports {
		return fieldError("open_ports", fmt.Sprintf("Value error, %s does not open ports (supports_ports is false in GET /available_vendors)", info.DisplayName), input)
	}
	if pp, ok := v.(vendors.PortProtocols); ok {
		for _, p := range ports {
			if !slices.Contains(pp.PortProtocols(), p.Protocol) {
				return fieldError("open_ports", fmt.Sprintf("Value error, %s opens %s ports only, not %s", info.DisplayName, strings.Join(pp.PortProtocols(), " and "), p), input)
			}
		}
	}
	return nil
}

// insertPorts records the ports each node of a procurement asks for.
func insertPorts(ctx context.Context, tx store.Tx, r store.Resource, ports []vendors.Port) error {
	if len(ports) == 0 || r.ResourceType == store.ResourceTypeCluster {
		return nil
	}
	mapped := make([]vendors.PortMapping, len(ports))
	for i, p := range ports {
		mapped[i].Port = p
	}
	b, err := json.Marshal(mapped)
	if err != nil {
		return err
	}
	return tx.InsertResourcePorts(ctx, r.ID, b)
}

// asked are the ports to open, as a create request takes them.
func asked(ports []vendors.PortMapping) []vendors.Port {
	var out []vendors.Port
	for _, p := range ports {
		out = append(out, p.Port)
	}
	return out
}

// notePorts records where the vendor put r's ports once inst runs: its
// mapping where it maps ports, the port itself where it opens it on the
// instance's own address.
func (s *Service) notePorts(ctx context.Context, r store.Resource, inst vendors.Instance) error {
	ports, err := ledger.Ports(ctx, s.store, r.ID)
	if err != nil || ports == nil {
		return err
	}
	maps := s.vendors[r.Vendor] != nil && s.vendors[r.Vendor].Info().Containers
	for i, p := range ports {
		ports[i].Public = 0
		if !maps {
			ports[i].Public = p.Number
		}
		for _, m := range inst.Ports {
			if m.Port == p.Port {
				ports[i].Public = m.Public
			}
		}
	}
	b, err := json.Marshal(ports)
	if err != nil {
		return err
	}
	return s.store.SetResourcePorts(ctx, r.ID, b)
}

// closePorts deletes the firewall made for r, once its instance is gone,
// on vendors whose firewalls are objects of their own.
func (s *Service) closePorts(ctx context.Context, r store.Resource) error {
	fw, ok := s.vendors[r.Vendor].(vendors.Firewalls)
	if !ok {
		return nil
	}
	if ports, err := ledger.Ports(ctx, s.store, r.ID); err != nil || ports == nil {
		return err
	}
	all, err := fw.Firewalls(ctx)
	if err != nil {
		return err
	}
	for _, f := range all {
		if f.ResourceID == r.ID && f.Owner == s.cfg.Owner {
			if f.InUse {
				// The vendor has not let go of it yet: the reconciler
				// deletes it once it has.
				continue
			}
			if err := fw.DeleteFirewall(ctx, f.ID); err != nil {
				return err
			}
			s.log.InfoContext(ctx, "firewall deleted", "resource_id", r.ID, "vendor", r.Vendor, "firewall", f.ID)
		}
	}
	return nil
}

// reconcileFirewalls deletes this installation's firewalls that no live
// resource accounts for (their resource is deleted or failed, or unknown)
// and that no instance uses any more: what a crash between an instance's
// end and its firewall's left behind. Another installation's are never
// touched.
func (s *Service) reconcileFirewalls(ctx context.Context, v vendors.Vendor) error {
	fw, ok := v.(vendors.Firewalls)
	if !ok {
		return nil
	}
	all, err := fw.Firewalls(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "reconcile: cannot list firewalls; skipping them this pass", "vendor", v.Name(), "err", err)
		return nil
	}
	for _, f := range all {
		if f.Owner != s.cfg.Owner || f.InUse {
			continue
		}
		r, err := s.store.ResourceByID(ctx, f.ResourceID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case r.Status != supplyapi.ResourceDeleted && r.Status != supplyapi.ResourceFailed:
			continue // its machine may be about to use it, or its own clean-up will
		}
		if err := fw.DeleteFirewall(ctx, f.ID); err != nil {
			return fmt.Errorf("reconcile: delete firewall %s of %s: %w", f.ID, v.Name(), err)
		}
		s.log.WarnContext(ctx, "reconcile: deleted a leaked firewall", "vendor", v.Name(), "firewall", f.ID, "resource_id", f.ResourceID)
	}
	return nil
}

// askedPorts are the ports the machines of a procurement ask for (each
// node asks for the same).
func (s *Service) askedPorts(ctx context.Context, offerID string) ([]vendors.Port, error) {
	rs, err := s.store.ResourcesByOffer(ctx, offerID)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.ResourceType != store.ResourceTypeCluster {
			ports, err := ledger.Ports(ctx, s.store, r.ID)
			return asked(ports), err
		}
	}
	return nil, nil
}

// opens reports whether vendor can open ports, so that a failover never
// moves a procurement to a vendor that would leave them closed.
func (s *Service) opens(vendor string, ports []vendors.Port) bool {
	v, ok := s.vendors[vendor]
	return ok && checkPorts(v.Info(), v, ports, nil) == nil
}
