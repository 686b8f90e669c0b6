package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/internal/offers"
)

// Clients were written against a FastAPI service, so every error has its
// shape: {"detail": "<sentence>"}, or for validation failures a 422 with
// {"detail": [ValidationError, ...]} in pydantic v2's words.

// newErrorWithContext is newError, except that a body huma could not read
// (shorter than its Content-Length, bad chunking, a client that hung up)
// is the client's fault: a 400, noted on the request for its log line.
func newErrorWithContext(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
	if status == http.StatusInternalServerError && msg == "cannot read request body" {
		err := errors.Join(errs...)
		if info := requestInfoFrom(ctx.Context()); info != nil {
			info.clientError = err
		}
		return errorf(http.StatusBadRequest, "Could not read the request body: %s", clipString(err.Error(), 200))
	}
	return newError(status, msg, errs...)
}

// ValidationError is one entry of a 422 answer. The field order is FastAPI's.
type ValidationError struct {
	Type  string         `json:"type"`
	Loc   []any          `json:"loc"`
	Msg   string         `json:"msg"`
	Input any            `json:"input"`
	Ctx   map[string]any `json:"ctx,omitempty"`
}

// Error is every error the API answers: {"detail": "<sentence>"}, or a list
// of ValidationError for a 422.
type Error struct {
	status int
	Detail any `json:"detail"`
}

func (e *Error) Error() string {
	if s, ok := e.Detail.(string); ok {
		return s
	}
	return "validation failed"
}

// GetStatus is the HTTP status of the error (huma.StatusError).
func (e *Error) GetStatus() int { return e.status }

// Schema documents Error inline as {"detail": ...} wherever an operation
// lists error statuses; it is not a named component, because the reference
// has none for it.
func (e *Error) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{
		Type:       huma.TypeObject,
		Required:   []string{"detail"},
		Properties: map[string]*huma.Schema{"detail": {Title: "Detail"}},
	}
}

// errorf answers status with a sentence.
func errorf(status int, format string, args ...any) *Error {
	return &Error{status: status, Detail: fmt.Sprintf(format, args...)}
}

// validationFailed answers 422 with every error at once. What the errors
// echo is cut to size and stripped of private keys and of the fields that
// are never echoed: a 1 MB field answers with a 1 KiB echo, not a 2 MB one.
func validationFailed(errs ...ValidationError) *Error {
	for i := range errs {
		e := &errs[i]
		e.Input = echo(withhold(*e))
		for j, part := range e.Loc {
			if s, ok := part.(string); ok {
				e.Loc[j] = clipString(s, maxEcho) // an unknown field's name
			}
		}
		e.Msg = clipString(e.Msg, maxEcho)
		for k, v := range e.Ctx {
			if s, ok := v.(string); ok {
				e.Ctx[k] = clipString(s, maxEcho)
			}
		}
	}
	return &Error{status: http.StatusUnprocessableEntity, Detail: errs}
}

// unechoed are the body fields whose values a 422 never repeats, whatever
// failed: a public key names its owner's machines and accounts, and a
// cloud-init often carries secrets (host keys, tokens) no check can tell
// from the rest of it.
var unechoed = map[string]bool{"ssh_public_key": true, "cloud_init": true}

// withhold is the input e may echo: a marker in place of an unechoed
// field's value, whether the error is about that field or about the object
// that holds it (a missing field's error echoes the whole body).
func withhold(e ValidationError) any {
	if e.Input == redacted {
		return e.Input // a private key's finding says so already
	}
	if len(e.Loc) >= 2 && e.Loc[0] == "body" && e.Type != "missing" {
		if field, ok := e.Loc[1].(string); ok && unechoed[field] {
			return notEchoed(field, e.Input)
		}
	}
	obj, ok := e.Input.(map[string]any)
	if !ok {
		return e.Input
	}
	var out map[string]any
	for k, v := range obj {
		if !unechoed[k] {
			continue
		}
		if out == nil {
			out = maps.Clone(obj)
		}
		out[k] = notEchoed(k, v)
	}
	if out == nil {
		return e.Input
	}
	return out
}

// notEchoed says what stood in field without repeating it.
func notEchoed(field string, v any) string {
	size := 0
	if s, ok := v.(string); ok {
		size = len(s)
	} else if b, err := json.Marshal(decodable(v)); err == nil {
		size = len(b)
	}
	unit := "bytes"
	if size == 1 {
		unit = "byte"
	}
	return fmt.Sprintf("<%s: %d %s, not echoed>", clipString(field, 100), size, unit)
}

// maxEcho is how much of an input an error repeats back (bytes of JSON).
const maxEcho = 1 << 10

// echo is what an error may repeat of an input: the input itself when it
// is small, else its JSON cut to maxEcho and marked, and never anything
// that looks like a private key.
func echo(v any) any {
	if holdsPrivateKey(v) {
		return redacted
	}
	v = decodable(v)
	if s, ok := v.(string); ok {
		return clipString(s, maxEcho)
	}
	b, err := json.Marshal(v)
	if err != nil || len(b) <= maxEcho {
		return v
	}
	return clipString(string(b), maxEcho)
}

