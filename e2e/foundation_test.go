package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// firstKeyLine is what the server logs when it makes the initial key.
const firstKeyLine = `"msg":"created initial API key"`

// TestFoundation walks what a new user meets first: the printed key,
// discovery, authentication, the operational endpoints, and a restart
// that keeps the same key.
func TestFoundation(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := Start(t, engine)

			t.Run("initial key printed and written 0600", func(t *testing.T) {
				if !strings.HasPrefix(s.Key, "sk_") {
					t.Fatalf("initial key %q does not look like an API key", s.Key)
				}
				// Not a terminal: the key is in its file, never in the logs,
				// which are JSON lines and nothing else.
				keyFile := filepath.Join(s.DataDir, "initial-api-key")
				out := s.Stderr()
				if !strings.Contains(out, firstKeyLine) || !strings.Contains(out, keyFile) || strings.Contains(out, s.Key) {
					t.Fatalf("stderr does not name the key's file, or shows the key:\n%s", out)
				}
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					if !json.Valid([]byte(line)) {
						t.Fatalf("a log line that is not JSON: %q", line)
					}
				}
				if strings.Contains(out, "Applied migration") {
					t.Errorf("a first start logs River's migrations at info:\n%s", out)
				}
				fi, err := os.Stat(filepath.Join(s.DataDir, "initial-api-key"))
				if err != nil {
					t.Fatal(err)
				}
				if mode := fi.Mode().Perm(); mode != 0o600 {
					t.Fatalf("initial-api-key mode %o, want 600", mode)
				}
			})

			t.Run("available_gpus", func(t *testing.T) {
				var families map[string][]string
				s.JSON(t, http.MethodGet, "/available_gpus", "", nil, http.StatusOK, &families)
				want := []string{"nvidia-h100-nvl-94gb", "nvidia-h100-pcie-80gb", "nvidia-h100-sxm5-80gb"}
				if got := slices.Sorted(slices.Values(families["H100"])); !slices.Equal(got, want) {
					t.Fatalf("H100 variants %v, want %v", got, want)
				}
				if len(families["A100"]) == 0 || len(families["L40S"]) == 0 {
					t.Fatalf("A100 or L40S missing: %v", families)
				}
			})

			t.Run("no or wrong key is 401", func(t *testing.T) {
				for _, key := range []string{"", "sk_supply_not-a-real-key"} {
					code, h, body := s.DoKey(t, key, http.MethodGet, "/available_gpus", "", nil)
					if code != http.StatusUnauthorized || string(bytes.TrimSpace(body)) != `{"detail":"Not authenticated"}` {
						t.Fatalf("key %q: %d %s, want 401 Not authenticated", key, code, body)
					}
					if got := h.Get("WWW-Authenticate"); got != "Bearer" {
						t.Fatalf("key %q: WWW-Authenticate %q, want Bearer", key, got)
					}
				}
			})

			t.Run("operational endpoints need no key", func(t *testing.T) {
				for _, path := range []string{"/healthz", "/readyz"} {
					code, _, body := s.DoKey(t, "", http.MethodGet, path, "", nil)
					if code != http.StatusOK || !bytes.Contains(body, []byte(`"status":"ok"`)) {
						t.Fatalf("%s: %d %s", path, code, body)
					}
				}
				code, h, body := s.DoKey(t, "", http.MethodGet, "/docs", "", nil)
				if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
					t.Fatalf("/docs: %d %s %.200s", code, h.Get("Content-Type"), body)
				}
				var doc struct {
					OpenAPI string         `json:"openapi"`
					Paths   map[string]any `json:"paths"`
				}
				code, _, body = s.DoKey(t, "", http.MethodGet, "/openapi.json", "", nil)
				if err := json.Unmarshal(body, &doc); code != http.StatusOK || err != nil {
					t.Fatalf("/openapi.json: %d %v", code, err)
				}
				if !strings.HasPrefix(doc.OpenAPI, "3.1") || doc.Paths["/get_offers"] == nil {
					t.Fatalf("/openapi.json: openapi %q, get_offers documented: %v", doc.OpenAPI, doc.Paths["/get_offers"] != nil)
				}
			})

			t.Run("version names the commit", func(t *testing.T) {
				var health struct {
					Version struct {
						Commit string `json:"commit"`
						Go     string `json:"go"`
					} `json:"version"`
				}
				s.JSON(t, http.MethodGet, "/healthz", "", nil, http.StatusOK, &health)
				printed := s.Command(t, "version")
				if health.Version.Go == "" || !strings.Contains(printed, health.Version.Go) {
					t.Fatalf("/healthz version %+v; supply version printed %q", health.Version, printed)
				}
				// Go records the commit only when it builds in a plain git
				// checkout (a clean clone, as CI's); elsewhere there is
				// none to compare.
				head, ok := checkoutCommit(t)
				if !ok || os.Getenv("SUPPLY_E2E_BINARY") != "" {
					t.Skip("not built from a plain git checkout")
				}
				if health.Version.Commit != head || !strings.Contains(printed, "commit "+head) {
					t.Fatalf("HEAD is %s; /healthz says commit %q, supply version printed %q", head, health.Version.Commit, printed)
				}
			})

			t.Run("metrics are not on the API's listener", func(t *testing.T) {
				if code, _, body := s.DoKey(t, "", http.MethodGet, "/metrics", "", nil); code != http.StatusNotFound {
					t.Fatalf("GET /metrics on the API: %d %.200s, want 404", code, body)
				}
			})

			t.Run("metrics count requests by operationId", func(t *testing.T) {
				const op = "get_available_regions_available_regions_get"
				for range 3 {
					s.JSON(t, http.MethodGet, "/available_regions", "", nil, http.StatusOK, nil)
				}
				body := s.Metrics(t)
				if n := requestCount(body, op, "200"); n != 3 {
					t.Fatalf("supply_http_requests_total for %s = %v, want 3", op, n)
				}
			})

			t.Run("available_vendors are sandbox stand-ins", func(t *testing.T) {
				vs := s.WaitVendors(t)
				names := vendorNames(vs)
				for _, v := range vs {
					if !v.Sandbox || v.Status != "healthy" || v.Offers == 0 {
						t.Errorf("vendor %+v: want sandbox, healthy, with offers", v)
					}
				}
				if !slices.Equal(slices.Sorted(slices.Values(names)), slices.Sorted(slices.Values(vendors.Slugs))) {
					t.Errorf("vendors %v, want every one of %v", names, vendors.Slugs)
				}
				var plain []string
				s.JSON(t, http.MethodGet, "/available_vendors?names_only=true", "", nil, http.StatusOK, &plain)
				if !slices.Equal(plain, names) {
					t.Errorf("names_only %v, want %v", plain, names)
				}
			})

			if engine == store.EnginePostgres {
				t.Run("migrate twice", func(t *testing.T) {
					for range 2 {
						if out := s.Command(t, "migrate"); !strings.Contains(out, "migrations applied") {
							t.Fatalf("supply migrate said %q", out)
						}
					}
				})
			}

			t.Run("restart keeps the key and makes no other", func(t *testing.T) {
				s.Restart(t)
				if strings.Contains(s.Stderr(), firstKeyLine) {
					t.Fatalf("restart created another key:\n%s", s.Stderr())
				}
				b, err := os.ReadFile(filepath.Join(s.DataDir, "initial-api-key"))
				if err != nil || strings.TrimSpace(string(b)) != s.Key {
					t.Fatalf("initial-api-key now %q (%v), want %q", b, err, s.Key)
				}
				s.JSON(t, http.MethodGet, "/available_gpus", "", nil, http.StatusOK, nil)
			})
		})
	}
}

// requestCount reads supply_http_requests_total for one operation and
// status code from a Prometheus text exposition.
func requestCount(exposition []byte, operation, code string) float64 {
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "supply_http_requests_total{") ||
			!strings.Contains(line, `operation="`+operation+`"`) || !strings.Contains(line, `code="`+code+`"`) {
			continue
		}
		n, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			return n
		}
	}
	return 0
}

// vendorNames lists the vendors a server reports, in its order.
func vendorNames(vs []supplyapi.VendorStatus) []string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
	}
	return names
}

// checkoutCommit is the commit of the module's checkout, when it is a
// plain git checkout (not a worktree, whose .git is a file).
func checkoutCommit(t *testing.T) (string, bool) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(root, ".git")); err != nil || !fi.IsDir() {
		return "", false
	}
	out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(out)), true
}
