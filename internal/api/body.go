package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/privatekey"
)

// Every request body is decoded by a bodyDecoder: the Content-Type picks
// JSON or YAML, the parser builds a JSON-shaped tree within a budget, the
// tree is searched for private keys, validated against the request type's
// schema (unknown fields refused) and only then moved into the Go struct.

// Limits of what one body may become, whatever its size on the wire: YAML
// aliases can make a few bytes expand to gigabytes, so the parsers charge
// every value they build, aliases each time they are expanded, and stop at
// the first value over budget.
const (
	// maxValues is how many values (scalars, lists, objects, keys) a body
	// may expand to; a real query or procurement has a dozen.
	maxValues = 10_000
	// maxExpandedBytes is how much text (strings, keys, numbers) a body may
	// expand to: no more than the largest body could hold without aliases.
	maxExpandedBytes = maxBodyBytes
	// maxDepth bounds nesting, so recursion stays shallow.
	maxDepth = 64
)

var (
	errTooManyValues = fmt.Errorf("document expands to more than %d values", maxValues)
	errTooLarge      = fmt.Errorf("document expands to more than %d bytes of text", maxExpandedBytes)
	errTooDeep       = fmt.Errorf("document is nested more than %d levels deep", maxDepth)
)

// budget is what is left of a body's limits while it is decoded.
type budget struct{ values, bytes int }

func newBudget() *budget { return &budget{values: maxValues, bytes: maxExpandedBytes} }

// take charges one value holding size bytes of text.
func (b *budget) take(size int) error {
	b.values--
	b.bytes -= size
	switch {
	case b.values < 0:
		return errTooManyValues
	case b.bytes < 0:
		return errTooLarge
	}
	return nil
}

// bodyDecoder reads the body of one operation into its request type.
type bodyDecoder struct {
	validator *bodyValidator
	// yaml: the operation takes YAML as well as JSON, and a body without
	// a Content-Type is YAML (get_offers); otherwise JSON only.
	yaml bool
	// secretFields are top-level fields whose value may hold a private
	// key (a cloud-config can carry host keys); it is never echoed.
	secretFields map[string]bool
}

func newBodyDecoder[T any](yaml bool, secretFields ...string) *bodyDecoder {
	d := &bodyDecoder{validator: newBodyValidator[T](), yaml: yaml, secretFields: map[string]bool{}}
	for _, f := range secretFields {
		d.secretFields[f] = true
	}
	return d
}

// yamlContentTypes are the media types of a YAML body. The form type is
// what `curl -d` sends unless told otherwise: a YAML query typed that way
// is read as the YAML it is, not refused.
var yamlContentTypes = map[string]bool{
	"application/yaml":                  true,
	"application/x-yaml":                true,
	"text/yaml":                         true,
	"application/x-www-form-urlencoded": true,
}

// isJSON decides how a body of this Content-Type is parsed, or refuses
// the type with a 415.
func (d *bodyDecoder) isJSON(contentType string) (bool, error) {
	if strings.TrimSpace(contentType) == "" {
		// curl --data-binary without a type: the contract says get_offers
		// takes YAML, and huma took JSON for the others.
		return !d.yaml, nil
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		mediaType = ""
	}
	switch {
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		return true, nil
	case d.yaml && yamlContentTypes[mediaType]:
		return false, nil
	}
	want := "application/json"
	if d.yaml {
		want = "application/yaml or application/json"
	}
	return false, errorf(http.StatusUnsupportedMediaType, "Unsupported Content-Type %q: send %s", clipString(contentType, 100), want)
}

