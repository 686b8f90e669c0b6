package vendortest

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Binding ties one Go wire type of an adapter (or its stand-in) to the
// place in the vendor's published description whose JSON it reads or
// writes.
type Binding struct {
	// At names the schema: "METHOD /path" exactly as the description
	// writes the path, or "#/components/schemas/Name".
	At string
	// Status picks the response body of that status; 0 picks the
	// request body. Ignored for a component schema.
	Status int
	// Type is a value of the Go type, e.g. launchRequest{}.
	Type any
}

// Conformance is a vendor package's claim that its JSON wire types are the
// vendor's: CheckConformance holds it against the published description.
type Conformance struct {
	// Spec is the vendor's description, loaded with LoadSpec and with the
	// package's named allowances already applied.
	Spec *openapi3.T
	// Bindings are the roots of the check: every type the adapter sends
	// or decodes, every type the stand-in answers with.
	Bindings []Binding
	// Custom lists the package's types that encode themselves
	// (json.Marshaler or json.Unmarshaler), keyed by type name, with the
	// schema types each accepts ("number", "string", ...).
	Custom map[string][]string
	// NotWire names struct types of the package that carry JSON tags but
	// never cross the wire (a stand-in's state file), with the reason.
	NotWire map[string]string
	// Dir is the package's source directory; "" is the working directory,
	// which is the package under test.
	Dir string
}

// CheckConformance proves a vendor package's wire types against the
// vendor's own description, field by field:
//
//   - every JSON field of every bound type exists in the schema it is
//     bound to, under the same name, with a compatible type (a struct is an
//     object, a slice an array, an int an integer, ...), recursively;
//   - a request type carries every property its schema requires;
//   - every struct type with JSON tags declared in the package (in any
//     non-test file) is reached from a binding or listed in NotWire, and
//     no file but a stand-in's decodes into an anonymous struct, so no
//     wire type escapes the check.
//
// A field that only one side of a test knows (adapter and stand-in share
// these types) would pass a loopback test; it does not pass this.
func CheckConformance(t testing.TB, c Conformance) {
	t.Helper()
	w := &walker{
		pkgPath: "",
		custom:  c.Custom,
		reached: map[string]bool{},
		seen:    map[seenKey]bool{},
	}
	for _, b := range c.Bindings {
		typ := reflect.TypeOf(b.Type)
		if w.pkgPath == "" {
			w.pkgPath = packageOf(typ)
		}
		ref, where, err := schemaOf(c.Spec, b)
		if err != nil {
			t.Errorf("binding %s: %v", typeName(typ), err)
			continue
		}
		w.dir = response
		if b.Status == 0 && strings.HasPrefix(where, "request") {
			w.dir = request
		}
		for _, e := range w.conform(typeName(typ), typ, ref) {
			t.Errorf("%s (%s): %s", e.path, where, e.msg)
		}
	}
	for _, e := range w.completeness(c.Dir, c.NotWire) {
		t.Errorf("%s", e)
	}
}

// direction says whether a type is sent to the vendor or read from it:
// only a request must carry the required properties.
type direction int

const (
	response direction = iota
	request
)

type seenKey struct {
	typ    reflect.Type
	schema *openapi3.Schema
	dir    direction
}

type walker struct {
	pkgPath string
	custom  map[string][]string
	dir     direction
	reached map[string]bool
	seen    map[seenKey]bool
}

type mismatch struct{ path, msg string }

