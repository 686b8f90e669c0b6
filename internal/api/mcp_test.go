package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/gpusupply/supply/internal/mcpserver"
	"github.com/gpusupply/supply/supplyapi"
)

// newMCPServer is a test server that serves POST /mcp.
func newMCPServer(tb testing.TB) *testServer {
	tb.Helper()
	ts := newTestServerWith(tb, 3, nil)
	// A procurement that ended: wait_until_ready answers at once.
	reason := "no capacity"
	ts.provision.answer(provisionAnswers{status: supplyapi.OfferStatusResponse{ProcurementStatus: supplyapi.ProcurementFailed, FailureReason: &reason}})
	RegisterMCP(ts.api, mcpserver.Handler(ts.api.Handler(), "test"))
	return ts
}

// mcpSeeds are JSON-RPC messages, good and bad, to POST /mcp.
var mcpSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
	`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
	`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"find_offers","arguments":{"gpu_type":"H100","limit":2}}}`,
	`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"rent","arguments":{"gpu_type":"H100"}}}`,
	`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"offer_details","arguments":{"offer_id":"nope"}}}`,
	`{"jsonrpc":"2.0","id":6,"method":"resources/list"}`,
	`{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"supply://machines/x"}}`,
	`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	`[{"jsonrpc":"2.0","id":8,"method":"ping"},{"jsonrpc":"2.0","id":9,"method":"tools/list"}]`,
	`{"jsonrpc":"2.0","id":10,"method":"no/such/method"}`,
	`{"jsonrpc":"2.0","id":11,"result":{}}`,
	`{"jsonrpc":"1.0","id":1,"method":"ping"}`,
	`{"id":{"x":1},"method":"ping"}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"x"}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"wait_until_ready","arguments":{"offer_id":"00000000-0000-0000-0000-000000000000","timeout_seconds":5}}}`,
	`[]`, `[1]`, `{}`, `null`, `"x"`, `{"jsonrpc":"2.0"`, ``, `{"jsonrpc":"2.0","id":1,"method":"ping"}{}`,
}

// FuzzMCPRequest: whatever a client POSTs to /mcp, the answer is never a
// 5xx, and a refusal is a JSON-RPC error: a parse error, an invalid
// request, or the protocol's answer to a message it read.
func FuzzMCPRequest(f *testing.F) {
	for _, s := range mcpSeeds {
		f.Add([]byte(s))
	}
	ts := newMCPServer(f)
	h := ts.api.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/mcp", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ts.key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkMCPAnswer(t, body, rec)
	})
}

// checkMCPAnswer fails unless rec is an answer of the protocol to body:
// 202 without a body, 200 with JSON-RPC messages (JSON or an event
// stream), or a 4xx JSON-RPC error.
func checkMCPAnswer(t *testing.T, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	ct := rec.Header().Get("Content-Type")
	switch {
	case rec.Code >= 500:
		t.Fatalf("POST /mcp %q: %d %s", body, rec.Code, rec.Body)
	case rec.Code == http.StatusAccepted:
	case rec.Code >= 400:
		var answer struct {
			JSONRPC string         `json:"jsonrpc"`
			Error   *jsonrpc.Error `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || !strings.HasPrefix(ct, "application/json") ||
			answer.JSONRPC != "2.0" || answer.Error == nil || answer.Error.Message == "" {
			t.Fatalf("POST /mcp %q: %d %s %q, want a JSON-RPC error", body, rec.Code, ct, rec.Body)
		}
	case strings.HasPrefix(ct, "application/json"):
		if _, err := jsonrpc.DecodeMessage(rec.Body.Bytes()); err != nil {
			t.Fatalf("POST /mcp %q: %d %q, want a JSON-RPC answer: %v", body, rec.Code, rec.Body, err)
		}
	case strings.HasPrefix(ct, "text/event-stream"):
		sc := bufio.NewScanner(rec.Body)
		sc.Buffer(nil, 1<<22)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				if _, err := jsonrpc.DecodeMessage([]byte(data)); err != nil {
					t.Fatalf("POST /mcp %q: event %q is not a JSON-RPC message: %v", body, data, err)
				}
			}
		}
	default:
		t.Fatalf("POST /mcp %q: %d %s %q", body, rec.Code, ct, rec.Body)
	}
}

// TestMCPRequestSeeds sends every seed, and a request without a key.
func TestMCPRequestSeeds(t *testing.T) {
	ts := newMCPServer(t)
	if r := ts.do(t, http.MethodPost, "/mcp", "application/json", mcpSeeds[1], ""); r.status != http.StatusUnauthorized {
		t.Errorf("POST /mcp without a key: %d %s, want 401", r.status, r.body)
	}
	for _, s := range mcpSeeds {
		req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(s))
		req.Header.Set("Authorization", "Bearer "+ts.key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		rec := httptest.NewRecorder()
		ts.api.Handler().ServeHTTP(rec, req)
		checkMCPAnswer(t, []byte(s), rec)
	}
	// The API requests of a tool are logged with the key and the tool.
	if log := ts.log.String(); !strings.Contains(log, `"mcp_tool":"find_offers"`) {
		t.Errorf("no request line names the MCP tool find_offers:\n%s", log)
	}
}

// TestMCPRateLimited: POST /mcp takes from the account's rate limit like
// any request.
func TestMCPRateLimited(t *testing.T) {
	ts := newTestServerWith(t, 1, func(c *Config) { c.RateLimit, c.RateBurst = 0.01, 1 })
	RegisterMCP(ts.api, mcpserver.Handler(ts.api.Handler(), "test"))
	send := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Authorization", "Bearer "+ts.key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		rec := httptest.NewRecorder()
		ts.api.Handler().ServeHTTP(rec, req)
		return rec
	}
	if rec := send(); rec.Code != http.StatusOK {
		t.Fatalf("the first POST /mcp: %d %s", rec.Code, rec.Body)
	}
	if rec := send(); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("POST /mcp over the account's rate: %d %s, want 429 with Retry-After", rec.Code, rec.Body)
	}
}
