package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// YAML bodies are turned into the same tree a JSON body becomes (see
// decodeJSON): map[string]any, []any, string, bool, nil, json.Number for
// integers and float64 for other numbers, so that one validator and the
// json tags on the request types serve YAML and JSON alike.

// maxYAMLTokens bounds the parser's work before it starts: go-yaml builds a
// node for every value of a document before any budget can look at it, and
// a megabyte of one-letter values would be half a million nodes. It allows
// a few tokens per value (a key, its colon, a dash).
const maxYAMLTokens = 4 * maxValues

// yamlError is a document that cannot become JSON, with where it went wrong.
type yamlError struct {
	line, column int // 1-based; 0 when unknown
	msg          string
}

func (e *yamlError) Error() string {
	if e.line == 0 {
		return e.msg
	}
	return fmt.Sprintf("line %d: %s", e.line, e.msg)
}

// decodeYAML parses a YAML body into a JSON-shaped tree. The body must be
// one document without tags, duplicate keys or merge keys ("<<"), and may
// not expand (through aliases) beyond the budget of every body; integers
// must be decimal, as in JSON. Timestamps and other non-JSON scalars stay
// the strings that were written, and keys are always strings.
func decodeYAML(data []byte) (any, error) {
	if yamlTokenBound(data) > maxYAMLTokens {
		return nil, &yamlError{msg: fmt.Sprintf("document has too many values (at most %d)", maxValues)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, libraryError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &yamlError{line: next.Line, column: next.Column, msg: "a body is one YAML document; this one has another after ---"}
	case !errors.Is(err, io.EOF):
		return nil, libraryError(err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	c := converter{budget: newBudget()}
	return c.value(doc.Content[0], 0)
}

// yamlTokenBound is an upper bound, within a small factor, on the tokens
// the YAML scanner can find in data: every token starts at an indicator or
// right after whitespace or an indicator. It reads data once and allocates
// nothing.
func yamlTokenBound(data []byte) int {
	n, boundary := 0, true
	for _, c := range data {
		switch c {
		case ' ', '\t', '\r', '\n':
			boundary = true
		case ',', '[', ']', '{', '}', ':', '?', '-', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '#':
			n++
			boundary = true
		default:
			if boundary {
				n++
			}
			boundary = false
		}
	}
	return n
}

var yamlLine = regexp.MustCompile(`^line (\d+): `)

// libraryError keeps the line a go-yaml error names, so the 422 can point at it.
func libraryError(err error) error {
	e := &yamlError{msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLine.FindStringSubmatch(e.msg); m != nil {
		e.line, _ = strconv.Atoi(m[1])
		e.msg = e.msg[len(m[0]):]
	}
	return e
}

// converter walks a document, charging every value it builds (an alias
// is charged again each time it is expanded) to the body's budget.
type converter struct {
	budget *budget
}

func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	if depth > maxDepth {
		return nil, &yamlError{line: n.Line, column: n.Column, msg: errTooDeep.Error()}
	}
	if err := c.budget.take(len(n.Value)); err != nil {
		return nil, &yamlError{line: n.Line, column: n.Column, msg: err.Error()}
	}
	if n.Style&yaml.TaggedStyle != 0 {
		return nil, &yamlError{line: n.Line, column: n.Column, msg: fmt.Sprintf("tags (%s) are not supported", n.Tag)}
	}
	switch n.Kind {
	case yaml.AliasNode:
		return c.value(n.Alias, depth+1)
	case yaml.MappingNode:
		return c.mapping(n, depth)
	case yaml.SequenceNode:
		items := make([]any, len(n.Content))
		for i, item := range n.Content {
			v, err := c.value(item, depth+1)
			if err != nil {
				return nil, err
			}
			items[i] = v
		}
		return items, nil
	case yaml.ScalarNode:
		return scalar(n), nil
	}
	return nil, &yamlError{line: n.Line, column: n.Column, msg: "unsupported YAML node"}
}

func (c *converter) mapping(n *yaml.Node, depth int) (any, error) {
	m := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		if err := c.budget.take(len(k.Value)); err != nil {
			return nil, &yamlError{line: k.Line, column: k.Column, msg: err.Error()}
		}
		switch {
		case k.Kind != yaml.ScalarNode:
			return nil, &yamlError{line: k.Line, column: k.Column, msg: "mapping keys must be scalars"}
		case k.Style&yaml.TaggedStyle != 0:
			return nil, &yamlError{line: k.Line, column: k.Column, msg: fmt.Sprintf("tags (%s) are not supported", k.Tag)}
		case k.ShortTag() == "!!merge":
			return nil, &yamlError{line: k.Line, column: k.Column, msg: "merge keys (<<) are not supported"}
		}
		if _, dup := m[k.Value]; dup {
			return nil, &yamlError{line: k.Line, column: k.Column, msg: fmt.Sprintf("duplicate key %q", k.Value)}
		}
		value, err := c.value(v, depth+1)
		if err != nil {
			return nil, err
		}
		m[k.Value] = value
	}
	return m, nil
}

var (
	// decimalInteger is an integer as JSON writes it (a leading + allowed):
	// no octal 010, no 0x1F, no 1_000, which YAML reads as other numbers.
	decimalInteger = regexp.MustCompile(`^[-+]?(0|[1-9][0-9]*)$`)
	// jsonFloat is a number JSON can carry as written.
	jsonFloat = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)
	// decimalFloat is a YAML 1.2 core-schema float without underscores.
	decimalFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
)

// scalar converts a scalar by its resolved YAML 1.2 tag. A plain number
// becomes json.Number as written where JSON could carry it, so a number
// too big for its field reaches validation, and the error, unchanged.
// Anything JSON has no type for (timestamps, infinities, octal or
// hexadecimal integers, underscores) stays the string that was written,
// for validation to judge.
func scalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		return strings.EqualFold(n.Value, "true")
	}
	if n.Style != 0 {
		// Quoted, literal or folded: a string whatever it looks like.
		return n.Value
	}
	v := n.Value
	switch {
	case decimalInteger.MatchString(v):
		return json.Number(strings.TrimPrefix(v, "+"))
	case jsonFloat.MatchString(v):
		return json.Number(v)
	case decimalFloat.MatchString(v) && strings.ContainsAny(v, ".eE"):
		// YAML spellings JSON lacks: .5, 5., +1.5.
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return v
}

// yamlInvalid is the 422 entry for a body that is not valid YAML, shaped like
// FastAPI's json_invalid: loc ["body", <character offset>].
func yamlInvalid(body []byte, err error) ValidationError {
	pos := 0
	var ye *yamlError
	if errors.As(err, &ye) && ye.line > 0 {
		pos = offsetOf(body, ye.line, ye.column)
	}
	return ValidationError{
		Type:  "json_invalid",
		Loc:   []any{"body", pos},
		Msg:   "YAML decode error",
		Input: map[string]any{},
		Ctx:   map[string]any{"error": err.Error()},
	}
}

// offsetOf is the byte offset of a 1-based line and column in data.
func offsetOf(data []byte, line, column int) int {
	pos := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[pos:], '\n')
		if i < 0 {
			return len(data)
		}
		pos += i + 1
	}
	if column > 1 {
		pos += column - 1
	}
	return min(pos, len(data))
}
