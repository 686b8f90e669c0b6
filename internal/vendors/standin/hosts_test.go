package standin

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/userdata"
)

// keyPair is a renter's key: the line handed to a vendor and its signer.
func keyPair(t *testing.T) (string, ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " renter@test", signer
}

// dial logs in to ip:port as user; hostKey, when not nil, receives the
// key the server showed.
func dial(ip string, port int, user string, auth ssh.AuthMethod, hostKey *ssh.PublicKey) (*ssh.Client, error) {
	return ssh.Dial("tcp", net.JoinHostPort(ip, strconv.Itoa(port)), &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{auth}, Timeout: 5 * time.Second,
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			if hostKey != nil {
				*hostKey = k
			}
			return nil
		},
	})
}

// run runs command in a new session of c with stdin and returns its
// output and exit status.
func run(t *testing.T, c *ssh.Client, command, stdin string) (stdout, stderr string, status int) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out, errOut bytes.Buffer
	s.Stdout, s.Stderr, s.Stdin = &out, &errOut, strings.NewReader(stdin)
	err = s.Run(command)
	var ee *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		status = ee.ExitStatus()
	default:
		t.Fatalf("run %q: %v", command, err)
	}
	return out.String(), errOut.String(), status
}

func TestHostLetsInOnlyTheMachinesKey(t *testing.T) {
	key, signer := keyPair(t)
	_, other := keyPair(t)
	cloudInit, err := userdata.CloudInit(key, "#cloud-config\nruncmd:\n  - echo renter-was-here\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    Machine
	}{
		// The key in a field of the vendor's own (Verda, RunPod, Vast.ai).
		{"vendor key field", Machine{Vendor: "verda", ID: "i-1", Name: "h100-verda-1", Keys: []string{key},
			UserDataField: "startup script", UserData: "#!/bin/bash\necho renter-was-here\n"}},
		// The key only in cloud-init's ssh_authorized_keys (Lambda,
		// Hyperstack, Scaleway, Nebius).
		{"cloud-init user data", Machine{Vendor: "lambda", ID: "i-2", Name: "h100-lambda-2", UserDataField: "user_data", UserData: cloudInit}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Hosts
			defer h.CloseAll()
			ip, port, err := h.Open(tc.m.Vendor+"/"+tc.m.ID, "", 0, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			for _, refused := range []struct {
				what, user string
				auth       ssh.AuthMethod
			}{
				{"another key", "root", ssh.PublicKeys(other)},
				{"a password", "root", ssh.Password("root")},
				{"the key for another user", "ubuntu", ssh.PublicKeys(signer)},
			} {
				if c, err := dial(ip, port, refused.user, refused.auth, nil); err == nil {
					c.Close()
					t.Errorf("%s: logged in", refused.what)
				} else if !strings.Contains(err.Error(), "unable to authenticate") {
					t.Errorf("%s: %v, want unable to authenticate", refused.what, err)
				}
			}
			c, err := dial(ip, port, "root", ssh.PublicKeys(signer), nil)
			if err != nil {
				t.Fatalf("the machine's key: %v", err)
			}
			defer c.Close()
			out, _, status := run(t, c, "touch /tmp/never", "")
			if status != 0 {
				t.Errorf("exit status %d, want 0", status)
			}
			for _, want := range []string{"supply sandbox host", "through " + tc.m.Vendor + "'s API", tc.m.ID, tc.m.Name,
				ssh.FingerprintSHA256(signer.PublicKey()), tc.m.UserDataField, "echo renter-was-here",
				"Your command was not run: touch /tmp/never", "--sandbox-shell"} {
				if !strings.Contains(out, want) {
					t.Errorf("session output lacks %q:\n%s", want, out)
				}
			}
			// An interactive login (ssh in a terminal) gets a terminal's
			// line ends and no word of a command.
			s, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var term bytes.Buffer
			s.Stdout = &term
			if err := s.RequestPty("xterm", 24, 80, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.Shell(); err != nil {
				t.Fatal(err)
			}
			if err := s.Wait(); err != nil || !strings.Contains(term.String(), "supply sandbox host: no real machine, nothing billed.\r\n") ||
				strings.Contains(term.String(), "Your command") {
				t.Errorf("interactive login: %v\n%q", err, term.String())
			}
		})
	}
}

func TestHostKeyIsKeptAcrossRestarts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ssh_host_ed25519_key")
	key, signer := keyPair(t)
	var seen []ssh.PublicKey
	for range 2 {
		h, err := NewHosts(HostsOptions{KeyFile: file})
		if err != nil {
			t.Fatal(err)
		}
		ip, port, err := h.Open("lambda/a", "", 0, Machine{Keys: []string{key}})
		if err != nil {
			t.Fatal(err)
		}
		var hostKey ssh.PublicKey
		c, err := dial(ip, port, "root", ssh.PublicKeys(signer), &hostKey)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		h.CloseAll()
		seen = append(seen, hostKey)
	}
	if seen[0].Type() != ssh.KeyAlgoED25519 || !bytes.Equal(seen[0].Marshal(), seen[1].Marshal()) {
		t.Errorf("host keys %s, %s: want one ed25519 key across restarts",
			ssh.FingerprintSHA256(seen[0]), ssh.FingerprintSHA256(seen[1]))
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("host key file: %v %v, want mode 0600", fi, err)
	}
}

