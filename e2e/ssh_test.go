package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// sshClient finds the system's ssh client, or skips the test when there is
// none and SUPPLY_TEST_REQUIRE_SSH is not 1 (CI sets it after installing
// Debian's openssh-client).
func sshClient(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("ssh"); err == nil {
		return p
	}
	if os.Getenv("SUPPLY_TEST_REQUIRE_SSH") == "1" {
		t.Fatal("no ssh on PATH and SUPPLY_TEST_REQUIRE_SSH=1")
	}
	t.Skip("no ssh on PATH (set SUPPLY_TEST_REQUIRE_SSH=1 to make this a failure)")
	return ""
}

// renterKey writes a fresh ed25519 key pair in dir, as ssh-keygen would
// (name and name.pub, the private key 0600), and returns the private key's
// path and the public key's line.
func renterKey(t *testing.T, dir, name string) (path, public string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, name+"@test")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	public = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + name + "@test"
	path = filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", []byte(public+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, public
}

// sshLine runs the ssh line a procurement shows (ssh root@IP -p PORT) with
// the system's client and key, as a renter would, without asking about the
// host key and without the user's own ssh configuration or agent, and
// returns what it printed and its exit status.
func sshLine(t *testing.T, client, key, line, command string) (string, int) {
	t.Helper()
	fields := strings.Fields(line)
	if len(fields) < 2 || fields[0] != "ssh" {
		t.Fatalf("ssh_command %q is not an ssh line", line)
	}
	args := append([]string{"-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"},
		fields[1:]...)
	cmd := exec.Command(client, append(args, command)...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "SSH_AUTH_SOCK=") })
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("run ssh: %v", err)
	return "", 0
}

// sandboxMachine is one vendor's machine procured for a test.
type sandboxMachine struct {
	vendor string
	offer  supplyapi.Offer
	status supplyapi.OfferStatusResponse
}

// procureEach procures the cheapest single-GPU offer of each vendor with
// publicKey and cloudInit(vendor) (nil: none) and waits until all are
// ready.
func procureEach(t *testing.T, s *Server, vendorNames []string, publicKey string, cloudInit func(vendor string) *string) []sandboxMachine {
	t.Helper()
	var machines []sandboxMachine
	for _, v := range vendorNames {
		o := offerOf(t, s, v, 0)
		body, _ := json.Marshal(supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: publicKey, CloudInit: cloudInit(v)})
		s.JSON(t, http.MethodPost, "/procure_offer", "application/json", body, http.StatusOK, nil)
		machines = append(machines, sandboxMachine{vendor: v, offer: o})
	}
	for i, m := range machines {
		st := pollStatus(t, s, m.offer.OfferID, time.Minute, settled)
		if st.ProcurementStatus != supplyapi.ProcurementReady || len(st.Instances) != 1 || st.Instances[0].SSHCommand == nil {
			t.Fatalf("%s procurement: %+v", m.vendor, st)
		}
		machines[i].status = st
	}
	return machines
}

// TestSSHIntoASandboxMachine: the ssh line a sandbox procurement shows
// works with the system's ssh client and the key the machine was procured
// with, on every vendor (exit 0, a sandbox host saying so and showing the
// key), and the same line with another key is refused.
func TestSSHIntoASandboxMachine(t *testing.T) {
	client := sshClient(t)
	dir := t.TempDir()
	key, public := renterKey(t, dir, "renter")
	other, _ := renterKey(t, dir, "other")
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(public))
	if err != nil {
		t.Fatal(err)
	}
	s := Start(t, store.EngineSQLite, "--sandbox-boot-time", "1s")
	s.WaitVendors(t)
	var names []string
	s.JSON(t, http.MethodGet, "/available_vendors?names_only=true", "", nil, http.StatusOK, &names)
	machines := procureEach(t, s, names, public, func(string) *string { return nil })
	for _, m := range machines {
		t.Run(m.vendor, func(t *testing.T) {
			line := *m.status.Instances[0].SSHCommand
			out, status := sshLine(t, client, key, line, "true")
			if status != 0 || !strings.Contains(out, "supply sandbox host") || !strings.Contains(out, "through "+m.vendor+"'s API") ||
				!strings.Contains(out, ssh.FingerprintSHA256(pk)) {
				t.Errorf("%s true: exit %d\n%s\nwant 0 from a sandbox host of %s showing the key", line, status, out, m.vendor)
			}
			if out, status := sshLine(t, client, other, line, "true"); status != 255 || !strings.Contains(out, "Permission denied (publickey)") {
				t.Errorf("%s with another key: exit %d, %q; want 255, Permission denied (publickey)", line, status, out)
			}
		})
	}
}

// TestSandboxShellRunsCloudInit: with --sandbox-shell, the renter's
// cloud-init runcmd (a cloud-init vendor) or start-up script (vendors that
// run one, through their own wrapping) runs once the machine is up, each
// machine in its own directory, and ssh runs commands there with their
// exit status.
func TestSandboxShellRunsCloudInit(t *testing.T) {
	client := sshClient(t)
	key, public := renterKey(t, t.TempDir(), "renter")
	s := Start(t, store.EngineSQLite, "--sandbox-shell", "--sandbox-boot-time", "1s")
	s.WaitVendors(t)
	cloudInit := func(vendor string) *string {
		doc := "#!/bin/bash\necho ready on " + vendor + " > /tmp/ready.txt\n"
		if vendor == "lambda" {
			doc = "#cloud-config\nruncmd:\n  - echo ready on " + vendor + " > /tmp/ready.txt\n"
		}
		return &doc
	}
	machines := procureEach(t, s, []string{"lambda", "vastai", "runpod"}, public, cloudInit)
	for _, m := range machines {
		t.Run(m.vendor, func(t *testing.T) {
			line := *m.status.Instances[0].SSHCommand
			// The boot runs once the machine is up, as cloud-init does
			// after sshd starts: wait for its marker.
			deadline := time.Now().Add(30 * time.Second)
			for {
				out, status := sshLine(t, client, key, line, "cat /tmp/ready.txt")
				if status == 0 {
					if want := "ready on " + m.vendor + "\n"; out != want {
						t.Errorf("cat /tmp/ready.txt: %q, want %q", out, want)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no /tmp/ready.txt on %s after 30 s: exit %d, %s\n%s", m.vendor, status, out, s.tail())
				}
				time.Sleep(200 * time.Millisecond)
			}
			if out, status := sshLine(t, client, key, line, "echo $USER; exit 7"); status != 7 || out != "root\n" {
				t.Errorf("echo $USER; exit 7: exit %d, %q; want 7, root", status, out)
			}
		})
	}
	if dirs, err := filepath.Glob(filepath.Join(s.DataDir, "sandbox", "machines", "*", "*", "tmp", "ready.txt")); err != nil || len(dirs) != len(machines) {
		t.Errorf("machines' ready.txt: %q, %v; want one in each of %d machine directories", dirs, err, len(machines))
	}
}
