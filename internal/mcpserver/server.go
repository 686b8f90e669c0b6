// Package mcpserver is supply's Model Context Protocol server: tools with
// which an AI agent finds GPU offers, rents one with a price cap and an
// auto-delete time, waits until it is reachable, and gives it back, and
// the account's machines as resources. Every tool calls the Supply API
// through the public client package with the caller's key, so the same
// server serves stdio (supply mcp, against a server's URL) and streamable
// HTTP (POST /mcp on the API, with each request's Bearer key), and every
// call the tools make is authenticated, rate-limited and audited like any
// other API request.
package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/internal/actor"
	"github.com/gpusupply/supply/supplyapi"
)

// Backend is the Supply API the tools call, and with which key.
type Backend struct {
	// URL is the API's base URL, e.g. http://127.0.0.1:8080.
	URL string
	// Key is the API key; empty: the Bearer key of each HTTP request.
	Key string
	// Transport carries the API requests; nil: http.DefaultTransport.
	Transport http.RoundTripper
	// SSHPublicKey is the key rent installs when the call names none (for
	// stdio, the user's own ~/.ssh key); empty: the call must name one.
	SSHPublicKey string
	// Version is the version the server reports to clients.
	Version string
}

// client is a client of the API for one tool call: the backend's key, or
// the one the HTTP request (header) came with.
func (b Backend) client(header http.Header, tool string) *client.Client {
	key := b.Key
	if key == "" && header != nil {
		key = bearerKey(header.Get("Authorization"))
	}
	base := b.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return client.New(b.URL, key, client.WithHTTPClient(&http.Client{Transport: toolTransport{base: base, tool: tool, from: header}}),
		client.WithUserAgent("supply-mcp/"+b.Version))
}

// bearerKey is the key of an "Authorization: Bearer <key>" header.
func bearerKey(header string) string {
	scheme, key, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(key)
}

// toolTransport names the tool on each request, and passes on where the
// MCP request came from (see peerHeader).
type toolTransport struct {
	base http.RoundTripper
	tool string
	from http.Header
}

func (t toolTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if t.tool != "" {
		r.Header.Set(actor.ToolHeader, t.tool)
	}
	if peer := t.from.Get(peerHeader); peer != "" {
		r.Header.Set(peerHeader, peer)
		for _, v := range t.from.Values("X-Forwarded-For") {
			r.Header.Add("X-Forwarded-For", v)
		}
	}
	return t.base.RoundTrip(r)
}

// CanWrite reports whether the backend's key (or, over HTTP, the key of
// header) may rent and delete: its role is member or admin. The tools a
// server offers follow it; the API checks every call anyway.
func (b Backend) CanWrite(ctx context.Context, header http.Header) (bool, error) {
	me, err := b.client(header, "").Me(ctx)
	if err != nil {
		return false, fmt.Errorf("read the API key's role: %w", err)
	}
	return me.Role != supplyapi.RoleViewer, nil
}

// instructions tell a model how the tools fit together.
const instructions = `Rent GPU machines across cloud vendors through supply. Typical flow: find_offers (cheapest first) ->
rent (always with max_price_per_gpu_hour and a fresh idempotency_key; the machine is deleted on its own after
auto_delete_after, 4h unless you say otherwise) -> wait_until_ready (gives the ssh command) -> work -> delete_machine.
list_machines and account_usage show what runs and what it costs; extend_auto_delete keeps a machine longer.`

// New is an MCP server whose tools use b. Without canWrite (a viewer
// key) it offers the read-only tools only.
func New(b Backend, canWrite bool) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "supply", Title: "Supply: GPU machines across clouds", Version: b.Version},
		&mcp.ServerOptions{Instructions: instructions})
	t := tools{b: b}
	for _, tl := range t.list() {
		if canWrite || tl.def.Annotations.ReadOnlyHint {
			tl.add(s, tl.def)
		}
	}
	addResources(s, b)
	return s
}

// tool is one tool: its definition and how to add it to a server.
type tool struct {
	def *mcp.Tool
	add func(*mcp.Server, *mcp.Tool)
}

// handler is what a tool does, with a client of the API that names it.
type handler[In, Out any] func(ctx context.Context, c *client.Client, req *mcp.CallToolRequest, in In) (Out, error)

// newTool makes a tool of h, whose errors come back as tool errors in
// words (a refusal of the API says why, in the API's own sentence).
func newTool[In, Out any](b Backend, def *mcp.Tool, h handler[In, Out]) tool {
	def.InputSchema = inputSchema[In]()
	return tool{def: def, add: func(s *mcp.Server, def *mcp.Tool) {
		mcp.AddTool(s, def, func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, Out, error) {
			var header http.Header
			if req.Extra != nil {
				header = req.Extra.Header
			}
			out, err := h(ctx, b.client(header, def.Name), req, in)
			if err != nil {
				var zero Out
				return nil, zero, inWords(err)
			}
			return nil, out, nil
		})
	}}
}

// enums are the values of the arguments that take one of a few, by name:
// a model that sees them does not guess.
var enums = map[string][]any{
	"region":        {"US", "EU", "APAC", "Other"},
	"contract_type": {"ondemand", "spot"},
}

// inputSchema is the schema of a tool's arguments In, with enums.
func inputSchema[In any]() *jsonschema.Schema {
	s, err := jsonschema.For[In](nil)
	if err != nil {
		// The argument types are this package's own: a test sees it.
		panic(fmt.Sprintf("schema of %T: %v", *new(In), err))
	}
	for name, p := range s.Properties {
		if values, ok := enums[name]; ok {
			p.Enum = values
		}
	}
	return s
}

// inWords is err as a model should read it.
func inWords(err error) error {
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		return fmt.Errorf("the supply API refused (HTTP %d): %s", apiErr.Status, apiErr.Error())
	}
	return err
}

// Annotations of the three kinds of tool.
func readOnly(title string) *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{Title: title, ReadOnlyHint: true, IdempotentHint: true, DestructiveHint: ptr(false), OpenWorldHint: ptr(true)}
}

func additive(title string, idempotent bool) *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{Title: title, IdempotentHint: idempotent, DestructiveHint: ptr(false), OpenWorldHint: ptr(true)}
}

func destructive(title string) *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{Title: title, IdempotentHint: true, DestructiveHint: ptr(true), OpenWorldHint: ptr(true)}
}

func ptr[T any](v T) *T { return &v }
