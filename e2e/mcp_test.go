package e2e

import (
	"context"
	"encoding/json"

	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// The MCP server, driven with the Go SDK's own client over both of its
// transports: streamable HTTP at POST /mcp, and supply mcp on stdio.

// mcpTools are the tools of a key that may write, and of a viewer.
var (
	mcpWriteTools = []string{"cancel_auto_delete", "delete_machine", "extend_auto_delete", "rent"}
	mcpReadTools  = []string{"account_usage", "find_offers", "list_machines", "machine_details", "offer_details", "wait_until_ready"}
)

// mcpClient is an MCP client session and the progress notifications it
// has received.
type mcpClient struct {
	*mcp.ClientSession
	mu       sync.Mutex
	progress []string
}

func (c *mcpClient) progressSeen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.progress)
}

// connectMCP connects to the server s with key over transport "http" or
// "stdio".
func connectMCP(t *testing.T, s *Server, transport, key string) *mcpClient {
	t.Helper()
	c := &mcpClient{}
	client := mcp.NewClient(&mcp.Implementation{Name: "supply-e2e", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			c.mu.Lock()
			c.progress = append(c.progress, req.Params.Message)
			c.mu.Unlock()
		}})
	var tr mcp.Transport
	switch transport {
	case "http":
		tr = &mcp.StreamableClientTransport{Endpoint: s.URL + "/mcp",
			HTTPClient: &http.Client{Transport: bearer{key: key, base: http.DefaultTransport}}}
	case "stdio":
		cmd := exec.Command(Binary(t), "mcp")
		// HOME without ~/.ssh: the tests pass the public key to rent.
		cmd.Env = append(s.env(), "SUPPLY_URL="+s.URL, "SUPPLY_API_KEY="+key, "HOME="+t.TempDir())
		tr = &mcp.CommandTransport{Command: cmd}
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	session, err := client.Connect(ctx, tr, nil)
	if err != nil {
		t.Fatalf("connect over %s: %v\n%s", transport, err, s.tail())
	}
	t.Cleanup(func() { session.Close() })
	c.ClientSession = session
	return c
}

// bearer adds the API key to each request of the HTTP transport.
type bearer struct {
	key  string
	base http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.base.RoundTrip(r)
}

// call calls a tool that must succeed, and decodes its structured result.
func (c *mcpClient) call(t *testing.T, tool string, args map[string]any, out any) {
	t.Helper()
	res := c.callResult(t, tool, args, nil)
	if res.IsError {
		t.Fatalf("%s %v: tool error %s", tool, args, text(res))
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: decode %s: %v", tool, b, err)
	}
}

func (c *mcpClient) callResult(t *testing.T, tool string, args map[string]any, progressToken any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	params := &mcp.CallToolParams{Name: tool, Arguments: args}
	if progressToken != nil {
		params.SetProgressToken(progressToken)
	}
	res, err := c.CallTool(ctx, params)
	if err != nil {
		t.Fatalf("%s %v: %v", tool, args, err)
	}
	return res
}

// text is the text content of a tool result.
func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, " ")
}

// toolNames lists the tools the session is offered, checking that each
// carries the annotations, by name.
func toolNames(t *testing.T, c *mcpClient) map[string]*mcp.Tool {
	t.Helper()
	res, err := c.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatalf("list tools: %v", err)
	}
	tools := map[string]*mcp.Tool{}
	for _, tl := range res.Tools {
		if tl.Annotations == nil || tl.Annotations.DestructiveHint == nil || tl.Description == "" {
			t.Errorf("tool %s lacks a description or annotations: %+v", tl.Name, tl.Annotations)
		}
		tools[tl.Name] = tl
	}
	return tools
}

type rented struct {
	OfferID  string `json:"offer_id"`
	DeleteAt string `json:"delete_at"`
	Deletion string `json:"deletion"`
	Repeated bool   `json:"repeated"`
	Machines []struct {
		ResourceID string `json:"resource_id"`
		Status     string `json:"status"`
		SSH        string `json:"ssh"`
		Deletion   string `json:"deletion"`
	} `json:"machines"`
}

func (r rented) resourceIDs() []string {
	var ids []string
	for _, m := range r.Machines {
		ids = append(ids, m.ResourceID)
	}
	return ids
}

