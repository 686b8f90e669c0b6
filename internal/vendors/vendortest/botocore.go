package vendortest

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Botocore is an AWS service model in botocore's JSON form
// (data/<service>/<version>/service-2.json, the same API as the Smithy
// model), read far enough to check requests and answers against it: the
// operations with their input and output shapes, and every shape's type,
// members, member names on the wire (locationName, queryName), required
// members, enums and timestamp formats. CheckQueryRequest and
// CheckXMLResponse check the EC2 Query protocol (ec2), CheckJSON the JSON
// protocols (json, awsJson1_1).
type Botocore struct {
	Metadata struct {
		APIVersion   string `json:"apiVersion"`
		Protocol     string `json:"protocol"`
		TargetPrefix string `json:"targetPrefix"`
	} `json:"metadata"`
	Operations map[string]BotocoreOperation `json:"operations"`
	Shapes     map[string]*BotocoreShape    `json:"shapes"`
}

// BotocoreOperation is one operation of a model.
type BotocoreOperation struct {
	Name   string           `json:"name"`
	Input  *BotocoreRef     `json:"input"`
	Output *BotocoreRef     `json:"output"`
	Errors []BotocoreRef    `json:"errors"`
	HTTP   *json.RawMessage `json:"http"`
}

// BotocoreRef is a reference to a shape, as a member, a list's member or
// an operation's input or output: its own wire names override the shape's.
type BotocoreRef struct {
	Shape           string `json:"shape"`
	LocationName    string `json:"locationName"`
	QueryName       string `json:"queryName"`
	Flattened       bool   `json:"flattened"`
	TimestampFormat string `json:"timestampFormat"`
	JSONValue       bool   `json:"jsonvalue"`
}

// BotocoreShape is one shape of a model.
type BotocoreShape struct {
	Type            string                  `json:"type"`
	Members         map[string]*BotocoreRef `json:"members"`
	Member          *BotocoreRef            `json:"member"`
	Key             *BotocoreRef            `json:"key"`
	Value           *BotocoreRef            `json:"value"`
	Required        []string                `json:"required"`
	Enum            []string                `json:"enum"`
	Flattened       bool                    `json:"flattened"`
	TimestampFormat string                  `json:"timestampFormat"`
	Exception       bool                    `json:"exception"`
}

// LoadBotocore reads a botocore model from vendor-specs/relPath.
func LoadBotocore(t testing.TB, relPath string) *Botocore {
	t.Helper()
	b, err := os.ReadFile(SpecPath(t, relPath))
	if err != nil {
		t.Fatal(err)
	}
	var m Botocore
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("botocore model %s: %v", relPath, err)
	}
	if len(m.Operations) == 0 || len(m.Shapes) == 0 {
		t.Fatalf("botocore model %s has no operations or shapes", relPath)
	}
	return &m
}

// shape returns the shape ref names, or nil when the model lacks it.
func (m *Botocore) shape(ref *BotocoreRef) *BotocoreShape {
	if ref == nil {
		return nil
	}
	return m.Shapes[ref.Shape]
}

