package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gpusupply/supply/client"
)

// The account's machines as resources: the list, and one by its id.
const (
	machinesURI      = "supply://machines"
	machineURIPrefix = machinesURI + "/"
)

func addResources(s *mcp.Server, b Backend) {
	s.AddResource(&mcp.Resource{URI: machinesURI, Name: "machines", Title: "The account's machines", MIMEType: "application/json",
		Description: "Every machine of the account that is not deleted: status, GPU, price, ssh command, auto-delete time."},
		func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			rs, err := clientOf(b, req).Resources(ctx, client.ResourceFilter{})
			if err != nil {
				return nil, inWords(err)
			}
			list := []machine{}
			for _, r := range rs {
				if !ended(r.Status) {
					list = append(list, viewMachine(r))
				}
			}
			return jsonResource(req.Params.URI, list)
		})
	s.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: machineURIPrefix + "{resource_id}", Name: "machine", Title: "A machine",
		MIMEType: "application/json", Description: "One machine of the account by its resource_id."},
		func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			id, err := parseID("resource_id", strings.TrimPrefix(req.Params.URI, machineURIPrefix))
			if err != nil {
				return nil, mcp.ResourceNotFoundError(req.Params.URI)
			}
			r, err := clientOf(b, req).Resource(ctx, id, false)
			if err != nil {
				return nil, inWords(err)
			}
			return jsonResource(req.Params.URI, viewMachine(r))
		})
}

func clientOf(b Backend, req *mcp.ReadResourceRequest) *client.Client {
	if req.Extra != nil {
		return b.client(req.Extra.Header, "read_resource")
	}
	return b.client(nil, "read_resource")
}

func jsonResource(uri string, v any) (*mcp.ReadResourceResult, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", uri, err)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(b)}}}, nil
}
