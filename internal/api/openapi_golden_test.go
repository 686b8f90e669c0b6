package api_test

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/api"
	"github.com/gpusupply/supply/internal/console"
	"github.com/gpusupply/supply/internal/keys"
	"github.com/gpusupply/supply/internal/mcpserver"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/openapi.json from the API as it is")

// noInstances is a sandbox console that holds nothing: the document only
// needs GET /sandbox/instances registered.
type noInstances struct{}

func (noInstances) Instances() []standin.ConsoleEntry { return nil }

// TestOpenAPIDocumentUnchanged holds GET /openapi.json, with every route the
// server can register (the event log, sessions, keys, the sandbox's console), to
// testdata/openapi.json byte for byte: component names come from Go type
// names and componentNames, so moving or renaming a type changes the
// contract unless this fails. After a deliberate change of the API, run
// with -update and read the diff.
func TestOpenAPIDocumentUnchanged(t *testing.T) {
	st := storetest.Open(t, store.EngineSQLite)
	sessions := console.NewSessions(st, time.Hour, nil)
	a, _, base := api.NewTestServer(t, func(c *api.Config) { c.Sessions, c.Keys, c.Volumes = sessions, keys.New(st), api.NoVolumes{} })
	api.RegisterSandbox(a, noInstances{})
	api.RegisterMCP(a, mcpserver.Handler(a.Handler(), "test"))
	res, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %v", res.StatusCode, err)
	}
	golden := filepath.Join("testdata", "openapi.json")
	if *updateGolden {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Errorf("the OpenAPI document differs from %s at byte %d:\n got ...%s\nwant ...%s",
			golden, i, excerpt(got, i), excerpt(want, i))
	}
}

// excerpt is b around offset i, for a readable difference.
func excerpt(b []byte, i int) []byte {
	return b[max(0, i-80):min(len(b), i+80)]
}
