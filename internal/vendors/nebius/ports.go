package nebius

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/gpusupply/supply/internal/vendors"
	pb "github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb"
	"github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb/vpcpb"
)

// Open ports on Nebius are a security group per instance (vpc/v1
// SecurityGroupService, in the network of the project's subnet), named for
// the resource (vendors.FirewallName) and labelled with supply's marks,
// with the instance's interface in it alone (NetworkInterfaceSpec
// security_groups). A group "applies implicit deny at the end", so its
// rules (SecurityRuleService) allow in exactly the asked ports and SSH,
// from anywhere, and allow everything out. It is made before the
// instance and outlives it; supply deletes it once the instance is gone
// (vendors.Firewalls). An instance asking no ports keeps the network's
// default group, as before.

var _ vendors.Firewalls = (*Adapter)(nil)

// maxRulePorts is how many destination_ports one rule may list (the
// published max_items).
const maxRulePorts = 8

// ruleProtocols maps supply's protocols to Nebius's.
var ruleProtocols = map[string]vpcpb.RuleProtocol{vendors.TCP: vpcpb.RuleProtocol_TCP, vendors.UDP: vpcpb.RuleProtocol_UDP}

// A namedRule is one rule of a group with the name it is made under:
// rules are made one call each, and a try cut short is finished by the
// next, which makes only the names missing.
type namedRule struct {
	name string
	spec *vpcpb.SecurityRuleSpec
}

// securityRules are the rules of a group that opens exactly ports and
// SSH: per protocol, the ports one by one (a rule lists ports, not
// ranges), eight to a rule; and one rule letting everything out.
func securityRules(ports []vendors.Port) []namedRule {
	byProtocol := map[string][]int32{}
	for _, r := range vendors.Ranges(ports) {
		for p := r.From; p <= r.To; p++ {
			byProtocol[r.Protocol] = append(byProtocol[r.Protocol], int32(p))
		}
	}
	var out []namedRule
	for _, protocol := range slices.Sorted(maps.Keys(byProtocol)) {
		for i, chunk := range slices.Collect(slices.Chunk(byProtocol[protocol], maxRulePorts)) {
			out = append(out, namedRule{name: fmt.Sprintf("supply-in-%s-%d", protocol, i), spec: &vpcpb.SecurityRuleSpec{
				Access: vpcpb.RuleAccessAction_ALLOW, Protocol: ruleProtocols[protocol], Type: vpcpb.RuleType_STATEFUL,
				Match: &vpcpb.SecurityRuleSpec_Ingress{Ingress: &vpcpb.RuleIngress{DestinationPorts: chunk}},
			}})
		}
	}
	return append(out, namedRule{name: "supply-out-any", spec: &vpcpb.SecurityRuleSpec{
		Access: vpcpb.RuleAccessAction_ALLOW, Protocol: vpcpb.RuleProtocol_ANY, Type: vpcpb.RuleType_STATEFUL,
		Match: &vpcpb.SecurityRuleSpec_Egress{Egress: &vpcpb.RuleEgress{}},
	}})
}

// groupRequest is the SecurityGroupService/Create body of a resource's
// group in network.
func groupRequest(req vendors.CreateRequest, project, network string) *vpcpb.CreateSecurityGroupRequest {
	return &vpcpb.CreateSecurityGroupRequest{
		Metadata: &pb.ResourceMetadata{ParentId: project, Name: vendors.FirewallName(req.Owner, req.ResourceID), Labels: labels(req.ResourceID, req.Owner)},
		Spec:     &vpcpb.SecurityGroupSpec{NetworkId: network},
	}
}

// ensureSecurityGroup returns the id of the resource's group in project,
// made now unless an earlier try made it (found by its name), with every
// rule of req.Ports that it lacks.
func (a *Adapter) ensureSecurityGroup(ctx context.Context, project, network string, req vendors.CreateRequest) (string, error) {
	body := groupRequest(req, project, network)
	id, err := a.groupID(ctx, project, body.GetMetadata().GetName())
	if vendors.IsNotFound(err) {
		id, err = a.createGroup(ctx, body)
	}
	if err != nil {
		return "", err
	}
	have, err := a.groupRules(ctx, id)
	if err != nil {
		return "", err
	}
	for _, r := range securityRules(req.Ports) {
		if slices.ContainsFunc(have, func(h *vpcpb.SecurityRule) bool { return h.GetMetadata().GetName() == r.name }) {
			continue
		}
		op, err := a.rules.Create(idempotent(ctx, "rule:"+req.ResourceID+"/"+r.name), &vpcpb.CreateSecurityRuleRequest{
			Metadata: &pb.ResourceMetadata{ParentId: id, Name: r.name}, Spec: r.spec})
		if err != nil && !isAlreadyExists(err) {
			return "", vendors.NotFoundIsInvalid(err)
		}
		if err == nil {
			if err := a.await(ctx, a.vpcOperations, op, "SecurityRuleService/Create", a.deleteRule); err != nil {
				return "", vendors.NotFoundIsInvalid(err)
			}
		}
	}
	return id, nil
}