func TestSandboxShell(t *testing.T) {
	machines := filepath.Join(t.TempDir(), "machines")
	h, err := NewHosts(HostsOptions{Shell: true, MachinesDir: machines})
	if err != nil {
		t.Fatal(err)
	}
	defer h.CloseAll()
	key, signer := keyPair(t)
	marker := "ready-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ".txt"
	t.Cleanup(func() { os.Remove("/tmp/" + marker) }) // where a broken mapping would write it
	renter := "#cloud-config\nruncmd:\n  - echo booted as $USER > /tmp/" + marker + "\n  - [sh, -c, 'echo list entry >> /tmp/" + marker + "']\n"
	ud, err := userdata.CloudInit(key, renter)
	if err != nil {
		t.Fatal(err)
	}
	ip, port, err := h.Open("nebius/vm-1", "", 0, Machine{Vendor: "nebius", ID: "vm-1", Name: "vm-one", UserData: ud})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(machines, "nebius", "vm-1")
	waitFile(t, filepath.Join(dir, bootFinished))
	c, err := dial(ip, port, "root", ssh.PublicKeys(signer), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name, command, stdin string
		wantOut              string
		wantStatus           int
	}{
		{"the boot's runcmd wrote into the machine's /tmp", "cat /tmp/" + marker, "", "booted as root\nlist entry\n", 0},
		{"root's home is the machine's /root", "pwd; echo $HOME", "", dir + "/root\n" + dir + "/root\n", 0},
		{"the exit status comes back", "echo out; exit 3", "", "out\n", 3},
		{"input reaches the command", "cat > /tmp/in.txt && cat '/tmp/in.txt'", "typed\n", "typed\n", 0},
		{"supply's own part did not run", "test -e /root/.ssh/authorized_keys || echo no keys file", "", "no keys file\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, status := run(t, c, tc.command, tc.stdin)
			if out != tc.wantOut || status != tc.wantStatus {
				t.Errorf("%q: %q (stderr %q), status %d; want %q, %d", tc.command, out, stderr, status, tc.wantOut, tc.wantStatus)
			}
		})
	}
	if _, err := os.Stat("/tmp/" + marker); err == nil {
		t.Errorf("the boot wrote the server's /tmp/%s", marker)
	}
	if log, err := os.ReadFile(filepath.Join(dir, bootLog)); err != nil || !strings.Contains(string(log), "boot finished") {
		t.Errorf("boot log %q, %v", log, err)
	}
	h.Remove("nebius/vm-1")
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("machine directory after Remove: %v", err)
	}
	if c, err := dial(ip, port, "root", ssh.PublicKeys(signer), nil); err == nil {
		c.Close()
		t.Error("a removed host still lets in")
	}
}

// waitFile waits until path exists (a boot's end), failing after 10 s.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not there after 10 s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMachineBootsOnce(t *testing.T) {
	dir := t.TempDir()
	for i, want := range []bool{true, false} {
		if first, err := prepareMachine(dir); err != nil || first != want {
			t.Errorf("prepare #%d: first %v, %v; want %v", i+1, first, err, want)
		}
	}
}

