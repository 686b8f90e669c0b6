// Package conformance is the source that TestCheckConformance's
// completeness check reads: it mirrors the test's wire types by name.
package conformance

import "encoding/json"

type thingRequest struct {
	Name string `json:"name"`
}

type thing struct {
	Kind string `json:"kind"`
}

// orphan has JSON tags but no binding reaches it.
type orphan struct {
	X int `json:"x"`
}

func decode(b []byte) error {
	var v struct {
		Y int `json:"y"`
	}
	return json.Unmarshal(b, &v)
}