// schemaOf finds a binding's schema and says where it is, for messages.
func schemaOf(spec *openapi3.T, b Binding) (*openapi3.SchemaRef, string, error) {
	if name, ok := strings.CutPrefix(b.At, "#/components/schemas/"); ok {
		ref := spec.Components.Schemas[name]
		if ref == nil {
			return nil, "", fmt.Errorf("no schema %s in the description", name)
		}
		return ref, "schema " + name, nil
	}
	method, path, ok := strings.Cut(b.At, " ")
	item := spec.Paths.Value(path)
	if !ok || item == nil {
		return nil, "", fmt.Errorf("no path %q in the description", b.At)
	}
	op := item.GetOperation(method)
	if op == nil {
		return nil, "", fmt.Errorf("no operation %s in the description", b.At)
	}
	var content openapi3.Content
	where := "request body of " + b.At
	if b.Status == 0 {
		if op.RequestBody == nil || op.RequestBody.Value == nil {
			return nil, "", fmt.Errorf("%s takes no request body", b.At)
		}
		content = op.RequestBody.Value.Content
	} else {
		resp := op.Responses.Status(b.Status)
		if resp == nil || resp.Value == nil {
			return nil, "", fmt.Errorf("%s documents no %d response", b.At, b.Status)
		}
		content = resp.Value.Content
		where = fmt.Sprintf("%d answer of %s", b.Status, b.At)
	}
	for _, mt := range slices.Sorted(maps.Keys(content)) {
		if strings.Contains(mt, "json") && content[mt].Schema != nil {
			return content[mt].Schema, where, nil
		}
	}
	return nil, "", fmt.Errorf("%s has no JSON schema", where)
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	rawType     = reflect.TypeFor[json.RawMessage]()
	marshaler   = reflect.TypeFor[json.Marshaler]()
	unmarshaler = reflect.TypeFor[json.Unmarshaler]()
)

// conform checks typ against ref and returns every mismatch under path.
func (w *walker) conform(path string, typ reflect.Type, ref *openapi3.SchemaRef) []mismatch {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if ref == nil || ref.Value == nil {
		return []mismatch{{path, "no schema to check against"}}
	}
	key := seenKey{typ, ref.Value, w.dir}
	if w.seen[key] {
		return nil
	}
	w.seen[key] = true
	if typ.Kind() == reflect.Struct && packageOf(typ) == w.pkgPath {
		w.reached[baseName(typ.Name())] = true
	}
	alts := alternatives(ref.Value)
	if len(alts) == 0 {
		return nil // only null is allowed: nothing to read
	}

	switch {
	case typ == rawType || typ.Kind() == reflect.Interface:
		return nil // kept as raw JSON or any: every schema fits
	case typ == timeType:
		return w.scalar(path, alts, "string")
	case typ.Implements(marshaler) || reflect.PointerTo(typ).Implements(unmarshaler):
		accepts, ok := w.custom[typ.Name()]
		if !ok {
			return []mismatch{{path, fmt.Sprintf("%s encodes itself: list the schema types it accepts in Conformance.Custom", typ)}}
		}
		if errs := w.scalar(path, alts, accepts...); len(errs) > 0 {
			return errs
		}
		return w.plain(path, typ, alts)
	}

	switch typ.Kind() {
	case reflect.Bool:
		return w.scalar(path, alts, "boolean")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return w.scalar(path, alts, "integer")
	case reflect.Float32, reflect.Float64:
		return w.scalar(path, alts, "number", "integer")
	case reflect.String:
		return w.scalar(path, alts, "string")
	case reflect.Slice, reflect.Array:
		return w.firstFit(path, alts, "array", func(s *openapi3.Schema) []mismatch {
			if s.Items == nil {
				return w.freeForm(path+"[]", typ.Elem())
			}
			return w.conform(path+"[]", typ.Elem(), s.Items)
		})
	case reflect.Map:
		return w.firstFit(path, alts, "object", func(s *openapi3.Schema) []mismatch {
			return w.mapValues(path, typ.Elem(), s)
		})
	case reflect.Struct:
		return w.object(path, typ, alts)
	}
	return []mismatch{{path, fmt.Sprintf("Go kind %s has no JSON schema counterpart here", typ.Kind())}}
}

// plain walks a custom map or slice type as its plain counterpart
// against the description's object or array alternatives, when it has
// some: such a type decodes that form into its elements as encoding/json
// would, so the element types' fields are proven too. Other forms it
// accepts are its own business.
func (w *walker) plain(path string, typ reflect.Type, alts []*openapi3.Schema) []mismatch {
	var kind string
	var counterpart reflect.Type
	switch typ.Kind() {
	case reflect.Map:
		kind, counterpart = "object", reflect.MapOf(typ.Key(), typ.Elem())
	case reflect.Slice:
		kind, counterpart = "array", reflect.SliceOf(typ.Elem())
	default:
		return nil
	}
	var fits []*openapi3.Schema
	for _, s := range alts {
		if ts := types(s); slices.Contains(ts, kind) {
			fits = append(fits, s)
		}
	}
	if len(fits) == 0 {
		return nil
	}
	return w.conform(path, counterpart, &openapi3.SchemaRef{Value: &openapi3.Schema{OneOf: schemaRefs(fits)}})
}

