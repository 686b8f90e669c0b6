package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/api"
)

// TestVolumeRequests: what a client sends wrong to /volumes is a 422 in
// FastAPI's shape before the service is asked; the service's refusals
// keep their status; the list is [] when empty.
func TestVolumeRequests(t *testing.T) {
	_, key, base := api.NewTestServer(t, func(c *api.Config) { c.Volumes = api.NoVolumes{} })
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for _, tc := range []struct{ method, path, body, want string }{
		{http.MethodPost, "/volumes", `{"vendor":"lambda","region":"us-east-1","size_gb":0,"name":"x"}`, `"loc":["body","size_gb"]`},
		{http.MethodPost, "/volumes", `{"vendor":"lambda","region":"us-east-1","size_gb":10}`, `"loc":["body","name"]`},
		{http.MethodGet, "/volumes/not-a-uuid", ``, `"loc":["path","volume_id"]`},
		{http.MethodPost, "/get_offers", `{"compute":{"gpu_type":"H100"},"volume_id":"` + uuid.NewString() + `"}`, `"loc":["body","volume_id"]`},
	} {
		if status, body := do(tc.method, tc.path, tc.body); status != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %s: %d %s, want 422 at %s", tc.method, tc.path, tc.body, status, body, tc.want)
		}
	}
	if status, body := do(http.MethodGet, "/volumes", ""); status != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Errorf("GET /volumes: %d %s, want []", status, body)
	}
	if status, _ := do(http.MethodDelete, "/volumes/"+uuid.NewString(), ""); status != http.StatusNotFound {
		t.Errorf("DELETE of an unknown volume: %d, want 404", status)
	}
	if status, _ := do(http.MethodPost, "/volumes", `{"vendor":"lambda","region":"us-east-1","size_gb":10,"name":"x"}`); status != http.StatusConflict {
		t.Errorf("a refused volume: %d, want the refusal's 409", status)
	}
}
