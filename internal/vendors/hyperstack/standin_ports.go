package hyperstack

import (
	"slices"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// maxOpened bounds the ports a sandbox machine listens on for its rules:
// a rule may open thousands.
const maxOpened = 256

// openedPorts are the ports a VM's ingress rules open besides SSH, which
// its sandbox machine listens on.
func openedPorts(rules []securityRule) []standin.OpenPort {
	var out []standin.OpenPort
	for _, r := range rules {
		if r.Direction != "ingress" || (r.Protocol != "tcp" && r.Protocol != "udp") {
			continue
		}
		for p := r.PortRangeMin; p <= r.PortRangeMax && len(out) < maxOpened; p++ {
			op := standin.OpenPort{Port: p, Protocol: r.Protocol}
			if (p != 22 || r.Protocol != "tcp") && !slices.Contains(out, op) {
				out = append(out, op)
			}
		}
	}
	return out
}
