package nebius

import (
	"context"
	"regexp"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb"
	"github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb/vpcpb"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// groupRecord is a security group made through SecurityGroupService.
type groupRecord struct {
	ID        string            `json:"id"`
	Project   string            `json:"project"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels"`
	NetworkID string            `json:"network_id"`
	CreatedAt time.Time         `json:"created_at"`
}

// ruleRecord is a rule of a group; Spec is the SecurityRuleSpec as
// received, in protojson.
type ruleRecord struct {
	ID        string    `json:"id"`
	GroupID   string    `json:"group_id"`
	Name      string    `json:"name"`
	Spec      string    `json:"spec"`
	CreatedAt time.Time `json:"created_at"`
}

// vpcNamePattern is the published CEL rule of a group's and a rule's
// metadata.name.
var vpcNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][-_./a-zA-Z0-9]{1,254}$`)

// Published bounds of a rule: priority 0-1000; at most 8 CIDRs and 8
// ports, each 1-65535.
const (
	maxPriority  = 1000
	maxRuleItems = 8
)

// networkID is the fixed id of a region's network.
func networkID(region string) string { return "vpcnetwork-e00" + hash17(region) }

func (s *StandIn) findGroup(id string) *groupRecord {
	for _, g := range s.State.Groups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

// groupUsers are the VMs not gone whose interface is in group id; the
// caller holds s.Mu.
func (s *StandIn) groupUsers(id string, now time.Time) []*vmRecord {
	var out []*vmRecord
	for _, vm := range s.State.VMs {
		if slices.Contains(vm.Groups, id) && s.phase(vm, now) != phaseGone {
			out = append(out, vm)
		}
	}
	return out
}

func groupView(g *groupRecord) *vpcpb.SecurityGroup {
	return &vpcpb.SecurityGroup{
		Metadata: &pb.ResourceMetadata{Id: g.ID, ParentId: g.Project, Name: g.Name, ResourceVersion: 1,
			CreatedAt: timestamppb.New(g.CreatedAt), UpdatedAt: timestamppb.New(g.CreatedAt), Labels: g.Labels},
		Spec:   &vpcpb.SecurityGroupSpec{NetworkId: g.NetworkID},
		Status: &vpcpb.SecurityGroupStatus{State: vpcpb.SecurityGroupStatus_READY},
	}
}

func ruleSpec(r *ruleRecord) *vpcpb.SecurityRuleSpec {
	spec := &vpcpb.SecurityRuleSpec{}
	_ = protojson.Unmarshal([]byte(r.Spec), spec) // written by Create from a valid message
	return spec
}

func ruleView(r *ruleRecord) *vpcpb.SecurityRule {
	return &vpcpb.SecurityRule{
		Metadata: &pb.ResourceMetadata{Id: r.ID, ParentId: r.GroupID, Name: r.Name, ResourceVersion: 1,
			CreatedAt: timestamppb.New(r.CreatedAt), UpdatedAt: timestamppb.New(r.CreatedAt)},
		Spec: ruleSpec(r),
	}
}

// groups checks a new VM's interfaces' security groups (each one of the
// project, in the region's network) and returns their ids; the caller
// holds s.Mu.
func (s *StandIn) groups(project, region string, nics []*pb.NetworkInterfaceSpec) ([]string, error) {
	var ids []string
	for _, nic := range nics {
		for _, sg := range nic.GetSecurityGroups() {
			g := s.findGroup(sg.GetId())
			if g == nil || g.Project != project {
				return nil, notFound("vpc", sg.GetId())
			}
			if g.NetworkID != networkID(region) {
				return nil, badRequest("spec.network_interfaces.security_groups", "security group %s is in another network", g.ID)
			}
			ids = append(ids, g.ID)
		}
	}
	return ids, nil
}

// openedPorts are the ports the VM's groups let in besides SSH: the
// TCP and UDP ports their ingress ALLOW rules name (a rule naming none,
// or of another protocol, opens nothing a sandbox host could listen on);
// the caller holds s.Mu.
func (s *StandIn) openedPorts(vm *vmRecord) []standin.OpenPort {
	var out []standin.OpenPort
	for _, r := range s.State.Rules {
		if !slices.Contains(vm.Groups, r.GroupID) {
			continue
		}
		spec := ruleSpec(r)
		protocol := map[vpcpb.RuleProtocol]string{vpcpb.RuleProtocol_TCP: "tcp", vpcpb.RuleProtocol_UDP: "udp"}[spec.GetProtocol()]
		if spec.GetAccess() != vpcpb.RuleAccessAction_ALLOW || spec.GetIngress() == nil || protocol == "" {
			continue
		}
		for _, p := range spec.GetIngress().GetDestinationPorts() {
			if op := (standin.OpenPort{Port: int(p), Protocol: protocol}); p != 22 && !slices.Contains(out, op) {
				out = append(out, op)
			}
		}
	}
	return out
}

type groupServer struct {
	vpcpb.UnimplementedSecurityGroupServiceServer
	s *StandIn
}

func (gs groupServer) Get(_ context.Context, req *vpcpb.GetSecurityGroupRequest) (*vpcpb.SecurityGroup, error) {
	s := gs.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if g := s.findGroup(req.GetId()); g != nil {
		return groupView(g), nil
	}
	return nil, notFound("vpc", req.GetId())
}

func (gs groupServer) GetByName(_ context.Context, req *vpcpb.GetSecurityGroupByNameRequest) (*vpcpb.SecurityGroup, error) {
	s := gs.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	for _, g := range s.State.Groups {
		if g.Project == req.GetParentId() && g.Name == req.GetName() {
			return groupView(g), nil
		}
	}
	return nil, notFound("vpc", req.GetParentId()+"/"+req.GetName())
}

func (gs groupServer) List(_ context.Context, req *vpcpb.ListSecurityGroupsRequest) (*vpcpb.ListSecurityGroupsResponse, error) {
	s := gs.s
	if _, ok := s.regionOf(req.GetParentId()); !ok {
		return nil, notFound("iam", req.GetParentId())
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	var all []*vpcpb.SecurityGroup
	for _, g := range s.State.Groups {
		if g.Project == req.GetParentId() {
			all = append(all, groupView(g))
		}
	}
	start, end, next, err := page(req.GetPageToken(), req.GetPageSize(), len(all))
	if err != nil {
		return nil, err
	}
	return &vpcpb.ListSecurityGroupsResponse{Items: all[start:end], NextPageToken: next}, nil
}

// Create makes a group in the project's network (spec.network_id
// required).
func (gs groupServer) Create(_ context.Context, req *vpcpb.CreateSecurityGroupRequest) (*pb.Operation, error) {
	s := gs.s
	md := req.GetMetadata()
	region, ok := s.regionOf(md.GetParentId())
	if !ok {
		return nil, notFound("iam", md.GetParentId())
	}
	switch {
	case !vpcNamePattern.MatchString(md.GetName()):
		return nil, badRequest("metadata.name", "'name' must start with a letter or digit, allow '-', '_', '.', '/', and have a length between 2 and 255 characters.")
	case req.GetSpec().GetNetworkId() != networkID(region):
		return nil, notFound("vpc", req.GetSpec().GetNetworkId())
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	for _, g := range s.State.Groups {
		if g.Project == md.GetParentId() && g.Name == md.GetName() {
			return nil, status.Errorf(codes.AlreadyExists, "security group %q already exists", md.GetName())
		}
	}
	g := &groupRecord{ID: s.newID("vpcsecuritygroup"), Project: md.GetParentId(), Name: md.GetName(), Labels: md.GetLabels(),
		NetworkID: req.GetSpec().GetNetworkId(), CreatedAt: now.UTC()}
	s.State.Groups = append(s.State.Groups, g)
	return s.operation(g.ID, "Create security group", false, nil, now)
}

// Delete deletes a group and its rules. One an instance's interface is
// still in is refused: Nebius does not publish that case, and the group
// is the instance's.
func (gs groupServer) Delete(_ context.Context, req *vpcpb.DeleteSecurityGroupRequest) (*pb.Operation, error) {
	s := gs.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	g := s.findGroup(req.GetId())
	if g == nil {
		return nil, notFound("vpc", req.GetId())
	}
	if users := s.groupUsers(g.ID, now); len(users) > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "security group %s is used by instance %s", g.ID, users[0].ID)
	}
	s.State.Groups = slices.DeleteFunc(s.State.Groups, func(x *groupRecord) bool { return x == g })
	s.State.Rules = slices.DeleteFunc(s.State.Rules, func(r *ruleRecord) bool { return r.GroupID == g.ID })
	return s.operation(g.ID, "Delete security group", true, nil, now)
}

type ruleServer struct {
	vpcpb.UnimplementedSecurityRuleServiceServer
	s *StandIn
}

func (rs ruleServer) List(_ context.Context, req *vpcpb.ListSecurityRulesRequest) (*vpcpb.ListSecurityRulesResponse, error) {
	s := rs.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if s.findGroup(req.GetParentId()) == nil {
		return nil, notFound("vpc", req.GetParentId())
	}
	var all []*vpcpb.SecurityRule
	for _, r := range s.State.Rules {
		if r.GroupID == req.GetParentId() {
			all = append(all, ruleView(r))
		}
	}
	start, end, next, err := page(req.GetPageToken(), req.GetPageSize(), len(all))
	if err != nil {
		return nil, err
	}
	return &vpcpb.ListSecurityRulesResponse{Items: all[start:end], NextPageToken: next}, nil
}

// Create adds a rule to a group, checked against the published rules of
// SecurityRuleSpec.
func (rs ruleServer) Create(_ context.Context, req *vpcpb.CreateSecurityRuleRequest) (*pb.Operation, error) {
	s := rs.s
	md, spec := req.GetMetadata(), req.GetSpec()
	if err := validateRule(md.GetName(), spec); err != nil {
		return nil, err
	}
	body, err := protojson.Marshal(spec)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	if s.findGroup(md.GetParentId()) == nil {
		return nil, notFound("vpc", md.GetParentId())
	}
	for _, r := range s.State.Rules {
		if r.GroupID == md.GetParentId() && r.Name == md.GetName() {
			return nil, status.Errorf(codes.AlreadyExists, "security rule %q already exists", md.GetName())
		}
	}
	r := &ruleRecord{ID: s.newID("vpcsecurityrule"), GroupID: md.GetParentId(), Name: md.GetName(), Spec: string(body), CreatedAt: now.UTC()}
	s.State.Rules = append(s.State.Rules, r)
	return s.operation(r.ID, "Create security rule", false, nil, now)
}

// validateRule checks a rule as the published SecurityRuleSpec has it:
// access, protocol and a match required, priority 0-1000, at most 8
// CIDRs and 8 ports of 1-65535.
func validateRule(name string, spec *vpcpb.SecurityRuleSpec) error {
	var cidrs []string
	var ports []int32
	switch m := spec.GetMatch().(type) {
	case *vpcpb.SecurityRuleSpec_Ingress:
		cidrs, ports = m.Ingress.GetSourceCidrs(), m.Ingress.GetDestinationPorts()
	case *vpcpb.SecurityRuleSpec_Egress:
		cidrs, ports = m.Egress.GetDestinationCidrs(), m.Egress.GetDestinationPorts()
	default:
		return badRequest("spec.match", "ingress or egress is required")
	}
	switch {
	case !vpcNamePattern.MatchString(name):
		return badRequest("metadata.name", "'name' must start with a letter or digit, allow '-', '_', '.', '/', and have a length between 2 and 255 characters.")
	case spec.GetAccess() == vpcpb.RuleAccessAction_ACCESS_UNSPECIFIED:
		return badRequest("spec.access", "access is required")
	case spec.GetProtocol() == vpcpb.RuleProtocol_PROTOCOL_UNSPECIFIED:
		return badRequest("spec.protocol", "protocol is required")
	case spec.GetPriority() < 0 || spec.GetPriority() > maxPriority:
		return badRequest("spec.priority", "value must be greater than or equal to 0 and less than or equal to %d", maxPriority)
	case len(cidrs) > maxRuleItems || len(ports) > maxRuleItems:
		return badRequest("spec.match", "value must contain no more than %d item(s)", maxRuleItems)
	}
	for _, p := range ports {
		if p < 1 || p > 65535 {
			return badRequest("spec.match.destination_ports", "value must be greater than or equal to 1 and less than or equal to 65535")
		}
	}
	return nil
}

func (rs ruleServer) Delete(_ context.Context, req *vpcpb.DeleteSecurityRuleRequest) (*pb.Operation, error) {
	s := rs.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	i := slices.IndexFunc(s.State.Rules, func(r *ruleRecord) bool { return r.ID == req.GetId() })
	if i < 0 {
		return nil, notFound("vpc", req.GetId())
	}
	s.State.Rules = slices.Delete(s.State.Rules, i, i+1)
	return s.operation(req.GetId(), "Delete security rule", true, nil, now)
}
