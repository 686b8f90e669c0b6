package digitalocean

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// fwRecord is a cloud firewall as the stand-in keeps it.
type fwRecord struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Inbound    []inboundRule  `json:"inbound_rules"`
	Outbound   []outboundRule `json:"outbound_rules"`
	DropletIDs []int          `json:"droplet_ids"`
	Tags       []string       `json:"tags"`
	CreatedAt  time.Time      `json:"created_at"`
}

// firewallNamePattern is firewall.yml's pattern for a name.
var firewallNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9\.-]+$`)

// maxOpened bounds the ports a sandbox machine listens on for its
// firewalls: a rule may open thousands.
const maxOpened = 256

func (s *StandIn) renderFirewall(fw *fwRecord) firewallBody {
	return firewallBody{ID: fw.ID, Status: "succeeded", CreatedAt: fw.CreatedAt.UTC().Format(time.RFC3339), PendingChanges: []pendingChange{},
		Name: fw.Name, DropletIDs: append([]int{}, fw.DropletIDs...), Tags: append([]string{}, fw.Tags...),
		InboundRules: fw.Inbound, OutboundRules: fw.Outbound}
}

func (s *StandIn) listFirewalls(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		all := []firewallBody{}
		for _, id := range slices.Sorted(maps.Keys(s.State.Firewalls)) {
			all = append(all, s.renderFirewall(s.State.Firewalls[id]))
		}
		got, links := page(r, all)
		standin.WriteJSON(w, http.StatusOK, firewallsList{Firewalls: got, Links: links, Meta: meta{Total: len(all)}})
	})
}

// validRules checks inbound rules as firewall_rule.yml does, for the
// protocols and port spans the stand-in opens, and returns the complaint.
func validRules(rules []inboundRule) string {
	for _, r := range rules {
		if !slices.Contains([]string{"tcp", "udp", "icmp"}, r.Protocol) {
			return fmt.Sprintf("Invalid protocol %q.", r.Protocol)
		}
		if r.Protocol != "icmp" {
			if _, _, ok := span(r.Ports); !ok {
				return fmt.Sprintf("Invalid ports %q: a port, a range such as 8000-9000, or 0 for all.", r.Ports)
			}
		}
	}
	return ""
}

// span reads a rule's ports: "8000", "8000-8010", or "0" for every port.
func span(ports string) (from, to int, ok bool) {
	if ports == "0" {
		return 1, 65535, true
	}
	a, b, ranged := strings.Cut(ports, "-")
	from, err1 := strconv.Atoi(a)
	to, err2 := from, error(nil)
	if ranged {
		to, err2 = strconv.Atoi(b)
	}
	return from, to, err1 == nil && err2 == nil && from >= 1 && to <= 65535 && from <= to
}

func (s *StandIn) createFirewall(w http.ResponseWriter, r *http.Request) {
	var req firewallCreate
	if !decode(w, r, &req) {
		return
	}
	if !firewallNamePattern.MatchString(req.Name) {
		writeError(w, http.StatusBadRequest, "bad_request", "Name must begin with an alphanumeric character, then alphanumerics, periods or dashes.")
		return
	}
	if msg := validRules(req.InboundRules); msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	s.locked(w, func(now time.Time) {
		for _, id := range req.DropletIDs {
			if s.State.Droplets[strconv.Itoa(id)] == nil {
				writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("Droplet %d not found.", id))
				return
			}
		}
		fw := &fwRecord{ID: newUUID(), Name: req.Name, Inbound: req.InboundRules, Outbound: req.OutboundRules,
			DropletIDs: req.DropletIDs, Tags: req.Tags, CreatedAt: now}
		if s.State.Firewalls == nil {
			s.State.Firewalls = map[string]*fwRecord{}
		}
		s.State.Firewalls[fw.ID] = fw
		if !s.Saved(w) {
			return
		}
		standin.WriteJSON(w, http.StatusAccepted, firewallAnswer{Firewall: s.renderFirewall(fw)})
	})
}

func (s *StandIn) getFirewall(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		fw := s.State.Firewalls[r.PathValue("id")]
		if fw == nil {
			writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
			return
		}
		standin.WriteJSON(w, http.StatusOK, firewallAnswer{Firewall: s.renderFirewall(fw)})
	})
}

func (s *StandIn) deleteFirewall(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		id := r.PathValue("id")
		if s.State.Firewalls[id] == nil {
			writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
			return
		}
		delete(s.State.Firewalls, id)
		if !s.Saved(w) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// addDroplets assigns Droplets to a firewall (204).
func (s *StandIn) addDroplets(w http.ResponseWriter, r *http.Request) {
	var req firewallDroplets
	if !decode(w, r, &req) {
		return
	}
	s.locked(w, func(time.Time) {
		fw := s.State.Firewalls[r.PathValue("id")]
		if fw == nil {
			writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
			return
		}
		for _, id := range req.DropletIDs {
			if s.State.Droplets[strconv.Itoa(id)] == nil {
				writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("Droplet %d not found.", id))
				return
			}
			if !slices.Contains(fw.DropletIDs, id) {
				fw.DropletIDs = append(fw.DropletIDs, id)
			}
		}
		if !s.Saved(w) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// unassign takes a destroyed Droplet out of every firewall, as
// DigitalOcean does.
func (s *StandIn) unassign(id int) {
	for _, fw := range s.State.Firewalls {
		fw.DropletIDs = slices.DeleteFunc(fw.DropletIDs, func(d int) bool { return d == id })
	}
}

// openedPorts are the ports the Droplet's firewalls open besides SSH, at
// most maxOpened; a Droplet in no firewall has none (the sandbox's hosts
// open only what is asked).
func (s *StandIn) openedPorts(rec *record) []standin.OpenPort {
	var out []standin.OpenPort
	for _, id := range slices.Sorted(maps.Keys(s.State.Firewalls)) {
		fw := s.State.Firewalls[id]
		if !slices.Contains(fw.DropletIDs, rec.ID) {
			continue
		}
		for _, r := range fw.Inbound {
			from, to, ok := span(r.Ports)
			for p := from; ok && r.Protocol != "icmp" && p <= to && len(out) < maxOpened; p++ {
				if op := (standin.OpenPort{Port: p, Protocol: r.Protocol}); p != 22 && !slices.Contains(out, op) {
					out = append(out, op)
				}
			}
		}
	}
	return out
}
