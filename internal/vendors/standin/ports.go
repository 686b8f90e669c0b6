package standin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"
)

// OpenPort is a port a sandbox machine listens on besides SSH, as its
// vendor opened it (Machine.Ports).
type OpenPort struct {
	// Port and Protocol ("tcp" or "udp") are what the renter asked for.
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
	// Mapped: the vendor maps the port to another one on the host (a
	// container vendor), so the host listens on Public, a free port,
	// instead of Port. Public is where it listened last, kept by the
	// stand-in so that a restart keeps the mapping when it can.
	Mapped bool `json:"mapped,omitempty"`
	Public int  `json:"public,omitempty"`
}

// PortAnswer is the line a sandbox machine's open port answers with: a
// TCP connection reads it (as a plain-text page when it sent an HTTP
// request: a browser follows the console's link) and is closed, a UDP
// datagram gets it back.
func PortAnswer(vendor, id string, p OpenPort) string {
	return fmt.Sprintf("supply sandbox: %s instance %s, port %d/%s\n", vendor, id, p.Port, p.Protocol)
}

// openPorts starts a listener for each of the machine's ports on its
// address, ended with the host; it returns the ports with Public set to
// where each listens (0 where the port could not be opened: a privileged
// port, or one another process holds). taken tells that a port the
// machine must have at its own number is held on this address by another
// process, so that another address would serve it better.
func (h *Hosts) openPorts(x *host, m Machine) (ports []OpenPort, taken bool) {
	out := make([]OpenPort, 0, len(m.Ports))
	for _, p := range m.Ports {
		want := p.Port
		if p.Mapped {
			want = p.Public
		}
		port, err := h.listenPort(x, m, p, want)
		if err != nil && p.Mapped && want != 0 {
			port, err = h.listenPort(x, m, p, 0) // the old mapping is taken: a new one
		}
		if err != nil {
			taken = taken || !p.Mapped && errors.Is(err, syscall.EADDRINUSE)
			h.logger().Warn("sandbox port not opened", "vendor", m.Vendor, "instance", m.ID, "port", p.Port, "error", err)
		}
		p.Public = port
		out = append(out, p)
	}
	return out, taken
}

// listenPort opens p on x's address at port (0: any free one) and serves
// it until the host closes.
func (h *Hosts) listenPort(x *host, m Machine, p OpenPort, port int) (int, error) {
	addr := net.JoinHostPort(x.ip, strconv.Itoa(port))
	answer := []byte(PortAnswer(m.Vendor, m.ID, p))
	if p.Protocol == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return 0, fmt.Errorf("open sandbox port: %w", err)
		}
		context.AfterFunc(x.ctx, func() { c.Close() })
		x.done.Go(func() {
			buf := make([]byte, 2048)
			for {
				_, from, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				c.WriteTo(answer, from)
			}
		})
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return 0, fmt.Errorf("open sandbox port: %w", err)
	}
	context.AfterFunc(x.ctx, func() { l.Close() })
	x.done.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			x.done.Go(func() { answerTCP(c, answer) })
		}
	})
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Ports returns the open ports of instance id's host, with where each
// listens; nil when the host is not open.
func (h *Hosts) Ports(id string) []OpenPort {
	h.mu.Lock()
	defer h.mu.Unlock()
	if x, ok := h.byID[id]; ok {
		x.mu.Lock()
		defer x.mu.Unlock()
		return append([]OpenPort(nil), x.ports...)
	}
	return nil
}

// Ports returns the open ports of instance id's host (Hosts.Ports).
func (b *Base[S]) Ports(id string) []OpenPort { return b.Hosts.Ports(b.HostID(id)) }

// httpWait is how long an open TCP port waits for a request before it
// answers with its bare line: a client that only reads gets it after that.
const httpWait = 300 * time.Millisecond

// answerTCP answers one connection to an open port: an HTTP response
// when the client sent an HTTP request, the bare line otherwise. Reading
// what the client sent first also keeps its close from being a reset.
func answerTCP(c net.Conn, answer []byte) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(httpWait))
	buf := make([]byte, 4096)
	n, _ := c.Read(buf)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if line, _, _ := bytes.Cut(buf[:n], []byte("\n")); bytes.Contains(line, []byte(" HTTP/1.")) {
		fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", len(answer))
	}
	c.Write(answer)
}
