package runpod

import "github.com/gpusupply/supply/internal/vendors"

// RunPod exposes a pod's ports as the container's "ports"
// ("8888/tcp"; BaseContainerConfig) and maps each to a public port of the
// pod's host, which PodRuntime's ports list once it runs. It exposes TCP
// (and HTTP through its proxy) only.

// containerPorts are SSH and the asked ports, as a container's ports.
func containerPorts(ports []vendors.Port) []string {
	out := []string{vendors.SSH.String()}
	for _, p := range ports {
		out = append(out, p.String())
	}
	return out
}

// mappings are where RunPod mapped a running pod's ports, SSH aside.
func mappings(p pod) []vendors.PortMapping {
	if p.Runtime == nil {
		return nil
	}
	var out []vendors.PortMapping
	for _, rp := range p.Runtime.Ports {
		if rp.Private != 22 {
			out = append(out, vendors.PortMapping{Port: vendors.Port{Number: rp.Private, Protocol: rp.Type}, Public: rp.Public})
		}
	}
	return out
}

// PortProtocols says RunPod opens TCP ports only.
func (a *Adapter) PortProtocols() []string { return []string{vendors.TCP} }
