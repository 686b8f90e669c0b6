package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gpusupply/supply/internal/store"
)

// inspectorPackage is the third-party MCP client the test drives supply
// with: the MCP Inspector's command-line mode, pinned: 0.17.5 sends
// --header over streamable HTTP, and still runs on Node 20 (which npm
// warns about).
const inspectorPackage = "@modelcontextprotocol/inspector@0.17.5"

// inspector installs the MCP Inspector with npm into a cache directory of
// the tests' own (once; later runs reuse it) and returns its command. It
// skips the test when npm is not on PATH, or fails it when
// SUPPLY_TEST_REQUIRE_MCP_INSPECTOR=1 (CI sets it where npm is).
func inspector(t *testing.T) string {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		if os.Getenv("SUPPLY_TEST_REQUIRE_MCP_INSPECTOR") == "1" {
			t.Fatal("npm is not on PATH, and SUPPLY_TEST_REQUIRE_MCP_INSPECTOR=1")
		}
		t.Skip("npm is not on PATH (set SUPPLY_TEST_REQUIRE_MCP_INSPECTOR=1 to make this a failure)")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "supply-e2e", strings.NewReplacer("@", "", "/", "-").Replace(inspectorPackage))
	bin := filepath.Join(dir, "node_modules", ".bin", "mcp-inspector")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(npm, "install", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error", inspectorPackage)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install %s: %v\n%s", inspectorPackage, err, out)
	}
	return bin
}

// TestMCPInspector: a third-party MCP client, the MCP Inspector's
// command-line mode, lists supply's tools and calls find_offers against
// the real server, over streamable HTTP (POST /mcp with the key in
// Authorization) and through supply mcp on stdio.
func TestMCPInspector(t *testing.T) {
	bin := inspector(t)
	s := Start(t, store.EngineSQLite)
	s.WaitVendors(t)
	for name, target := range map[string][]string{
		"http":  {s.URL + "/mcp", "--transport", "http", "--header", "Authorization: Bearer " + s.Key},
		"stdio": {"-e", "SUPPLY_URL=" + s.URL, "-e", "SUPPLY_API_KEY=" + s.Key, "-e", "HOME=" + t.TempDir(), Binary(t), "mcp"},
	} {
		t.Run(name, func(t *testing.T) { inspectTools(t, append([]string{bin, "--cli"}, target...)) })
	}
}

// inspectTools runs the inspector's command line (its program and the
// server to inspect) to list the tools and find H100 offers.
func inspectTools(t *testing.T, cli []string) {
	run := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(cli[0], append(cli[1:], args...)...).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("mcp-inspector %s: %v\n%s\n%s", strings.Join(args, " "), err, out, stderr)
		}
		return out
	}

	var listed struct {
		Tools []struct {
			Name        string `json:"name"`
			Annotations struct {
				ReadOnlyHint    bool  `json:"readOnlyHint"`
				DestructiveHint *bool `json:"destructiveHint"`
			} `json:"annotations"`
		} `json:"tools"`
	}
	out := run("--method", "tools/list")
	if err := json.Unmarshal(out, &listed); err != nil {
		t.Fatalf("tools/list: %v\n%s", err, out)
	}
	var names []string
	for _, tl := range listed.Tools {
		names = append(names, tl.Name)
		if tl.Annotations.DestructiveHint == nil {
			t.Errorf("the inspector sees %s without annotations", tl.Name)
		}
	}
	for _, want := range append(slices.Clone(mcpReadTools), mcpWriteTools...) {
		if !slices.Contains(names, want) {
			t.Errorf("the inspector lists %v, without %s", names, want)
		}
	}

	var found struct {
		IsError           bool `json:"isError"`
		StructuredContent struct {
			Offers []struct {
				OfferID string `json:"offer_id"`
				GPUType string `json:"gpu_type"`
			} `json:"offers"`
		} `json:"structuredContent"`
	}
	out = run("--method", "tools/call", "--tool-name", "find_offers", "--tool-arg", "gpu_type=H100")
	if err := json.Unmarshal(out, &found); err != nil || found.IsError || len(found.StructuredContent.Offers) == 0 {
		t.Fatalf("tools/call find_offers: %v\n%s", err, out)
	}
	for _, o := range found.StructuredContent.Offers {
		if o.OfferID == "" || !strings.Contains(o.GPUType, "h100") {
			t.Errorf("find_offers H100 through the inspector: %+v", o)
		}
	}
}
