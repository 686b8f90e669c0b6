package vendortest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// askedPorts are the ports the open-ports case asks for: two TCP ports,
// and a UDP one where the vendor opens UDP.
func askedPorts(v vendors.Vendor) []vendors.Port {
	ports := []vendors.Port{{Number: 8888, Protocol: vendors.TCP}, {Number: 9001, Protocol: vendors.TCP}}
	if pp, ok := v.(vendors.PortProtocols); !ok || slices.Contains(pp.PortProtocols(), vendors.UDP) {
		ports = append(ports, vendors.Port{Number: 5353, Protocol: vendors.UDP})
	}
	return ports
}

// openPorts: an instance created with ports has them open on its address
// once it runs (at the vendor's mapped port where it maps them), a port
// not asked for is closed, and the vendor's firewall, where it has them,
// belongs to the resource and is deleted after the instance. A vendor
// without the capability says so.
func openPorts(t *testing.T, kit Kit) {
	r := kit.Start(t, standin.Options{BootTime: 300 * time.Millisecond})
	info := r.Vendor.Info()
	if info.Ports != kit.Ports {
		t.Fatalf("Info().Ports = %v, the kit says %v", info.Ports, kit.Ports)
	}
	if !kit.Ports {
		t.Skip("the vendor opens no ports (supports_ports false: supply refuses open_ports for it)")
	}
	ctx := context.Background()
	req := kit.Request(t)
	req.Ports = askedPorts(r.Vendor)
	in, err := r.Vendor.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	up, _ := WaitFor(t, r.Vendor, in.ID, Running)
	for _, p := range req.Ports {
		public := PublicPort(t, info, up, p)
		if got := Knock(t, up.ExternalIP, public, p.Protocol); !strings.Contains(got, fmt.Sprintf("port %s", p)) {
			t.Errorf("%s at %s:%d answered %q", p, up.ExternalIP, public, got)
		}
		if p.Protocol == vendors.TCP {
			// A browser following the console's link gets a page.
			if page := Page(t, fmt.Sprintf("http://%s:%d/", up.ExternalIP, public)); !strings.Contains(page, fmt.Sprintf("port %s", p)) {
				t.Errorf("%s as a page: %q", p, page)
			}
		}
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(up.ExternalIP, "8889"), time.Second); err == nil {
		c.Close()
		t.Errorf("port 8889, not asked for, is open on %s", up.ExternalIP)
	}
	fw, firewalls := r.Vendor.(vendors.Firewalls)
	if firewalls {
		list, err := fw.Firewalls(ctx)
		if err != nil || len(list) != 1 || list[0].ResourceID != req.ResourceID || list[0].Owner != req.Owner || !list[0].InUse {
			t.Errorf("firewalls while the instance runs: %+v, %v; want one in use, of resource %s", list, err, req.ResourceID)
		}
	}
	if err := r.Vendor.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, r.Vendor, in.ID, Gone)
	if !firewalls {
		return
	}
	list, err := fw.Firewalls(ctx)
	if err != nil || len(list) != 1 || list[0].InUse {
		t.Fatalf("firewalls after the instance: %+v, %v; want one, unused", list, err)
	}
	if err := fw.DeleteFirewall(ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := fw.DeleteFirewall(ctx, list[0].ID); err != nil {
		t.Errorf("deleting a deleted firewall: %v, want nil", err)
	}
	if list, err := fw.Firewalls(ctx); err != nil || len(list) != 0 {
		t.Errorf("firewalls after deletion: %+v, %v", list, err)
	}
}

// PublicPort is where p is on a running instance: the vendor's mapping
// when it maps ports (containers), else p itself.
func PublicPort(t testing.TB, info vendors.Info, in vendors.Instance, p vendors.Port) int {
	t.Helper()
	for _, m := range in.Ports {
		if m.Port == p {
			return m.Public
		}
	}
	if info.Containers {
		t.Fatalf("%s: no mapping in %+v", p, in.Ports)
	}
	return p.Number
}

// Knock connects to a sandbox machine's open port and returns its answer
// line (standin.PortAnswer): read from a TCP connection, or sent back to
// a UDP datagram.
func Knock(t testing.TB, host string, port int, protocol string) string {
	t.Helper()
	c, err := net.DialTimeout(protocol, net.JoinHostPort(host, strconv.Itoa(port)), 2*time.Second)
	if err != nil {
		t.Fatalf("%s port %d on %s: %v", protocol, port, host, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if protocol == vendors.UDP {
		if _, err := c.Write([]byte("hello\n")); err != nil {
			t.Fatal(err)
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("%s port %d on %s: %v", protocol, port, host, err)
	}
	return line
}

// Page is what an HTTP GET of url answers with 200.
func Page(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %q %v", url, resp.StatusCode, b, err)
	}
	return string(b)
}
