package aws

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// The stand-in's security groups, as EC2's model (CreateSecurityGroup,
// AuthorizeSecurityGroupIngress, DescribeSecurityGroups,
// DeleteSecurityGroup) and its documentation have them: a group belongs
// to a VPC (here each region's default VPC, which has its "default"
// group), its name is unique there and may not start with "sg-", a new
// group lets nothing in and everything out, a rule that exists already
// refuses the whole authorization (InvalidPermission.Duplicate), and a
// group that an instance holds cannot be deleted (DependencyViolation)
// until the instance is gone: EC2 lets go of a terminated instance's
// network interface a while after, as the stand-in does once the
// instance is no longer listed. A machine listens on the ports its
// groups' inbound rules open, from its launch.

// groupRecord is one security group as the stand-in keeps it.
type groupRecord struct {
	ID          string     `json:"id"`
	Region      string     `json:"region"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Tags        []xmlTag   `json:"tags"`
	Ingress     []ruleSpec `json:"ingress"`
}

// ruleSpec is one inbound rule: a protocol ("tcp", "udp", "icmp", "-1"
// or a number), a port range, and one source CIDR.
type ruleSpec struct {
	ID       string `json:"id"`
	Protocol string `json:"protocol"`
	From     int    `json:"from"`
	To       int    `json:"to"`
	CIDR     string `json:"cidr"`
}

// defaultVPC is the id of every region's default VPC, where groups are
// made when CreateSecurityGroup names no VPC.
const defaultVPC = "vpc-0c1d2e3f4a5b6c7d8"

// maxOpened bounds the ports a sandbox machine listens on for its
// groups: a rule may open thousands.
const maxOpened = 256

// securityGroup is the group id of region, nil if it has none; the
// caller holds s.Mu.
func (s *StandIn) securityGroup(region, id string) *groupRecord {
	if g := s.State.Groups[id]; g != nil && g.Region == region {
		return g
	}
	return nil
}

func (s *StandIn) createSecurityGroup(w http.ResponseWriter, form url.Values, region string) {
	name, description := form.Get("GroupName"), form.Get("GroupDescription")
	switch vpc := form.Get("VpcId"); {
	case name == "":
		writeEC2Error(w, http.StatusBadRequest, "MissingParameter", "The request must contain the parameter groupName")
		return
	case description == "":
		writeEC2Error(w, http.StatusBadRequest, "MissingParameter", "The request must contain the parameter groupDescription")
		return
	case strings.HasPrefix(strings.ToLower(name), "sg-") || len(name) > 255 || len(description) > 255:
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("Invalid value '%s' for groupName. It may not begin with sg- and is at most 255 characters", name))
		return
	case vpc != "" && vpc != defaultVPC:
		writeEC2Error(w, http.StatusBadRequest, "InvalidVpcID.NotFound", fmt.Sprintf("The vpc ID '%s' does not exist", vpc))
		return
	}
	s.locked(w, func(time.Time) {
		for _, g := range append(slices.Collect(maps.Values(s.State.Groups)), &groupRecord{Region: region, Name: defaultGroup.GroupName}) {
			if g.Region == region && strings.EqualFold(g.Name, name) {
				writeEC2Error(w, http.StatusBadRequest, "InvalidGroup.Duplicate", fmt.Sprintf("The security group '%s' already exists for VPC '%s'", name, defaultVPC))
				return
			}
		}
		g := &groupRecord{ID: "sg-0" + randomHex(8), Region: region, Name: name, Description: description, Tags: specifiedTags(form, "security-group")}
		s.State.Groups[g.ID] = g
		if !s.Saved(w) {
			return
		}
		writeXML(w, "CreateSecurityGroup", xmlCreatedGroup{RequestID: newRequestID(), GroupID: g.ID, Tags: items[xmlTag]{g.Tags}, ARN: groupARN(region, g.ID)})
	})
}

func groupARN(region, id string) string {
	return "arn:aws:ec2:" + region + ":" + sandboxOwner + ":security-group/" + id
}

// permissions reads AuthorizeSecurityGroupIngress's rules, one per
// source: IpPermissions.N (with IpRanges.M.CidrIp and
// Ipv6Ranges.M.CidrIpv6), or the older top-level IpProtocol, FromPort,
// ToPort and CidrIp. It returns EC2's refusal of a malformed one.
func permissions(form url.Values) ([]ruleSpec, string) {
	var perms []string
	for i := 1; form.Has(fmt.Sprintf("IpPermissions.%d.IpProtocol", i)); i++ {
		perms = append(perms, fmt.Sprintf("IpPermissions.%d.", i))
	}
	if len(perms) == 0 && form.Has("IpProtocol") {
		perms = append(perms, "")
	}
	var out []ruleSpec
	for _, p := range perms {
		proto := strings.ToLower(form.Get(p + "IpProtocol"))
		from, errFrom := strconv.Atoi(form.Get(p + "FromPort"))
		to, errTo := strconv.Atoi(form.Get(p + "ToPort"))
		switch {
		case proto == "-1" || proto == "icmp":
			from, to = -1, -1
		case proto != "tcp" && proto != "udp":
			return nil, fmt.Sprintf("Invalid value '%s' for IP protocol. Unknown protocol.", proto)
		case errFrom != nil || errTo != nil:
			return nil, "Invalid value for portRange. Must specify both from and to ports with TCP/UDP."
		case from < 0 || to > 65535 || from > to:
			return nil, fmt.Sprintf("Invalid value '%d-%d' for portRange.", from, to)
		}
		var cidrs []string
		for i := 1; form.Has(fmt.Sprintf("%sIpRanges.%d.CidrIp", p, i)); i++ {
			cidrs = append(cidrs, form.Get(fmt.Sprintf("%sIpRanges.%d.CidrIp", p, i)))
		}
		for i := 1; form.Has(fmt.Sprintf("%sIpv6Ranges.%d.CidrIpv6", p, i)); i++ {
			cidrs = append(cidrs, form.Get(fmt.Sprintf("%sIpv6Ranges.%d.CidrIpv6", p, i)))
		}
		if p == "" && form.Has("CidrIp") {
			cidrs = append(cidrs, form.Get("CidrIp"))
		}
		for _, c := range cidrs {
			if _, err := netip.ParsePrefix(c); err != nil {
				return nil, fmt.Sprintf("CIDR block %s is malformed", c)
			}
			out = append(out, ruleSpec{Protocol: proto, From: from, To: to, CIDR: c})
		}
	}
	if len(out) == 0 {
		return nil, "No IP permissions (with a CIDR source) were given."
	}
	return out, ""
}

func (s *StandIn) authorizeIngress(w http.ResponseWriter, form url.Values, region string) {
	rules, problem := permissions(form)
	if problem != "" {
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", problem)
		return
	}
	id := form.Get("GroupId")
	s.locked(w, func(time.Time) {
		g := s.securityGroup(region, id)
		if g == nil {
			writeEC2Error(w, http.StatusBadRequest, "InvalidGroup.NotFound", fmt.Sprintf("The security group '%s' does not exist", id))
			return
		}
		out := xmlAuthorized{RequestID: newRequestID(), Return: true}
		for i, r := range rules {
			same := func(x ruleSpec) bool {
				return x.Protocol == r.Protocol && x.From == r.From && x.To == r.To && x.CIDR == r.CIDR
			}
			if slices.ContainsFunc(g.Ingress, same) || slices.ContainsFunc(rules[:i], same) {
				writeEC2Error(w, http.StatusBadRequest, "InvalidPermission.Duplicate", fmt.Sprintf(
					`the specified rule "peer: %s, %s, from port: %d, to port: %d, ALLOW" already exists`, r.CIDR, strings.ToUpper(r.Protocol), r.From, r.To))
				return
			}
		}
		for _, r := range rules {
			r.ID = "sgr-0" + randomHex(8)
			g.Ingress = append(g.Ingress, r)
			out.Rules.Items = append(out.Rules.Items, renderRule(g, r))
		}
		if !s.Saved(w) {
			return
		}
		writeXML(w, "AuthorizeSecurityGroupIngress", out)
	})
}

// renderRule is a rule as AuthorizeSecurityGroupIngress answers it.
func renderRule(g *groupRecord, r ruleSpec) xmlRule {
	out := xmlRule{ID: r.ID, GroupID: g.ID, OwnerID: sandboxOwner, Protocol: r.Protocol, From: r.From, To: r.To}
	if strings.Contains(r.CIDR, ":") {
		out.CIDRv6 = r.CIDR
	} else {
		out.CIDRv4 = r.CIDR
	}
	return out
}

// everything is the default outbound rule of every group: all protocols
// to anywhere.
var everything = xmlIPPermission{Protocol: "-1", IPRanges: items[xmlCIDR]{[]xmlCIDR{{CIDR: anywhereIPv4}}}}

// renderGroup is a group as DescribeSecurityGroups shows it: its rules
// folded into one permission per protocol and port range, with each
// range's IPv4 and IPv6 sources.
func renderGroup(g *groupRecord) xmlSecurityGroup {
	out := xmlSecurityGroup{OwnerID: sandboxOwner, GroupID: g.ID, GroupName: g.Name, Description: g.Description, VpcID: defaultVPC,
		Tags: items[xmlTag]{g.Tags}, ARN: groupARN(g.Region, g.ID), Egress: items[xmlIPPermission]{[]xmlIPPermission{everything}}}
	for _, r := range g.Ingress {
		i := slices.IndexFunc(out.Ingress.Items, func(p xmlIPPermission) bool {
			return p.Protocol == r.Protocol && (p.From == nil || *p.From == r.From) && (p.To == nil || *p.To == r.To)
		})
		if i < 0 {
			p := xmlIPPermission{Protocol: r.Protocol}
			if r.From >= 0 {
				from, to := r.From, r.To
				p.From, p.To = &from, &to
			}
			out.Ingress.Items = append(out.Ingress.Items, p)
			i = len(out.Ingress.Items) - 1
		}
		p := &out.Ingress.Items[i]
		if strings.Contains(r.CIDR, ":") {
			p.IPv6Ranges.Items = append(p.IPv6Ranges.Items, xmlCIDRv6{CIDR: r.CIDR})
		} else {
			p.IPRanges.Items = append(p.IPRanges.Items, xmlCIDR{CIDR: r.CIDR})
		}
	}
	return out
}

// theDefault is the default VPC's own group: everything in from its own
// members, everything out; it cannot be deleted.
func theDefault(region string) xmlSecurityGroup {
	return xmlSecurityGroup{OwnerID: sandboxOwner, GroupID: defaultGroup.GroupID, GroupName: defaultGroup.GroupName,
		Description: "default VPC security group", VpcID: defaultVPC, ARN: groupARN(region, defaultGroup.GroupID),
		Ingress: items[xmlIPPermission]{[]xmlIPPermission{{Protocol: "-1",
			Groups: items[xmlGroupPair]{[]xmlGroupPair{{UserID: sandboxOwner, GroupID: defaultGroup.GroupID}}}}}},
		Egress: items[xmlIPPermission]{[]xmlIPPermission{everything}}}
}

func (s *StandIn) describeSecurityGroups(w http.ResponseWriter, form url.Values, region string) {
	f := filters(form)
	if !knownFilters(w, f, "tag:", "tag-key", "group-id", "group-name", "vpc-id", "description") {
		return
	}
	ids := members(form, "GroupId")
	if size := form.Get("MaxResults"); size != "" {
		if n, err := strconv.Atoi(size); err != nil || n < 5 || n > 1000 || len(ids) > 0 {
			writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", "MaxResults must be 5 to 1000, and cannot be given with GroupId.")
			return
		}
	}
	s.locked(w, func(time.Time) {
		all := []xmlSecurityGroup{theDefault(region)}
		for _, id := range slices.Sorted(maps.Keys(s.State.Groups)) {
			if g := s.State.Groups[id]; g.Region == region {
				all = append(all, renderGroup(g))
			}
		}
		for _, id := range ids {
			if !slices.ContainsFunc(all, func(g xmlSecurityGroup) bool { return g.GroupID == id }) {
				writeEC2Error(w, http.StatusBadRequest, "InvalidGroup.NotFound", fmt.Sprintf("The security group '%s' does not exist", id))
				return
			}
		}
		var out []xmlSecurityGroup
		for _, g := range all {
			if (len(ids) == 0 || slices.Contains(ids, g.GroupID)) && groupMatches(g, f) {
				out = append(out, g)
			}
		}
		from, to, next := page(form, len(out), 1000)
		writeXML(w, "DescribeSecurityGroups", xmlSecurityGroups{RequestID: newRequestID(), Groups: items[xmlSecurityGroup]{out[from:to]}, NextToken: next})
	})
}

// groupMatches says whether g passes DescribeSecurityGroups' filters.
func groupMatches(g xmlSecurityGroup, f map[string][]string) bool {
	for name, values := range f {
		var ok bool
		switch key, isTag := strings.CutPrefix(name, "tag:"); {
		case isTag:
			ok = slices.ContainsFunc(g.Tags.Items, func(t xmlTag) bool { return t.Key == key && matchAny(values, t.Value) })
		case name == "tag-key":
			ok = slices.ContainsFunc(g.Tags.Items, func(t xmlTag) bool { return matchAny(values, t.Key) })
		default:
			ok = matchAny(values, map[string]string{"group-id": g.GroupID, "group-name": g.GroupName, "vpc-id": g.VpcID, "description": g.Description}[name])
		}
		if !ok {
			return false
		}
	}
	return true
}

// deleteSecurityGroup deletes a group that no listed instance holds.
func (s *StandIn) deleteSecurityGroup(w http.ResponseWriter, form url.Values, region string) {
	id, name := form.Get("GroupId"), form.Get("GroupName")
	s.locked(w, func(time.Time) {
		g := s.securityGroup(region, id)
		if id == "" {
			for _, x := range s.State.Groups {
				if x.Region == region && name != "" && strings.EqualFold(x.Name, name) {
					g = x
				}
			}
		}
		switch {
		case id == defaultGroup.GroupID || name == defaultGroup.GroupName:
			writeEC2Error(w, http.StatusBadRequest, "CannotDelete", fmt.Sprintf("the specified group: \"%s\" name: \"default\" cannot be deleted by a user", defaultGroup.GroupID))
			return
		case g == nil:
			writeEC2Error(w, http.StatusBadRequest, "InvalidGroup.NotFound", fmt.Sprintf("The security group '%s' does not exist", cmp.Or(id, name)))
			return
		}
		for _, rec := range s.State.Instances {
			if slices.Contains(rec.Groups, g.ID) {
				writeEC2Error(w, http.StatusBadRequest, "DependencyViolation", fmt.Sprintf("resource %s has a dependent object", g.ID))
				return
			}
		}
		delete(s.State.Groups, g.ID)
		if !s.Saved(w) {
			return
		}
		writeXML(w, "DeleteSecurityGroup", xmlDeletedGroup{RequestID: newRequestID(), Return: true, GroupID: g.ID})
	})
}

// launchGroups checks a launch's SecurityGroupId.N in region and returns
// them (none: the default group); a group the region lacks is refused as
// EC2 does. The caller holds s.Mu.
func (s *StandIn) launchGroups(w http.ResponseWriter, form url.Values, region string) ([]string, bool) {
	ids := members(form, "SecurityGroupId")
	for _, id := range ids {
		if id != defaultGroup.GroupID && s.securityGroup(region, id) == nil {
			writeEC2Error(w, http.StatusBadRequest, "InvalidGroup.NotFound", fmt.Sprintf("The security group '%s' does not exist in VPC '%s'", id, defaultVPC))
			return nil, false
		}
	}
	return ids, true
}

// groupsOf are an instance's groups as its answers name them.
func (s *StandIn) groupsOf(rec *record) items[xmlGroup] {
	if len(rec.Groups) == 0 {
		return items[xmlGroup]{[]xmlGroup{defaultGroup}}
	}
	var out []xmlGroup
	for _, id := range rec.Groups {
		name := defaultGroup.GroupName
		if g := s.State.Groups[id]; g != nil {
			name = g.Name
		}
		out = append(out, xmlGroup{GroupID: id, GroupName: name})
	}
	return items[xmlGroup]{out}
}

// openedPorts are the ports an instance's groups open besides SSH, which
// its sandbox machine listens on.
func (s *StandIn) openedPorts(rec *record) []standin.OpenPort {
	var out []standin.OpenPort
	for _, id := range rec.Groups {
		g := s.State.Groups[id]
		if g == nil {
			continue
		}
		for _, r := range g.Ingress {
			if r.Protocol != "tcp" && r.Protocol != "udp" {
				continue
			}
			for p := r.From; p <= r.To && len(out) < maxOpened; p++ {
				op := standin.OpenPort{Port: p, Protocol: r.Protocol}
				if (p != 22 || r.Protocol != "tcp") && !slices.Contains(out, op) {
					out = append(out, op)
				}
			}
		}
	}
	return out
}
