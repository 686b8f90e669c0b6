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
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"go.yaml.in/yaml/v3"
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
	// A description split over files (DigitalOcean's $refs into its
	// resources/ and shared/ trees) is read from beside the root file; the
	// loader reads local files only, never a URL.
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = localFilesOnly()
	root, err := readable(path)
	if err != nil {
		t.Fatalf("read vendor spec %s: %v", path, err)
	}
	doc, err := loader.LoadFromDataWithPath(root, &url.URL{Path: filepath.ToSlash(path)})
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

// localFilesOnly reads a $ref'd document from disk, made readable, and
// refuses any other location: a vendor description is checked as it sits
// in vendor-specs. It reads each file once: the loader asks again for
// every $ref into it.
func localFilesOnly() openapi3.ReadFromURIFunc {
	read := map[string][]byte{}
	return func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != "" && u.Scheme != "file" || u.Host != "" {
			return nil, fmt.Errorf("vendor spec refers to %s: only files beside it are read", u)
		}
		if data, ok := read[u.Path]; ok {
			return data, nil
		}
		data, err := readable(u.Path)
		if err == nil {
			read[u.Path] = data
		}
		return data, err
	}
}

// readable reads the description file at path and rewrites what OpenAPI
// 3.0 does not allow, and kin-openapi cannot read, into what it means. It
// returns the file unchanged when there is nothing to rewrite (the other
// vendors' single-file descriptions). Spec quirks of DigitalOcean's:
//   - every operation of the root is a $ref to a file of its own ("get:
//     {$ref: resources/sizes/sizes_list.yml}"), which is inlined;
//   - some properties maps are a $ref (load balancer droplets, apps), also
//     inlined;
//   - the root's tag descriptions $ref its introductions; a tag's
//     description is documentation only, so such a one is emptied;
//   - the root lists a presigned upload URL, not a path of the API, as the
//     path "/<upload_url>", which is dropped.
func readable(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !rewritable.Match(data) {
		return data, nil // nothing to rewrite: spare parsing it twice
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return data, nil // not YAML the loader reads: let it say why
	}
	changed := false
	if root := doc.Content[0]; member(root, "openapi").Kind != 0 {
		for _, tag := range member(root, "tags").Content {
			if d := member(tag, "description"); d.Kind == yaml.MappingNode {
				*d = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: ""}
				changed = true
			}
		}
		paths := member(root, "paths")
		paths.Content = slices.DeleteFunc(paths.Content, func(n *yaml.Node) bool { return n.Kind == 0 })
		for i := 0; i+1 < len(paths.Content); i += 2 {
			if strings.Contains(paths.Content[i].Value, "<") {
				paths.Content[i].Kind, paths.Content[i+1].Kind, changed = 0, 0, true
				continue
			}
			item := paths.Content[i+1]
			for j := 1; j < len(item.Content); j += 2 {
				if ref := wholeFileRef(item.Content[j]); ref != "" {
					if item.Content[j], err = inline(filepath.Dir(path), ref); err != nil {
						return nil, err
					}
					changed = true
				}
			}
		}
		paths.Content = slices.DeleteFunc(paths.Content, func(n *yaml.Node) bool { return n.Kind == 0 })
	}
	inlined, err := inlineProperties(doc.Content[0], filepath.Dir(path), func(ref string) string { return ref })
	if err != nil {
		return nil, err
	}
	if !changed && !inlined {
		return data, nil
	}
	return yaml.Marshal(&doc)
}

// rewritable matches a file readable may rewrite: a YAML root document,
// or a properties map that is a $ref.
var rewritable = regexp.MustCompile(`(?m)^openapi:|properties:\s*\n\s*\$ref`)

// wholeFileRef is the target of a node that is only a $ref to another
// file, or "".
func wholeFileRef(n *yaml.Node) string {
	ref := member(n, "$ref").Value
	if len(n.Content) != 2 || strings.HasPrefix(ref, "#") {
		return ""
	}
	return ref
}

// inline reads ref (a file, named from dir, and maybe a #/pointer into it)
// with its $refs made relative to dir.
func inline(dir, ref string) (*yaml.Node, error) {
	file, pointer, _ := strings.Cut(ref, "#")
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: not a YAML document (%v)", file, err)
	}
	n := doc.Content[0]
	for name := range strings.SplitSeq(strings.TrimPrefix(pointer, "/"), "/") {
		if name != "" {
			n = member(n, strings.NewReplacer("~1", "/", "~0", "~").Replace(name))
		}
	}
	if n.Kind == 0 {
		return nil, fmt.Errorf("%s: no such node", ref)
	}
	fileDir := filepath.ToSlash(filepath.Dir(file))
	rebase := func(r string) string {
		switch {
		case strings.HasPrefix(r, "#"):
			return file + r
		case !strings.Contains(r, "://") && !strings.HasPrefix(r, "/"):
			return fileDir + "/" + r
		}
		return r
	}
	if _, err := inlineProperties(n, filepath.Join(dir, fileDir), rebase); err != nil {
		return nil, err
	}
	return n, nil
}

// inlineProperties walks n, a node of a file in dir: it rewrites every
// $ref (and discriminator mapping) with rebase, and inlines every
// properties map that is a $ref to another file. It reports whether it
// inlined anything.
func inlineProperties(n *yaml.Node, dir string, rebase func(string) string) (bool, error) {
	inlined := false
	for i, c := range n.Content {
		key := ""
		if n.Kind == yaml.MappingNode && i%2 == 1 {
			key = n.Content[i-1].Value
		}
		switch {
		case key == "properties" && wholeFileRef(c) != "":
			props, err := inline(dir, wholeFileRef(c))
			if err != nil {
				return false, err
			}
			// Its refs are relative to dir now, as the rest of n's.
			if _, err := inlineProperties(props, dir, rebase); err != nil {
				return false, err
			}
			n.Content[i], inlined = props, true
		case key == "$ref" && c.Kind == yaml.ScalarNode:
			c.Value = rebase(c.Value)
		case key == "discriminator":
			// A discriminator's mapping names schemas by $ref too.
			m := member(c, "mapping")
			for j := 1; j < len(m.Content); j += 2 {
				m.Content[j].Value = rebase(m.Content[j].Value)
			}
		default:
			ok, err := inlineProperties(c, dir, rebase)
			if err != nil {
				return false, err
			}
			inlined = inlined || ok
		}
	}
	return inlined, nil
}

// member is the value of key in a YAML mapping, or an empty node.
func member(m *yaml.Node, key string) *yaml.Node {
	if m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i+1]
			}
		}
	}
	return &yaml.Node{}
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
