package events

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// maxURLLength bounds a webhook URL.
const maxURLLength = 2048

// ParseURL checks that raw is an absolute http or https URL with a host,
// no credentials and no fragment, and returns it parsed.
func ParseURL(raw string) (*url.URL, error) {
	if len(raw) > maxURLLength {
		return nil, fmt.Errorf("url is longer than %d bytes", maxURLLength)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] >= 0x7f {
			return nil, errors.New("url must be printable ASCII without spaces (international names in punycode)")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("url is not a valid URL")
	}
	if strings.Contains(u.Host, "%") {
		return nil, errors.New("url must not name an IPv6 zone")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("url must start with http:// or https://")
	case u.Opaque != "" || u.Hostname() == "":
		return nil, errors.New("url must name a host")
	case u.User != nil:
		return nil, errors.New("url must not carry credentials")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, errors.New("url must not have a fragment")
	}
	if p := u.Port(); p != "" {
		if _, err := netip.ParseAddrPort("0.0.0.0:" + p); err != nil {
			return nil, errors.New("url has an invalid port")
		}
	}
	return u, nil
}

// checkHost refuses a host that resolves to an address webhooks may not
// reach. The dialer checks again at every delivery (the name may resolve
// elsewhere by then); this check only gives an early, clear answer.
func checkHost(ctx context.Context, host string, allowPrivate bool) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("url host %q does not resolve", host)
	}
	for _, a := range addrs {
		if err := reachable(a, allowPrivate); err != nil {
			return fmt.Errorf("url host %q: %w", host, err)
		}
	}
	return nil
}

// special is an entry of the IANA special-purpose address registries
// (https://www.iana.org/assignments/iana-ipv4-special-registry,
// https://www.iana.org/assignments/iana-ipv6-special-registry) or, where
// global is empty, a block that no registry entry covers but that is no
// more a public destination than they are.
type special struct {
	block string
	// name and ref are the entry's Name and RFC columns; global is its
	// "Globally Reachable" column: "True", "False" or "N/A".
	name, ref, global string
	// private marks loopback, private and link-local blocks, which
	// Config.AllowPrivate lets webhooks reach.
	private bool
}

