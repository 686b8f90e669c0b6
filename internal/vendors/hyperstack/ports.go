package hyperstack

import "github.com/gpusupply/supply/internal/vendors"

// Open ports on Hyperstack are the security rules of the VM's create
// request (Create_Instances_Payload.security_rules): ingress from anywhere
// to exactly SSH and the asked ports. They belong to the VM and go with
// it, so nothing is left to delete.

// securityRules open ports and SSH, one rule per run of ports.
func securityRules(ports []vendors.Port) []securityRulePayload {
	var out []securityRulePayload
	for _, r := range vendors.Ranges(ports) {
		out = append(out, securityRulePayload{Direction: "ingress", Ethertype: "IPv4", Protocol: r.Protocol,
			RemoteIPPrefix: "0.0.0.0/0", PortRangeMin: r.From, PortRangeMax: r.To})
	}
	return out
}
