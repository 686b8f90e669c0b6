package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestOpenAPI(t *testing.T) {
	ts := newTestServer(t, 1)
	r := ts.do(t, http.MethodGet, "/openapi.json", "", "", "")
	if r.status != 200 {
		t.Fatalf("GET /openapi.json: %d", r.status)
	}
	doc, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid document: %v", err)
	}

	operations := map[string]struct {
		method, path, tag string
	}{
		"get_available_gpus_available_gpus_get":           {"GET", "/available_gpus", "Discovery"},
		"get_available_vendors_available_vendors_get":     {"GET", "/available_vendors", "Discovery"},
		"get_available_regions_available_regions_get":     {"GET", "/available_regions", "Discovery"},
		"get_available_contracts_available_contracts_get": {"GET", "/available_contracts", "Discovery"},
		"get_offers_get_offers_post":                      {"POST", "/get_offers", "Offers"},
		"get_offer_details_offers__offer_id__get":         {"GET", "/offers/{offer_id}", "Offers"},
		"procure_offer_procure_offer_post":                {"POST", "/procure_offer", "Offers"},
		"get_offer_status_offers__offer_id__status_get":   {"GET", "/offers/{offer_id}/status", "Offers"},
		"list_resources_resources_get":                    {"GET", "/resources", "Resources"},
		"get_resource_resources__resource_id__get":        {"GET", "/resources/{resource_id}", "Resources"},
		"delete_resource_resources__resource_id__delete":  {"DELETE", "/resources/{resource_id}", "Resources"},
	}
	for id, want := range operations {
		op := doc.Paths.Find(want.path).GetOperation(want.method)
		if op == nil {
			t.Errorf("%s %s is not documented", want.method, want.path)
			continue
		}
		if op.OperationID != id || len(op.Tags) != 1 || op.Tags[0] != want.tag {
			t.Errorf("%s %s: operationId %q tags %v, want %q [%s]", want.method, want.path, op.OperationID, op.Tags, id, want.tag)
		}
		if op.Security == nil || len(*op.Security) != 1 || (*op.Security)[0]["HTTPBearer"] == nil {
			t.Errorf("%s: security %v, want HTTPBearer", id, op.Security)
		}
		res := op.Responses.Value("422")
		if res == nil || res.Value.Content.Get("application/json").Schema.Ref != "#/components/schemas/HTTPValidationError" {
			t.Errorf("%s: 422 is not documented as HTTPValidationError", id)
		}
	}

	scheme := doc.Components.SecuritySchemes["HTTPBearer"]
	if scheme == nil || scheme.Value.Type != "http" || scheme.Value.Scheme != "bearer" {
		t.Errorf("HTTPBearer scheme: %+v", scheme)
	}

	body := doc.Paths.Find("/get_offers").Post.RequestBody.Value.Content["application/yaml"]
	if body == nil || !body.Schema.Value.Type.Is("string") || body.Schema.Value.Format != "" {
		t.Errorf("get_offers body is not documented as an application/yaml string: %+v", body)
	}
	// Its fields are documented too: as the JSON form's schema, and in
	// the YAML string's description and example.
	if body == nil || !strings.Contains(body.Schema.Value.Description, "gpu_type") || !strings.Contains(fmt.Sprint(body.Example), "gpu_type: H100") {
		t.Errorf("get_offers' YAML body says nothing of the query's fields: %+v", body)
	}
	jsonBody := doc.Paths.Find("/get_offers").Post.RequestBody.Value.Content["application/json"]
	if jsonBody == nil || jsonBody.Schema.Ref != "#/components/schemas/OfferQuery" {
		t.Errorf("get_offers' JSON body is not documented as OfferQuery: %+v", jsonBody)
	} else if q := doc.Components.Schemas["OfferQuery"].Value; q.Properties["compute"] == nil || q.Properties["region"] == nil {
		t.Errorf("OfferQuery lacks compute or region: %+v", q.Properties)
	}

	components := []struct{ method, path, request, response string }{
		{"POST", "/get_offers", "", "Result"},
		{"GET", "/offers/{offer_id}", "", "OfferDetails"},
		{"POST", "/procure_offer", "ProcureOfferRequest", "ProcureOfferResponse"},
		{"GET", "/offers/{offer_id}/status", "", "OfferStatusResponse"},
		{"GET", "/resources/{resource_id}", "", "ResourceSummary"},
		{"DELETE", "/resources/{resource_id}", "", "DeleteResourceResponse"},
	}
	for _, c := range components {
		op := doc.Paths.Find(c.path).GetOperation(c.method)
		if ref := op.Responses.Value("200").Value.Content.Get("application/json").Schema.Ref; ref != "#/components/schemas/"+c.response {
			t.Errorf("%s %s answers %q, want the %s component", c.method, c.path, ref, c.response)
		}
		if c.request == "" {
			continue
		}
		if ref := op.RequestBody.Value.Content.Get("application/json").Schema.Ref; ref != "#/components/schemas/"+c.request {
			t.Errorf("%s %s takes %q, want the %s component", c.method, c.path, ref, c.request)
		}
	}
	list := doc.Paths.Find("/resources").Get.Responses.Value("200").Value.Content.Get("application/json").Schema.Value
	if !list.Type.Includes("array") || list.Items.Ref != "#/components/schemas/ResourceSummary" {
		t.Errorf("GET /resources answers %+v, want an array of ResourceSummary", list)
	}
	if key := doc.Paths.Find("/procure_offer").Post.Parameters.GetByInAndName("header", "Idempotency-Key"); key == nil ||
		key.Required || key.Schema.Value.MaxLength == nil || *key.Schema.Value.MaxLength != 255 {
		t.Errorf("Idempotency-Key is not documented as an optional header of at most 255 characters: %+v", key)
	}
	procure := doc.Components.Schemas["ProcureOfferRequest"].Value
	if id := procure.Properties["offer_id"]; id == nil || id.Value.Format != "uuid" || len(procure.Required) != 2 {
		t.Errorf("ProcureOfferRequest: offer_id %+v, required %v; want a uuid and offer_id, ssh_public_key required", id, procure.Required)
	}
	if has := procure.AdditionalProperties.Has; has == nil || *has {
		t.Errorf("ProcureOfferRequest does not say that unknown fields are refused")
	}
	if rb := doc.Paths.Find("/procure_offer").Post.RequestBody.Value; !rb.Required {
		t.Errorf("procure_offer's body is not documented as required")
	}
	for _, name := range []string{"offer_id", "gpu_type", "gpu_price_per_hour", "status", "procured_at"} {
		if doc.Components.Schemas["OfferDetails"].Value.Properties[name] == nil {
			t.Errorf("OfferDetails lacks %s", name)
		}
	}

	// The validation components, as FastAPI emits them.
	var raw struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"HTTPValidationError": `{"type":"object","title":"HTTPValidationError","properties":{"detail":{"type":"array","title":"Detail","items":{"$ref":"#/components/schemas/ValidationError"}}}}`,
		"ValidationError": `{"type":"object","title":"ValidationError","required":["loc","msg","type"],"properties":{
			"ctx":{"type":"object","title":"Context"},"input":{"title":"Input"},
			"loc":{"type":"array","title":"Location","items":{"anyOf":[{"type":"string"},{"type":"integer"}]}},
			"msg":{"type":"string","title":"Message"},"type":{"type":"string","title":"Error Type"}}}`,
	} {
		var got, exp any
		_ = json.Unmarshal(raw.Components.Schemas[name], &got)
		_ = json.Unmarshal([]byte(want), &exp)
		g, _ := json.Marshal(got)
		e, _ := json.Marshal(exp)
		if string(g) != string(e) {
			t.Errorf("%s\n got %s\nwant %s", name, g, e)
		}
	}
	for _, internal := range []string{"OfferResult", "Event", "DeliveryAttempt", "Error"} {
		if _, ok := raw.Components.Schemas[internal]; ok {
			t.Errorf("component %s leaked into the document", internal)
		}
	}
}
