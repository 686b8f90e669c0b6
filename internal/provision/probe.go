package provision

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// ProbeSSH checks that something at ip:port speaks SSH: it connects and
// reads the server's identification line ("SSH-2.0-..."). A TCP accept
// alone is not enough; cloud load balancers and half-booted images accept
// connections long before sshd answers.
func ProbeSSH(ctx context.Context, ip string, port int) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("ssh probe: %w", err)
	}
	defer conn.Close()
	deadline := time.Now().Add(3 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	// RFC 4253 §4.2: the server may send other lines before its version line.
	rd := bufio.NewReaderSize(conn, 256)
	for range 5 {
		line, err := rd.ReadString('\n')
		if strings.HasPrefix(line, "SSH-") {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ssh probe: no SSH banner from %s:%d: %w", ip, port, err)
		}
	}
	return fmt.Errorf("ssh probe: no SSH banner from %s:%d", ip, port)
}
