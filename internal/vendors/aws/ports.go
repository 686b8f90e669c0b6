package aws

import (
	"context"
	"errors"
	"slices"
	"strings"

	sdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/gpusupply/supply/internal/vendors"
)

// Open ports on EC2 are a security group per instance: made in the
// region's default VPC (no VpcId: "Required for a nondefault VPC", and the
// instance launches in the default VPC's default subnet), named for the
// resource (vendors.FirewallName, unique in its VPC) and tagged with
// supply's marks, with an inbound rule per port range, SSH among them,
// from 0.0.0.0/0 and ::/0 (a new group lets nothing in and everything
// out). The instance launches with it and the operator's groups
// (Config.SecurityGroupIDs). It outlives the instance: EC2 refuses to
// delete a group an instance or its network interface still uses
// (DependencyViolation, for a while after the instance is terminated too),
// which is a transient failure that supply retries until the group goes
// (vendors.Firewalls).

var _ vendors.Firewalls = (*Adapter)(nil)

// groupDescription is every group's GroupDescription (required).
const groupDescription = "supply: the open ports of one machine"

// Where the opened ports may be reached from: anywhere, over IPv4 and IPv6.
const (
	anywhereIPv4 = "0.0.0.0/0"
	anywhereIPv6 = "::/0"
)

// apiCode is the EC2 error code of a failed SDK call, "" for none.
func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// missingPermissions are the inbound rules that open ports (with SSH)
// and that the group does not have yet, one per port range, each with
// only the sources it lacks: EC2 refuses a whole AuthorizeSecurityGroupIngress
// with InvalidPermission.Duplicate when one of its rules exists, so a
// create cut short after some rules is finished by authorizing the rest.
func missingPermissions(have []types.IpPermission, ports []vendors.Port) []types.IpPermission {
	var out []types.IpPermission
	for _, r := range vendors.Ranges(ports) {
		p := types.IpPermission{IpProtocol: sdk.String(r.Protocol), FromPort: sdk.Int32(int32(r.From)), ToPort: sdk.Int32(int32(r.To))}
		if !hasSource(have, r, func(p types.IpPermission) bool {
			return slices.ContainsFunc(p.IpRanges, func(x types.IpRange) bool { return sdk.ToString(x.CidrIp) == anywhereIPv4 })
		}) {
			p.IpRanges = []types.IpRange{{CidrIp: sdk.String(anywhereIPv4)}}
		}
		if !hasSource(have, r, func(p types.IpPermission) bool {
			return slices.ContainsFunc(p.Ipv6Ranges, func(x types.Ipv6Range) bool { return sdk.ToString(x.CidrIpv6) == anywhereIPv6 })
		}) {
			p.Ipv6Ranges = []types.Ipv6Range{{CidrIpv6: sdk.String(anywhereIPv6)}}
		}
		if p.IpRanges != nil || p.Ipv6Ranges != nil {
			out = append(out, p)
		}
	}
	return out
}

// hasSource says whether a rule of have opens exactly r to the source
// that from finds.
func hasSource(have []types.IpPermission, r vendors.PortRange, from func(types.IpPermission) bool) bool {
	return slices.ContainsFunc(have, func(p types.IpPermission) bool {
		return sdk.ToString(p.IpProtocol) == r.Protocol && sdk.ToInt32(p.FromPort) == int32(r.From) && sdk.ToInt32(p.ToPort) == int32(r.To) && from(p)
	})
}

// ensureSecurityGroup returns the id of the resource's security group in
// region, made now unless an earlier try made it (found by its tag), with
// the rules that open req.Ports that it lacks authorized.
func (a *Adapter) ensureSecurityGroup(ctx context.Context, region string, req vendors.CreateRequest) (string, error) {
	client := a.ec2[region]
	name := vendors.FirewallName(req.Owner, req.ResourceID)
	found, err := a.securityGroups(ctx, region, types.Filter{Name: sdk.String("tag:" + vendors.Tag), Values: []string{req.ResourceID}})
	if err != nil {
		return "", err
	}
	if len(found) == 0 {
		duplicate := false
		err := a.call(ctx, "create security group", a.mutate[region], false, func(ctx context.Context) error {
			out, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
				GroupName: sdk.String(name), Description: sdk.String(groupDescription),
				TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: tags(req.ResourceID, req.Owner, false)}},
			})
			if apiCode(err) == "InvalidGroup.Duplicate" {
				// A try whose answer was lost made it after our lookup:
				// the name is the resource's, unique in the VPC.
				duplicate = true
				return nil
			}
			if err == nil {
				found = []types.SecurityGroup{{GroupId: out.GroupId}}
			}
			return err
		})
		if err != nil {
			return "", err
		}
		if duplicate {
			if found, err = a.securityGroups(ctx, region, types.Filter{Name: sdk.String("group-name"), Values: []string{name}}); err != nil {
				return "", err
			}
			if len(found) == 0 {
				return "", &vendors.Error{Vendor: Name, Op: "create security group", Kind: vendors.ErrTransient, Message: "security group " + name + " exists but is not listed yet"}
			}
		}
	}
	group := found[0]
	missing := missingPermissions(group.IpPermissions, req.Ports)
	if len(missing) == 0 {
		return sdk.ToString(group.GroupId), nil
	}
	err = a.call(ctx, "authorize security group ingress", a.mutate[region], false, func(ctx context.Context) error {
		_, err := client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: group.GroupId, IpPermissions: missing})
		return err
	})
	return sdk.ToString(group.GroupId), err
}

