package scaleway

import (
	"context"
	"net"

	"github.com/scaleway/scaleway-sdk-go/api/instance/v1"
	"github.com/scaleway/scaleway-sdk-go/scw"

	"github.com/gpusupply/supply/internal/vendors"
)

// Open ports on Scaleway are a security group per server (the Instance
// API's security_groups, a server's security_group at create): named for
// the resource (vendors.FirewallName) and tagged with supply's marks, it
// drops every inbound packet but those its rules accept, the asked ports
// and SSH, from anywhere. It is made before the server and outlives it;
// supply deletes it once the server is gone (vendors.Firewalls).

var _ vendors.Firewalls = (*Adapter)(nil)

// anywhere is 0.0.0.0/0, where accepted packets may come from.
var anywhere = scw.IPNet{IPNet: net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}}

// securityRules are the inbound rules that accept exactly ports and SSH.
func securityRules(ports []vendors.Port) []*instance.SetSecurityGroupRulesRequestRule {
	var out []*instance.SetSecurityGroupRulesRequestRule
	for i, r := range vendors.Ranges(ports) {
		from, to := uint32(r.From), uint32(r.To)
		rule := &instance.SetSecurityGroupRulesRequestRule{
			Action: instance.SecurityGroupRuleActionAccept, Direction: instance.SecurityGroupRuleDirectionInbound,
			Protocol: instance.SecurityGroupRuleProtocolTCP, IPRange: anywhere, DestPortFrom: &from, Position: uint32(i + 1),
		}
		if r.Protocol == vendors.UDP {
			rule.Protocol = instance.SecurityGroupRuleProtocolUDP
		}
		// A rule of one port leaves dest_port_to empty.
		if to != from {
			rule.DestPortTo = &to
		}
		out = append(out, rule)
	}
	return out
}

// ensureSecurityGroup returns the id of the resource's security group in
// zone, made now unless an earlier try made it (found by its name), with
// its rules set to open req.Ports: setting them replaces them all, so a
// try cut short between the two calls is finished by the next.
func (a *Adapter) ensureSecurityGroup(ctx context.Context, zone string, req vendors.CreateRequest) (string, error) {
	name := vendors.FirewallName(req.Owner, req.ResourceID)
	groups, err := a.securityGroups(ctx, zone, &name)
	if err != nil {
		return "", err
	}
	var id string
	for _, g := range groups {
		if g.Name == name {
			id = g.ID
		}
	}
	if id == "" {
		var made *instance.CreateSecurityGroupResponse
		err := a.call(ctx, "create security group", false, func(opts ...scw.RequestOption) (err error) {
			made, err = a.instances.CreateSecurityGroup(&instance.CreateSecurityGroupRequest{
				Zone: scw.Zone(zone), Name: name, Description: "supply: the open ports of one machine",
				Project: &a.project, Tags: vendors.MarkText(req.ResourceID, req.Owner), Stateful: true,
				InboundDefaultPolicy: instance.SecurityGroupPolicyDrop, OutboundDefaultPolicy: instance.SecurityGroupPolicyAccept,
			}, opts...)
			return err
		})
		if err != nil {
			return "", err
		}
		id = made.SecurityGroup.ID
	}
	err = a.call(ctx, "set security group rules", true, func(opts ...scw.RequestOption) error {
		_, err := a.instances.SetSecurityGroupRules(&instance.SetSecurityGroupRulesRequest{
			Zone: scw.Zone(zone), SecurityGroupID: id, Rules: securityRules(req.Ports)}, opts...)
		return err
	})
	return id, err
}

// securityGroups lists the project's security groups in zone, those
// whose name contains name when it is given.
func (a *Adapter) securityGroups(ctx context.Context, zone string, name *string) ([]*instance.SecurityGroup, error) {
	req := &instance.ListSecurityGroupsRequest{Zone: scw.Zone(zone), Name: name}
	if a.project != "" {
		req.Project = &a.project
	}
	var resp *instance.ListSecurityGroupsResponse
	err := a.call(ctx, "list security groups", true, func(opts ...scw.RequestOption) (err error) {
		resp, err = a.instances.ListSecurityGroups(req, append(opts, scw.WithAllPages())...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp.SecurityGroups, nil
}

// Firewalls lists the security groups supply made, in every configured
// zone; an id is "<zone>/<uuid>", as a server's is. The whole list is
// read and the names parsed here: the SDK does not say whether the name
// filter matches a prefix.
func (a *Adapter) Firewalls(ctx context.Context) ([]vendors.Firewall, error) {
	var out []vendors.Firewall
	for _, zone := range a.zones {
		groups, err := a.securityGroups(ctx, zone, nil)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if owner, id := vendors.ParseName(g.Name); id != "" {
				out = append(out, vendors.Firewall{ID: zone + "/" + g.ID, Name: g.Name, ResourceID: id, Owner: owner, InUse: len(g.Servers) > 0})
			}
		}
	}
	return out, nil
}

// DeleteFirewall deletes a security group; one Scaleway no longer knows
// is gone already.
func (a *Adapter) DeleteFirewall(ctx context.Context, id string) error {
	zone, groupID, err := splitID("delete security group", id)
	if err != nil {
		return nil // no such group can exist
	}
	err = a.call(ctx, "delete security group", true, func(opts ...scw.RequestOption) error {
		return a.instances.DeleteSecurityGroup(&instance.DeleteSecurityGroupRequest{Zone: scw.Zone(zone), SecurityGroupID: groupID}, opts...)
	})
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}