// decodable is v with every number a float64 cannot hold (1e400) as the
// string that was sent: valid JSON, but many clients, Go's among them,
// cannot decode it, and would lose the whole error.
func decodable(v any) any {
	return mapNumbers(v, func(n json.Number) any {
		if _, err := n.Float64(); err != nil {
			return string(n)
		}
		return n
	})
}

// clipString cuts s to at most n bytes, on a character boundary, and says
// so at the end.
func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…[truncated: %d bytes in all]", s[:cut], len(s))
}

// newError replaces huma.NewError so that huma's own errors (parameter
// parsing, schema validation, body limits) come out in FastAPI's shape.
func newError(status int, msg string, errs ...error) huma.StatusError {
	switch {
	case status == http.StatusBadRequest && msg == "request body is required":
		return validationFailed(missingBody())
	case status == http.StatusBadRequest && len(errs) == 0:
		// A sentence of ours (errClientGone), not a validation failure.
		return errorf(status, "%s", msg)
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		details := make([]ValidationError, 0, len(errs))
		for _, err := range errs {
			if err != nil {
				details = append(details, toValidationError(status, err))
			}
		}
		return validationFailed(details...)
	case status == http.StatusUnsupportedMediaType:
		return errorf(status, "Unsupported Content-Type")
	case status == http.StatusRequestEntityTooLarge:
		return errorf(status, "%s", bodyTooLarge)
	case status >= http.StatusInternalServerError && status != http.StatusServiceUnavailable:
		return errorf(http.StatusInternalServerError, "Internal Server Error")
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return errorf(status, "%s", msg)
}

// bodyTooLarge is the 413's sentence: every route takes at most
// maxBodyBytes, whether the body says so in its Content-Length or turns out
// longer as it is read.
var bodyTooLarge = fmt.Sprintf("Request body too large (limit %d bytes)", maxBodyBytes)

func missingBody() ValidationError {
	return ValidationError{Type: "missing", Loc: []any{"body"}, Msg: "Field required"}
}

// toValidationError converts one error huma or a handler reported.
func toValidationError(status int, err error) ValidationError {
	var qe *offers.QueryError
	if errors.As(err, &qe) {
		return ValidationError{Type: qe.Type, Loc: qe.Loc, Msg: qe.Msg, Input: qe.Input}
	}
	var d *huma.ErrorDetail
	if !errors.As(err, &d) {
		return ValidationError{Type: "value_error", Loc: []any{"body"}, Msg: err.Error()}
	}
	loc := parseLocation(d.Location)
	if f, ok := readMessage(d.Message); ok {
		return pydantic(f, loc, d.Value)
	}
	// Messages huma writes without going through validation.Msg*.
	switch {
	case strings.HasPrefix(d.Message, "required ") && strings.HasSuffix(d.Message, " parameter is missing"):
		return ValidationError{Type: "missing", Loc: loc, Msg: "Field required"}
	case d.Message == "invalid integer":
		return pydantic(finding{typ: "int_type"}, loc, d.Value)
	case d.Message == "invalid float" || d.Message == "invalid floating value":
		return pydantic(finding{typ: "float_type"}, loc, d.Value)
	case d.Message == "invalid boolean":
		return pydantic(finding{typ: "bool_type"}, loc, d.Value)
	}
	return ValidationError{Type: "value_error", Loc: loc, Msg: "Value error, " + d.Message, Input: d.Value}
}

// pydantic words an error the way pydantic v2 does, from its type and what
// huma formatted into its message (a bound, a field name, an enum list).
func pydantic(f finding, loc []any, input any) ValidationError {
	typ, arg := f.typ, f.arg
	e := ValidationError{Type: typ, Loc: loc, Input: input}
	_, isString := input.(string)
	switch typ {
	case "missing":
		e.Loc = append(loc, arg)
		e.Msg = "Field required"
	case "int_type":
		e.Msg = "Input should be a valid integer"
		if f, ok := number(input); ok && f != math.Trunc(f) {
			e.Type, e.Msg = "int_from_float", "Input should be a valid integer, got a number with a fractional part"
		} else if isString {
			e.Type, e.Msg = "int_parsing", "Input should be a valid integer, unable to parse string as an integer"
		}
	case "float_type":
		e.Msg = "Input should be a valid number"
		if _, ok := input.(json.Number); ok {
			// A number, but not one a float64 holds: 1e400.
			e.Type, e.Msg = "finite_number", "Input should be a finite number"
		} else if isString {
			e.Type, e.Msg = "float_parsing", "Input should be a valid number, unable to parse string as a number"
		}
	case "bool_type":
		e.Msg = "Input should be a valid boolean"
		if isString {
			e.Type, e.Msg = "bool_parsing", "Input should be a valid boolean, unable to interpret input"
		}
	case "enum":
		expected := quotedList(strings.Split(arg, ", "))
		e.Msg = "Input should be " + expected
		e.Ctx = map[string]any{"expected": expected}
	case "greater_than_equal":
		e.Msg, e.Ctx = "Input should be greater than or equal to "+arg, map[string]any{"ge": json.Number(arg)}
	case "greater_than":
		e.Msg, e.Ctx = "Input should be greater than "+arg, map[string]any{"gt": json.Number(arg)}
	case "less_than_equal":
		e.Msg, e.Ctx = "Input should be less than or equal to "+arg, map[string]any{"le": json.Number(arg)}
	case "less_than":
		e.Msg, e.Ctx = "Input should be less than "+arg, map[string]any{"lt": json.Number(arg)}
	case "string_too_short":
		e.Msg, e.Ctx = "String should have at least "+characters(arg), map[string]any{"min_length": json.Number(arg)}
	case "string_too_long":
		e.Msg, e.Ctx = "String should have at most "+characters(arg), map[string]any{"max_length": json.Number(arg)}
	case "uuid_parsing":
		s, _ := input.(string)
		reason := uuidProblem(s)
		e.Msg, e.Ctx = "Input should be a valid UUID, "+reason, map[string]any{"error": reason}
	default:
		// Words that depend on nothing: the message as huma worded it.
		e.Msg = f.msg
	}
	return e
}

// number is a JSON number input as a float64.
func number(input any) (float64, bool) {
	switch n := input.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// quotedList words enum values as pydantic does: 'a', 'b' or 'c'.
func quotedList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "'" + v + "'"
	}
	if len(quoted) < 2 {
		return strings.Join(quoted, "")
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}

func characters(n string) string {
	if n == "1" {
		return "1 character"
	}
	return n + " characters"
}

// uuidProblem says why s is not a UUID, in the words of the Rust uuid crate
// that pydantic v2 uses.
func uuidProblem(s string) string {
	body := strings.TrimPrefix(s, "urn:uuid:")
	for i, c := range body {
		if !(c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return fmt.Sprintf("invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `%c` at %d", c, i+len(s)-len(body)+1)
		}
	}
	if strings.Contains(body, "-") {
		groups := strings.Split(body, "-")
		if len(groups) != 5 {
			return fmt.Sprintf("invalid group count: expected 5, found %d", len(groups))
		}
		for i, want := range []int{8, 4, 4, 4, 12} {
			if len(groups[i]) != want {
				return fmt.Sprintf("invalid group length in group %d: expected %d, found %d", i, want, len(groups[i]))
			}
		}
	}
	return fmt.Sprintf("invalid length: expected length 32 for simple format, found %d", len(body))
}

// parseLocation turns huma's "body.items[3].tags" into ["body","items",3,"tags"].
func parseLocation(location string) []any {
	if location == "" {
		return []any{"body"}
	}
	var loc []any
	for _, part := range strings.Split(location, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			loc = append(loc, name)
		}
		for rest != "" {
			index, after, _ := strings.Cut(rest, "]")
			if n, err := strconv.Atoi(index); err == nil {
				loc = append(loc, n)
			} else {
				loc = append(loc, index)
			}
			_, rest, _ = strings.Cut(after, "[")
		}
	}
	return loc
}