// decode parses, checks and validates body and fills into (a pointer to
// the request type) from it; every refusal is an *Error for the client.
func (d *bodyDecoder) decode(contentType string, body []byte, into any) error {
	isJSON, err := d.isJSON(contentType)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return validationFailed(missingBody())
	}
	var tree any
	if isJSON {
		tree, err = decodeJSON(body)
		var je *jsonError
		switch {
		case errors.Is(err, jsonSyntax):
			return validationFailed(jsonInvalid(body))
		case errors.As(err, &je):
			return validationFailed(ValidationError{Type: "json_invalid", Loc: []any{"body", je.offset}, Msg: "JSON decode error",
				Input: map[string]any{}, Ctx: map[string]any{"error": je.msg}})
		}
	} else if tree, err = decodeYAML(body); err != nil {
		return validationFailed(yamlInvalid(body, err))
	}
	if tree == nil {
		return validationFailed(missingBody())
	}
	// Private keys first and alone: other errors echo their input, and
	// a "missing" error echoes the object that holds the key.
	if secrets := findPrivateKeys(tree, []any{"body"}, d.secretFields); len(secrets) > 0 {
		return validationFailed(secrets...)
	}
	return d.validator.decode(tree, into)
}

// privateKeyMsg tells a client what it did, without the key.
const privateKeyMsg = "Value error, this looks like a private key; send only the public key (the .pub file) and keep the private key secret"

// redacted stands in for an input that must not be echoed.
const redacted = "[redacted: looks like a private key]"

// findPrivateKeys reports every key and string under v that looks like a
// private key, except in the top-level fields allowed to hold one.
func findPrivateKeys(v any, loc []any, allowed map[string]bool) []ValidationError {
	var found []ValidationError
	switch v := v.(type) {
	case string:
		if privatekey.Contains(v) {
			found = append(found, ValidationError{Type: "value_error", Loc: loc, Msg: privateKeyMsg, Input: redacted})
		}
	case []any:
		for i, item := range v {
			found = append(found, findPrivateKeys(item, append(slices.Clip(loc), i), nil)...)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if len(loc) == 1 && allowed[k] {
				continue
			}
			if privatekey.Contains(k) {
				found = append(found, ValidationError{Type: "value_error", Loc: loc, Msg: privateKeyMsg, Input: redacted})
				continue
			}
			found = append(found, findPrivateKeys(v[k], append(slices.Clip(loc), k), nil)...)
		}
	}
	return found
}

// holdsPrivateKey reports whether any string or key under v looks like a
// private key.
func holdsPrivateKey(v any) bool {
	switch v := v.(type) {
	case string:
		return privatekey.Contains(v)
	case []any:
		return slices.ContainsFunc(v, holdsPrivateKey)
	case map[string]any:
		for k, item := range v {
			if privatekey.Contains(k) || holdsPrivateKey(item) {
				return true
			}
		}
	}
	return false
}

// bodyValidator checks a decoded body against the JSON Schema of a Go type,
// with huma's validator, so raw bodies fail exactly like typed ones.
type bodyValidator struct {
	registry huma.Registry
	schema   *huma.Schema
}

// newBodyValidator builds the schema of T once, in a registry of its own so
// it does not appear in the OpenAPI document.
func newBodyValidator[T any]() *bodyValidator {
	// As in New: the schema's messages are worded as it is made.
	configureHuma()
	registry := huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer)
	registry.RegisterTypeAlias(reflect.TypeFor[uuid.UUID](), reflect.TypeFor[uuidString]())
	registerTypeAliases(registry)
	schema := registry.Schema(reflect.TypeFor[T](), true, "")
	// Unknown fields are found by unknownFields, which keeps their names
	// exact; huma would report them by a dotted path that a field named
	// "a.b" or "" cannot survive.
	for _, s := range registry.Map() {
		s.AdditionalProperties = nil
	}
	return &bodyValidator{registry: registry, schema: schema}
}

