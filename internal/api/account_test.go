package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/supplyapi"
)

func TestPatchResource(t *testing.T) {
	ts := newTestServer(t, 0)
	ts.provision.answer(provisionAnswers{resource: vmResource})
	path := "/resources/" + nodeID.String()
	patch := func(body string) response {
		return ts.do(t, http.MethodPatch, path, "application/json", body, "Bearer "+ts.key)
	}

	wantJSON(t, patch(`{"auto_delete_after":"2h"}`), 200, vmJSON)
	c := ts.provision.lastCall()
	if b, _ := c.patch.AutoDeleteAfter.MarshalJSON(); c.method != "SetAutoDelete" || c.id != nodeID || c.accountID != testAccount || string(b) != `"2h"` {
		t.Fatalf("PATCH reached the service as %+v (%s)", c, b)
	}
	patch(`{"auto_delete_after":null}`)
	if c := ts.provision.lastCall(); !c.patch.AutoDeleteAfter.IsNull() {
		t.Fatalf("null reached the service as %+v", c.patch)
	}
	patch(`{"auto_delete_after":5400}`)
	if b, _ := ts.provision.lastCall().patch.AutoDeleteAfter.MarshalJSON(); string(b) != `5400` {
		t.Fatalf("a number of seconds reached the service as %s", b)
	}

	ts.provision.answer(provisionAnswers{})
	ts.provision.forget()
	for body, want := range map[string]string{
		`{}`: `{"detail":[{"type":"missing","loc":["body","auto_delete_after"],"msg":"Field required","input":{}}]}`,
		`{"auto_delete_after":"2h","delete_at":null}`: `"loc":["body","delete_at"]`,
	} {
		r := patch(body)
		if r.status != 422 || !strings.Contains(string(r.body), strings.TrimSuffix(strings.TrimPrefix(want, `{"detail":[`), `]}`)) {
			t.Errorf("PATCH %s: %d %s, want 422 with %s", body, r.status, r.body, want)
		}
		if c := ts.provision.lastCall(); c.method != "" {
			t.Fatalf("an invalid PATCH reached the service: %+v", c)
		}
	}

	ts.provision.answer(provisionAnswers{err: &refusal.Error{Kind: refusal.ErrConflict, Detail: "Resource x is deleted: there is nothing left to auto-delete"}})
	wantJSON(t, patch(`{"auto_delete_after":"2h"}`), 409, `{"detail":"Resource x is deleted: there is nothing left to auto-delete"}`)
}

func TestAccountAndUsage(t *testing.T) {
	ts := newTestServer(t, 0)
	maxUSD := 50.0
	ts.provision.answer(provisionAnswers{
		account: supplyapi.AccountInfo{Name: "alice", Limits: supplyapi.AccountLimits{MaxHourlyUSD: &maxUSD},
			Live: supplyapi.LiveSpend{HourlyUSD: 12.5, GPUCount: 4, Resources: 2}},
		usage: supplyapi.Usage{From: t0, To: t1, Currency: "USD", TotalCost: 1.23, Groups: []supplyapi.UsageGroup{{Key: "lambda", Cost: 1.23, Resources: 1}}},
	})
	wantJSON(t, ts.get(t, "/account"), 200, `{"name":"alice","limits":{"max_hourly_usd":50,"max_gpu_count":null},
		"live":{"hourly_usd":12.5,"gpu_count":4,"resources":2}}`)

	wantJSON(t, ts.get(t, "/usage?from=2026-01-02T03:04:05Z&to=2026-01-02T05:00:00%2B01:00&group_by=vendor"), 200,
		`{"from":"2026-01-02T03:04:05Z","to":"2026-01-02T03:05:35Z","group_by":null,"currency":"USD","total_cost":1.23,
		"groups":[{"key":"lambda","cost":1.23,"resources":1}]}`)
	c := ts.provision.lastCall()
	if c.method != "Usage" || !c.usage.From.Equal(t0) || !c.usage.To.Equal(time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC)) || c.usage.GroupBy != "vendor" {
		t.Fatalf("usage reached the service as %+v", c)
	}
	ts.get(t, "/usage")
	if c := ts.provision.lastCall(); c.usage.To.Sub(c.usage.From) != 30*24*time.Hour || time.Since(c.usage.To) > time.Minute {
		t.Fatalf("default window %s–%s, want the last 30 days", c.usage.From, c.usage.To)
	}

	ts.provision.answer(provisionAnswers{})
	ts.provision.forget()
	for q, loc := range map[string]string{
		"from=yesterday": `["query","from"]`,
		"to=2026-13-01":  `["query","to"]`,
		"group_by=week":  `["query","group_by"]`,
		"from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z": `["query","from"]`,
	} {
		r := ts.get(t, "/usage?"+q)
		if r.status != 422 || !strings.Contains(string(r.body), `"loc":`+loc) {
			t.Errorf("GET /usage?%s: %d %s, want 422 at %s", q, r.status, r.body, loc)
		}
		if c := ts.provision.lastCall(); c.method != "" {
			t.Fatalf("an invalid usage query reached the service: %+v", c)
		}
	}
}

func TestSpendCapIsForbidden(t *testing.T) {
	ts := newTestServer(t, 1)
	detail := "Procuring this offer would exceed the account's cap of 0 live GPUs: its live resources hold 0 GPUs now and this offer has 1 (at $2.00 per hour)."
	ts.provision.answer(provisionAnswers{err: &refusal.Error{Kind: refusal.ErrForbidden, Detail: detail}})
	r := ts.do(t, http.MethodPost, "/procure_offer", "application/json",
		`{"offer_id":"`+offerID.String()+`","ssh_public_key":"`+sshKey+`"}`, "Bearer "+ts.key)
	wantJSON(t, r, 403, `{"detail":"`+detail+`"}`)
}

// forget clears the last call, so that a request that should not reach
// the service can be told from the one before.
func (s *provisionService) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = provisionCall{}
}
