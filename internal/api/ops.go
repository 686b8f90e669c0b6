package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/internal/buildinfo"
)

// The operational routes: liveness and readiness here; /openapi.json and
// /docs are served by huma (see New), /metrics on a listener of its own
// (see MetricsHandler).

type statusOutput struct {
	Body struct {
		Status string `json:"status" example:"ok"`
		// Installation is the installation id every instance this
		// service creates carries (readyz only).
		Installation string `json:"installation_id,omitempty" example:"3f9a1c07b2e4"`
		// Version is the build serving (healthz only).
		Version *buildinfo.Info `json:"version,omitempty"`
	}
}

func okStatus() *statusOutput {
	out := &statusOutput{}
	out.Body.Status = "ok"
	return out
}

func (a *API) registerOps() {
	huma.Register(a.huma, publicOperation("healthz", http.MethodGet, "/healthz", "Liveness"),
		func(context.Context, *struct{}) (*statusOutput, error) {
			out := okStatus()
			build := buildinfo.Read()
			out.Body.Version = &build
			return out, nil
		})

	huma.Register(a.huma, publicOperation("readyz", http.MethodGet, "/readyz", "Readiness: the database is reachable"),
		func(ctx context.Context, _ *struct{}) (*statusOutput, error) {
			if err := a.cfg.Ready(ctx); err != nil {
				return nil, errorf(http.StatusServiceUnavailable, "database unavailable: %v", err)
			}
			out := okStatus()
			out.Body.Installation = a.cfg.Installation
			return out, nil
		})
}