// groupID finds a group by name.
func (a *Adapter) groupID(ctx context.Context, project, name string) (string, error) {
	g, err := a.groups.GetByName(ctx, &vpcpb.GetSecurityGroupByNameRequest{ParentId: project, Name: name})
	if err != nil {
		return "", err
	}
	return g.GetMetadata().GetId(), nil
}

// createGroup makes a group and waits for it: its rules need it. A lost
// race with another try reads the winner's.
func (a *Adapter) createGroup(ctx context.Context, body *vpcpb.CreateSecurityGroupRequest) (string, error) {
	md := body.GetMetadata()
	op, err := a.groups.Create(idempotent(ctx, "group:"+md.GetName()), body)
	if isAlreadyExists(err) {
		return a.groupID(ctx, md.GetParentId(), md.GetName())
	}
	if err != nil {
		return "", vendors.NotFoundIsInvalid(err)
	}
	if err := a.await(ctx, a.vpcOperations, op, "SecurityGroupService/Create", a.deleteGroup); err != nil {
		return "", vendors.NotFoundIsInvalid(err)
	}
	return op.GetResourceId(), nil
}

// groupRules pages through a group's rules.
func (a *Adapter) groupRules(ctx context.Context, id string) ([]*vpcpb.SecurityRule, error) {
	var out []*vpcpb.SecurityRule
	token := ""
	for {
		resp, err := a.rules.List(ctx, &vpcpb.ListSecurityRulesRequest{ParentId: id, PageSize: pageSize, PageToken: token})
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetItems()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

func (a *Adapter) deleteRule(ctx context.Context, id string) error {
	_, err := a.rules.Delete(ctx, &vpcpb.DeleteSecurityRuleRequest{Id: id})
	return err
}

func (a *Adapter) deleteGroup(ctx context.Context, id string) error {
	_, err := a.groups.Delete(ctx, &vpcpb.DeleteSecurityGroupRequest{Id: id})
	return err
}

// Firewalls lists the security groups supply made (by their names) in
// every configured project. Nebius's group says nothing of who uses it,
// so a group is in use while an instance of its project has an interface
// in it.
func (a *Adapter) Firewalls(ctx context.Context) ([]vendors.Firewall, error) {
	if a.dialErr != nil {
		return nil, a.dialErr
	}
	var out []vendors.Firewall
	for _, region := range a.regions() {
		project := a.cfg.Projects[region]
		var ours []*vpcpb.SecurityGroup
		token := ""
		for {
			resp, err := a.groups.List(ctx, &vpcpb.ListSecurityGroupsRequest{ParentId: project, PageSize: pageSize, PageToken: token})
			if err != nil {
				return nil, err
			}
			for _, g := range resp.GetItems() {
				if _, id := vendors.ParseName(g.GetMetadata().GetName()); id != "" {
					ours = append(ours, g)
				}
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if len(ours) == 0 {
			continue
		}
		used, err := a.groupsInUse(ctx, project)
		if err != nil {
			return nil, err
		}
		for _, g := range ours {
			owner, id := vendors.ParseName(g.GetMetadata().GetName())
			out = append(out, vendors.Firewall{ID: g.GetMetadata().GetId(), Name: g.GetMetadata().GetName(),
				ResourceID: id, Owner: owner, InUse: used[g.GetMetadata().GetId()]})
		}
	}
	return out, nil
}

// groupsInUse are the security groups that the interfaces of a
// project's instances are in.
func (a *Adapter) groupsInUse(ctx context.Context, project string) (map[string]bool, error) {
	used := map[string]bool{}
	token := ""
	for {
		resp, err := a.instances.List(ctx, &pb.ListInstancesRequest{ParentId: project, PageSize: pageSize, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, vm := range resp.GetItems() {
			for _, nic := range vm.GetSpec().GetNetworkInterfaces() {
				for _, g := range nic.GetSecurityGroups() {
					used[g.GetId()] = true
				}
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			return used, nil
		}
	}
}

// DeleteFirewall deletes a security group, its rules first (Nebius does
// not publish whether a group goes with its rules); one Nebius no longer
// knows is gone already.
func (a *Adapter) DeleteFirewall(ctx context.Context, id string) error {
	if a.dialErr != nil {
		return a.dialErr
	}
	rules, err := a.groupRules(ctx, id)
	if vendors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, r := range rules {
		if err := a.deleteRule(ctx, r.GetMetadata().GetId()); err != nil && !vendors.IsNotFound(err) {
			return err
		}
	}
	if err := a.deleteGroup(ctx, id); !vendors.IsNotFound(err) {
		return err
	}
	return nil
}