func TestMCP(t *testing.T) {
	s := Start(t, store.EngineSQLite)
	s.WaitVendors(t)
	viewer := strings.TrimSpace(s.Command(t, "keys", "create", "--account", "default", "--role", "viewer", "--name", "agent-viewer"))

	t.Run("unauthenticated", func(t *testing.T) {
		code, _, body := s.DoKey(t, "", http.MethodPost, "/mcp", "application/json", []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		if code != http.StatusUnauthorized {
			t.Errorf("POST /mcp without a key: %d %s, want 401", code, body)
		}
	})

	for _, transport := range []string{"http", "stdio"} {
		t.Run(transport, func(t *testing.T) {
			c := connectMCP(t, s, transport, s.Key)
			tools := toolNames(t, c)
			for _, name := range append(slices.Clone(mcpReadTools), mcpWriteTools...) {
				if tools[name] == nil {
					t.Fatalf("tool %s is not offered; offered: %v", name, tools)
				}
			}
			if a := tools["delete_machine"].Annotations; !*a.DestructiveHint || a.ReadOnlyHint {
				t.Errorf("delete_machine annotations %+v, want destructive", a)
			}
			if a := tools["find_offers"].Annotations; !a.ReadOnlyHint || *a.DestructiveHint {
				t.Errorf("find_offers annotations %+v, want read-only", a)
			}
			if a := tools["rent"].Annotations; a.ReadOnlyHint || !a.IdempotentHint {
				t.Errorf("rent annotations %+v, want a write that an idempotency key makes idempotent", a)
			}

			var found struct {
				Offers []struct {
					OfferID         string  `json:"offer_id"`
					GPUType         string  `json:"gpu_type"`
					ContractType    string  `json:"contract_type"`
					PricePerGPUHour float64 `json:"price_per_gpu_hour"`
				} `json:"offers"`
			}
			c.call(t, "find_offers", map[string]any{"gpu_type": "H100", "contract_type": "ondemand", "limit": 5}, &found)
			if len(found.Offers) == 0 || !strings.Contains(found.Offers[0].GPUType, "h100") {
				t.Fatalf("find_offers H100: %+v", found)
			}
			offer := found.Offers[0]

			// Above the price cap nothing is rented, and the tool says why.
			res := c.callResult(t, "rent", map[string]any{"offer_id": offer.OfferID, "max_price_per_gpu_hour": offer.PricePerGPUHour / 2,
				"idempotency_key": uuid.NewString(), "ssh_public_key": crashKey}, nil)
			if !res.IsError || !strings.Contains(text(res), "more than max_price_per_gpu_hour") {
				t.Errorf("rent above the price cap: %v %s, want a tool error that names the cap", res.IsError, text(res))
			}

			args := map[string]any{"offer_id": offer.OfferID, "max_price_per_gpu_hour": offer.PricePerGPUHour + 0.01,
				"auto_delete_after": "2h", "idempotency_key": uuid.NewString(), "ssh_public_key": crashKey, "name": "e2e-" + transport}
			var first, again rented
			c.call(t, "rent", args, &first)
			deleteAt, err := time.Parse(time.RFC3339, first.DeleteAt)
			if err != nil || time.Until(deleteAt) < 110*time.Minute || time.Until(deleteAt) > 2*time.Hour ||
				!strings.Contains(first.Deletion, "deleted on its own") || len(first.Machines) == 0 {
				t.Fatalf("rent with auto_delete_after 2h: %+v, want it deleted in 2h, and said so", first)
			}
			// The events name the key, and the tool its request came from.
			var page supplyapi.EventPage
			s.JSON(t, http.MethodGet, "/events?resource_id="+first.Machines[0].ResourceID, "", nil, http.StatusOK, &page)
			if len(page.Events) == 0 || page.Events[0].Actor == nil || page.Events[0].Actor.Tool != "rent" {
				t.Errorf("the rental's first event: %+v, want its actor to name the MCP tool rent", page.Events)
			}
			c.call(t, "rent", args, &again)
			if again.OfferID != first.OfferID || !slices.Equal(again.resourceIDs(), first.resourceIDs()) {
				t.Errorf("the same rent again: %+v, want the first rental %+v", again, first)
			}

			var ready struct {
				Ready bool   `json:"ready"`
				SSH   string `json:"ssh"`
			}
			res = c.callResult(t, "wait_until_ready", map[string]any{"offer_id": first.OfferID, "timeout_seconds": 120}, "wait-"+transport)
			b, _ := json.Marshal(res.StructuredContent)
			if err := json.Unmarshal(b, &ready); err != nil || res.IsError || !ready.Ready || !strings.HasPrefix(ready.SSH, "ssh root@") {
				t.Fatalf("wait_until_ready: %s %s", b, text(res))
			}
			// The client hands notifications to its handler on its own,
			// and over HTTP the last may reach it after the result.
			sawReady := func() bool { return strings.Contains(strings.Join(c.progressSeen(), " "), "ready") }
			for deadline := time.Now().Add(5 * time.Second); !sawReady() && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			if p := c.progressSeen(); len(p) == 0 || !sawReady() {
				t.Errorf("wait_until_ready sent the progress notifications %q, want some, the last saying ready", p)
			}

			var list struct {
				Machines []struct {
					ResourceID string `json:"resource_id"`
				} `json:"machines"`
			}
			c.call(t, "list_machines", map[string]any{}, &list)
			n := 0
			for _, m := range list.Machines {
				if slices.Contains(first.resourceIDs(), m.ResourceID) {
					n++
				}
			}
			if n != len(first.Machines) {
				t.Errorf("list_machines lists the rental's %d machines %d times: %+v", len(first.Machines), n, list)
			}

			resources, err := c.ListResources(context.Background(), nil)
			if err != nil || !slices.ContainsFunc(resources.Resources, func(r *mcp.Resource) bool { return r.URI == "supply://machines" }) {
				t.Errorf("resources/list: %v %+v, want supply://machines", err, resources)
			}
			uri := "supply://machines/" + first.Machines[0].ResourceID
			read, err := c.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: uri})
			if err != nil || len(read.Contents) != 1 || !strings.Contains(read.Contents[0].Text, `"ssh": "ssh root@`) {
				t.Errorf("resources/read %s: %v %+v, want the machine with its ssh line", uri, err, read)
			}

			var deleted struct {
				Status string `json:"status"`
			}
			c.call(t, "delete_machine", map[string]any{"resource_id": first.Machines[0].ResourceID}, &deleted)
			if deleted.Status != "deleting" && deleted.Status != "deleted" {
				t.Errorf("delete_machine: %+v", deleted)
			}

			t.Run("viewer", func(t *testing.T) {
				v := connectMCP(t, s, transport, viewer)
				tools := toolNames(t, v)
				names := make([]string, 0, len(tools))
				for name, tl := range tools {
					names = append(names, name)
					if !tl.Annotations.ReadOnlyHint || *tl.Annotations.DestructiveHint {
						t.Errorf("a viewer is offered %s, which writes", name)
					}
				}
				slices.Sort(names)
				if !slices.Equal(names, mcpReadTools) {
					t.Errorf("a viewer is offered %v, want %v", names, mcpReadTools)
				}
				res, err := v.CallTool(context.Background(), &mcp.CallToolParams{Name: "delete_machine",
					Arguments: map[string]any{"resource_id": first.Machines[0].ResourceID}})
				if err == nil && !res.IsError {
					t.Errorf("a viewer called delete_machine: %s", text(res))
				}
			})
		})
	}

	t.Run("retried rent by query", func(t *testing.T) {
		c := connectMCP(t, s, "http", s.Key)
		args := map[string]any{"gpu_type": "H100", "max_price_per_gpu_hour": 100, "idempotency_key": uuid.NewString(), "ssh_public_key": crashKey}
		var first, again rented
		c.call(t, "rent", args, &first)
		if first.DeleteAt == "" || !strings.Contains(first.Deletion, "in 4h") {
			t.Errorf("rent without auto_delete_after: %+v, want it deleted in 4h, and said so", first)
		}
		// Offer ids change each second: the retry finds another offer.
		time.Sleep(1100 * time.Millisecond)
		c.call(t, "rent", args, &again)
		if again.OfferID != first.OfferID || !slices.Equal(again.resourceIDs(), first.resourceIDs()) {
			t.Errorf("the same rent by query again: %+v, want the first rental %+v", again, first)
		}
		var list struct {
			Machines []struct {
				Name string `json:"name"`
			} `json:"machines"`
		}
		c.call(t, "list_machines", map[string]any{}, &list)
		agents := 0
		for _, m := range list.Machines {
			if strings.HasPrefix(m.Name, "agent-") {
				agents++
			}
		}
		if agents != 1 {
			t.Errorf("%d machines rented by the two calls, want 1: %+v", agents, list)
		}
	})

	t.Run("spend cap", func(t *testing.T) {
		s.JSON(t, http.MethodPatch, "/account/limits", "application/json", []byte(`{"max_hourly_usd":0.5}`), http.StatusOK, nil)
		defer s.JSON(t, http.MethodPatch, "/account/limits", "application/json", []byte(`{"max_hourly_usd":null}`), http.StatusOK, nil)
		c := connectMCP(t, s, "http", s.Key)
		res := c.callResult(t, "rent", map[string]any{"gpu_type": "H100", "max_price_per_gpu_hour": 100, "idempotency_key": uuid.NewString(),
			"ssh_public_key": crashKey}, nil)
		if msg := text(res); !res.IsError || !strings.Contains(msg, "cap") || !strings.Contains(msg, "$0.50") {
			t.Errorf("rent over the account's spend cap: %v %s, want a tool error naming the cap and its figure", res.IsError, msg)
		}
	})
}
