package events

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// registries are the IANA special-purpose address registries' entries as
// the registries list them (address block | name | RFC | Globally
// Reachable), each with the addresses just below, at the edges of and just
// above the block, and whether a webhook may reach each ("ok") or not
// ("no"). An address is refused when any block holding it is not globally
// reachable, and IPv6 outside 2000::/3 is never global unicast, which
// decides the neighbours of the blocks there.
var registries = []struct{ line, cases string }{
	{`0.0.0.0/8 | "This network" | [RFC791], Section 3.2 | False`, "0.0.0.0 no, 0.255.255.255 no, 1.0.0.0 ok"},
	{`0.0.0.0/32 | "This host on this network" | [RFC1122], Section 3.2.1.3 | False`, "0.0.0.0 no, 0.0.0.1 no"},
	{`10.0.0.0/8 | Private-Use | [RFC1918] | False`, "9.255.255.255 ok, 10.0.0.0 no, 10.255.255.255 no, 11.0.0.0 ok"},
	{`100.64.0.0/10 | Shared Address Space | [RFC6598] | False`, "100.63.255.255 ok, 100.64.0.0 no, 100.127.255.255 no, 100.128.0.0 ok"},
	{`127.0.0.0/8 | Loopback | [RFC1122], Section 3.2.1.3 | False`, "126.255.255.255 ok, 127.0.0.0 no, 127.255.255.255 no, 128.0.0.0 ok"},
	{`169.254.0.0/16 | Link Local | [RFC3927] | False`, "169.253.255.255 ok, 169.254.0.0 no, 169.254.255.255 no, 169.255.0.0 ok"},
	{`172.16.0.0/12 | Private-Use | [RFC1918] | False`, "172.15.255.255 ok, 172.16.0.0 no, 172.31.255.255 no, 172.32.0.0 ok"},
	{`192.0.0.0/24 | IETF Protocol Assignments | [RFC6890], Section 2.1 | False`, "191.255.255.255 ok, 192.0.0.0 no, 192.0.0.255 no, 192.0.1.0 ok"},
	{`192.0.0.0/29 | IPv4 Service Continuity Prefix | [RFC7335] | False`, "191.255.255.255 ok, 192.0.0.0 no, 192.0.0.7 no, 192.0.0.8 no"},
	{`192.0.0.8/32 | IPv4 dummy address | [RFC7600] | False`, "192.0.0.7 no, 192.0.0.8 no, 192.0.0.9 no"},
	{`192.0.0.9/32 | Port Control Protocol Anycast | [RFC7723] | True`, "192.0.0.8 no, 192.0.0.9 no, 192.0.0.10 no"},
	{`192.0.0.10/32 | Traversal Using Relays around NAT Anycast | [RFC8155] | True`, "192.0.0.9 no, 192.0.0.10 no, 192.0.0.11 no"},
	{`192.0.0.170/32 | NAT64/DNS64 Discovery | [RFC8880][RFC7050], Section 2.2 | False`, "192.0.0.169 no, 192.0.0.170 no, 192.0.0.171 no"},
	{`192.0.0.171/32 | NAT64/DNS64 Discovery | [RFC8880][RFC7050], Section 2.2 | False`, "192.0.0.170 no, 192.0.0.171 no, 192.0.0.172 no"},
	{`192.0.2.0/24 | Documentation (TEST-NET-1) | [RFC5737] | False`, "192.0.1.255 ok, 192.0.2.0 no, 192.0.2.255 no, 192.0.3.0 ok"},
	{`192.31.196.0/24 | AS112-v4 | [RFC7535] | True`, "192.31.195.255 ok, 192.31.196.0 ok, 192.31.196.255 ok, 192.31.197.0 ok"},
	{`192.52.193.0/24 | AMT | [RFC7450] | True`, "192.52.192.255 ok, 192.52.193.0 ok, 192.52.193.255 ok, 192.52.194.0 ok"},
	{`192.88.99.0/24 | Deprecated (6to4 Relay Anycast) | [RFC7526] | N/A`, "192.88.98.255 ok, 192.88.99.0 no, 192.88.99.255 no, 192.88.100.0 ok"},
	{`192.88.99.2/32 | 6a44-relay anycast address | [RFC6751] | False`, "192.88.99.1 no, 192.88.99.2 no, 192.88.99.3 no"},
	{`192.168.0.0/16 | Private-Use | [RFC1918] | False`, "192.167.255.255 ok, 192.168.0.0 no, 192.168.255.255 no, 192.169.0.0 ok"},
	{`192.175.48.0/24 | Direct Delegation AS112 Service | [RFC7534] | True`, "192.175.47.255 ok, 192.175.48.0 ok, 192.175.48.255 ok, 192.175.49.0 ok"},
	{`198.18.0.0/15 | Benchmarking | [RFC2544] | False`, "198.17.255.255 ok, 198.18.0.0 no, 198.19.255.255 no, 198.20.0.0 ok"},
	{`198.51.100.0/24 | Documentation (TEST-NET-2) | [RFC5737] | False`, "198.51.99.255 ok, 198.51.100.0 no, 198.51.100.255 no, 198.51.101.0 ok"},
	{`203.0.113.0/24 | Documentation (TEST-NET-3) | [RFC5737] | False`, "203.0.112.255 ok, 203.0.113.0 no, 203.0.113.255 no, 203.0.114.0 ok"},
	{`240.0.0.0/4 | Reserved | [RFC1112], Section 4 | False`, "239.255.255.255 no, 240.0.0.0 no, 255.255.255.255 no"},
	{`255.255.255.255/32 | Limited Broadcast | [RFC8190][RFC919], Section 7 | False`, "255.255.255.254 no, 255.255.255.255 no"},
	{`::1/128 | Loopback Address | [RFC4291] | False`, ":: no, ::1 no, ::2 no"},
	{`::/128 | Unspecified Address | [RFC4291] | False`, ":: no, ::1 no"},
	{`::ffff:0:0/96 | IPv4-mapped Address | [RFC4291] | False`, "::fffe:ffff:ffff no, ::ffff:0:0 no, ::ffff:ffff:ffff no, ::1:0:0:0 no"},
	{`64:ff9b::/96 | IPv4-IPv6 Translat. | [RFC6052] | True`, "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff no, 64:ff9b:: no, 64:ff9b::ffff:ffff no, 64:ff9b::1:0:0 no"},
	{`64:ff9b:1::/48 | IPv4-IPv6 Translat. | [RFC8215] | False`, "64:ff9b:0:ffff:ffff:ffff:ffff:ffff no, 64:ff9b:1:: no, 64:ff9b:1:ffff:ffff:ffff:ffff:ffff no, 64:ff9b:2:: no"},
	{`100::/64 | Discard-Only Address Block | [RFC6666] | False`, "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff no, 100:: no, 100::ffff:ffff:ffff:ffff no, 100:0:0:1:: no"},
	{`100:0:0:1::/64 | Dummy IPv6 Prefix | [RFC9780] | False`, "100::ffff:ffff:ffff:ffff no, 100:0:0:1:: no, 100::1:ffff:ffff:ffff:ffff no, 100:0:0:2:: no"},
	{`2001::/23 | IETF Protocol Assignments | [RFC2928] | False`, "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff ok, 2001:: no, 2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff no, 2001:200:: ok"},
	{`2001::/32 | TEREDO | [RFC4380][RFC8190] | N/A`, "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff ok, 2001:: no, 2001:0:ffff:ffff:ffff:ffff:ffff:ffff no, 2001:1:: no"},
	{`2001:1::1/128 | Port Control Protocol Anycast | [RFC7723] | True`, "2001:1:: no, 2001:1::1 no, 2001:1::2 no"},
	{`2001:1::2/128 | Traversal Using Relays around NAT Anycast | [RFC8155] | True`, "2001:1::1 no, 2001:1::2 no, 2001:1::3 no"},
	{`2001:1::3/128 | DNS-SD Service Registration Protocol Anycast | [RFC9665] | True`, "2001:1::2 no, 2001:1::3 no, 2001:1::4 no"},
	{`2001:2::/48 | Benchmarking | [RFC5180][RFC Errata 1752] | False`, "2001:1:ffff:ffff:ffff:ffff:ffff:ffff no, 2001:2:: no, 2001:2:0:ffff:ffff:ffff:ffff:ffff no, 2001:2:1:: no"},
	{`2001:3::/32 | AMT | [RFC7450] | True`, "2001:2:ffff:ffff:ffff:ffff:ffff:ffff no, 2001:3:: no, 2001:3:ffff:ffff:ffff:ffff:ffff:ffff no, 2001:4:: no"},
	{`2001:4:112::/48 | AS112-v6 | [RFC7535] | True`, "2001:4:111:ffff:ffff:ffff:ffff:ffff no, 2001:4:112:: no, 2001:4:112:ffff:ffff:ffff:ffff:ffff no, 2001:4:113:: no"},
	{`2001:10::/28 | Deprecated (previously ORCHID) | [RFC4843] | N/A`, "2001:f:ffff:ffff:ffff:ffff:ffff:ffff no, 2001:10:: no, 2001:1f:ffff:ffff:ffff:ffff:ffff:ffff no, 2001:20:: no"},
	{`2001:20::/28 | ORCHIDv2 | [RFC7343] | True`, "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff no, 2001:20:: no, 2001:2f:ffff:ffff:ffff:ffff:ffff:ffff no, 2001:30:: no"},
	{`2001:30::/28 | Drone Remote ID Protocol Entity Tags (DETs) Prefix | [RFC9374] | True`, "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff no, 2001:30:: no, 2001:3f:ffff:ffff:ffff:ffff:ffff:ffff no, 2001:40:: no"},
	{`2001:db8::/32 | Documentation | [RFC3849] | False`, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff ok, 2001:db8:: no, 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff no, 2001:db9:: ok"},
	{`2002::/16 | 6to4 | [RFC3056] | N/A`, "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff ok, 2002:: no, 2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff no, 2003:: ok"},
	{`2620:4f:8000::/48 | Direct Delegation AS112 Service | [RFC7534] | True`, "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff ok, 2620:4f:8000:: ok, 2620:4f:8000:ffff:ffff:ffff:ffff:ffff ok, 2620:4f:8001:: ok"},
	{`3fff::/20 | Documentation | [RFC9637] | False`, "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff ok, 3fff:: no, 3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff no, 3fff:1000:: ok"},
	{`5f00::/16 | Segment Routing (SRv6) SIDs | [RFC9602] | False`, "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff no, 5f00:: no, 5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff no, 5f01:: no"},
	{`fc00::/7 | Unique-Local | [RFC4193][RFC8190] | False`, "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff no, fc00:: no, fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff no, fe00:: no"},
	{`fe80::/10 | Link-Local Unicast | [RFC4291] | False`, "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff no, fe80:: no, febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff no, fec0:: no"},
}

// TestReachableRegistries: the table reachable judges by is the
// registries' (every entry, with its name, RFC and Globally Reachable),
// and every address at and around each block is judged as the registries
// say.
func TestReachableRegistries(t *testing.T) {
	inTable := map[string]bool{}
	for _, s := range specials {
		if s.global != "" {
			inTable[fmt.Sprintf("%s | %s | %s | %s", s.block, s.name, s.ref, s.global)] = true
		}
	}
	for _, r := range registries {
		if !inTable[r.line] {
			t.Errorf("registry entry %q is not in the table", r.line)
		}
		delete(inTable, r.line)
		for _, c := range strings.Split(r.cases, ", ") {
			addr, want, _ := strings.Cut(c, " ")
			if err := reachable(netip.MustParseAddr(addr), false); (err == nil) != (want == "ok") {
				t.Errorf("%s: %s: %v, want %s", r.line, addr, err, want)
			}
		}
	}
	for line := range inTable {
		t.Errorf("%q is in the table but not in the registries", line)
	}
}

// TestReachableEmbeddedAndPrivate: every form that embeds an IPv4 address
// is judged by it or refused, zones change nothing, and allowing private
// addresses allows loopback, private and link-local ones only.
func TestReachableEmbeddedAndPrivate(t *testing.T) {
	tests := []struct {
		addr                   string
		public, allowedPrivate bool
	}{
		{"8.8.8.8", true, true},
		{"2606:4700:4700::1111", true, true},
		{"::ffff:8.8.8.8", true, true},        // IPv4-mapped: judged by the IPv4 address
		{"::ffff:10.0.0.1", false, true},      //
		{"64:ff9b::808:808", true, true},      // NAT64: judged by the IPv4 address
		{"64:ff9b::a00:1", false, true},       // 10.0.0.1 behind NAT64
		{"64:ff9b::7f00:1", false, true},      // 127.0.0.1 behind NAT64
		{"64:ff9b::c000:201", false, false},   // 192.0.2.1 behind NAT64
		{"64:ff9b:1::808:808", false, false},  // local-use NAT64: refused whole
		{"::8.8.8.8", false, false},           // IPv4-compatible: refused whole
		{"::127.0.0.1", false, false},         //
		{"::ffff:0:808:808", false, false},    // IPv4-translated: refused whole
		{"::ffff:0:a00:1", false, false},      //
		{"2002:808:808::1", false, false},     // 6to4: refused whole
		{"2002:7f00:1::", false, false},       //
		{"2001:0:4136:e378::1", false, false}, // Teredo: refused whole
		{"fe80::1%eth0", false, true},         // a zone does not hide a block
		{"fe80::1", false, true},              //
		{"fec0::1", false, true},              // site-local (deprecated)
		{"fd12:3456::1", false, true},         // unique local
		{"::1", false, true},                  //
		{"127.0.0.1", false, true},            //
		{"169.254.169.254", false, true},      // cloud metadata
		{"100.64.0.1", false, true},           // carrier-grade NAT
		{"0.0.0.0", false, false},             // reaches the host itself
		{"::", false, false},                  //
		{"224.0.0.1", false, false},           // multicast
		{"ff02::1", false, false},             //
		{"255.255.255.255", false, false},     // broadcast
		{"4000::1", false, false},             // outside 2000::/3
		{"2001:db8::1", false, false},         //
		{"3fff::1", false, false},             //
		{"198.18.0.1", false, false},          //
		{"192.0.0.9", false, false},           // PCP anycast, in 192.0.0.0/24
		{"2001:1::1", false, false},           // PCP anycast, in 2001::/23
		{"192.88.99.1", false, false},         //
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.addr)
		if err := reachable(a, false); (err == nil) != tt.public {
			t.Errorf("%s: %v, want allowed %v", tt.addr, err, tt.public)
		}
		if err := reachable(a, true); (err == nil) != tt.allowedPrivate {
			t.Errorf("%s with private addresses allowed: %v, want allowed %v", tt.addr, err, tt.allowedPrivate)
		}
	}
}

