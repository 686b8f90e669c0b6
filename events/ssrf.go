package events

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
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
	if allowPrivate {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("url host %q does not resolve", host)
	}
	for _, a := range addrs {
		if err := allowed(a); err != nil {
			return err
		}
	}
	return nil
}

// cgnat is the shared address space of carrier-grade NAT (RFC 6598),
// private in all but name.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// allowed refuses loopback, private, link-local, unspecified and multicast
// addresses: a webhook must not reach the server's own network.
func allowed(a netip.Addr) error {
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || cgnat.Contains(a) ||
		(a.Is4() && a.As4()[0] == 0) {
		return fmt.Errorf("url resolves to %s, a loopback, private or link-local address, which webhooks may not reach", a)
	}
	return nil
}

// httpClient sends deliveries: no proxy, no redirects, bounded times, and
// a dialer that refuses forbidden addresses on the address it actually
// dials, so that DNS answers changing after registration do not matter.
type httpClient struct{ *http.Client }

func newHTTPClient(timeout time.Duration, allowPrivate bool) *httpClient {
	dialer := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook dial %s: %w", address, err)
			}
			return allowed(ap.Addr())
		}
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
