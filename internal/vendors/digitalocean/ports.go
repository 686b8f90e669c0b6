package digitalocean

import (
	"context"
	"slices"
	"strconv"

	"github.com/digitalocean/godo"

	"github.com/gpusupply/supply/internal/vendors"
)

// Open ports on DigitalOcean are a cloud firewall per Droplet
// (firewalls/models/firewall.yml), named for the resource
// (vendors.FirewallName), made once the Droplet exists with it among its
// droplet_ids, and deleted once the Droplet is gone. A firewall drops
// what its rules do not allow, outbound too, so it allows all outbound.

var _ vendors.Firewalls = (*Adapter)(nil)

// anywhere is every IPv4 and IPv6 address.
var anywhere = []string{"0.0.0.0/0", "::/0"}

// inbound opens exactly ports and SSH, from anywhere ("8000" or
// "8000-8010", firewall_rule.yml's ports).
func inbound(ports []vendors.Port) []godo.InboundRule {
	var out []godo.InboundRule
	for _, r := range vendors.Ranges(ports) {
		span := strconv.Itoa(r.From)
		if r.To != r.From {
			span += "-" + strconv.Itoa(r.To)
		}
		out = append(out, godo.InboundRule{Protocol: r.Protocol, PortRange: span, Sources: &godo.Sources{Addresses: anywhere}})
	}
	return out
}

// outbound lets the Droplet reach anything: ports "0" is every port of
// the protocol, and what ICMP rules always say (firewall_rule.yml).
func outbound() []godo.OutboundRule {
	var out []godo.OutboundRule
	for _, p := range []string{"tcp", "udp", "icmp"} {
		out = append(out, godo.OutboundRule{Protocol: p, PortRange: "0", Destinations: &godo.Destinations{Addresses: anywhere}})
	}
	return out
}

// ensureFirewall gives Droplet dropletID the resource's firewall: made now
// unless an earlier try made it (found by its name), and the Droplet
// added to it unless it is there.
func (a *Adapter) ensureFirewall(ctx context.Context, req vendors.CreateRequest, dropletID int) error {
	name := vendors.FirewallName(req.Owner, req.ResourceID)
	all, err := a.firewalls(ctx)
	if err != nil {
		return err
	}
	for _, fw := range all {
		if fw.Name != name {
			continue
		}
		if slices.Contains(fw.DropletIDs, dropletID) {
			return nil
		}
		return a.call(ctx, "add droplet to firewall", true, func(ctx context.Context) (*godo.Response, error) {
			return a.do.Firewalls.AddDroplets(ctx, fw.ID, dropletID)
		})
	}
	return a.call(ctx, "create firewall", false, func(ctx context.Context) (*godo.Response, error) {
		_, resp, err := a.do.Firewalls.Create(ctx, &godo.FirewallRequest{Name: name, InboundRules: inbound(req.Ports),
			OutboundRules: outbound(), DropletIDs: []int{dropletID}, Tags: []string{}})
		return resp, err
	})
}

// firewalls reads every page of the account's firewalls.
func (a *Adapter) firewalls(ctx context.Context) ([]godo.Firewall, error) {
	return readPages(ctx, a, "list firewalls", a.do.Firewalls.List)
}

// Firewalls lists the firewalls supply made.
func (a *Adapter) Firewalls(ctx context.Context) ([]vendors.Firewall, error) {
	all, err := a.firewalls(ctx)
	if err != nil {
		return nil, err
	}
	var out []vendors.Firewall
	for _, fw := range all {
		if owner, id := vendors.ParseName(fw.Name); id != "" {
			out = append(out, vendors.Firewall{ID: fw.ID, Name: fw.Name, ResourceID: id, Owner: owner, InUse: len(fw.DropletIDs) > 0})
		}
	}
	return out, nil
}

// DeleteFirewall deletes a firewall (204); one DigitalOcean no longer
// knows is gone.
func (a *Adapter) DeleteFirewall(ctx context.Context, id string) error {
	err := a.call(ctx, "delete firewall", true, func(ctx context.Context) (*godo.Response, error) {
		return a.do.Firewalls.Delete(ctx, id)
	})
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}
