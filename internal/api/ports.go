package api

import (
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/supplyapi"
)

// openPortSchema stands in for supplyapi.OpenPort in schemas: a port
// number, "port/protocol" or a range.
type openPortSchema string

// Schema is the schema of every supplyapi.OpenPort.
func (openPortSchema) Schema(huma.Registry) *huma.Schema {
	// No bounds here: the server's own check names the bad entry in
	// words (provision.parsePorts), where the schema could only say that
	// no alternative matched.
	return &huma.Schema{
		Description: `A port from 1 to 65535 (8888), a port and its protocol ("6006/tcp", "53/udp") or a range ("9000-9010", "9000-9010/udp"); tcp unless named`,
		Examples:    []any{8888},
		AnyOf:       []*huma.Schema{{Type: huma.TypeInteger}, {Type: huma.TypeString}},
	}
}

// registerPortAliases documents supplyapi.OpenPort (see registerTypeAliases).
func registerPortAliases(r huma.Registry) {
	r.RegisterTypeAlias(reflect.TypeFor[supplyapi.OpenPort](), reflect.TypeFor[openPortSchema]())
}
