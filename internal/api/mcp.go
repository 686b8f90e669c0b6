package api

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/gpusupply/supply/internal/roles"
)

// tagAgents groups the operations for AI agents.
const tagAgents = "Agents"

// MCPPath is where the Model Context Protocol server is served.
const MCPPath = "/mcp"

// RegisterMCP serves h, the Model Context Protocol's streamable HTTP
// transport (stateless: POST only), at POST /mcp as an operation like any
// other: the Bearer key (401 without), the account's rate limit, the
// request log and metrics, and any key may call it (a viewer's tools are
// read-only; what each tool then asks of the API passes its own role
// check). h reads the body itself, up to maxBodyBytes.
func RegisterMCP(a *API, h http.Handler) {
	op := operation(roles.Viewer, "mcp", http.MethodPost, MCPPath, tagAgents,
		"Model Context Protocol server (streamable HTTP) for AI agents")
	op.Description = "Extension. JSON-RPC 2.0 messages of the Model Context Protocol; the answer is JSON or an event stream " +
		"(text/event-stream) that carries progress notifications. The tools act with the request's key: a viewer key is offered " +
		"the read-only tools only."
	a.huma.OpenAPI().Tags = append(a.huma.OpenAPI().Tags, &huma.Tag{Name: tagAgents})
	a.huma.OpenAPI().AddOperation(&op)
	a.huma.Adapter().Handle(&op, a.huma.Middlewares().Handler(func(ctx huma.Context) {
		r, w := humago.Unwrap(ctx)
		r = r.WithContext(ctx.Context())
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		h.ServeHTTP(w, r)
	}))
}