func schemaRefs(ss []*openapi3.Schema) openapi3.SchemaRefs {
	out := make(openapi3.SchemaRefs, len(ss))
	for i, s := range ss {
		out[i] = &openapi3.SchemaRef{Value: s}
	}
	return out
}

// alternatives flattens oneOf and anyOf into the schemas a value may
// match, leaving out the ones that only allow null.
func alternatives(s *openapi3.Schema) []*openapi3.Schema {
	choices := append(slices.Clone(s.OneOf), s.AnyOf...)
	if len(choices) == 0 {
		if s.Type != nil && s.Type.Is("null") {
			return nil
		}
		return []*openapi3.Schema{s}
	}
	var out []*openapi3.Schema
	for _, c := range choices {
		if c.Value != nil {
			out = append(out, alternatives(c.Value)...)
		}
	}
	return out
}

// types are the JSON types a schema (with its allOf parts) allows; empty
// means any. A const or an enum without a type allows its values' types.
func types(s *openapi3.Schema) []string {
	var out []string
	if s.Type != nil {
		out = append(out, s.Type.Slice()...)
	}
	if len(out) == 0 {
		for _, v := range append([]any{s.Const}, s.Enum...) {
			if t := jsonType(v); t != "" {
				out = append(out, t)
			}
		}
	}
	for _, part := range s.AllOf {
		if part.Value != nil {
			out = append(out, types(part.Value)...)
		}
	}
	if len(out) == 0 && len(properties(s)) > 0 {
		out = append(out, "object")
	}
	return out
}

// jsonType names the JSON type of a decoded value ("" for nil).
func jsonType(v any) string {
	switch v := v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return ""
}

func permits(s *openapi3.Schema, want ...string) bool {
	ts := types(s)
	if len(ts) == 0 {
		return true
	}
	for _, w := range want {
		if slices.Contains(ts, w) {
			return true
		}
	}
	return false
}

func (w *walker) scalar(path string, alts []*openapi3.Schema, want ...string) []mismatch {
	for _, s := range alts {
		if permits(s, want...) {
			return nil
		}
	}
	return []mismatch{{path, fmt.Sprintf("Go reads %s where the description has %s", strings.Join(want, " or "), describe(alts))}}
}

func describe(alts []*openapi3.Schema) string {
	var ts []string
	for _, s := range alts {
		ts = append(ts, types(s)...)
	}
	slices.Sort(ts)
	return strings.Join(slices.Compact(ts), " or ")
}

// firstFit checks inner against the first alternative of the given JSON
// type that it fits, reporting the first one's mismatches when none does.
func (w *walker) firstFit(path string, alts []*openapi3.Schema, kind string, inner func(*openapi3.Schema) []mismatch) []mismatch {
	var first []mismatch
	found := false
	for _, s := range alts {
		if !permits(s, kind) {
			continue
		}
		errs := inner(s)
		if len(errs) == 0 {
			return nil
		}
		if !found {
			first, found = errs, true
		}
	}
	if !found {
		return []mismatch{{path, fmt.Sprintf("Go has %s where the description has %s", kind, describe(alts))}}
	}
	return first
}

// freeForm is a Go type read from a place the description leaves open
// (no items, no properties): scalars and raw values are fine, but the
// field names of a struct there cannot be proven.
func (w *walker) freeForm(path string, typ reflect.Type) []mismatch {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
		typ = typ.Elem()
	}
	if typ.Kind() == reflect.Struct && typ != timeType {
		return []mismatch{{path, "the description leaves this open, so these fields cannot be proven: name the allowance in the package's spec patches"}}
	}
	return nil
}

// mapValues checks a Go map's values against an object schema: its
// additionalProperties, or each of its properties.
func (w *walker) mapValues(path string, elem reflect.Type, s *openapi3.Schema) []mismatch {
	if ap := s.AdditionalProperties; ap.Schema != nil {
		return w.conform(path+"[*]", elem, ap.Schema)
	}
	props := properties(s)
	if len(props) == 0 {
		return w.freeForm(path+"[*]", elem)
	}
	var out []mismatch
	for _, name := range slices.Sorted(maps.Keys(props)) {
		out = append(out, w.conform(path+"["+name+"]", elem, props[name])...)
	}
	return out
}

