package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/internal/roles"
)

// Region groups and contract types are fixed by the contract.
var (
	regions   = []string{"US", "EU", "APAC", "Other"}
	contracts = []string{"ondemand", "spot"}
)

type gpusOutput struct {
	Body map[string][]string `doc:"GPU family → canonical names"`
}

type vendorsInput struct {
	NamesOnly bool `query:"names_only" default:"false" doc:"Answer a plain list of the names of the vendors that can be procured from now (status healthy or degraded)"`
}

type vendorsOutput struct {
	// Body is a list of vendor objects, or of names with names_only.
	Body any
}

type listOutput struct {
	Body []string
}

func (a *API) registerDiscovery() {
	huma.Register(a.huma, operation(roles.Viewer, "get_available_gpus", http.MethodGet, "/available_gpus", tagDiscovery, "Available GPU types"),
		func(context.Context, *struct{}) (*gpusOutput, error) {
			return &gpusOutput{Body: a.cfg.GPUs.Families()}, nil
		})

	huma.Register(a.huma, operation(roles.Viewer, "get_available_vendors", http.MethodGet, "/available_vendors", tagDiscovery, "Available vendors"),
		func(_ context.Context, in *vendorsInput) (*vendorsOutput, error) {
			vendors := a.cfg.Vendors.Vendors()
			if !in.NamesOnly {
				return &vendorsOutput{Body: vendors}, nil
			}
			names := []string{}
			for _, v := range vendors {
				if v.Procurable() {
					names = append(names, v.Name)
				}
			}
			return &vendorsOutput{Body: names}, nil
		})

	fixedList := func(values []string) func(context.Context, *struct{}) (*listOutput, error) {
		return func(context.Context, *struct{}) (*listOutput, error) { return &listOutput{Body: values}, nil }
	}
	huma.Register(a.huma, operation(roles.Viewer, "get_available_regions", http.MethodGet, "/available_regions", tagDiscovery, "Available region groups"),
		fixedList(regions))
	huma.Register(a.huma, operation(roles.Viewer, "get_available_contracts", http.MethodGet, "/available_contracts", tagDiscovery, "Available contract types"),
		fixedList(contracts))
}