// queryKey is a member's name in an EC2 Query request: its queryName, or
// its locationName, or its own name, capitalised (Smithy's ec2Query
// protocol, "Query key resolution").
func queryKey(name string, ref *BotocoreRef) string {
	if ref.QueryName != "" {
		return ref.QueryName
	}
	return capitalise(cmp.Or(ref.LocationName, name))
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// CheckQueryRequest checks an EC2 Query request body against the model:
// Action is an operation, Version the model's, and every other key a path
// through the operation's input shape (members by queryKey, lists
// flattened as .1, .2, ...) ending at a scalar whose value has the
// scalar's type (and is one of its enum's values); every required member
// of each structure the request names is present. It returns the
// problems found, none for a request the model allows.
func (m *Botocore) CheckQueryRequest(form url.Values) []string {
	var problems []string
	action := form.Get("Action")
	op, ok := m.Operations[action]
	if !ok {
		return []string{fmt.Sprintf("Action %q is not an operation of the model", action)}
	}
	if v := form.Get("Version"); v != m.Metadata.APIVersion {
		problems = append(problems, fmt.Sprintf("%s: Version %q, want %q", action, v, m.Metadata.APIVersion))
	}
	input := m.shape(op.Input)
	if input == nil {
		input = &BotocoreShape{Type: "structure"}
	}
	// structures maps each structure the request reaches, by its key
	// prefix, to its shape, for the required members.
	structures := map[string]*BotocoreShape{"": input}
	for _, key := range slices.Sorted(maps.Keys(form)) {
		if key == "Action" || key == "Version" {
			continue
		}
		if p := m.queryPath(input, "", strings.Split(key, "."), form.Get(key), structures); p != "" {
			problems = append(problems, fmt.Sprintf("%s: %s: %s", action, key, p))
		}
	}
	for prefix, s := range structures {
		for _, name := range s.Required {
			k := prefix + queryKey(name, s.Members[name])
			if !slices.ContainsFunc(slices.Collect(maps.Keys(form)), func(have string) bool { return have == k || strings.HasPrefix(have, k+".") }) {
				problems = append(problems, fmt.Sprintf("%s: required %s missing", action, k))
			}
		}
	}
	sort.Strings(problems)
	return problems
}

// queryPath resolves the key segments path within structure s, reached at
// prefix, and checks value at its end; it returns the problem, or "".
func (m *Botocore) queryPath(s *BotocoreShape, prefix string, path []string, value string, structures map[string]*BotocoreShape) string {
	if s.Type != "structure" {
		return fmt.Sprintf("%s is a %s, not a structure", prefix, s.Type)
	}
	var ref *BotocoreRef
	for name, r := range s.Members {
		if queryKey(name, r) == path[0] {
			ref = r
		}
	}
	if ref == nil {
		return fmt.Sprintf("no member named %q at %q", path[0], prefix)
	}
	prefix += path[0] + "."
	for {
		shape := m.shape(ref)
		if shape == nil {
			return "model lacks shape " + ref.Shape
		}
		switch shape.Type {
		case "structure":
			structures[prefix] = shape
			if len(path) < 2 {
				return "a structure given a value"
			}
			return m.queryPath(shape, prefix, path[1:], value, structures)
		case "list":
			if len(path) < 2 {
				return "a list given a value: EC2 lists are flattened as .1, .2, ..."
			}
			if n, err := strconv.Atoi(path[1]); err != nil || n < 1 {
				return fmt.Sprintf("list index %q is not 1, 2, ...", path[1])
			}
			prefix += path[1] + "."
			path = path[1:]
			ref = shape.Member
		case "map":
			return "maps are not checked"
		default:
			if len(path) > 1 {
				return fmt.Sprintf("a %s has no member %q", shape.Type, path[1])
			}
			return scalarProblem(shape, ref, value, "iso8601", true)
		}
	}
}

// scalarProblem checks a scalar's text against its shape's type, or
// returns "" when it fits. defaultTime is the protocol's timestamp
// format. An enum value must be one of the enum's; in an answer
// (strictEnum false) its case may differ: EC2 writes the platform
// "windows" where the model's enum has "Windows" (botocore's recorded
// ec2-describe-instances.xml).
func scalarProblem(s *BotocoreShape, ref *BotocoreRef, text, defaultTime string, strictEnum bool) string {
	switch s.Type {
	case "integer", "long", "byte", "short":
		if _, err := strconv.ParseInt(text, 10, 64); err != nil {
			return fmt.Sprintf("%q is not an integer", text)
		}
	case "float", "double":
		if _, err := strconv.ParseFloat(text, 64); err != nil && text != "NaN" && text != "Infinity" && text != "-Infinity" {
			return fmt.Sprintf("%q is not a number", text)
		}
	case "boolean":
		if text != "true" && text != "false" {
			return fmt.Sprintf("%q is not true or false", text)
		}
	case "blob":
		if _, err := base64.StdEncoding.DecodeString(text); err != nil {
			return fmt.Sprintf("%q is not base64", text)
		}
	case "timestamp":
		format := cmp.Or(ref.TimestampFormat, cmp.Or(s.TimestampFormat, defaultTime))
		if !timestampFits(text, format) {
			return fmt.Sprintf("%q is not a timestamp in %s", text, format)
		}
	case "string":
		if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(v string) bool { return v == text || !strictEnum && strings.EqualFold(v, text) }) {
			return fmt.Sprintf("%q is not one of the enum's %d values", text, len(s.Enum))
		}
	default:
		return "unknown scalar type " + s.Type
	}
	return ""
}