// properties merges a schema's own properties with its allOf parts'.
func properties(s *openapi3.Schema) openapi3.Schemas {
	out := openapi3.Schemas{}
	for _, part := range s.AllOf {
		if part.Value != nil {
			for k, v := range properties(part.Value) {
				out[k] = v
			}
		}
	}
	for k, v := range s.Properties {
		out[k] = v
	}
	return out
}

// nullable reports whether s's allOf lets null through: a member says
// nullable and every other member that names a type does too (a member
// of only a description takes anything). DigitalOcean's Droplet wraps its
// nullable next_backup_window so, to add a description.
func nullable(s *openapi3.Schema) bool {
	some := false
	for _, part := range s.AllOf {
		switch v := part.Value; {
		case v == nil:
		case v.Nullable || nullable(v):
			some = true
		case v.Type != nil && !v.Type.IsEmpty(), len(v.Properties) > 0:
			return false
		}
	}
	return some
}

func required(s *openapi3.Schema) []string {
	out := slices.Clone(s.Required)
	for _, part := range s.AllOf {
		if part.Value != nil {
			out = append(out, required(part.Value)...)
		}
	}
	return out
}

// field is one JSON member of a Go struct.
type field struct {
	name      string
	typ       reflect.Type
	omitEmpty bool
}

// jsonFields lists a struct's JSON members as encoding/json sees them,
// embedded structs flattened; embedded are the struct types it flattened.
func jsonFields(typ reflect.Type) (out []field, embedded []reflect.Type) {
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			inner := f.Type
			if inner.Kind() == reflect.Pointer {
				inner = inner.Elem()
			}
			if inner.Kind() == reflect.Struct {
				fields, deeper := jsonFields(inner)
				out = append(out, fields...)
				embedded = append(append(embedded, inner), deeper...)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, field{name, f.Type, slices.Contains(strings.Split(opts, ","), "omitempty")})
	}
	return out, embedded
}

// object checks a struct against the object alternatives: each field must
// be a property of one of them and fit it.
func (w *walker) object(path string, typ reflect.Type, alts []*openapi3.Schema) []mismatch {
	var objects []*openapi3.Schema
	for _, s := range alts {
		if permits(s, "object") {
			objects = append(objects, s)
		}
	}
	if len(objects) == 0 {
		return []mismatch{{path, "Go has an object where the description has " + describe(alts)}}
	}
	var out []mismatch
	fields, embedded := jsonFields(typ)
	// An embedded struct's fields are checked as the outer type's, so the
	// embedded type itself is reached too.
	for _, e := range embedded {
		if packageOf(e) == w.pkgPath {
			w.reached[baseName(e.Name())] = true
		}
	}
	for _, f := range fields {
		fpath := path + "." + f.name
		var candidates []*openapi3.SchemaRef
		open := false
		for _, s := range objects {
			props := properties(s)
			if p := props[f.name]; p != nil {
				candidates = append(candidates, p)
			} else if len(props) == 0 && !closed(s) {
				open = true
			}
		}
		if len(candidates) == 0 {
			if open {
				out = append(out, w.freeForm(fpath, reflect.TypeFor[struct{}]())...)
			} else {
				out = append(out, mismatch{fpath, fmt.Sprintf("no property %q in the description (it has %s)", f.name, propertyList(objects))})
			}
			continue
		}
		var first []mismatch
		for i, c := range candidates {
			errs := w.conform(fpath, f.typ, c)
			if len(errs) == 0 {
				first = nil
				break
			}
			if i == 0 {
				first = errs
			}
		}
		out = append(out, first...)
	}
	if w.dir == request && len(objects) == 1 {
		have := map[string]field{}
		for _, f := range fields {
			have[f.name] = f
		}
		for _, name := range required(objects[0]) {
			f, ok := have[name]
			switch {
			case !ok:
				out = append(out, mismatch{path, fmt.Sprintf("the description requires %q, which the Go type cannot send", name)})
			case f.omitEmpty && f.typ.Kind() != reflect.Struct:
				out = append(out, mismatch{path + "." + name, "required by the description but omitempty in Go: an empty value would leave it out"})
			}
		}
	}
	return out
}

