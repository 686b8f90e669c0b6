package vultr

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// firewallGroup is a firewall group as the stand-in keeps it.
type firewallGroup struct {
	ID          string             `json:"id"`
	Description string             `json:"description"`
	Created     time.Time          `json:"created"`
	Modified    time.Time          `json:"modified"`
	Rules       []firewallRuleWire `json:"rules"`
}

// Vultr's rule limit per group (the description's max_rule_count example)
// and the most ports a sandbox machine listens on for its rules.
const (
	maxRules  = 50
	maxOpened = 256
)

// routePorts adds the firewall group paths to the stand-in's routes.
func (s *StandIn) routePorts(mux *http.ServeMux) {
	mux.HandleFunc("GET "+apiPrefix+"/firewalls", s.listFirewalls)
	mux.HandleFunc("POST "+apiPrefix+"/firewalls", s.createFirewall)
	mux.HandleFunc("DELETE "+apiPrefix+"/firewalls/{id}", s.deleteFirewall)
	mux.HandleFunc("GET "+apiPrefix+"/firewalls/{id}/rules", s.listRules)
	mux.HandleFunc("POST "+apiPrefix+"/firewalls/{id}/rules", s.createRule)
}

// renderFirewall is a group as Vultr shows it, with the instances in it.
func (s *StandIn) renderFirewall(g *firewallGroup) firewallGroupWire {
	n := 0
	for _, rec := range s.State.Instances {
		if rec.FirewallGroupID == g.ID {
			n++
		}
	}
	return firewallGroupWire{ID: g.ID, Description: g.Description, DateCreated: stamp(g.Created), DateModified: stamp(g.Modified),
		InstanceCount: n, RuleCount: len(g.Rules), MaxRuleCount: maxRules}
}

func (s *StandIn) listFirewalls(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		var out []firewallGroupWire
		for _, id := range slices.Sorted(maps.Keys(s.State.Firewalls)) {
			out = append(out, s.renderFirewall(s.State.Firewalls[id]))
		}
		page, meta, ok := paginate(w, r, out)
		if ok {
			standin.WriteJSON(w, http.StatusOK, firewallGroupsPage{FirewallGroups: page, Meta: meta})
		}
	})
}

func (s *StandIn) createFirewall(w http.ResponseWriter, r *http.Request) {
	var req createFirewallGroupWire
	if !decode(w, r, &req) {
		return
	}
	s.locked(w, func(now time.Time) {
		g := &firewallGroup{ID: newID()[:8], Description: req.Description, Created: now, Modified: now}
		if s.State.Firewalls == nil {
			s.State.Firewalls = map[string]*firewallGroup{}
		}
		s.State.Firewalls[g.ID] = g
		if !s.Saved(w) {
			return
		}
		standin.WriteJSON(w, http.StatusCreated, firewallGroupAnswer{FirewallGroup: s.renderFirewall(g)})
	})
}

// withFirewall runs f on the group the path names, or answers 404.
func (s *StandIn) withFirewall(w http.ResponseWriter, r *http.Request, f func(g *firewallGroup, now time.Time)) {
	s.locked(w, func(now time.Time) {
		g := s.State.Firewalls[r.PathValue("id")]
		if g == nil {
			writeError(w, http.StatusNotFound, "Invalid firewall group.")
			return
		}
		f(g, now)
	})
}

// deleteFirewall deletes a group. The description documents no refusal
// for a group instances are in, so none is made up here.
func (s *StandIn) deleteFirewall(w http.ResponseWriter, r *http.Request) {
	s.withFirewall(w, r, func(g *firewallGroup, _ time.Time) {
		delete(s.State.Firewalls, g.ID)
		s.savedNoContent(w)
	})
}

func (s *StandIn) listRules(w http.ResponseWriter, r *http.Request) {
	s.withFirewall(w, r, func(g *firewallGroup, _ time.Time) {
		page, meta, ok := paginate(w, r, append([]firewallRuleWire{}, g.Rules...))
		if ok {
			standin.WriteJSON(w, http.StatusOK, firewallRulesPage{FirewallRules: page, Meta: meta})
		}
	})
}

// portRange reads a rule's port: one port or "from:to", within 1-65535.
func portRange(port string) (from, to int, ok bool) {
	a, b, isRange := strings.Cut(port, ":")
	from, err := strconv.Atoi(a)
	if err != nil {
		return 0, 0, false
	}
	to = from
	if isRange {
		if to, err = strconv.Atoi(b); err != nil {
			return 0, 0, false
		}
	}
	return from, to, from >= 1 && to <= 65535 && from <= to
}

func (s *StandIn) createRule(w http.ResponseWriter, r *http.Request) {
	var req createFirewallRuleWire
	if !decode(w, r, &req) {
		return
	}
	protocol := strings.ToLower(req.Protocol)
	_, _, okPort := portRange(req.Port)
	switch {
	case req.IPType != "v4" && req.IPType != "v6":
		writeError(w, http.StatusBadRequest, "Invalid ip_type.")
		return
	case !slices.Contains([]string{"icmp", "tcp", "udp", "gre", "esp", "ah"}, protocol):
		writeError(w, http.StatusBadRequest, "Invalid protocol.")
		return
	case (protocol == "tcp" || protocol == "udp") && !okPort:
		writeError(w, http.StatusBadRequest, "Invalid port.")
		return
	case req.Subnet == "":
		writeError(w, http.StatusBadRequest, "Invalid subnet.")
		return
	}
	s.withFirewall(w, r, func(g *firewallGroup, now time.Time) {
		if len(g.Rules) >= maxRules {
			writeError(w, http.StatusBadRequest, "Unable to add rule: firewall group rule limit reached.")
			return
		}
		rule := firewallRuleWire{ID: len(g.Rules) + 1, Type: req.IPType, IPType: req.IPType, Action: "accept", Protocol: protocol,
			Port: req.Port, Subnet: req.Subnet, SubnetSize: req.SubnetSize, Source: req.Source, Notes: req.Notes}
		g.Rules, g.Modified = append(g.Rules, rule), now
		if !s.Saved(w) {
			return
		}
		standin.WriteJSON(w, http.StatusCreated, firewallRuleAnswer{FirewallRule: rule})
	})
}

// openedPorts are the TCP and UDP ports the instance's group opens
// besides SSH, which its sandbox machine listens on.
func (s *StandIn) openedPorts(rec *record) []standin.OpenPort {
	g := s.State.Firewalls[rec.FirewallGroupID]
	if g == nil {
		return nil
	}
	var out []standin.OpenPort
	for _, r := range g.Rules {
		from, to, ok := portRange(r.Port)
		if !ok || (r.Protocol != "tcp" && r.Protocol != "udp") {
			continue
		}
		for p := from; p <= to && len(out) < maxOpened; p++ {
			op := standin.OpenPort{Port: p, Protocol: r.Protocol}
			if (p != 22 || r.Protocol != "tcp") && !slices.Contains(out, op) {
				out = append(out, op)
			}
		}
	}
	return out
}
