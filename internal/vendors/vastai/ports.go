package vastai

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gpusupply/supply/internal/vendors"
)

// Vast.ai opens a container's ports from Docker's -p flags in the rent's
// env ("-p 8000:8000"; the create request's env in Vast's description)
// and maps each to a port of its host, which a running instance's ports
// map lists ("8000/tcp": [{"HostIp", "HostPort"}]).

// portFlags are the asked ports as Docker flags, each "-p N:N" (with
// "/udp" for UDP).
func portFlags(ports []vendors.Port) string {
	var flags []string
	for _, p := range ports {
		f := fmt.Sprintf("-p %d:%d", p.Number, p.Number)
		if p.Protocol == vendors.UDP {
			f += "/udp"
		}
		flags = append(flags, f)
	}
	return strings.Join(flags, " ")
}

// mappings are where Vast.ai mapped a running instance's ports, SSH
// aside.
func mappings(m ports) []vendors.PortMapping {
	var out []vendors.PortMapping
	for key := range m {
		n, proto, ok := strings.Cut(key, "/")
		port, err := strconv.Atoi(n)
		if !ok || err != nil || key == "22/tcp" {
			continue
		}
		if public := m.hostPort(key); public > 0 {
			out = append(out, vendors.PortMapping{Port: vendors.Port{Number: port, Protocol: proto}, Public: public})
		}
	}
	return out
}
