package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
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

// A port in use is said at once, before the server migrates a database,
// makes a key or starts the sandbox.
func TestBusyPortIsSaidFirst(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, flag := range []string{"--metrics-listen", "--listen"} {
		dataDir := t.TempDir()
		args := []string{"--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "error"}
		args = append(args, flag, busy.Addr().String())
		cmd := serverCommand()
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.ExecuteContext(t.Context())
		if err == nil || !strings.Contains(err.Error(), flag) || !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("%s on a busy port: %v, want an error naming the flag", flag, err)
		}
		for _, made := range []string{"supply.db", "initial-api-key", "sandbox"} {
			if _, err := os.Stat(filepath.Join(dataDir, made)); err == nil {
				t.Errorf("%s on a busy port: %s was made before the port was tried", flag, made)
			}
		}
	}
}