// decode validates tree and, when it is valid, fills into from it.
// Unknown fields are refused: a misspelt filter silently ignored answers a
// question nobody asked.
func (v *bodyValidator) decode(tree any, into any) error {
	res := &huma.ValidateResult{}
	pb := huma.NewPathBuffer(make([]byte, 0, 64), 0)
	pb.Push("body")
	huma.Validate(v.registry, v.schema, pb, huma.ModeWriteToServer, tree, res)
	details := v.unknownFields(tree, v.schema, []any{"body"})
	for _, err := range res.Errors {
		details = append(details, toValidationError(http.StatusUnprocessableEntity, err))
	}
	if len(details) > 0 {
		slices.SortStableFunc(details, func(a, b ValidationError) int { return compareLoc(a.Loc, b.Loc) })
		return validationFailed(details...)
	}
	// The tree is valid, so this round trip only moves it into the struct.
	b, err := json.Marshal(plainNumbers(tree))
	if err == nil {
		err = json.Unmarshal(b, into)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		loc := []any{"body"}
		for _, f := range strings.Split(te.Field, ".") {
			loc = append(loc, f)
		}
		// Validation let it through, so it is a number too big for its Go
		// type; pydantic words that as an integer that exceeds the maximum.
		return validationFailed(ValidationError{Type: "int_parsing_size", Loc: loc,
			Msg: "Unable to parse input string as an integer, exceeded maximum size", Input: lookup(tree, loc[1:])})
	}
	return err
}

// plainNumbers is tree with every number that is not a decimal integer
// as a float64, so that 1.0 or 1e2 fill an integer field as pydantic
// lets them; integers stay exact. The tree keeps its own numbers as sent,
// for errors.
func plainNumbers(tree any) any {
	return mapNumbers(tree, func(n json.Number) any {
		if !decimalInteger.MatchString(string(n)) {
			if f, err := n.Float64(); err == nil {
				return f
			}
		}
		return n
	})
}

// mapNumbers is a copy of a decoded JSON tree with every number replaced
// by what number makes of it.
func mapNumbers(tree any, number func(json.Number) any) any {
	switch v := tree.(type) {
	case json.Number:
		return number(v)
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = mapNumbers(item, number)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			out[k] = mapNumbers(item, number)
		}
		return out
	}
	return tree
}

// unknownFields reports every key of tree that schema s does not know, as
// pydantic's extra_forbidden, with "did you mean" when a known field of
// the same object is close.
func (v *bodyValidator) unknownFields(tree any, s *huma.Schema, loc []any) []ValidationError {
	for s.Ref != "" {
		s = v.registry.SchemaFromRef(s.Ref)
	}
	var found []ValidationError
	switch t := tree.(type) {
	case map[string]any:
		if s.Type != huma.TypeObject {
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(t)) {
			here := append(slices.Clip(loc), k)
			if prop := s.Properties[k]; prop != nil {
				found = append(found, v.unknownFields(t[k], prop, here)...)
				continue
			}
			e := ValidationError{Type: "extra_forbidden", Loc: here, Msg: "Extra inputs are not permitted", Input: t[k]}
			if close := gpus.Closest(k, slices.Sorted(maps.Keys(s.Properties))); close != "" {
				e.Msg += fmt.Sprintf("; did you mean '%s'?", close)
			}
			found = append(found, e)
		}
	case []any:
		if s.Type != huma.TypeArray || s.Items == nil {
			return nil
		}
		for i, item := range t {
			found = append(found, v.unknownFields(item, s.Items, append(slices.Clip(loc), i))...)
		}
	}
	return found
}

// lookup is the value at loc in tree, or nil.
func lookup(tree any, loc []any) any {
	for _, part := range loc {
		m, ok := tree.(map[string]any)
		key, isKey := part.(string)
		if !ok || !isKey {
			return nil
		}
		tree = m[key]
	}
	return tree
}

// compareLoc orders locations field by field, indexes by number.
func compareLoc(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := cmp.Compare(fmt.Sprint(a[i]), fmt.Sprint(b[i])); c != 0 {
			ai, aok := a[i].(int)
			bi, bok := b[i].(int)
			if aok && bok {
				return cmp.Compare(ai, bi)
			}
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// bodyInput is a request whose JSON body is decoded by the operation's own
// bodyDecoder, as every other body is, so that unknown fields are refused
// alike.
type bodyInput struct {
	RawBody     []byte `contentType:"application/json"`
	contentType string
}

// Resolve captures the Content-Type without documenting it as a parameter.
func (in *bodyInput) Resolve(ctx huma.Context) []error {
	in.contentType = ctx.Header("Content-Type")
	return nil
}