// closed reports whether a schema forbids properties it does not list.
func closed(s *openapi3.Schema) bool {
	ap := s.AdditionalProperties
	return ap.Has != nil && !*ap.Has
}

func propertyList(objects []*openapi3.Schema) string {
	var names []string
	for _, s := range objects {
		names = append(names, slices.Collect(maps.Keys(properties(s)))...)
	}
	if len(names) == 0 {
		return "no properties"
	}
	slices.Sort(names)
	return strings.Join(slices.Compact(names), ", ")
}

var genericArgs = regexp.MustCompile(`\[.*\]$`)

// baseName strips a generic type's arguments: envelope[...] → envelope.
func baseName(name string) string { return genericArgs.ReplaceAllString(name, "") }

func packageOf(typ reflect.Type) string {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
		typ = typ.Elem()
	}
	return typ.PkgPath()
}

func typeName(typ reflect.Type) string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if name := typ.Name(); name != "" {
		// envelope[github.com/.../lambda.instance] reads as envelope[instance].
		return strings.ReplaceAll(name, typ.PkgPath()+".", "")
	}
	// An unnamed type (a slice of the package's type) names its elements
	// by package name: []verda.instance reads as []instance.
	name := typ.String()
	if pkg := packageOf(typ); pkg != "" {
		name = strings.ReplaceAll(name, path.Base(pkg)+".", "")
	}
	return name
}

// completeness reads the package's non-test sources in dir and finds the
// JSON-tagged struct types that no binding reached.
func (w *walker) completeness(dir string, notWire map[string]string) []string {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		return []string{fmt.Sprintf("no Go sources in the package directory: %v", err)}
	}
	var errs []string
	named := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return []string{fmt.Sprintf("parse %s: %v", name, err)}
		}
		inNamed := map[*ast.StructType]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.TypeSpec:
				if st, ok := n.Type.(*ast.StructType); ok && hasJSONTags(st) {
					named[n.Name.Name] = true
				}
				ast.Inspect(n.Type, func(m ast.Node) bool {
					if st, ok := m.(*ast.StructType); ok {
						inNamed[st] = true
					}
					return true
				})
			case *ast.StructType:
				if !inNamed[n] && hasJSONTags(n) && !strings.HasPrefix(filepath.Base(name), "standin") {
					errs = append(errs, fmt.Sprintf("%s: an anonymous struct with JSON tags: name it in wire.go and bind it, so the conformance check sees it", fset.Position(n.Pos())))
				}
			}
			return true
		})
	}
	for _, name := range slices.Sorted(maps.Keys(named)) {
		_, excused := notWire[name]
		switch {
		case w.reached[name] && excused:
			errs = append(errs, fmt.Sprintf("%s is listed as not a wire type but a binding reaches it", name))
		case !w.reached[name] && !excused:
			errs = append(errs, fmt.Sprintf("%s has JSON tags but no binding reaches it: bind it to its place in the description, or list it in NotWire with the reason", name))
		}
	}
	for name := range notWire {
		if !named[name] {
			errs = append(errs, fmt.Sprintf("NotWire lists %s, which is not a JSON-tagged struct of the package", name))
		}
	}
	sort.Strings(errs)
	return errs
}

func hasJSONTags(st *ast.StructType) bool {
	for _, f := range st.Fields.List {
		if f.Tag == nil {
			continue
		}
		tag, err := strconv.Unquote(f.Tag.Value)
		if err == nil && reflect.StructTag(tag).Get("json") != "" {
			return true
		}
	}
	return false
}