// specials are the blocks webhooks are checked against, as of the
// registries' 2025 revisions. Every block whose Globally Reachable is not
// True refuses the addresses it holds, even where a more specific entry is
// globally reachable (the anycast addresses in 192.0.0.0/24 and 2001::/23
// answer no webhook). NAT64's 64:ff9b::/96 and IPv4-mapped addresses are
// judged by the IPv4 address inside them (see reachable); every other form
// that embeds an IPv4 address is refused whole.
var specials = []special{
	{"0.0.0.0/8", `"This network"`, "[RFC791], Section 3.2", "False", false},
	{"0.0.0.0/32", `"This host on this network"`, "[RFC1122], Section 3.2.1.3", "False", false},
	{"10.0.0.0/8", "Private-Use", "[RFC1918]", "False", true},
	{"100.64.0.0/10", "Shared Address Space", "[RFC6598]", "False", true},
	{"127.0.0.0/8", "Loopback", "[RFC1122], Section 3.2.1.3", "False", true},
	{"169.254.0.0/16", "Link Local", "[RFC3927]", "False", true},
	{"172.16.0.0/12", "Private-Use", "[RFC1918]", "False", true},
	{"192.0.0.0/24", "IETF Protocol Assignments", "[RFC6890], Section 2.1", "False", false},
	{"192.0.0.0/29", "IPv4 Service Continuity Prefix", "[RFC7335]", "False", false},
	{"192.0.0.8/32", "IPv4 dummy address", "[RFC7600]", "False", false},
	{"192.0.0.9/32", "Port Control Protocol Anycast", "[RFC7723]", "True", false},
	{"192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "[RFC8155]", "True", false},
	{"192.0.0.170/32", "NAT64/DNS64 Discovery", "[RFC8880][RFC7050], Section 2.2", "False", false},
	{"192.0.0.171/32", "NAT64/DNS64 Discovery", "[RFC8880][RFC7050], Section 2.2", "False", false},
	{"192.0.2.0/24", "Documentation (TEST-NET-1)", "[RFC5737]", "False", false},
	{"192.31.196.0/24", "AS112-v4", "[RFC7535]", "True", false},
	{"192.52.193.0/24", "AMT", "[RFC7450]", "True", false},
	{"192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "[RFC7526]", "N/A", false},
	{"192.88.99.2/32", "6a44-relay anycast address", "[RFC6751]", "False", false},
	{"192.168.0.0/16", "Private-Use", "[RFC1918]", "False", true},
	{"192.175.48.0/24", "Direct Delegation AS112 Service", "[RFC7534]", "True", false},
	{"198.18.0.0/15", "Benchmarking", "[RFC2544]", "False", false},
	{"198.51.100.0/24", "Documentation (TEST-NET-2)", "[RFC5737]", "False", false},
	{"203.0.113.0/24", "Documentation (TEST-NET-3)", "[RFC5737]", "False", false},
	{"240.0.0.0/4", "Reserved", "[RFC1112], Section 4", "False", false},
	{"255.255.255.255/32", "Limited Broadcast", "[RFC8190][RFC919], Section 7", "False", false},
	// Not in the IPv4 registry: multicast has a registry of its own.
	{"224.0.0.0/4", "Multicast", "[RFC5771]", "", false},

	{"::1/128", "Loopback Address", "[RFC4291]", "False", true},
	{"::/128", "Unspecified Address", "[RFC4291]", "False", false},
	{"::ffff:0:0/96", "IPv4-mapped Address", "[RFC4291]", "False", false},
	{"64:ff9b::/96", "IPv4-IPv6 Translat.", "[RFC6052]", "True", false},
	{"64:ff9b:1::/48", "IPv4-IPv6 Translat.", "[RFC8215]", "False", false},
	{"100::/64", "Discard-Only Address Block", "[RFC6666]", "False", false},
	{"100:0:0:1::/64", "Dummy IPv6 Prefix", "[RFC9780]", "False", false},
	{"2001::/23", "IETF Protocol Assignments", "[RFC2928]", "False", false},
	{"2001::/32", "TEREDO", "[RFC4380][RFC8190]", "N/A", false},
	{"2001:1::1/128", "Port Control Protocol Anycast", "[RFC7723]", "True", false},
	{"2001:1::2/128", "Traversal Using Relays around NAT Anycast", "[RFC8155]", "True", false},
	{"2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "[RFC9665]", "True", false},
	{"2001:2::/48", "Benchmarking", "[RFC5180][RFC Errata 1752]", "False", false},
	{"2001:3::/32", "AMT", "[RFC7450]", "True", false},
	{"2001:4:112::/48", "AS112-v6", "[RFC7535]", "True", false},
	{"2001:10::/28", "Deprecated (previously ORCHID)", "[RFC4843]", "N/A", false},
	{"2001:20::/28", "ORCHIDv2", "[RFC7343]", "True", false},
	{"2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "[RFC9374]", "True", false},
	{"2001:db8::/32", "Documentation", "[RFC3849]", "False", false},
	{"2002::/16", "6to4", "[RFC3056]", "N/A", false},
	{"2620:4f:8000::/48", "Direct Delegation AS112 Service", "[RFC7534]", "True", false},
	{"3fff::/20", "Documentation", "[RFC9637]", "False", false},
	{"5f00::/16", "Segment Routing (SRv6) SIDs", "[RFC9602]", "False", false},
	{"fc00::/7", "Unique-Local", "[RFC4193][RFC8190]", "False", true},
	{"fe80::/10", "Link-Local Unicast", "[RFC4291]", "False", true},
	// Not in the IPv6 registry: multicast, the deprecated site-local
	// block, the deprecated IPv4-compatible and the IPv4-translated forms,
	// and everything outside 2000::/3, the only block the IANA IPv6 Address
	// Space registry allocates for global unicast.
	{"ff00::/8", "Multicast", "[RFC4291]", "", false},
	{"fec0::/10", "Site-Local (deprecated)", "[RFC3879]", "", true},
	{"::/96", "IPv4-compatible Address (deprecated)", "[RFC4291], Section 2.5.5.1", "", false},
	{"::ffff:0:0:0/96", "IPv4-translated Address", "[RFC2765], Section 2.1", "", false},
	{"::/3", "Reserved by IETF (not global unicast)", "[RFC4291]", "", false},
	{"4000::/2", "Reserved by IETF (not global unicast)", "[RFC4291]", "", false},
	{"8000::/1", "Reserved by IETF (not global unicast)", "[RFC4291]", "", false},
}

// specialBlock is a parsed entry of specials.
type specialBlock struct {
	prefix netip.Prefix
	*special
}

// specialBlocks are specials parsed, most specific first, so that the
// first refusing block names the narrowest reason.
var specialBlocks = func() []specialBlock {
	out := make([]specialBlock, len(specials))
	for i := range specials {
		out[i] = specialBlock{netip.MustParsePrefix(specials[i].block), &specials[i]}
	}
	slices.SortStableFunc(out, func(a, b specialBlock) int { return b.prefix.Bits() - a.prefix.Bits() })
	return out
}()

// nat64 is the well-known NAT64 prefix, whose addresses reach the IPv4
// address in their last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// reachable is the one check of an address a webhook would reach, at
// registration and at every dial: nil when the address is globally
// reachable, or, with allowPrivate, loopback, private or link-local. An
// IPv4-mapped or NAT64 (64:ff9b::/96) address is judged by the IPv4
// address inside it; every other form that embeds one is refused.
func reachable(a netip.Addr, allowPrivate bool) error {
	shown := a
	a = a.WithZone("") // a zone would make every prefix miss
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	a = a.Unmap()
	if allowPrivate && slices.ContainsFunc(specialBlocks, func(s specialBlock) bool { return s.private && s.prefix.Contains(a) }) {
		return nil
	}
	for _, s := range specialBlocks {
		if s.global != "True" && s.prefix.Contains(a) {
			return fmt.Errorf("%s (in %s, %s %s) is not globally reachable; webhooks reach only public addresses", shown, s.prefix, s.name, s.ref)
		}
	}
	return nil
}

// httpClient sends deliveries: no proxy, no redirects, bounded times, and
// a dialer that refuses what reachable refuses on the address it actually
// dials, so that DNS answers changing after registration do not matter.
type httpClient struct{ *http.Client }

func newHTTPClient(timeout time.Duration, allowPrivate bool) *httpClient {
	dialer := &net.Dialer{Timeout: timeout}
	dialer.Control = func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("webhook dial %s: %w", address, err)
		}
		if err := reachable(ap.Addr(), allowPrivate); err != nil {
			return fmt.Errorf("webhook dial: %w", err)
		}
		return nil
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
	}
	return &httpClient{&http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}