// FuzzReachable: reachable never panics and agrees with referenceReachable
// on any address, with or without a zone, private addresses allowed or not.
func FuzzReachable(f *testing.F) {
	for _, s := range []string{"8.8.8.8", "10.0.0.1", "::ffff:127.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::", "2001:db8::1", "fe80::1", "2620:4f:8000::1"} {
		b := netip.MustParseAddr(s).As16()
		f.Add(b[:], netip.MustParseAddr(s).Is4(), false, "")
	}
	f.Add(make([]byte, 16), false, true, "eth0")
	f.Fuzz(func(t *testing.T, raw []byte, is4, allowPrivate bool, zone string) {
		var b [16]byte
		copy(b[:], raw)
		a := netip.AddrFrom16(b)
		if is4 {
			a = netip.AddrFrom4([4]byte(b[12:]))
		} else if zone != "" && !strings.ContainsAny(zone, "%") {
			a = a.WithZone(zone)
		}
		got := reachable(a, allowPrivate) == nil
		if want := referenceReachable(a, allowPrivate); got != want {
			t.Fatalf("reachable(%s, %v) allows: %v; the reference: %v", a, allowPrivate, got, want)
		}
	})
}

// referenceReachable states the rule plainly, apart from reachable's
// code: the address as 128 bits, the IPv4 address inside IPv4-mapped and
// NAT64 addresses taken out by hand, every block compared bit by bit.
func referenceReachable(a netip.Addr, allowPrivate bool) bool {
	b := a.As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	v4 := a.Is4() ||
		hi == 0 && lo>>32 == 0xffff || // ::ffff:0:0/96
		hi == 0x0064ff9b00000000 && lo>>32 == 0 // 64:ff9b::/96
	in := func(s special) bool {
		p := netip.MustParsePrefix(s.block)
		pb := p.Addr().As16()
		if p.Addr().Is4() != v4 {
			return false
		}
		if v4 {
			ours, theirs := uint32(lo), binary.BigEndian.Uint32(pb[12:])
			return p.Bits() == 0 || ours>>(32-p.Bits()) == theirs>>(32-p.Bits())
		}
		phi, plo := binary.BigEndian.Uint64(pb[:8]), binary.BigEndian.Uint64(pb[8:])
		switch n := p.Bits(); {
		case n <= 64:
			return n == 0 || hi>>(64-n) == phi>>(64-n)
		case n < 128:
			return hi == phi && lo>>(128-n) == plo>>(128-n)
		default:
			return hi == phi && lo == plo
		}
	}
	refused := false
	for _, s := range specials {
		if !in(s) {
			continue
		}
		if allowPrivate && s.private {
			return true
		}
		refused = refused || s.global != "True"
	}
	return !refused
}
