package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"testing"

	"github.com/danielgtaylor/huma/v2"
)

// TestHumaMessagesAreRead makes huma's validator report each of
// humaMessages and reads the message back: a huma upgrade that stops
// wording a check with its variable, or formats it otherwise, fails here
// instead of turning a pydantic error type into a value_error.
func TestHumaMessagesAreRead(t *testing.T) {
	configureHuma()
	bound := func(v float64) *float64 { return &v }
	length := func(v int) *int { return &v }
	tests := map[string]struct {
		schema *huma.Schema
		value  any
		arg    string
	}{
		"missing": {&huma.Schema{Type: huma.TypeObject, Required: []string{"gpu_type"},
			Properties: map[string]*huma.Schema{"gpu_type": {Type: huma.TypeString}}}, map[string]any{}, "gpu_type"},
		"bool_type":             {&huma.Schema{Type: huma.TypeBoolean}, "yes", ""},
		"int_type":              {&huma.Schema{Type: huma.TypeInteger}, "1", ""},
		"float_type":            {&huma.Schema{Type: huma.TypeNumber}, "1", ""},
		"string_type":           {&huma.Schema{Type: huma.TypeString}, 1.0, ""},
		"list_type":             {&huma.Schema{Type: huma.TypeArray, Items: &huma.Schema{Type: huma.TypeString}}, "a", ""},
		"model_attributes_type": {&huma.Schema{Type: huma.TypeObject}, "a", ""},
		"enum":                  {&huma.Schema{Type: huma.TypeString, Enum: []any{"US", "EU"}}, "Mars", "US, EU"},
		"greater_than_equal":    {&huma.Schema{Type: huma.TypeNumber, Minimum: bound(1)}, 0.0, "1"},
		"greater_than":          {&huma.Schema{Type: huma.TypeNumber, ExclusiveMinimum: bound(0)}, 0.0, "0"},
		"less_than_equal":       {&huma.Schema{Type: huma.TypeNumber, Maximum: bound(1000)}, 5000.0, "1000"},
		"less_than":             {&huma.Schema{Type: huma.TypeNumber, ExclusiveMaximum: bound(1)}, 1.0, "1"},
		"string_too_short":      {&huma.Schema{Type: huma.TypeString, MinLength: length(2)}, "a", "2"},
		"string_too_long":       {&huma.Schema{Type: huma.TypeString, MaxLength: length(1)}, "ab", "1"},
		"uuid_parsing":          {&huma.Schema{Type: huma.TypeString, Format: "uuid"}, "x", "invalid UUID length: 1"},
	}
	registry := huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer)
	for _, m := range humaMessages {
		t.Run(m.typ, func(t *testing.T) {
			tt, ok := tests[m.typ]
			if !ok {
				t.Fatalf("no case makes huma report %q", m.typ)
			}
			// As huma does when it makes a schema, after configureHuma.
			tt.schema.PrecomputeMessages()
			res := &huma.ValidateResult{}
			huma.Validate(registry, tt.schema, huma.NewPathBuffer(nil, 0), huma.ModeWriteToServer, tt.value, res)
			if len(res.Errors) != 1 {
				t.Fatalf("huma reported %v, want one error", res.Errors)
			}
			msg := res.Errors[0].(*huma.ErrorDetail).Message
			got, ok := readMessage(msg)
			if want := (finding{typ: m.typ, arg: tt.arg, msg: msg}); !ok || got != want {
				t.Fatalf("huma's message %q read as %+v (%v), want %+v", msg, got, ok, want)
			}
		})
	}
}

// TestHumaIsConfigured asks a server made by New for what depends on each
// of huma's settings that configureHuma makes: without one of them, or
// with one made after huma made the schemas, the answer is not FastAPI's.
// The settings are process-wide and made once, so the test runs in a
// process of its own, where no other test has made them before New.
func TestHumaIsConfigured(t *testing.T) {
	if os.Getenv("SUPPLY_TEST_HUMA_ALONE") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHumaIsConfigured$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "SUPPLY_TEST_HUMA_ALONE=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestHumaIsConfigured")) {
			t.Fatalf("in a process of its own: %v\n%s", err, out)
		}
		return
	}
	ts := newTestServer(t, 1)
	wantAnswer := func(path string, status int, want string) func(t *testing.T) {
		return func(t *testing.T) { wantJSON(t, ts.get(t, path), status, want) }
	}
	tests := []struct {
		setting string
		check   func(t *testing.T)
	}{
		{"huma.NewError", func(t *testing.T) {
			// Huma documents an operation's errors with what NewError makes.
			var doc struct {
				Paths map[string]map[string]struct {
					Responses map[string]struct {
						Content map[string]struct{ Schema json.RawMessage }
					}
				}
			}
			if err := json.Unmarshal(ts.get(t, "/openapi.json").body, &doc); err != nil {
				t.Fatal(err)
			}
			got := doc.Paths["/healthz"]["get"].Responses["default"].Content["application/json"].Schema
			wantJSON(t, response{status: 200, body: got}, 200, `{"type":"object","required":["detail"],"properties":{"detail":{"title":"Detail"}}}`)
		}},
		{"validation.MsgExpectedRFC4122UUID", wantAnswer("/offers/123", 422, `{"detail":[{"type":"uuid_parsing","loc":["path","offer_id"],
			"msg":"Input should be a valid UUID, invalid length: expected length 32 for simple format, found 3",
			"input":"123","ctx":{"error":"invalid length: expected length 32 for simple format, found 3"}}]}`)},
		{"huma.NewErrorWithContext on a body it cannot read", func(t *testing.T) {
			status, body := ts.rawRequest(t, "POST /get_offers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+ts.key+
				"\r\nContent-Type: application/yaml\r\nContent-Length: 100\r\n\r\ncompute: {}", true)
			wantJSON(t, response{status: status, body: []byte(body)}, http.StatusBadRequest, `{"detail":"Could not read the request body: unexpected EOF"}`)
		}},
		{"validation.MsgExpectedMinimumNumber", wantAnswer("/resources?limit=0", 422,
			`{"detail":[{"type":"greater_than_equal","loc":["query","limit"],"msg":"Input should be greater than or equal to 1","input":0,"ctx":{"ge":1}}]}`)},
		{"validation.MsgExpectedOneOf", wantAnswer("/resources?status=gone", 422, `{"detail":[{"type":"enum","loc":["query","status"],
			"msg":"Input should be 'provisioning', 'running', 'unhealthy', 'preempted', 'deleting', 'deleted', 'failed', 'stopping', 'stopped' or 'starting'","input":"gone",
			"ctx":{"expected":"'provisioning', 'running', 'unhealthy', 'preempted', 'deleting', 'deleted', 'failed', 'stopping', 'stopped' or 'starting'"}}]}`)},
		{"validation.MsgExpectedRequiredProperty in a body", func(t *testing.T) {
			wantJSON(t, ts.getOffers(t, "application/yaml", "region: EU\n"), 422,
				`{"detail":[{"type":"missing","loc":["body","compute"],"msg":"Field required","input":{"region":"EU"}}]}`)
		}},
		{"huma.ValidateStrictCasing", func(t *testing.T) {
			wantJSON(t, ts.getOffers(t, "application/json", `{"compute":{"GPU_Type":"H100"}}`), 422, `{"detail":[
				{"type":"extra_forbidden","loc":["body","compute","GPU_Type"],"msg":"Extra inputs are not permitted; did you mean 'gpu_type'?","input":"H100"},
				{"type":"missing","loc":["body","compute","gpu_type"],"msg":"Field required","input":{"GPU_Type":"H100"}}]}`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.setting, tt.check)
	}
}
