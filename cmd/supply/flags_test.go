package main

import (
	"fmt"
	"testing"
)

// TestParsePrefixes: --trusted-proxies takes CIDRs and bare addresses, an
// IPv4-mapped CIDR as its IPv4 addresses, skips empty entries and refuses
// anything else.
func TestParsePrefixes(t *testing.T) {
	got, err := parsePrefixes([]string{"10.0.0.0/8", " 192.0.2.7", "", "2001:db8::/32", "fe80::1%eth0", "::ffff:172.16.0.0/108", "10.1.2.3/8"})
	if want := "[10.0.0.0/8 192.0.2.7/32 2001:db8::/32 fe80::1/128 172.16.0.0/12 10.0.0.0/8]"; err != nil || fmt.Sprint(got) != want {
		t.Errorf("%v %v, want %s", got, err, want)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal"} {
		if _, err := parsePrefixes([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
