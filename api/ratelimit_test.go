package api

import (
	"net/http"
	"strconv"
	"testing"
)

func TestRateLimitPerAccount(t *testing.T) {
	ts := newTestServerWith(t, 0, func(c *Config) { c.RateLimit, c.RateBurst = 0.5, 2 })
	auth := "Bearer " + ts.key
	for i := range 2 {
		if r := ts.do(t, http.MethodGet, "/available_regions", "", "", auth); r.status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d", i, r.status)
		}
	}
	r := ts.do(t, http.MethodGet, "/available_regions", "", "", auth)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("request over the limit: %d %s", r.status, r.body)
	}
	after := r.header.Get("Retry-After")
	if s, err := strconv.Atoi(after); err != nil || s < 1 || s > 2 {
		t.Errorf("Retry-After %q, want 1-2 seconds", after)
	}
	wantJSON(t, r, http.StatusTooManyRequests, `{"detail":"Too many requests for this account; retry after `+after+` s"}`)
	// Health checks are not an account's requests.
	if r := ts.do(t, http.MethodGet, "/healthz", "", "", ""); r.status != http.StatusOK {
		t.Errorf("healthz limited: %d", r.status)
	}
}
