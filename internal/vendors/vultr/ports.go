package vultr

import (
	"context"
	"slices"
	"strconv"

	"github.com/vultr/govultr/v3"

	"github.com/gpusupply/supply/internal/vendors"
)

// Open ports on Vultr are a firewall group per instance (GET/POST
// /firewalls), described for the resource (vendors.FirewallName: groups
// have a description and no tags), with one rule per port range (POST
// /firewalls/{firewall-group-id}/rules; a group without rules lets
// nothing in, so SSH has its rule too), named at create by
// firewall_group_id and deleted once the instance is gone.

var _ vendors.Firewalls = (*Adapter)(nil)

// ruleOf is the rule that opens r to every IPv4 address: Vultr writes a
// range "from:to" ("a colon separated port range") and its protocols in
// lower case (the rule examples' "tcp").
func ruleOf(r vendors.PortRange) govultr.FirewallRuleReq {
	port := strconv.Itoa(r.From)
	if r.To != r.From {
		port += ":" + strconv.Itoa(r.To)
	}
	return govultr.FirewallRuleReq{IPType: "v4", Protocol: r.Protocol, Subnet: "0.0.0.0", SubnetSize: 0, Port: port,
		Notes: "supply: open " + port + "/" + r.Protocol}
}

// ensureFirewall returns the id of the resource's firewall group with a
// rule for each of its port ranges: the group an earlier try made is
// found by its description, and only its missing rules are added.
func (a *Adapter) ensureFirewall(ctx context.Context, req vendors.CreateRequest) (string, error) {
	name := vendors.FirewallName(req.Owner, req.ResourceID)
	groups, err := a.groups(ctx)
	if err != nil {
		return "", err
	}
	var id string
	if i := slices.IndexFunc(groups, func(g govultr.FirewallGroup) bool { return g.Description == name }); i >= 0 {
		id = groups[i].ID
	} else {
		var made *govultr.FirewallGroup
		err := a.call(ctx, "create firewall group", false, func(ctx context.Context) (err error) {
			made, _, err = a.gv.FirewallGroup.Create(ctx, &govultr.FirewallGroupReq{Description: name})
			return err
		})
		if err != nil {
			return "", err
		}
		id = made.ID
	}
	have, err := pages(ctx, a, "list firewall rules", func(ctx context.Context, o *govultr.ListOptions) ([]govultr.FirewallRule, *govultr.Meta, error) {
		r, m, _, err := a.gv.FirewallRule.List(ctx, id, o)
		return r, m, err
	})
	if err != nil {
		return "", err
	}
	for _, r := range vendors.Ranges(req.Ports) {
		rule := ruleOf(r)
		if slices.ContainsFunc(have, func(h govultr.FirewallRule) bool { return h.Protocol == rule.Protocol && h.Port == rule.Port }) {
			continue
		}
		err := a.call(ctx, "create firewall rule", false, func(ctx context.Context) error {
			_, _, err := a.gv.FirewallRule.Create(ctx, id, &rule)
			return err
		})
		if err != nil {
			return "", err
		}
	}
	return id, nil
}

func (a *Adapter) groups(ctx context.Context) ([]govultr.FirewallGroup, error) {
	return pages(ctx, a, "list firewall groups", func(ctx context.Context, o *govultr.ListOptions) ([]govultr.FirewallGroup, *govultr.Meta, error) {
		g, m, _, err := a.gv.FirewallGroup.List(ctx, o)
		return g, m, err
	})
}

// Firewalls lists the firewall groups supply made.
func (a *Adapter) Firewalls(ctx context.Context) ([]vendors.Firewall, error) {
	groups, err := a.groups(ctx)
	if err != nil {
		return nil, err
	}
	var out []vendors.Firewall
	for _, g := range groups {
		if owner, id := vendors.ParseName(g.Description); id != "" {
			out = append(out, vendors.Firewall{ID: g.ID, Name: g.Description, ResourceID: id, Owner: owner, InUse: g.InstanceCount > 0})
		}
	}
	return out, nil
}

// DeleteFirewall deletes a firewall group; one Vultr no longer knows is
// gone.
func (a *Adapter) DeleteFirewall(ctx context.Context, id string) error {
	err := a.call(ctx, "delete firewall group", true, func(ctx context.Context) error {
		return a.gv.FirewallGroup.Delete(ctx, id)
	})
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}
