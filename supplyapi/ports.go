package supplyapi

import "encoding/json"

// OpenPort is one entry of ProcureOfferRequest.OpenPorts as a client sends
// it: a port number (8888), a port and its protocol ("6006/tcp",
// "53/udp") or an inclusive range ("9000-9010", "9000-9010/udp"); tcp
// when no protocol is named. It keeps the JSON as sent, so that the
// server refuses a bad entry with its place in the list rather than as a
// body the decoder could not read.
type OpenPort struct {
	raw json.RawMessage
}

// PortText is s as a client would send it, for the command line, which
// passes what the user typed to the server to judge.
func PortText(s string) OpenPort {
	b, _ := json.Marshal(s)
	return OpenPort{raw: b}
}

// PortNumber is port n, TCP, as a client sends it.
func PortNumber(n int) OpenPort {
	b, _ := json.Marshal(n)
	return OpenPort{raw: b}
}

// UnmarshalJSON keeps the value as sent.
func (p *OpenPort) UnmarshalJSON(b []byte) error {
	p.raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes the value as sent.
func (p OpenPort) MarshalJSON() ([]byte, error) {
	if len(p.raw) == 0 {
		return []byte("null"), nil
	}
	return p.raw, nil
}

// Value is the entry as sent (a float64 or a string, or whatever else
// the client sent), for parsing and for an error to echo.
func (p OpenPort) Value() any {
	var v any
	if json.Unmarshal(p.raw, &v) != nil {
		return nil
	}
	return v
}

// Port is one port an instance has open besides SSH, for each port a
// procurement asked for (InstanceInfo.Ports, ResourceSummary.Ports).
type Port struct {
	Port     int    `json:"port" doc:"The port asked for"`
	Protocol string `json:"protocol" enum:"tcp,udp"`
	// Host and PublicPort are null until the instance runs.
	Host       *string `json:"host" doc:"Where to connect: the instance's public address; null until it runs"`
	PublicPort *int    `json:"public_port" doc:"The port to connect to on host: port itself, or the one a container vendor (RunPod) mapped it to; null until it runs"`
}
