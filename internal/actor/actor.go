// Package actor carries who made a request, its API key, from the API's
// authentication to the code that acts on it: the caps of the key, the
// events and log lines that name it, the resources it created.
package actor

import (
	"context"
	"log/slog"
)

// Actor is the API key a request came with.
type Actor struct {
	KeyID int64
	// Name is the key's name as it was when the request came.
	Name string
	// Tool is the MCP tool that made the request (ToolHeader), if one did.
	Tool string
}

// ToolHeader names, on an API request an MCP tool makes, the tool, so
// that the request log names it besides the key.
const ToolHeader = "Supply-Mcp-Tool"

type key struct{}

// With is ctx carrying a.
func With(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, key{}, a)
}

// From is the actor ctx carries; false for work the service does on its
// own (a job, the reconciler) with no request behind it.
func From(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(key{}).(Actor)
	return a, ok
}

// LogAttr is a as log lines name it: actor={key_id, name}.
func (a Actor) LogAttr() slog.Attr {
	if a.Tool != "" {
		return slog.Group("actor", slog.Int64("key_id", a.KeyID), slog.String("name", a.Name), slog.String("mcp_tool", a.Tool))
	}
	return slog.Group("actor", slog.Int64("key_id", a.KeyID), slog.String("name", a.Name))
}
