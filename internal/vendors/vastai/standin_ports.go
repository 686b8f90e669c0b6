package vastai

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// envPorts are the container ports a rent's env opens with Docker's -p
// flags ("-p 8000:8000", "-p 53:53/udp"), each mapped to a port of the
// sandbox host; an env in the CLI's object form opens none.
func envPorts(env json.RawMessage) []standin.OpenPort {
	var s string
	if json.Unmarshal(env, &s) != nil {
		return nil
	}
	var out []standin.OpenPort
	fields := strings.Fields(s)
	for i := 0; i+1 < len(fields); i++ {
		if fields[i] != "-p" {
			continue
		}
		_, container, _ := strings.Cut(fields[i+1], ":")
		n, proto, ok := strings.Cut(container, "/")
		if !ok {
			proto = "tcp"
		}
		if port, err := strconv.Atoi(n); err == nil && port != 22 {
			out = append(out, standin.OpenPort{Port: port, Protocol: proto, Mapped: true})
		}
	}
	return out
}

// portBindings adds the instance's mapped ports to its ports map.
func portBindings(m ports, rec *record) {
	for _, p := range rec.PortMap {
		if p.Public > 0 {
			m[strconv.Itoa(p.Port)+"/"+p.Protocol] = []portBinding{{HostIP: "0.0.0.0", HostPort: strconv.Itoa(p.Public)}}
		}
	}
}