func timestampFits(text, format string) bool {
	switch format {
	case "unixTimestamp":
		_, err := strconv.ParseFloat(text, 64)
		return err == nil
	case "rfc822":
		_, err := time.Parse(time.RFC1123, text)
		return err == nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
		if _, err := time.Parse(layout, text); err == nil {
			return true
		}
	}
	return false
}

// xmlNode is an element of an XML answer.
type xmlNode struct {
	name     string
	text     string
	children []*xmlNode
}

func parseXML(body []byte) (*xmlNode, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{name: tok.Name.Local}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("no root element")
	}
	return root, nil
}

// CheckXMLResponse checks an EC2 Query answer to action against the
// model: a 2xx answer's root is <actionResponse>, each element under it a
// member of the output shape by locationName (or name), lists as their
// member's locationName (<item>, or <member> without one), and every
// scalar's text of its type (timestamps in ISO 8601 unless the shape says
// otherwise); only requestId is there besides. An error answer is EC2's
// envelope, <Response><Errors><Error> with a Code and a Message (and the
// members of the error's shape, when the model has one) and <RequestID>.
func (m *Botocore) CheckXMLResponse(action string, status int, body []byte) []string {
	root, err := parseXML(body)
	if err != nil {
		return []string{fmt.Sprintf("%s: answer is not XML: %v", action, err)}
	}
	if status >= 300 {
		return m.checkXMLError(action, root)
	}
	if root.name != action+"Response" {
		return []string{fmt.Sprintf("%s: root element <%s>, want <%sResponse>", action, root.name, action)}
	}
	op, ok := m.Operations[action]
	if !ok {
		return []string{fmt.Sprintf("%s is not an operation of the model", action)}
	}
	output := m.shape(op.Output)
	if output == nil {
		output = &BotocoreShape{Type: "structure"}
	}
	var problems []string
	m.checkStructure(output, root, action+"Response", true, &problems)
	return problems
}

func (m *Botocore) checkXMLError(action string, root *xmlNode) []string {
	var problems []string
	add := func(f string, args ...any) {
		problems = append(problems, action+": error answer: "+fmt.Sprintf(f, args...))
	}
	if root.name != "Response" {
		add("root <%s>, want <Response>", root.name)
		return problems
	}
	for _, c := range root.children {
		switch c.name {
		case "RequestID", "RequestId":
		case "Errors":
			for _, e := range c.children {
				if e.name != "Error" {
					add("<Errors> holds <%s>", e.name)
					continue
				}
				m.checkError(e, add)
			}
		default:
			add("<Response> holds <%s>", c.name)
		}
	}
	return problems
}

func (m *Botocore) checkError(e *xmlNode, add func(string, ...any)) {
	code := ""
	for _, f := range e.children {
		if f.name == "Code" {
			code = strings.TrimSpace(f.text)
		}
	}
	if code == "" {
		add("<Error> has no <Code>")
		return
	}
	shape := m.Shapes[code]
	for _, f := range e.children {
		if f.name == "Code" || f.name == "Message" {
			continue
		}
		if shape == nil || !shape.Exception {
			add("<Error> of %s holds <%s>, and the model has no error shape for it", code, f.name)
			continue
		}
		var problems []string
		m.checkStructure(&BotocoreShape{Type: "structure", Members: shape.Members}, &xmlNode{name: "Error", children: []*xmlNode{f}}, "Error", false, &problems)
		for _, p := range problems {
			add("%s", p)
		}
	}
}