// Strict closes every object schema of spec that lists its properties, so
// a body with a property the description does not have fails validation:
// a stand-in cannot invent a field the vendor does not send, nor an
// adapter send one the vendor does not take. An allOf of plain objects is
// first flattened into one object (each allOf member sees the whole value,
// so closed members would refuse each other's properties); an allOf that
// mixes in choices leaves its members open. Validating applies it; it is
// idempotent.
func Strict(spec *openapi3.T) {
	var all []*openapi3.Schema
	visited := map[*openapi3.Schema]bool{}
	var collect func(ref *openapi3.SchemaRef)
	collect = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || visited[ref.Value] {
			return
		}
		s := ref.Value
		visited[s] = true
		all = append(all, s)
		for _, group := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
			for _, r := range group {
				collect(r)
			}
		}
		for _, p := range s.Properties {
			collect(p)
		}
		collect(s.Items)
		collect(s.AdditionalProperties.Schema)
		collect(s.Not)
	}
	if spec.Components != nil {
		for _, ref := range spec.Components.Schemas {
			collect(ref)
		}
	}
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					collect(mt.Schema)
				}
			}
			for _, resp := range op.Responses.Map() {
				if resp.Value != nil {
					for _, mt := range resp.Value.Content {
						collect(mt.Schema)
					}
				}
			}
		}
	}
	open := map[*openapi3.Schema]bool{}
	for _, s := range all {
		if len(s.AllOf) == 0 {
			continue
		}
		if !plainObjects(s) {
			for _, m := range s.AllOf {
				open[m.Value] = true
			}
			continue
		}
		s.Properties, s.Required = properties(s), slices.Compact(slices.Sorted(slices.Values(required(s))))
		s.Nullable = s.Nullable || nullable(s)
		s.AllOf = nil
		if s.Type == nil || s.Type.IsEmpty() {
			s.Type = &openapi3.Types{openapi3.TypeObject}
		}
	}
	no := false
	for _, s := range all {
		if open[s] || len(s.Properties) == 0 || s.AdditionalProperties.Has != nil || s.AdditionalProperties.Schema != nil {
			continue
		}
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	}
}

// plainObjects reports whether s and its allOf members, all the way
// down, are objects described by properties alone, so that merging them
// into one object says the same thing.
func plainObjects(s *openapi3.Schema) bool {
	if len(s.OneOf) > 0 || len(s.AnyOf) > 0 || s.Not != nil || !permits(s, "object") ||
		s.AdditionalProperties.Has != nil || s.AdditionalProperties.Schema != nil {
		return false
	}
	for _, m := range s.AllOf {
		if m.Value == nil || !plainObjects(m.Value) {
			return false
		}
	}
	return true
}

// SchemaAt returns the schema of a body in spec, for a package's named
// allowances (a nullable field, a property today's API added): at is
// "METHOD /path" and status 0 the request body, as in Binding. It fails
// the test when the place is gone, so a stale allowance cannot linger.
func SchemaAt(t testing.TB, spec *openapi3.T, at string, status int) *openapi3.Schema {
	t.Helper()
	ref, _, err := schemaOf(spec, Binding{At: at, Status: status})
	if err != nil || ref.Value == nil {
		t.Fatalf("allowance for %s %d: %v", at, status, err)
	}
	return ref.Value
}

// Component returns a named schema of spec, failing the test when it is
// gone (for a package's named allowances).
func Component(t testing.TB, spec *openapi3.T, name string) *openapi3.Schema {
	t.Helper()
	ref := spec.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		t.Fatalf("schema %s is gone from the description", name)
	}
	return ref.Value
}

// Property returns a property schema of s, failing the test when it is
// gone (for a package's named allowances).
func Property(t testing.TB, s *openapi3.Schema, name string) *openapi3.Schema {
	t.Helper()
	p := properties(s)[name]
	if p == nil || p.Value == nil {
		t.Fatalf("property %s is gone from the description (it has %s)", name, propertyList([]*openapi3.Schema{s}))
	}
	return p.Value
}

// Operation is one operation of a description that a package's bindings
// name, as "METHOD /path".
type Operation struct {
	At string
	*openapi3.Operation
}

// Operations lists, once each and in binding order, the operations the
// bindings name (component bindings name none): what a package checks its
// error classification against.
func Operations(t testing.TB, spec *openapi3.T, bindings []Binding) []Operation {
	t.Helper()
	var out []Operation
	seen := map[string]bool{}
	for _, b := range bindings {
		if seen[b.At] || strings.HasPrefix(b.At, "#/") {
			continue
		}
		seen[b.At] = true
		method, p, _ := strings.Cut(b.At, " ")
		item := spec.Paths.Value(p)
		if item == nil || item.GetOperation(method) == nil {
			t.Fatalf("no operation %s in the description", b.At)
		}
		out = append(out, Operation{b.At, item.GetOperation(method)})
	}
	return out
}
