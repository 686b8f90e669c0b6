package scaleway

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/scaleway/scaleway-sdk-go/api/instance/v1"
	"github.com/scaleway/scaleway-sdk-go/scw"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// The stand-in's security groups answer in the SDK's own types: unlike
// servers and volumes (standin_wire.go), no recording of Scaleway's shows
// a security group, so the SDK (which every Scaleway client decodes them
// with) is the only description there is. Requests are read strictly into
// the SDK's request types, as every other request is.

// securityGroupRecord is one security group as the stand-in keeps it.
type securityGroupRecord struct {
	ID          string                        `json:"id"`
	Name        string                        `json:"name"`
	Description string                        `json:"description"`
	Zone        string                        `json:"zone"`
	Project     string                        `json:"project"`
	Tags        []string                      `json:"tags"`
	Stateful    bool                          `json:"stateful"`
	Inbound     instance.SecurityGroupPolicy  `json:"inbound_default_policy"`
	Outbound    instance.SecurityGroupPolicy  `json:"outbound_default_policy"`
	Rules       []*instance.SecurityGroupRule `json:"rules"`
	CreatedAt   time.Time                     `json:"created_at"`
	ModifiedAt  time.Time                     `json:"modified_at"`
}

// maxOpened bounds the ports a sandbox machine listens on for its group:
// a rule may open thousands.
const maxOpened = 256

// routePorts adds the security group paths to the stand-in's routes.
func (s *StandIn) routePorts(mux *http.ServeMux, zone string) {
	mux.HandleFunc("GET "+zone+"/security_groups", s.listSecurityGroups)
	mux.HandleFunc("POST "+zone+"/security_groups", s.createSecurityGroup)
	mux.HandleFunc("GET "+zone+"/security_groups/{id}", s.getSecurityGroup)
	mux.HandleFunc("DELETE "+zone+"/security_groups/{id}", s.deleteSecurityGroup)
	mux.HandleFunc("PUT "+zone+"/security_groups/{id}/rules", s.setSecurityGroupRules)
}

// groupView is a security group as the API shows it, with the servers
// that use it and are not gone; the caller holds s.Mu.
func (s *StandIn) groupView(g *securityGroupRecord, now time.Time) *instance.SecurityGroup {
	created, modified := g.CreatedAt, g.ModifiedAt
	v := &instance.SecurityGroup{ID: g.ID, Name: g.Name, Description: g.Description, EnableDefaultSecurity: true,
		InboundDefaultPolicy: g.Inbound, OutboundDefaultPolicy: g.Outbound, Organization: g.Project, Project: g.Project,
		Tags: standin.NonNil(g.Tags), CreationDate: &created, ModificationDate: &modified, Servers: []*instance.ServerSummary{},
		Stateful: g.Stateful, State: instance.SecurityGroupStateAvailable, Zone: scw.Zone(g.Zone)}
	for _, srv := range s.State.Servers {
		if srv.SecurityGroup == g.ID && s.phase(srv, now) != phaseGone {
			v.Servers = append(v.Servers, &instance.ServerSummary{ID: srv.ID, Name: srv.Name})
		}
	}
	return v
}

// group finds the security group of a request's {zone} and {id}; the
// caller holds s.Mu.
func (s *StandIn) group(zone, id string) *securityGroupRecord {
	i := slices.IndexFunc(s.State.SecurityGroups, func(g *securityGroupRecord) bool { return g.ID == id && g.Zone == zone })
	if i < 0 {
		return nil
	}
	return s.State.SecurityGroups[i]
}