// checkStructure checks n's children as members of s, at path.
func (m *Botocore) checkStructure(s *BotocoreShape, n *xmlNode, path string, top bool, problems *[]string) {
	for _, c := range n.children {
		if top && c.name == "requestId" {
			continue
		}
		name, ref := m.xmlMember(s, c.name)
		if ref == nil {
			*problems = append(*problems, fmt.Sprintf("%s: <%s> is not a member of the model's shape", path, c.name))
			continue
		}
		m.checkValue(ref, c, path+"/"+cmp.Or(ref.LocationName, name), problems)
	}
}

// xmlMember finds the member of s that an element named name stands for:
// by its locationName or its name, or, for a flattened list, its list
// member's locationName.
func (m *Botocore) xmlMember(s *BotocoreShape, name string) (string, *BotocoreRef) {
	for member, ref := range s.Members {
		if cmp.Or(ref.LocationName, member) == name {
			return member, ref
		}
		if ls := m.shape(ref); ls != nil && ls.Type == "list" && (ref.Flattened || ls.Flattened) && ls.Member.LocationName == name {
			return member, ref
		}
	}
	return "", nil
}

// checkValue checks element n as a value of ref's shape.
func (m *Botocore) checkValue(ref *BotocoreRef, n *xmlNode, path string, problems *[]string) {
	s := m.shape(ref)
	if s == nil {
		*problems = append(*problems, path+": model lacks shape "+ref.Shape)
		return
	}
	switch s.Type {
	case "structure":
		m.checkStructure(s, n, path, false, problems)
	case "list":
		if ref.Flattened || s.Flattened {
			m.checkValue(s.Member, n, path, problems)
			return
		}
		want := cmp.Or(s.Member.LocationName, "member")
		for _, c := range n.children {
			if c.name != want {
				*problems = append(*problems, fmt.Sprintf("%s: list element <%s>, want <%s>", path, c.name, want))
				continue
			}
			m.checkValue(s.Member, c, path+"/"+want, problems)
		}
	case "map":
		// <entry><key/><value/></entry>, the names overridden by the key's
		// and value's locationNames (EC2's model has no maps; the protocol
		// suite does).
		key, value := cmp.Or(s.Key.LocationName, "key"), cmp.Or(s.Value.LocationName, "value")
		for _, e := range n.children {
			if e.name != "entry" {
				*problems = append(*problems, fmt.Sprintf("%s: map element <%s>, want <entry>", path, e.name))
				continue
			}
			for _, kv := range e.children {
				switch kv.name {
				case key:
					m.checkValue(s.Key, kv, path+"/entry/"+key, problems)
				case value:
					m.checkValue(s.Value, kv, path+"/entry/"+value, problems)
				default:
					*problems = append(*problems, fmt.Sprintf("%s: map entry holds <%s>", path, kv.name))
				}
			}
		}
	default:
		if len(n.children) > 0 {
			*problems = append(*problems, fmt.Sprintf("%s: a %s holds elements", path, s.Type))
			return
		}
		text := n.text
		if s.Type != "string" && s.Type != "blob" {
			text = strings.TrimSpace(text)
		}
		if p := scalarProblem(s, ref, text, "iso8601", false); p != "" && !(s.Type == "string" && len(s.Enum) > 0 && text == "") {
			*problems = append(*problems, path+": "+p)
		}
	}
}

// CheckJSON checks a JSON body (a request's input or an answer's output)
// against shape ref of a JSON-protocol model: every member by its name
// (or locationName), of its shape's type, the required ones present.
func (m *Botocore) CheckJSON(ref *BotocoreRef, body []byte) []string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var problems []string
	m.checkJSONValue(ref, v, "$", &problems)
	return problems
}

