package lambda

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/gpusupply/supply/internal/vendors"
)

// Open ports on Lambda are a firewall ruleset per instance
// (FirewallRuleset in Lambda's description), named for the resource
// (vendors.FirewallName: rulesets have no tags), made before the launch
// and associated with the instance by it, and deleted once the instance
// is gone: Lambda refuses to delete a ruleset an instance still uses.

// firewallRule is FirewallRule.
type firewallRule struct {
	Protocol      string `json:"protocol"`
	PortRange     []int  `json:"port_range,omitempty"`
	SourceNetwork string `json:"source_network"`
	Description   string `json:"description"`
}

// firewallRuleset is FirewallRuleset.
type firewallRuleset struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Region      region         `json:"region"`
	Rules       []firewallRule `json:"rules"`
	Created     time.Time      `json:"created"`
	InstanceIDs []string       `json:"instance_ids"`
}

// createRulesetRequest is FirewallRulesetCreateRequest.
type createRulesetRequest struct {
	Name   string         `json:"name"`
	Region string         `json:"region"`
	Rules  []firewallRule `json:"rules"`
}

// rulesetEntry is FirewallRulesetEntry, how a launch names a ruleset.
type rulesetEntry struct {
	ID string `json:"id"`
}

// emptyResponse is EmptyResponse, DELETE's data.
type emptyResponse struct{}

var _ vendors.Firewalls = (*Adapter)(nil)

// rules open exactly ports and SSH, from anywhere.
func rules(ports []vendors.Port) []firewallRule {
	var out []firewallRule
	for _, r := range vendors.Ranges(ports) {
		out = append(out, firewallRule{Protocol: r.Protocol, PortRange: []int{r.From, r.To}, SourceNetwork: "0.0.0.0/0",
			Description: "supply: open " + vendors.Port{Number: r.From, Protocol: r.Protocol}.String()})
	}
	return out
}

// ensureRuleset returns the id of the resource's ruleset, made now unless
// an earlier try made it (found by its name, so a retried create makes no
// second one).
func (a *Adapter) ensureRuleset(ctx context.Context, req vendors.CreateRequest) (string, error) {
	name := vendors.FirewallName(req.Owner, req.ResourceID)
	all, err := a.rulesets(ctx)
	if err != nil {
		return "", err
	}
	for _, rs := range all {
		if rs.Name == name {
			return rs.ID, nil
		}
	}
	var made envelope[firewallRuleset]
	err = a.client.Do(ctx, vendors.Request{Op: "create firewall ruleset", Method: http.MethodPost, Path: "/firewall-rulesets",
		JSON: createRulesetRequest{Name: name, Region: req.Region, Rules: rules(req.Ports)}}, &made)
	return made.Data.ID, err
}

func (a *Adapter) rulesets(ctx context.Context) ([]firewallRuleset, error) {
	var all envelope[[]firewallRuleset]
	err := a.client.Do(ctx, vendors.Request{Op: "list firewall rulesets", Method: http.MethodGet, Path: "/firewall-rulesets"}, &all)
	return all.Data, err
}

// Firewalls lists the rulesets supply made.
func (a *Adapter) Firewalls(ctx context.Context) ([]vendors.Firewall, error) {
	all, err := a.rulesets(ctx)
	if err != nil {
		return nil, err
	}
	var out []vendors.Firewall
	for _, rs := range all {
		if owner, id := vendors.ParseName(rs.Name); id != "" {
			out = append(out, vendors.Firewall{ID: rs.ID, Name: rs.Name, ResourceID: id, Owner: owner, InUse: len(rs.InstanceIDs) > 0})
		}
	}
	return out, nil
}

// DeleteFirewall deletes a ruleset; one Lambda no longer knows is gone.
func (a *Adapter) DeleteFirewall(ctx context.Context, id string) error {
	err := a.client.Do(ctx, vendors.Request{Op: "delete firewall ruleset", Method: http.MethodDelete,
		Path: "/firewall-rulesets/" + url.PathEscape(id), Repeatable: true}, nil)
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}