// jsonInvalid is FastAPI's answer to a body that is not JSON: the error
// sits at ["body", <character offset>] with the parser's reason in ctx.
func jsonInvalid(body []byte) ValidationError {
	var v any
	err := json.Unmarshal(body, &v)
	pos, reason := 0, "Expecting value"
	var se *json.SyntaxError
	if errors.As(err, &se) {
		reason = se.Error()
		pos = int(se.Offset)
		if strings.HasPrefix(reason, "invalid character") {
			// Offset counts the offending character; FastAPI points at it.
			pos--
		}
	}
	return ValidationError{
		Type:  "json_invalid",
		Loc:   []any{"body", pos},
		Msg:   "JSON decode error",
		Input: map[string]any{},
		Ctx:   map[string]any{"error": reason},
	}
}

// httpValidationErrorSchemas are the 422 components exactly as FastAPI
// documents them.
func httpValidationErrorSchemas() map[string]*huma.Schema {
	return map[string]*huma.Schema{
		"HTTPValidationError": {
			Type:  huma.TypeObject,
			Title: "HTTPValidationError",
			Properties: map[string]*huma.Schema{
				"detail": {
					Type:  huma.TypeArray,
					Title: "Detail",
					Items: &huma.Schema{Ref: "#/components/schemas/ValidationError"},
				},
			},
		},
		"ValidationError": {
			Type:     huma.TypeObject,
			Title:    "ValidationError",
			Required: []string{"loc", "msg", "type"},
			Properties: map[string]*huma.Schema{
				"loc": {
					Type:  huma.TypeArray,
					Title: "Location",
					Items: &huma.Schema{AnyOf: []*huma.Schema{{Type: huma.TypeString}, {Type: huma.TypeInteger}}},
				},
				"msg":   {Type: huma.TypeString, Title: "Message"},
				"type":  {Type: huma.TypeString, Title: "Error Type"},
				"input": {Title: "Input"},
				"ctx":   {Type: huma.TypeObject, Title: "Context"},
			},
		},
	}
}