func (m *Botocore) checkJSONValue(ref *BotocoreRef, v any, path string, problems *[]string) {
	add := func(f string, args ...any) { *problems = append(*problems, path+": "+fmt.Sprintf(f, args...)) }
	s := m.shape(ref)
	if s == nil {
		add("model lacks shape %s", ref.Shape)
		return
	}
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			add("a structure given %T", v)
			return
		}
		names := map[string]*BotocoreRef{}
		for name, r := range s.Members {
			names[cmp.Or(r.LocationName, name)] = r
		}
		for key, val := range obj {
			r, ok := names[key]
			if !ok {
				add("%q is not a member of %s", key, ref.Shape)
				continue
			}
			m.checkJSONValue(r, val, path+"."+key, problems)
		}
		for _, name := range s.Required {
			if _, ok := obj[cmp.Or(s.Members[name].LocationName, name)]; !ok {
				add("required %s missing", name)
			}
		}
	case "list":
		arr, ok := v.([]any)
		if !ok {
			add("a list given %T", v)
			return
		}
		for i, e := range arr {
			m.checkJSONValue(s.Member, e, fmt.Sprintf("%s[%d]", path, i), problems)
		}
	case "map":
		if _, ok := v.(map[string]any); !ok {
			add("a map given %T", v)
		}
	case "string", "blob":
		str, ok := v.(string)
		if !ok {
			add("a %s given %T", s.Type, v)
			return
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			add("%q is not one of the enum's values", str)
		}
		if ref.JSONValue && !json.Valid([]byte(str)) {
			add("a JSON value that is not JSON")
		}
	case "integer", "long", "float", "double", "timestamp":
		n, ok := v.(json.Number)
		if !ok {
			add("a %s given %T", s.Type, v)
			return
		}
		if _, err := n.Float64(); err != nil || (s.Type == "integer" || s.Type == "long") && strings.ContainsAny(n.String(), ".eE") {
			add("%s is not a %s", n, s.Type)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			add("a boolean given %T", v)
		}
	default:
		add("unknown type %s", s.Type)
	}
}

// AWSChecking wraps a stand-in of an AWS service so that every request
// through it and every answer is checked against the models: EC2 Query
// requests (form bodies) against ec2, JSON requests (with X-Amz-Target
// "<prefix>.<Operation>") against the json model whose target prefix
// matches; each problem fails the test naming the operation. It returns
// the operations seen, for the test to check that the run covered them.
func AWSChecking(t testing.TB, h http.Handler, ec2 *Botocore, json ...*Botocore) (http.Handler, func() []string) {
	t.Helper()
	var (
		mu   sync.Mutex
		seen []string
	)
	saw := func(op string) {
		mu.Lock()
		seen = append(seen, op)
		mu.Unlock()
	}
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request body: %v", err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.Header.Get("Authorization") == "" {
			t.Errorf("%s: request is not signed", r.URL.Path)
		}
		rec := httptest.NewRecorder()
		var check func(status int, answer []byte) []string
		if target := r.Header.Get("X-Amz-Target"); target != "" {
			prefix, opName, _ := strings.Cut(target, ".")
			var model *Botocore
			for _, jm := range json {
				if jm.Metadata.TargetPrefix == prefix {
					model = jm
				}
			}
			op, ok := BotocoreOperation{}, false
			if model != nil {
				op, ok = model.Operations[opName]
			}
			if !ok {
				t.Errorf("X-Amz-Target %q is no operation of the models", target)
				h.ServeHTTP(w, r)
				return
			}
			saw(opName)
			for _, p := range model.CheckJSON(op.Input, body) {
				t.Errorf("%s request: %s", opName, p)
			}
			check = func(status int, answer []byte) []string {
				if status >= 300 {
					return nil
				}
				return model.CheckJSON(op.Output, answer)
			}
		} else {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				t.Errorf("EC2 request body is not a form: %v", err)
			}
			action := form.Get("Action")
			saw(action)
			for _, p := range ec2.CheckQueryRequest(form) {
				t.Errorf("request: %s", p)
			}
			check = func(status int, answer []byte) []string { return ec2.CheckXMLResponse(action, status, answer) }
		}
		h.ServeHTTP(rec, r)
		for _, p := range check(rec.Code, rec.Body.Bytes()) {
			t.Errorf("answer (%d): %s", rec.Code, p)
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
	return wrapped, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}
