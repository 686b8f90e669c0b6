package lambda

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gpusupply/supply/internal/vendors"

	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// TestWireConformance proves every wire type of the adapter and its
// stand-in against Lambda's own OpenAPI document, field by field: a name
// or type the document does not have fails here even though the adapter
// and the stand-in, sharing the type, would agree with each other.
func TestWireConformance(t *testing.T) {
	spec := vendortest.LoadSpec(t, "lambda/lambda-labs-openapi.json")
	var bindings []vendortest.Binding
	for _, status := range []int{400, 401, 403, 404} {
		bindings = append(bindings, vendortest.Binding{At: "POST /api/v1/instance-operations/launch", Status: status, Type: apiError{}})
	}
	vendortest.CheckConformance(t, vendortest.Conformance{
		Spec: spec,
		Bindings: append(bindings,
			vendortest.Binding{At: "GET /api/v1/instance-types", Status: 200, Type: envelope[map[string]instanceTypesItem]{}},
			vendortest.Binding{At: "GET /api/v1/regions", Status: 200, Type: envelope[[]region]{}},
			vendortest.Binding{At: "GET /api/v1/ssh-keys", Status: 200, Type: envelope[[]sshKey]{}},
			vendortest.Binding{At: "POST /api/v1/ssh-keys", Type: addSSHKeyRequest{}},
			vendortest.Binding{At: "POST /api/v1/ssh-keys", Status: 200, Type: envelope[generatedSSHKey]{}},
			vendortest.Binding{At: "POST /api/v1/instance-operations/launch", Type: launchRequest{}},
			vendortest.Binding{At: "POST /api/v1/instance-operations/launch", Status: 200, Type: envelope[launchResponse]{}},
			vendortest.Binding{At: "POST /api/v1/instance-operations/terminate", Type: terminateRequest{}},
			vendortest.Binding{At: "POST /api/v1/instance-operations/terminate", Status: 200, Type: envelope[terminateResponse]{}},
			vendortest.Binding{At: "GET /api/v1/instances", Status: 200, Type: envelope[[]instance]{}},
			vendortest.Binding{At: "GET /api/v1/instances/{id}", Status: 200, Type: envelope[instance]{}},
			vendortest.Binding{At: "GET /api/v1/file-systems", Status: 200, Type: envelope[[]filesystem]{}},
			vendortest.Binding{At: "POST /api/v1/filesystems", Type: filesystemCreateRequest{}},
			vendortest.Binding{At: "POST /api/v1/filesystems", Status: 200, Type: envelope[filesystem]{}},
			vendortest.Binding{At: "DELETE /api/v1/filesystems/{id}", Status: 200, Type: envelope[filesystemDeleteResponse]{}},
			vendortest.Binding{At: "DELETE /api/v1/filesystems/{id}", Status: 400, Type: apiError{}},
			vendortest.Binding{At: "GET /api/v1/firewall-rulesets", Status: 200, Type: envelope[[]firewallRuleset]{}},
			vendortest.Binding{At: "POST /api/v1/firewall-rulesets", Type: createRulesetRequest{}},
			vendortest.Binding{At: "POST /api/v1/firewall-rulesets", Status: 200, Type: envelope[firewallRuleset]{}},
			vendortest.Binding{At: "GET /api/v1/firewall-rulesets/{id}", Status: 200, Type: envelope[firewallRuleset]{}},
			vendortest.Binding{At: "DELETE /api/v1/firewall-rulesets/{id}", Status: 200, Type: envelope[emptyResponse]{}},
			vendortest.Binding{At: "DELETE /api/v1/firewall-rulesets/{id}", Status: 400, Type: apiError{}},
		),
		NotWire: map[string]string{
			"state":    "the stand-in's state file",
			"record":   "the stand-in's state file",
			"ruleset":  "the stand-in's state file",
			"fsRecord": "the stand-in's state file",
		},
	})
}

// TestDocumentedErrorCodes classifies every error code Lambda's document
// defines (the code const of each ApiError* schema): none may fall
// through to a guess from the HTTP status.
func TestDocumentedErrorCodes(t *testing.T) {
	spec := vendortest.LoadSpec(t, "lambda/lambda-labs-openapi.json")
	seen := 0
	for name, ref := range spec.Components.Schemas {
		if !strings.HasPrefix(name, "ApiError") || ref.Value == nil {
			continue
		}
		code, _ := vendortest.Property(t, ref.Value, "code").Const.(string)
		if code == "" {
			t.Errorf("%s has no code const", name)
			continue
		}
		seen++
		if _, ok := codeKinds[code]; !ok {
			t.Errorf("%s: code %q is not classified", name, code)
		}
	}
	if seen < 15 {
		t.Errorf("found %d ApiError* codes in the document, want at least 15", seen)
	}
}

// TestProviderCodes: provider/* codes are documented as a family (outage,
// unavailability, quota or exhaustion) with one example; a quota or an
// exhaustion must not be retried as if it were an outage.
func TestProviderCodes(t *testing.T) {
	for code, want := range map[string]error{
		"provider/internal-unavailable": vendors.ErrTransient, // the document's own example
		"provider/network-timeout":      vendors.ErrTransient,
		"provider/quota-exceeded":       vendors.ErrQuota,
		"provider/resources-exhausted":  vendors.ErrNoCapacity,
		"provider/insufficient-gpus":    vendors.ErrNoCapacity,
	} {
		if got := codeKind(http.StatusBadRequest, code); got != want {
			t.Errorf("%s: %v, want %v", code, got, want)
		}
	}
	if got := codeKind(http.StatusTooManyRequests, codeQuotaExceeded); got != vendors.ErrRateLimited {
		t.Errorf("429: %v, want rate limited", got)
	}
}
