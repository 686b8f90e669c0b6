package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// TestRentFromDigitalOcean rents an H100 GPU Droplet with the CLI from a
// sandbox server (godo against the DigitalOcean stand-in), waits for SSH,
// and finds the Droplet in GET /sandbox/instances as DigitalOcean's
// console would show it: active, with supply's tags in DigitalOcean's
// "key:value" form, the installation's among them.
func TestRentFromDigitalOcean(t *testing.T) {
	t.Parallel()
	s := Start(t, "sqlite", "--sandbox-steady-stock")
	s.WaitVendors(t)
	key := filepath.Join(t.TempDir(), "id_ed25519.pub")
	if err := os.WriteFile(key, []byte(crashKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Binary(t), "rent", "--gpu", "H100", "--vendor", "digitalocean", "--wait", "--ssh-key", key)
	cmd.Env = append(s.env(), "SUPPLY_URL="+s.URL, "SUPPLY_API_KEY="+s.Key)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("supply rent --vendor digitalocean --wait: %v\n%s%s", err, out, stderr.String())
	}
	if !strings.HasPrefix(string(out), "ssh ") {
		t.Errorf("rent printed %q, want the ssh line", out)
	}
	var console []standin.ConsoleEntry
	s.JSON(t, http.MethodGet, "/sandbox/instances", "", nil, http.StatusOK, &console)
	owner := installation(t, s)
	var droplets []standin.ConsoleEntry
	for _, e := range console {
		if e.Vendor == "digitalocean" {
			droplets = append(droplets, e)
		}
	}
	if len(droplets) != 1 {
		t.Fatalf("console shows %d DigitalOcean Droplets, want 1: %+v", len(droplets), console)
	}
	d := droplets[0]
	resource := vendors.ResourceIDFromName(d.Name)
	if !d.Live || d.State != "active" || !strings.HasPrefix(d.InstanceType, "gpu-h100") || d.IP == "" || resource == "" ||
		!slices.Contains(d.Tags, vendors.Tag+":"+resource) || !slices.Contains(d.Tags, vendors.OwnerTag+":"+owner) {
		t.Errorf("console shows %+v, want an active H100 Droplet tagged with resource and installation %s", d, owner)
	}
}