// securityGroups reads every page of a DescribeSecurityGroups in region
// with filters.
func (a *Adapter) securityGroups(ctx context.Context, region string, filters ...types.Filter) ([]types.SecurityGroup, error) {
	var all []types.SecurityGroup
	err := a.call(ctx, "describe security groups", a.describe[region], true, func(ctx context.Context) error {
		all = all[:0]
		pages := ec2.NewDescribeSecurityGroupsPaginator(a.ec2[region], &ec2.DescribeSecurityGroupsInput{Filters: filters, MaxResults: sdk.Int32(a.cfg.PageSize)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return err
			}
			all = append(all, page.SecurityGroups...)
		}
		return nil
	})
	return all, err
}

// Firewalls lists the security groups supply made (tagged with its
// resource mark), in every configured region; an id is
// "<region>/<group id>", as an instance's is. DescribeSecurityGroups does
// not say which instances use a group, so a group is in use when a live
// instance of supply's (any state but terminated) names it.
func (a *Adapter) Firewalls(ctx context.Context) ([]vendors.Firewall, error) {
	var out []vendors.Firewall
	err := a.eachRegion(ctx, "security groups", func(region string) error {
		groups, err := a.securityGroups(ctx, region, types.Filter{Name: sdk.String("tag-key"), Values: []string{vendors.Tag}})
		if err != nil || len(groups) == 0 {
			return err
		}
		live, err := a.describeInstances(ctx, region, "list instances", &ec2.DescribeInstancesInput{Filters: []types.Filter{
			{Name: sdk.String("tag-key"), Values: []string{vendors.Tag}},
			{Name: sdk.String("instance-state-name"), Values: liveStates},
		}})
		if err != nil {
			return err
		}
		used := map[string]bool{}
		for _, in := range live {
			for _, g := range in.SecurityGroups {
				used[sdk.ToString(g.GroupId)] = true
			}
		}
		for _, g := range groups {
			resourceID, owner := vendors.ReadMarks(func(key string) string { return tagValue(g.Tags, key) })
			id := sdk.ToString(g.GroupId)
			out = append(out, vendors.Firewall{ID: region + "/" + id, Name: sdk.ToString(g.GroupName), ResourceID: resourceID, Owner: owner, InUse: used[id]})
		}
		return nil
	})
	return out, err
}

// eachRegion runs list in every configured region, for a listing of what
// outlives instances (security groups, volumes). A region the account
// cannot use (not enabled: EC2 answers AuthFailure there) holds none of
// supply's and is left out, logged, as the catalog leaves it out, unless
// no region answers: otherwise one such region would hold every
// termination's clean-up, and every reconciliation, back for good.
func (a *Adapter) eachRegion(ctx context.Context, what string, list func(region string) error) error {
	refused := 0
	for _, region := range a.regions {
		err := list(region)
		if errors.Is(err, vendors.ErrAuth) && refused+1 < len(a.regions) {
			refused++
			a.log.WarnContext(ctx, "aws region left out of the "+what, "region", region, "err", err)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// DeleteFirewall deletes a security group; one EC2 no longer knows is
// gone already. While an instance still holds it EC2 answers
// DependencyViolation, a transient failure: the caller tries again.
func (a *Adapter) DeleteFirewall(ctx context.Context, id string) error {
	region, groupID, ok := strings.Cut(id, "/")
	if !ok || a.ec2[region] == nil || !strings.HasPrefix(groupID, "sg-") {
		return nil // no such group can exist
	}
	return a.call(ctx, "delete security group", a.mutate[region], true, func(ctx context.Context) error {
		_, err := a.ec2[region].DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sdk.String(groupID)})
		if apiCode(err) == "InvalidGroup.NotFound" {
			return nil
		}
		return err
	})
}
