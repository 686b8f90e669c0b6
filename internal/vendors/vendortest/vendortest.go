// Package vendortest checks vendor adapters and their stand-ins: the
// suite every adapter and stand-in pair runs (Run, with the vendor's Kit),
// the checks against the vendors' own published API descriptions, and the
// helpers every vendor package's tests share: a request Recorder, a
// loopback server, SSH keys, a test clock and polling for an instance's
// state. It is
// imported only from _test.go files, so kin-openapi never reaches the
// supply binary.
//
// The descriptions live outside the repository, in ../shared/vendor-specs
// next to the repository root, and are read at test time; without that
// directory the checks skip rather than fail, unless
// SUPPLY_TEST_REQUIRE_VENDOR_SPECS=1 (as CI sets it), when they fail.
package vendortest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// SharedDir returns the project's shared directory, <repo root>/../shared.
// When it does not exist the test is skipped, saying so, or failed when
// SUPPLY_TEST_REQUIRE_VENDOR_SPECS=1: a check against the vendors' own
// descriptions must not vanish silently from CI.
func SharedDir(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		missingSpecs(t, fmt.Sprintf("repository root not found (%v)", err))
	}
	dir := filepath.Join(filepath.Dir(root), "shared")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		missingSpecs(t, dir+" not found")
	}
	return dir
}

// SpecPath returns the path of vendor-specs/relPath in the shared
// directory. A missing file is a missing description: skipped or failed
// as SharedDir says.
func SpecPath(t testing.TB, relPath string) string {
	t.Helper()
	path := filepath.Join(SharedDir(t), "vendor-specs", relPath)
	if _, err := os.Stat(path); err != nil {
		missingSpecs(t, err.Error())
	}
	return path
}

// RequireSpecsEnv names the environment variable that turns a missing
// vendor description from a skip into a failure.
const RequireSpecsEnv = "SUPPLY_TEST_REQUIRE_VENDOR_SPECS"

// missingSpecs ends the test for want of the vendor descriptions: a skip,
// or a failure when RequireSpecsEnv is "1".
func missingSpecs(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(RequireSpecsEnv) == "1" {
		t.Fatalf("%s, and %s=1: vendor spec checks cannot run", why, RequireSpecsEnv)
	}
	t.Skipf("%s: vendor spec checks skipped", why)
}

// repoRoot walks up from the working directory (the package under test)
// to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// LoadSpec loads a vendor's API description (YAML or JSON) from
// vendor-specs/relPath in the shared directory and validates it loosely:
// the document must be well formed, but its examples, defaults and
// patterns are the vendor's business, so they are not checked.
func LoadSpec(t testing.TB, relPath string) *openapi3.T {
	t.Helper()
	path := SpecPath(t, relPath)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		t.Fatalf("load vendor spec %s: %v", path, err)
	}
	return checkSpec(t, loader, doc, path)
}

// LoadSpecData is LoadSpec for a one-file description already read (and
// mended, where the package names why) from vendor-specs/relPath.
func LoadSpecData(t testing.TB, relPath string, data []byte) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		t.Fatalf("load vendor spec %s: %v", relPath, err)
	}
	return checkSpec(t, loader, doc, relPath)
}

// checkSpec validates a loaded description as LoadSpec says.
func checkSpec(t testing.TB, loader *openapi3.Loader, doc *openapi3.T, name string) *openapi3.T {
	t.Helper()
	for _, scheme := range dropUndefinedSecurity(doc) {
		t.Logf("vendor spec %s: ignoring security requirement %q, which names no defined scheme", name, scheme)
	}
	err := doc.Validate(loader.Context,
		openapi3.DisableExamplesValidation(),
		openapi3.DisableSchemaDefaultsValidation(),
		openapi3.DisableSchemaPatternValidation(),
	)
	if err != nil {
		t.Fatalf("vendor spec %s is not a valid OpenAPI document: %v", name, err)
	}
	return doc
}

// dropUndefinedSecurity removes the security alternatives that name a
// scheme the document never defines, and returns those names. Spec quirk:
// Hyperstack's document requires "accessToken" (from its web console)
// beside "apiKey" but defines only "apiKey". The alternatives are ORed and
// Validating does not check credentials, so nothing is lost.
func dropUndefinedSecurity(doc *openapi3.T) []string {
	var defined openapi3.SecuritySchemes
	if doc.Components != nil {
		defined = doc.Components.SecuritySchemes
	}
	dropped := map[string]bool{}
	keep := func(reqs openapi3.SecurityRequirements) openapi3.SecurityRequirements {
		out := reqs[:0]
		for _, req := range reqs {
			ok := true
			for name := range req {
				if defined[name] == nil {
					ok, dropped[name] = false, true
				}
			}
			if ok {
				out = append(out, req)
			}
		}
		return out
	}
	doc.Security = keep(doc.Security)
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Security != nil {
				*op.Security = keep(*op.Security)
			}
		}
	}
	return slices.Sorted(maps.Keys(dropped))
}

// Validating wraps a stand-in so that every request through it (what the
// adapter sends) and every response (what the stand-in answers) is checked
// against spec, closed by Strict: a property the description does not
// list is a violation. basePath is the spec's path prefix as served: "" when the
// spec's paths already include it (Lambda's "/api/v1/..."), "/v1" when it
// is in the server URL (Hyperstack). Each violation, including a request
// to a path or method the spec does not have and an answer with a status
// it does not document, is reported with t.Errorf naming method and path.
func Validating(t testing.TB, spec *openapi3.T, basePath string, h http.Handler) http.Handler {
	t.Helper()
	// Route on paths only: the vendor's real server URLs would never match
	// a loopback test server.
	Strict(spec)
	doc := *spec
	doc.Servers = nil
	if basePath != "" {
		doc.Servers = openapi3.Servers{{URL: basePath}}
	}
	router, err := gorillamux.NewRouter(&doc)
	if err != nil {
		t.Fatalf("route vendor spec: %v", err)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("%s %s: read request body: %v", r.Method, r.URL.Path, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		check := r.Clone(r.Context())
		check.Body = io.NopCloser(bytes.NewReader(body))

		route, params, err := router.FindRoute(check)
		if err != nil {
			t.Errorf("%s %s: not in the vendor spec: %v", r.Method, r.URL.Path, err)
			h.ServeHTTP(w, r)
			return
		}
		in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
		if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
			t.Errorf("%s %s: request violates the vendor spec: %v", r.Method, r.URL.Path, err)
		}

		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in,
			Status:                 rec.Code,
			Header:                 rec.Header(),
			Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
			Options:                opts,
		}
		if err := openapi3filter.ValidateResponse(r.Context(), out); err != nil {
			t.Errorf("%s %s: %d response violates the vendor spec: %v", r.Method, r.URL.Path, rec.Code, err)
		}

		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}
