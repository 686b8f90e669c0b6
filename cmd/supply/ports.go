package main

import (
	"fmt"
	"strings"

	"github.com/gpusupply/supply/supplyapi"
)

// openPorts are the --port values as open_ports: sent as typed, for the
// server to judge and to name a bad one by its place.
func openPorts(values []string) []supplyapi.OpenPort {
	var out []supplyapi.OpenPort
	for _, v := range values {
		out = append(out, supplyapi.PortText(v))
	}
	return out
}

// portsText is a machine's open ports on one line: "8888/tcp at
// 127.1.0.2:8888", or "(not yet)" where the vendor has not placed one.
func portsText(ports []supplyapi.Port) string {
	var parts []string
	for _, p := range ports {
		where := "(not yet)"
		if p.Host != nil && p.PublicPort != nil {
			where = fmt.Sprintf("at %s:%d", *p.Host, *p.PublicPort)
		}
		parts = append(parts, fmt.Sprintf("%d/%s %s", p.Port, p.Protocol, where))
	}
	return strings.Join(parts, ", ")
}