func (s *StandIn) listSecurityGroups(w http.ResponseWriter, r *http.Request) {
	zone, ok := s.knownZone(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	out := []*instance.SecurityGroup{}
	for _, g := range s.State.SecurityGroups {
		if g.Zone == zone && strings.Contains(g.Name, q.Get("name")) && (q.Get("project") == "" || q.Get("project") == g.Project) {
			out = append(out, s.groupView(g, now))
		}
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(len(out)))
	standin.WriteJSON(w, http.StatusOK, instance.ListSecurityGroupsResponse{TotalCount: uint32(len(out)), SecurityGroups: out})
}

func (s *StandIn) createSecurityGroup(w http.ResponseWriter, r *http.Request) {
	zone, ok := s.knownZone(w, r)
	if !ok {
		return
	}
	var req instance.CreateSecurityGroupRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	if req.Project == nil && req.Organization == nil {
		invalidArgument(w, "project", "required", "required key not provided")
		return
	}
	project := req.Project
	if project == nil {
		project = req.Organization
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now().UTC()
	g := &securityGroupRecord{ID: uuid.NewString(), Name: req.Name, Description: req.Description, Zone: zone, Project: *project,
		Tags: req.Tags, Stateful: req.Stateful, Inbound: policy(req.InboundDefaultPolicy), Outbound: policy(req.OutboundDefaultPolicy),
		Rules: []*instance.SecurityGroupRule{}, CreatedAt: now, ModifiedAt: now}
	if g.Name == "" {
		g.Name = "sg-" + g.ID[:8]
	}
	s.State.SecurityGroups = append(s.State.SecurityGroups, g)
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusCreated, instance.CreateSecurityGroupResponse{SecurityGroup: s.groupView(g, now)})
}

// policy is a default policy asked for, accept when none is: Scaleway's
// default for both directions.
func policy(p instance.SecurityGroupPolicy) instance.SecurityGroupPolicy {
	if p == "" || p == instance.SecurityGroupPolicyUnknownPolicy {
		return instance.SecurityGroupPolicyAccept
	}
	return p
}

func (s *StandIn) getSecurityGroup(w http.ResponseWriter, r *http.Request) {
	zone, ok := s.knownZone(w, r)
	if !ok {
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	g := s.group(zone, r.PathValue("id"))
	if g == nil {
		notFound(w, "instance_security_group", r.PathValue("id"))
		return
	}
	standin.WriteJSON(w, http.StatusOK, instance.GetSecurityGroupResponse{SecurityGroup: s.groupView(g, s.Now())})
}

// deleteSecurityGroup deletes a group no server uses; one still used
// (its server being deleted) is refused until it is free.
func (s *StandIn) deleteSecurityGroup(w http.ResponseWriter, r *http.Request) {
	zone, ok := s.knownZone(w, r)
	if !ok {
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	g := s.group(zone, r.PathValue("id"))
	if g == nil {
		notFound(w, "instance_security_group", r.PathValue("id"))
		return
	}
	if len(s.groupView(g, s.Now()).Servers) > 0 {
		writeError(w, http.StatusBadRequest, errorEnvelope{Type: "precondition_failed", Message: "security group is in use by servers",
			Precondition: "resource_still_in_use", HelpMessage: "delete or move its servers first"})
		return
	}
	s.State.SecurityGroups = slices.DeleteFunc(s.State.SecurityGroups, func(x *securityGroupRecord) bool { return x == g })
	if !s.Saved(w) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// setSecurityGroupRules replaces every rule of a group; the servers that
// use it open what the rules accept from their next boot.
func (s *StandIn) setSecurityGroupRules(w http.ResponseWriter, r *http.Request) {
	zone, ok := s.knownZone(w, r)
	if !ok {
		return
	}
	var req instance.SetSecurityGroupRulesRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	for i, rule := range req.Rules {
		if msg := validateRule(rule); msg != "" {
			invalidArgument(w, "rules."+strconv.Itoa(i), "constraint", msg)
			return
		}
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	g := s.group(zone, r.PathValue("id"))
	if g == nil {
		notFound(w, "instance_security_group", r.PathValue("id"))
		return
	}
	g.Rules = []*instance.SecurityGroupRule{}
	for _, rule := range req.Rules {
		g.Rules = append(g.Rules, &instance.SecurityGroupRule{ID: uuid.NewString(), Protocol: rule.Protocol, Direction: rule.Direction,
			Action: rule.Action, IPRange: rule.IPRange, DestPortFrom: rule.DestPortFrom, DestPortTo: rule.DestPortTo,
			Position: rule.Position, Editable: true, Zone: scw.Zone(zone)})
	}
	g.ModifiedAt = s.Now().UTC()
	for _, srv := range s.State.Servers {
		if srv.SecurityGroup == g.ID {
			srv.Ports = openedPorts(g)
		}
	}
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, instance.SetSecurityGroupRulesResponse{Rules: g.Rules})
}

// validateRule checks a rule as the SDK's enums and Scaleway's ports
// bound it.
func validateRule(r *instance.SetSecurityGroupRulesRequestRule) string {
	switch {
	case !slices.Contains([]instance.SecurityGroupRuleProtocol{instance.SecurityGroupRuleProtocolTCP, instance.SecurityGroupRuleProtocolUDP,
		instance.SecurityGroupRuleProtocolICMP, instance.SecurityGroupRuleProtocolANY}, r.Protocol):
		return "unknown protocol " + string(r.Protocol)
	case r.Direction != instance.SecurityGroupRuleDirectionInbound && r.Direction != instance.SecurityGroupRuleDirectionOutbound:
		return "unknown direction " + string(r.Direction)
	case r.Action != instance.SecurityGroupRuleActionAccept && r.Action != instance.SecurityGroupRuleActionDrop:
		return "unknown action " + string(r.Action)
	case r.DestPortFrom != nil && (*r.DestPortFrom < 1 || *r.DestPortFrom > 65535),
		r.DestPortTo != nil && (r.DestPortFrom == nil || *r.DestPortTo < *r.DestPortFrom || *r.DestPortTo > 65535):
		return "ports must be within 1-65535, dest_port_to not below dest_port_from"
	}
	return ""
}

// openedPorts are the ports a group's inbound accept rules open besides
// SSH, which the sandbox machines that use it listen on.
func openedPorts(g *securityGroupRecord) []standin.OpenPort {
	var out []standin.OpenPort
	for _, r := range g.Rules {
		proto := strings.ToLower(string(r.Protocol))
		if r.Direction != instance.SecurityGroupRuleDirectionInbound || r.Action != instance.SecurityGroupRuleActionAccept ||
			(proto != "tcp" && proto != "udp") || r.DestPortFrom == nil {
			continue
		}
		to := *r.DestPortFrom
		if r.DestPortTo != nil {
			to = *r.DestPortTo
		}
		for p := *r.DestPortFrom; p <= to && len(out) < maxOpened; p++ {
			op := standin.OpenPort{Port: int(p), Protocol: proto}
			if (p != 22 || proto != "tcp") && !slices.Contains(out, op) {
				out = append(out, op)
			}
		}
	}
	return out
}

// serverGroup resolves a create's security_group in zone: the group's
// record, or nil for the project's default (none asked). It answers 404
// and returns false for a group the zone does not have; the caller holds
// s.Mu.
func (s *StandIn) serverGroup(w http.ResponseWriter, zone string, id *string) (*securityGroupRecord, bool) {
	if id == nil {
		return nil, true
	}
	g := s.group(zone, *id)
	if g == nil {
		notFound(w, "instance_security_group", *id)
		return nil, false
	}
	return g, true
}

// groupRef is the security_group of a server's answer: its own group, or
// the project's default.
func (s *StandIn) groupRef(srv *serverRecord) nameRef {
	if g := s.group(srv.Zone, srv.SecurityGroup); g != nil {
		return nameRef{ID: g.ID, Name: g.Name}
	}
	return nameRef{ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte("sg/"+srv.Project+"/"+srv.Zone)).String(), Name: "Default security group"}
}
