package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// Console lists every instance every sandbox stand-in holds.
type Console interface {
	Instances() []standin.ConsoleEntry
}

type consoleOutput struct {
	Body []standin.ConsoleEntry
}

// RegisterSandbox adds GET /sandbox/instances, the sandbox's answer to a
// vendor console: the caller's instances the stand-ins hold, live or
// terminated, with the supply resource id each one carries. A real vendor
// console shows an account its own machines only, and so does this one:
// an instance is listed when its name carries one of the caller's
// resources. Only sandbox mode has it.
func RegisterSandbox(a *API, c Console) {
	op := operation(roles.Viewer, "list_sandbox_instances", http.MethodGet, "/sandbox/instances", "Sandbox",
		"The caller's instances the sandbox vendors hold (sandbox mode only)")
	huma.Register(a.huma, op, func(ctx context.Context, _ *struct{}) (*consoleOutput, error) {
		mine, err := a.cfg.Provision.Resources(ctx, AccountID(ctx), ledger.ResourceFilter{})
		if err != nil {
			return nil, a.provisionError(ctx, "sandbox instances", err)
		}
		ids := make(map[string]bool, len(mine))
		for _, r := range mine {
			ids[r.ResourceID.String()] = true
		}
		list := []standin.ConsoleEntry{}
		for _, e := range c.Instances() {
			if ids[vendors.ResourceIDFromName(e.Name)] {
				list = append(list, e)
			}
		}
		return &consoleOutput{Body: list}, nil
	})
}