func TestMapPaths(t *testing.T) {
	const d = "/data/m"
	for _, tc := range []struct{ in, want string }{
		{"cat /tmp/ready.txt", "cat /data/m/tmp/ready.txt"},
		{"echo ok >/tmp/a; cat '/root/b' \"/home/c\"", "echo ok >/data/m/tmp/a; cat '/data/m/root/b' \"/data/m/home/c\""},
		{"cd /tmp && ls /tmp", "cd /data/m/tmp && ls /data/m/tmp"},
		{"X=/opt/app:/srv/x", "X=/data/m/opt/app:/data/m/srv/x"},
		{"/var/log/app.log /var/lib/cloud/instance", "/data/m/var/log/app.log /data/m/var/lib/cloud/instance"},
		// Not a machine root, or not at the start of a path: unchanged.
		{"ls /usr/tmp /tmpfoo $HOME/tmp /etc/hosts /var/lib/apt", "ls /usr/tmp /tmpfoo $HOME/tmp /etc/hosts /var/lib/apt"},
		{"/bin/sh -c true", "/bin/sh -c true"},
	} {
		if got := mapPaths(d, tc.in); got != tc.want {
			t.Errorf("mapPaths(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSandboxShellNeedsAPlainDirectory(t *testing.T) {
	_, err := NewHosts(HostsOptions{Shell: true, MachinesDir: filepath.Join(t.TempDir(), "my machines")})
	if err == nil || !strings.Contains(err.Error(), "quoted") {
		t.Errorf("a machines directory with a space: %v, want refused", err)
	}
}

func TestDescribeShowsAnExcerpt(t *testing.T) {
	first := "#!/bin/sh # \x1b[2J\n"
	short, long := "echo 0123456789\n", strings.Repeat("x", 599)+"\n"
	for _, tc := range []struct {
		name     string
		userData string
		lines    int
	}{
		{"many lines: the first 40", first + strings.Repeat(short, 200), shownLines},
		{"long lines: whole lines within 2000 bytes", first + strings.Repeat(long, 10), 1 + (shownBytes-len(first))/len(long)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := describe(Machine{Vendor: "vastai", UserDataField: "onstart", UserData: tc.userData}, "SHA256:x (ssh-ed25519)", "", true)
			if n := strings.Count(out, "    | "); n != tc.lines {
				t.Errorf("%d lines of user data shown, want %d", n, tc.lines)
			}
			shown := len(strings.Join(strings.SplitAfter(tc.userData, "\n")[:tc.lines], ""))
			want := fmt.Sprintf("onstart  %d bytes, the first %d shown", len(tc.userData), shown)
			if !strings.Contains(out, want) || !strings.Contains(out, "#!/bin/sh # ?[2J") {
				t.Errorf("want %q and the escape character replaced:\n%s", want, out)
			}
			if strings.Contains(out, "Your command was not run") {
				t.Error("an interactive login is told a command was not run")
			}
		})
	}
}

// TestPortHeldElsewhereMovesTheMachine: two sandboxes (two processes, as
// parallel test packages are) hand out the same addresses; a machine whose
// port another one holds at its own number on the address it would get
// takes the next address, where the port answers, instead of being shown
// there with the port closed.
func TestPortHeldElsewhereMovesTheMachine(t *testing.T) {
	var first, second Hosts
	t.Cleanup(first.CloseAll)
	t.Cleanup(second.CloseAll)
	// A free port, to hold as a machine's fixed one.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	m := Machine{Vendor: "lambda", ID: "a", Ports: []OpenPort{{Port: port, Protocol: "tcp"}}}
	ipA, _, err := first.Open("a", "", 0, m)
	if err != nil {
		t.Fatal(err)
	}
	m.ID = "b"
	ipB, _, err := second.Open("b", "", 0, m)
	if err != nil {
		t.Fatal(err)
	}
	if ipA == ipB {
		t.Fatalf("both machines at %s", ipA)
	}
	for id, ip := range map[string]string{"a": ipA, "b": ipB} {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(port)), 2*time.Second)
		if err != nil {
			t.Fatalf("machine %s: %v", id, err)
		}
		line, _ := io.ReadAll(c)
		c.Close()
		if want := fmt.Sprintf("instance %s, port %d/tcp", id, port); !strings.Contains(string(line), want) {
			t.Errorf("%s:%d answered %q, want %q", ip, port, line, want)
		}
	}
	if got := second.Ports("b"); len(got) != 1 || got[0].Public != port {
		t.Errorf("machine b's ports %+v, want %d open", got, port)
	}
}
