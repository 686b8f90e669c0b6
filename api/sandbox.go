package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/vendors/standin"
)

// Console lists every instance every sandbox stand-in holds.
type Console interface {
	Instances() []standin.ConsoleEntry
}

type consoleOutput struct {
	Body []standin.ConsoleEntry
}

// RegisterSandbox adds GET /sandbox/instances, the sandbox's answer to a
// vendor console: every instance the stand-ins hold, live or terminated,
// with the supply resource id each one carries. Only sandbox mode has it.
func RegisterSandbox(a *API, c Console) {
	op := operation("list_sandbox_instances", http.MethodGet, "/sandbox/instances", "Sandbox",
		"Every instance the sandbox vendors hold (sandbox mode only)")
	huma.Register(a.huma, op, func(context.Context, *struct{}) (*consoleOutput, error) {
		list := c.Instances()
		if list == nil {
			list = []standin.ConsoleEntry{}
		}
		return &consoleOutput{Body: list}, nil
	})
}
