package vendors

import (
	"context"
	"slices"
	"strconv"
)

// Port is one port a renter asks to open on an instance
// (CreateRequest.Ports): a number and "tcp" or "udp".
type Port struct {
	Number   int    `json:"port"`
	Protocol string `json:"protocol"`
}

// The protocols a port may be opened for.
const (
	TCP = "tcp"
	UDP = "udp"
)

// String is the port as "8888/tcp".
func (p Port) String() string { return strconv.Itoa(p.Number) + "/" + p.Protocol }

// PortMapping is where a vendor that maps ports (a container vendor) put
// an asked port: Public on the instance's ExternalIP. Vendors that open
// the port itself (virtual machines behind a firewall) report none.
type PortMapping struct {
	Port
	Public int `json:"public_port"`
}

// SSH is the port every instance has open, whatever the renter asks.
var SSH = Port{Number: 22, Protocol: TCP}

// PortRange is a run of consecutive ports of one protocol, From to To
// inclusive: the shape of a firewall rule.
type PortRange struct {
	From, To int
	Protocol string
}

// Ranges folds ports, with SSH, into the fewest ranges per protocol, in
// order: what a firewall that opens exactly them needs.
func Ranges(ports []Port) []PortRange {
	all := append([]Port{SSH}, ports...)
	slices.SortFunc(all, func(a, b Port) int {
		if a.Protocol != b.Protocol {
			if a.Protocol < b.Protocol {
				return -1
			}
			return 1
		}
		return a.Number - b.Number
	})
	all = slices.Compact(all)
	var out []PortRange
	for _, p := range all {
		if n := len(out); n > 0 && out[n-1].Protocol == p.Protocol && out[n-1].To+1 == p.Number {
			out[n-1].To = p.Number
			continue
		}
		out = append(out, PortRange{From: p.Number, To: p.Number, Protocol: p.Protocol})
	}
	return out
}

// Firewall is a vendor object that opens an instance's ports (a Lambda
// firewall ruleset): supply makes one per instance, named FirewallName,
// and removes it once the instance is gone.
type Firewall struct {
	ID, Name string
	// ResourceID and Owner are read back from the name (ParseName).
	ResourceID, Owner string
	// InUse: the vendor still has it attached to an instance.
	InUse bool
}

// Firewalls is implemented by vendors whose open ports are firewall
// objects of their own that outlive the instance: supply deletes the one
// of a resource once its instance is gone, and the reconciler deletes
// those of ours that no live resource accounts for.
type Firewalls interface {
	// Firewalls lists the firewalls supply made (named by FirewallName).
	Firewalls(ctx context.Context) ([]Firewall, error)
	// DeleteFirewall deletes one; a missing firewall is not an error.
	DeleteFirewall(ctx context.Context, id string) error
}

// FirewallName names the firewall of a resource as OwnedName names an
// instance, so that its owner and resource are read back from the name on
// vendors whose firewalls have no tags.
func FirewallName(owner, resourceID string) string { return OwnedName(owner, resourceID) }

// MaxPorts bounds how many ports one instance may ask to open: a range is
// as many ports as it spans, each shown with its own mapping.
const MaxPorts = 64

// PortProtocols is implemented by vendors that open ports of some
// protocols only (RunPod: TCP), so that asking for another is refused at
// request time.
type PortProtocols interface {
	PortProtocols() []string
}
