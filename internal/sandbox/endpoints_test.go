package sandbox

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/lambda"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// TestEndpoints: a sandbox writes, for every vendor, the variables that
// point another installation's real adapter at its stand-in; those work
// (a real Lambda adapter built from them reads the catalog and learns
// the hosts' SSH ports), and a restart on the same data dir keeps them.
func TestEndpoints(t *testing.T) {
	dataDir := t.TempDir()
	sb, err := Start(Options{DataDir: dataDir, BootTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dataDir, "sandbox", EndpointsFile)
	first := readEndpoints(t, path)
	if got := slices.Sorted(maps.Keys(first)); !slices.Equal(got, slices.Sorted(slices.Values(vendors.Slugs))) {
		t.Fatalf("endpoints for %v, want every vendor %v", got, vendors.Slugs)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, mode %v; want 0600 (it holds credentials)", path, err, fi.Mode().Perm())
	}
	for slug, env := range first {
		if env["SUPPLY_SANDBOX_HOSTS_URL"] == "" {
			t.Errorf("%s: no SUPPLY_SANDBOX_HOSTS_URL in %v", slug, env)
		}
		for k, v := range env {
			if !strings.HasPrefix(k, "SUPPLY_") || v == "" {
				t.Errorf("%s: %s=%q", slug, k, v)
			}
		}
	}
	if _, err := os.Stat(first["nebius"]["SUPPLY_NEBIUS_PRIVATE_KEY_FILE"]); err != nil {
		t.Errorf("Nebius key file: %v", err)
	}

	env := first["lambda"]
	a := lambda.New(lambda.Config{APIKey: env["SUPPLY_LAMBDA_API_KEY"], BaseURL: env["SUPPLY_LAMBDA_BASE_URL"]})
	items, err := a.Catalog(context.Background())
	if err != nil || len(items) == 0 {
		t.Fatalf("a real adapter from the endpoints: %d items, %v", len(items), err)
	}
	ip, port, err := sb.hosts.Open("probe", "", 0, standin.Machine{})
	if err != nil {
		t.Fatal(err)
	}
	if got := RemotePorts(env["SUPPLY_SANDBOX_HOSTS_URL"])(ip); got != port {
		t.Errorf("hosts service says port %d for %s, want %d", got, ip, port)
	}
	if resp, err := http.Get(env["SUPPLY_SANDBOX_HOSTS_URL"] + "/ssh-port?ip=nonsense"); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad question: %v %v, want 400", resp, err)
	}
	// The vendor account's console: every instance, for the key's holder.
	i := slices.IndexFunc(items, func(it vendors.CatalogItem) bool { return it.Available })
	if _, err := a.Create(context.Background(), vendors.CreateRequest{ResourceID: "0b0e1f52-6c1a-4c55-9d1a-9d0f3c2f8a11",
		InstanceType: items[i].InstanceType, Region: items[i].Region, SSHPublicKey: vendortest.PublicKey(t), Item: items[i]}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{env["SUPPLY_LAMBDA_API_KEY"]: http.StatusOK, "wrong": http.StatusUnauthorized} {
		req, _ := http.NewRequest(http.MethodGet, env["SUPPLY_SANDBOX_HOSTS_URL"]+"/instances", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("console with key %q: %v %v, want %d", key, resp, err, want)
		}
		var list []standin.ConsoleEntry
		if want == http.StatusOK && (json.NewDecoder(resp.Body).Decode(&list) != nil || len(list) != 1) {
			t.Errorf("console lists %+v, want the one instance", list)
		}
		resp.Body.Close()
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}

	sb, err = Start(Options{DataDir: dataDir, BootTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if again := readEndpoints(t, path); !maps.EqualFunc(first, again, maps.Equal) {
		t.Errorf("endpoints changed across a restart:\n%v\n%v", first, again)
	}
}

func readEndpoints(t *testing.T, path string) Endpoints {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e Endpoints
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}
