package runpod

import (
	"strconv"
	"strings"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// podPorts are the ports a pod exposes besides SSH, each mapped by RunPod
// to a public port of its host: where they listened last, or as the pod's
// ports ask before it first ran.
func podPorts(p *podRecord) []standin.OpenPort {
	if len(p.PortMap) > 0 {
		return p.PortMap
	}
	var out []standin.OpenPort
	for _, spec := range p.Ports {
		n, proto, _ := strings.Cut(spec, "/")
		port, err := strconv.Atoi(n)
		if err != nil || spec == "22/tcp" {
			continue
		}
		if proto == "http" {
			proto = "tcp" // RunPod's proxy speaks HTTP over TCP
		}
		out = append(out, standin.OpenPort{Port: port, Protocol: proto, Mapped: true})
	}
	return out
}

// runtimePorts are the pod's mapped ports as PodRuntime lists them, SSH
// first.
func runtimePorts(p *podRecord) []runtimePort {
	out := []runtimePort{{Private: 22, Public: p.SSHPort, Type: "tcp", IP: p.IP}}
	for _, op := range p.PortMap {
		if op.Public > 0 {
			out = append(out, runtimePort{Private: op.Port, Public: op.Public, Type: op.Protocol, IP: p.IP})
		}
	}
	return out
}
