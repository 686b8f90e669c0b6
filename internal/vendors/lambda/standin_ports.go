package lambda

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// ruleset is a firewall ruleset as the stand-in keeps it.
type ruleset struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Region  string         `json:"region"`
	Rules   []firewallRule `json:"rules"`
	Created time.Time      `json:"created"`
}

// maxOpened bounds the ports a sandbox machine listens on for its
// rulesets: a rule may open thousands.
const maxOpened = 256

// routePorts adds the firewall ruleset paths to the stand-in's routes.
func (s *StandIn) routePorts(mux *http.ServeMux) {
	mux.HandleFunc("GET "+apiPrefix+"/firewall-rulesets", s.listRulesets)
	mux.HandleFunc("POST "+apiPrefix+"/firewall-rulesets", s.createRuleset)
	mux.HandleFunc("GET "+apiPrefix+"/firewall-rulesets/{id}", s.getRuleset)
	mux.HandleFunc("DELETE "+apiPrefix+"/firewall-rulesets/{id}", s.deleteRuleset)
}

// renderRuleset is a ruleset as Lambda's API shows it, with the live
// instances associated with it.
func (s *StandIn) renderRuleset(rs *ruleset) firewallRuleset {
	out := firewallRuleset{ID: rs.ID, Name: rs.Name, Region: s.regions[rs.Region], Rules: rs.Rules, Created: rs.Created, InstanceIDs: []string{}}
	for _, rec := range s.State.Instances {
		if rec.TerminatedAt.IsZero() && slices.Contains(rec.Firewalls, rs.ID) {
			out.InstanceIDs = append(out.InstanceIDs, rec.ID)
		}
	}
	slices.Sort(out.InstanceIDs)
	return out
}

func (s *StandIn) listRulesets(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		out := []firewallRuleset{}
		for _, rs := range s.State.Rulesets {
			out = append(out, s.renderRuleset(rs))
		}
		slices.SortFunc(out, func(a, b firewallRuleset) int { return strings.Compare(a.ID, b.ID) })
		writeData(w, out)
	})
}

// validateRules checks rules as Lambda's FirewallRule schema does.
func validateRules(rules []firewallRule) string {
	for _, r := range rules {
		switch {
		case !slices.Contains([]string{"tcp", "udp", "icmp", "all"}, r.Protocol):
			return fmt.Sprintf("Invalid protocol %q.", r.Protocol)
		case r.Protocol == "icmp" && r.PortRange != nil:
			return "port_range is not allowed for icmp."
		case r.Protocol != "icmp" && (len(r.PortRange) != 2 || r.PortRange[0] < 1 || r.PortRange[1] > 65535 || r.PortRange[0] > r.PortRange[1]):
			return "port_range must be [min, max] within 1-65535."
		case len(r.Description) > 128:
			return "description must be 128 characters or fewer."
		}
		if _, err := netip.ParsePrefix(r.SourceNetwork); err != nil {
			if _, err := netip.ParseAddr(r.SourceNetwork); err != nil {
				return fmt.Sprintf("Invalid source_network %q.", r.SourceNetwork)
			}
		}
	}
	return ""
}

func (s *StandIn) createRuleset(w http.ResponseWriter, r *http.Request) {
	var req createRulesetRequest
	if !decode(w, r, &req) {
		return
	}
	if msg := validateRules(req.Rules); msg != "" || req.Name == "" || len(req.Name) > 64 {
		writeError(w, http.StatusBadRequest, codeInvalidParameters, "Invalid firewall ruleset. "+msg, "")
		return
	}
	s.locked(w, func(now time.Time) {
		if _, ok := s.regions[req.Region]; !ok {
			writeError(w, http.StatusBadRequest, codeInvalidParameters, "Region "+req.Region+" does not exist.", "")
			return
		}
		rs := &ruleset{ID: newID(), Name: req.Name, Region: req.Region, Rules: req.Rules, Created: now}
		if s.State.Rulesets == nil {
			s.State.Rulesets = map[string]*ruleset{}
		}
		s.State.Rulesets[rs.ID] = rs
		if !s.Saved(w) {
			return
		}
		writeData(w, s.renderRuleset(rs))
	})
}

func (s *StandIn) getRuleset(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		rs := s.State.Rulesets[r.PathValue("id")]
		if rs == nil {
			writeRulesetNotFound(w)
			return
		}
		writeData(w, s.renderRuleset(rs))
	})
}

func (s *StandIn) deleteRuleset(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		rs := s.State.Rulesets[r.PathValue("id")]
		switch {
		case rs == nil:
			writeRulesetNotFound(w)
			return
		case len(s.renderRuleset(rs).InstanceIDs) > 0:
			writeError(w, http.StatusBadRequest, codeFirewallInUse, "Firewall ruleset is in use by one or more instances.",
				"Terminate all instances that are using the ruleset before deleting it.")
			return
		}
		delete(s.State.Rulesets, rs.ID)
		if !s.Saved(w) {
			return
		}
		writeData(w, emptyResponse{})
	})
}

func writeRulesetNotFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, codeObjectDoesNotExist, "Firewall ruleset does not exist or you do not have permission to access it.",
		"Check your firewall ruleset ID and try again.")
}

// launchRulesets checks the rulesets a launch names (they must exist, in
// the launch's region) and returns their ids, or a complaint.
func (s *StandIn) launchRulesets(req launchRequest) ([]string, string) {
	var ids []string
	for _, e := range req.FirewallRulesets {
		rs := s.State.Rulesets[e.ID]
		switch {
		case rs == nil:
			return nil, "Firewall ruleset " + e.ID + " does not exist."
		case rs.Region != req.RegionName:
			return nil, "Firewall ruleset " + e.ID + " is not in region " + req.RegionName + "."
		}
		ids = append(ids, e.ID)
	}
	return ids, ""
}

// openedPorts are the ports an instance's rulesets open besides SSH,
// which its sandbox machine listens on.
func (s *StandIn) openedPorts(rec *record) []standin.OpenPort {
	var out []standin.OpenPort
	for _, id := range rec.Firewalls {
		rs := s.State.Rulesets[id]
		if rs == nil {
			continue
		}
		for _, r := range rs.Rules {
			if r.Protocol != "tcp" && r.Protocol != "udp" {
				continue
			}
			for p := r.PortRange[0]; p <= r.PortRange[1] && len(out) < maxOpened; p++ {
				op := standin.OpenPort{Port: p, Protocol: r.Protocol}
				if (p != 22 || r.Protocol != "tcp") && !slices.Contains(out, op) {
					out = append(out, op)
				}
			}
		}
	}
	return out
}
